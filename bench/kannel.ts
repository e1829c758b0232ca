// The gateway against Kannel (an open-source SMS gateway, https://www.kannel.org) under the same
// load: one client (autocannon), the same message (100 GSM-7 characters, a new recipient each),
// one message per request at 64 and at 1 connection, and the gateway's batch endpoint. A message
// counts when it is delivered: when Kannel's fake SMSC printed it, when the gateway's message
// reached `delivered` (the sandbox carrier's receipt applied). Kannel stays outside the
// repository: the section runs it when it is installed (`apt-get install kannel kannel-extras`).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import autocannon from 'autocannon';
import { adminCall } from '../infra/local/admin-call.ts';
import { cachedAssembly } from '../infra/local/assembly.ts';
import { freePort } from '../infra/local/services.ts';
import { type GatewayProcess, spawnGateway } from '../test/support/gateway-process.ts';
import { countMessages, localClientsFor } from './local-clients.ts';
import { fmt } from './report.ts';

/** 100 GSM-7 characters: one segment in either system. */
export const TEXT =
  'Your Acme code is 482913. It expires in 10 minutes. Never share it: Acme staff will never ask for it';
const FROM = 'Acme';
/** Valid US numbers outside the sandbox's special 555-01xx range: each delivered at once. */
export const recipient = (n: number) => `+1646${String(2_000_000 + n).padStart(7, '0')}`;

export const KANNEL_INSTALL = 'apt-get install -y kannel kannel-extras';
/** The local runtime's global region (`startGateway`'s default), where +1 numbers' messages live. */
const GLOBAL_REGION = 'us-east-1';

/**
 * Counts the messages Kannel's fake SMSC received, from its output as it comes (chunks may split
 * a line): it prints `Got message N: <from to text ...>` for each message bearerbox hands it.
 */
export class FakeSmscCounter {
  count = 0;
  private rest = '';

  push(chunk: string) {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) if (/\bGot message \d+:/.test(line)) this.count++;
  }
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc has none. */
export function processCpuMs(pid: number, ticksPerSecond = clockTicks()): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** A process and every process below it (the gateway's DynamoDB Local JVM runs under a shell). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [root];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

const cpuOf = (pids: number[]) => {
  let total = 0;
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms === undefined) return undefined;
    total += ms;
  }
  return total;
};

export interface LoadResult {
  system: 'Kannel' | 'gateway';
  what: string;
  connections: number;
  perRequest: number;
  seconds: number;
  /** Messages the system accepted (2xx; the batch endpoint's items accepted). */
  accepted: number;
  /** Requests refused (non-2xx), failed or timed out. */
  failed: number;
  /** Messages delivered within the load's window. */
  delivered: number;
  p99Ms: number;
  /** CPU of the system's processes over the window, in ms; undefined without /proc. */
  cpuMs: number | undefined;
  /** Their CPU while idle just before the load, in ms per second: what it costs to stand by. */
  idleCpuMsPerSecond: number | undefined;
}

export const perSecond = (r: LoadResult, n: number) => n / r.seconds;
export const cpuPerMessage = (r: LoadResult) =>
  r.cpuMs === undefined || r.delivered === 0 ? undefined : r.cpuMs / r.delivered;

interface Load {
  system: LoadResult['system'];
  what: string;
  url: string;
  connections: number;
  perRequest: number;
  /** Unmeasured load first, at the same concurrency: instances started, the pipeline full. */
  warmSeconds: number;
  /** The measured window that follows, the load going on. */
  seconds: number;
  timeoutSeconds?: number;
  /** The next request (a new recipient each message). */
  next: (request: autocannon.Request) => autocannon.Request;
  /** Messages a 2xx answer accepted. */
  acceptedBy: (body: string) => number;
  /** The system's processes, for their CPU. */
  pids: number[];
  /** Called as the window opens and as it closes. */
  mark?: (edge: 'open' | 'close') => void;
  /** Messages delivered between two instants (ms since the epoch), asked once the load is over. */
  deliveredBetween: (from: number, to: number) => Promise<number>;
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

/**
 * Drives one load without a break: a warm-up, then the measured window, in which it counts what
 * the system accepted (answers that arrived in it), their latency, and what it delivered.
 */
async function drive(load: Load): Promise<LoadResult> {
  const idle0 = cpuOf(load.pids);
  await sleep(IDLE_SECONDS * 1000);
  const idle1 = cpuOf(load.pids);
  let accepted = 0;
  let failed = 0;
  const latencies: number[] = [];
  const start = Date.now();
  const from = start + load.warmSeconds * 1000;
  const to = from + load.seconds * 1000;
  const inWindow = () => {
    const now = Date.now();
    return now >= from && now < to;
  };
  let cpu0: number | undefined;
  let cpu1: number | undefined;
  const edges = [
    setTimeout(() => {
      cpu0 = cpuOf(load.pids);
      load.mark?.('open');
    }, from - start),
    setTimeout(() => {
      cpu1 = cpuOf(load.pids);
      load.mark?.('close');
    }, to - start),
  ];
  const run = autocannon({
    url: load.url,
    connections: load.connections,
    // A little past the window's end, so the load goes on while the window closes.
    duration: load.warmSeconds + load.seconds + 1,
    timeout: load.timeoutSeconds ?? 10,
    requests: [
      {
        setupRequest: load.next,
        onResponse: (status, body) => {
          if (inWindow() && status >= 200 && status < 300) accepted += load.acceptedBy(body);
        },
      },
    ],
  });
  // autocannon's instance is also an event emitter (its typings say only Promise).
  const events = run as unknown as NodeJS.EventEmitter;
  events.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (!inWindow()) return;
    latencies.push(ms);
    if (status < 200 || status >= 300) failed++;
  });
  events.on('reqError', () => {
    if (inWindow()) failed++;
  });
  try {
    await run;
  } finally {
    for (const t of edges) clearTimeout(t);
  }
  return {
    system: load.system,
    what: load.what,
    connections: load.connections,
    perRequest: load.perRequest,
    seconds: load.seconds,
    accepted,
    failed,
    delivered: await load.deliveredBetween(from, to),
    p99Ms: percentile(latencies, 0.99),
    cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
    idleCpuMsPerSecond:
      idle0 === undefined || idle1 === undefined ? undefined : (idle1 - idle0) / IDLE_SECONDS,
  };
}

const IDLE_SECONDS = 3;

export interface KannelBinaries {
  bearerbox: string;
  smsbox: string;
  fakesmsc: string;
}

/** Kannel's boxes and its fake SMSC (Debian puts fakesmsc, from kannel-extras, in /usr/lib/kannel/test). */
export function findKannel(): KannelBinaries | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  const find = (name: string, extra: string[] = []) =>
    [...dirs, ...extra].map((d) => join(d, name)).find((p) => p !== name && existsSync(p));
  const bearerbox = find('bearerbox');
  const smsbox = find('smsbox');
  const fakesmsc = find('fakesmsc', ['/usr/lib/kannel/test', '/usr/local/lib/kannel/test']);
  return bearerbox && smsbox && fakesmsc ? { bearerbox, smsbox, fakesmsc } : undefined;
}

export function kannelVersion(bin: KannelBinaries) {
  try {
    const out = execFileSync(bin.bearerbox, ['--version'], { encoding: 'utf8', stdio: 'pipe' });
    return /version `([^']+)'/.exec(out)?.[1] ?? 'unknown';
  } catch (e) {
    const out = String((e as { stdout?: unknown }).stdout ?? '');
    return /version `([^']+)'/.exec(out)?.[1] ?? 'unknown';
  }
}

/** A minimal kannel.conf: the core, one fake SMSC connection, an smsbox, one sendsms user. */
export function kannelConfig(ports: { admin: number; smsbox: number; smsc: number; sendsms: number }) {
  return `group = core
admin-port = ${ports.admin}
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = ${ports.smsbox}
box-allow-ip = "127.0.0.1"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = FAKE
port = ${ports.smsc}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = ${ports.sendsms}

group = sendsms-user
username = bench
password = bench
`;
}

/**
 * Seconds of load before each window opens: the gateway starts its function instances (up to
 * four of each) and fills its pipeline; a batch of a thousand takes seconds to be answered.
 */
const warmSeconds = (seconds: number, batch = false) => Math.min(batch ? 20 : 5, seconds);
/** The batch run's window is this many times the others': each answer covers a thousand messages. */
const BATCH_WINDOW_FACTOR = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  {
    ms = 30_000,
    every = 100,
    log = (): string => '',
  }: { ms?: number; every?: number; log?: () => string } = {},
) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms / 1000} s\n${log()}`);
    await sleep(every);
  }
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function stopProcess(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
  child.kill('SIGKILL');
  await exited;
}

interface RunningKannel {
  sendsms: string;
  pids: number[];
  counter: FakeSmscCounter;
  stop(): Promise<void>;
}

/** bearerbox, the fake SMSC connected to it, and smsbox, in a temporary directory; ready to send. */
async function startKannel(bin: KannelBinaries): Promise<RunningKannel> {
  const dir = mkdtempSync(join(tmpdir(), 'kannel-bench-'));
  const ports = { admin: await freePort(), smsbox: await freePort(), smsc: await freePort(), sendsms: 0 };
  ports.sendsms = await freePort();
  const conf = join(dir, 'kannel.conf');
  writeFileSync(conf, kannelConfig(ports));
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  };
  const children: ChildProcess[] = [];
  const start = (file: string, args: string[]) => {
    const child = spawn(file, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  const counter = new FakeSmscCounter();
  const stop = async () => {
    for (const child of [...children].reverse()) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Warnings and worse only: Kannel logs every message at the info level.
    const bearerbox = start(bin.bearerbox, ['-v', '2', conf]);
    bearerbox.stderr?.on('data', keep);
    await waitFor('bearerbox did not listen', () => listening(ports.smsc), { log: () => log });
    // The fake SMSC prints each message it gets at the debug level: that is what is counted.
    const fakesmsc = start(bin.fakesmsc, [
      '-H',
      '127.0.0.1',
      '-r',
      String(ports.smsc),
      '-m',
      '0',
      '1 2 text x',
    ]);
    for (const stream of [fakesmsc.stdout, fakesmsc.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (d: string) => counter.push(d));
    }
    const smsbox = start(bin.smsbox, ['-v', '2', conf]);
    smsbox.stderr?.on('data', keep);
    const sendsms = `http://127.0.0.1:${ports.sendsms}/cgi-bin/sendsms`;
    const probe = `${sendsms}?username=bench&password=bench&from=${FROM}&to=${encodeURIComponent(recipient(7_999_999))}&text=ready`;
    await waitFor(
      'smsbox did not accept a message',
      async () =>
        (await fetch(probe)
          .then((r) => r.ok)
          .catch(() => false)) === true,
      { log: () => log },
    );
    await waitFor('the fake SMSC got no message', () => counter.count > 0, { log: () => log });
    const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
    return { sendsms, pids, counter, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One Kannel run: `GET /cgi-bin/sendsms`, one message a request. */
export async function kannelRun(
  bin: KannelBinaries,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const kannel = await startKannel(bin);
  try {
    let n = 0;
    const query = (to: string) =>
      `?username=bench&password=bench&from=${FROM}&to=${encodeURIComponent(to)}&text=${encodeURIComponent(TEXT)}`;
    const counts = { open: 0, close: 0 };
    return await drive({
      system: 'Kannel',
      what: 'GET /cgi-bin/sendsms',
      url: kannel.sendsms,
      connections,
      perRequest: 1,
      warmSeconds: warmSeconds(seconds),
      seconds,
      next: (req) => ({ ...req, method: 'GET', path: `/cgi-bin/sendsms${query(recipient(n++))}` }),
      acceptedBy: () => 1,
      pids: kannel.pids,
      mark: (edge) => {
        counts[edge] = kannel.counter.count;
      },
      deliveredBetween: async () => counts.close - counts.open,
    });
  } finally {
    await kannel.stop();
  }
}

/** A test-mode tenant (sandbox carrier) with a send key, its limits out of the load's way. */
async function benchTenant(gw: GatewayProcess) {
  const admin = (path: string, body: unknown, method = 'POST') =>
    adminCall(gw.url, gw.adminToken, method, path, body);
  const tenant = await admin('/admin/tenants', {
    displayName: 'Kannel-shaped',
    legalName: 'Kannel-shaped Ltd',
    contactEmail: 'k@example.test',
    homeJurisdiction: 'global',
  });
  const key = await admin(`/admin/tenants/${String(tenant.id)}/keys`, {
    name: 'bench',
    mode: 'test',
    scopes: ['send'],
  });
  await admin(
    `/admin/tenants/${String(tenant.id)}/controls`,
    { rateLimit: { perMinute: 1e6, burst: 100_000 } },
    'PUT',
  );
  return { tenantId: String(tenant.id), key: String(key.secret) };
}

/** The tenant's messages that reached `delivered` between two instants (their `deliveredAt`). */
const deliveredBetween = (
  client: DynamoDBClient,
  table: string,
  tenantId: string,
  from: number,
  to: number,
) =>
  countMessages(client, table, tenantId, '#status = :delivered AND deliveredAt BETWEEN :from AND :to', {
    ':delivered': 'delivered',
    ':from': new Date(from).toISOString(),
    ':to': new Date(to).toISOString(),
  });

/**
 * One gateway run on a fresh local runtime (its own process, DynamoDB Local under it): one
 * message per `POST /v1/messages`, or `perRequest` per `POST /v1/messages/batch`.
 */
export async function gatewayRun(
  connections: number,
  perRequest: number,
  seconds: number,
): Promise<LoadResult> {
  const dynamodbPort = await freePort();
  const gw = await spawnGateway([
    '--in-memory',
    '--port',
    '0',
    '--dynamodb-port',
    String(dynamodbPort),
    '--sqs-port',
    '0',
    '--kms-port',
    '0',
  ]);
  try {
    const { tenantId, key } = await benchTenant(gw);
    const { dynamodb } = localClientsFor(`http://127.0.0.1:${dynamodbPort}`, GLOBAL_REGION);
    const batch = perRequest > 1;
    const path = batch ? '/v1/messages/batch' : '/v1/messages';
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const message = (to: string) => ({ to, from: FROM, body: TEXT });
    const res = await fetch(gw.url + path, {
      method: 'POST',
      headers,
      body: JSON.stringify(
        batch ? { messages: [message(recipient(7_999_999))] } : message(recipient(7_999_999)),
      ),
    });
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    const pid = gw.child.pid;
    let n = 0;
    const next = (req: autocannon.Request): autocannon.Request => ({
      ...req,
      method: 'POST',
      path,
      headers,
      body: JSON.stringify(
        batch
          ? { messages: Array.from({ length: perRequest }, () => message(recipient(n++))) }
          : message(recipient(n++)),
      ),
    });
    return await drive({
      system: 'gateway',
      what: `POST ${path}`,
      url: gw.url,
      connections,
      perRequest,
      warmSeconds: warmSeconds(seconds, batch),
      seconds: batch ? seconds * BATCH_WINDOW_FACTOR : seconds,
      // A batch of a thousand takes seconds to accept under load.
      timeoutSeconds: batch ? 120 : 30,
      next,
      acceptedBy: (body) => (batch ? Number((JSON.parse(body) as { accepted?: number }).accepted ?? 0) : 1),
      pids: pid === undefined ? [] : processTree(pid),
      deliveredBetween: (from, to) => deliveredBetween(dynamodb, gw.tables.messages, tenantId, from, to),
    });
  } finally {
    await stopProcess(gw.child);
  }
}

export interface KannelComparison {
  seconds: number;
  batchConnections: number;
  kannel?: { version: string; many: LoadResult; one: LoadResult };
  gateway: { many: LoadResult; one: LoadResult; batch: LoadResult };
}

/**
 * Connections of the batch run: one. A batch of a thousand took about 11 s when the issue was
 * written (91 delivered/s); several at once, or one on a busy machine, pass API Gateway's 29 s.
 */
export const BATCH_CONNECTIONS = 1;

/**
 * Kannel and the gateway, alternately (64 connections, then 1), then the gateway's batch
 * endpoint; each run on freshly started processes.
 */
export async function kannelBench(seconds: number): Promise<KannelComparison> {
  // Synthesized once here (a fresh checkout takes minutes), not inside a gateway's start-up time.
  await cachedAssembly({ region: GLOBAL_REGION, euRegion: 'eu-central-1' });
  const bin = findKannel();
  const kannelMany = bin && (await kannelRun(bin, 64, seconds));
  const gatewayMany = await gatewayRun(64, 1, seconds);
  const kannelOne = bin && (await kannelRun(bin, 1, seconds));
  const gatewayOne = await gatewayRun(1, 1, seconds);
  const batch = await gatewayRun(BATCH_CONNECTIONS, 1_000, seconds);
  return {
    seconds,
    batchConnections: BATCH_CONNECTIONS,
    ...(bin && kannelMany && kannelOne
      ? { kannel: { version: kannelVersion(bin), many: kannelMany, one: kannelOne } }
      : {}),
    gateway: { many: gatewayMany, one: gatewayOne, batch },
  };
}

/** A rate: a decimal below 100, where a unit is a large part of it. */
const perSecondFmt = (v: number) => fmt(v, v < 100 ? 1 : 0);

export interface Aim {
  aim: string;
  value: string;
  baseline: string;
  ratio: string;
  met: boolean;
}

/** How long each run sends (BENCH_KANNEL_SECONDS, for a short run while developing). */
const SECONDS = Number(process.env.BENCH_KANNEL_SECONDS ?? 20);

/** The `kannel` section of `npm run bench`: its table, and its two rows of the aims table. */
export async function kannelSection(say: (s?: string) => void, aim: (a: Aim) => void) {
  say('## 7. Against Kannel: the same client and messages, delivered per second (local runtime)');
  say();
  kannelReport(await kannelBench(SECONDS), say, aim);
}

/** The section's text, tables and aims from a comparison's figures. */
export function kannelReport(r: KannelComparison, say: (s?: string) => void, aim: (a: Aim) => void) {
  const k = r.kannel;
  say(
    `Each run starts its system afresh and sends without a break with autocannon, every message 100 GSM-7 characters to a new recipient: first ${fmt(warmSeconds(r.seconds))} s unmeasured (${fmt(warmSeconds(r.seconds, true))} s for the batch run), in which the gateway starts its function instances and both fill their pipelines, then the measured window of ${fmt(r.seconds)} s (${fmt(r.seconds * BATCH_WINDOW_FACTOR)} s for the batch run). In the window: accepted = messages in the answers that arrived in it; delivered = messages Kannel's fake SMSC printed, or gateway messages that reached \`delivered\` (the sandbox carrier's receipt applied, \`deliveredAt\`), in it; p99 = of the requests answered in it; CPU = user + system time of the system's processes over it (${k ? 'bearerbox, smsbox and fakesmsc' : 'Kannel not run'}; the gateway's process, its functions' threads included, and the DynamoDB Local JVM under it) per message delivered; idle CPU = the same processes' over ${IDLE_SECONDS} s just before the load, per second. The client's CPU is not counted for either.`,
  );
  say();
  if (!k) {
    say(
      `Kannel is not installed (bearerbox, smsbox and fakesmsc not found), so there is no baseline and no ratio: \`${KANNEL_INSTALL}\` (Debian, Ubuntu) installs it; fakesmsc comes with kannel-extras.`,
    );
    say();
  }
  const rows: LoadResult[] = [
    ...(k ? [k.many] : []),
    r.gateway.many,
    ...(k ? [k.one] : []),
    r.gateway.one,
    r.gateway.batch,
  ];
  say(
    '| system | requests | connections | messages per request | window s | accepted/s | delivered/s | p99 acceptance ms | CPU ms per message | idle CPU ms/s | requests refused or failed |',
  );
  say('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of rows) {
    const cpu = cpuPerMessage(x);
    say(
      `| ${x.system === 'Kannel' && k ? `Kannel ${k.version}, fake SMSC` : 'gateway, local runtime'} | ${x.what} | ${x.connections} | ${fmt(x.perRequest)} | ${fmt(x.seconds)} | ${perSecondFmt(perSecond(x, x.accepted))} | ${perSecondFmt(perSecond(x, x.delivered))} | ${fmt(x.p99Ms)} | ${cpu === undefined ? 'n/a' : fmt(cpu, 3)} | ${x.idleCpuMsPerSecond === undefined ? 'n/a' : fmt(x.idleCpuMsPerSecond)} | ${fmt(x.failed)} |`,
    );
  }
  say();
  const rate = (x: LoadResult) => perSecond(x, x.delivered);
  const ratioOf = (v: number) => fmt(v, v < 0.01 ? 4 : 3);
  const connections = (n: number) => `${n} connection${n === 1 ? '' : 's'}`;
  if (k) {
    say('| delivered/s, gateway to Kannel | ratio |');
    say('|---|---:|');
    say(`| one per request, 64 connections | ${ratioOf(rate(r.gateway.many) / rate(k.many))} |`);
    say(`| one per request, 1 connection | ${ratioOf(rate(r.gateway.one) / rate(k.one))} |`);
    say(
      `| batch endpoint (${connections(r.batchConnections)}) to Kannel at 64 connections (it has no batch request) | ${ratioOf(rate(r.gateway.batch) / rate(k.many))} |`,
    );
    say();
  }
  const baseline = k
    ? `${perSecondFmt(rate(k.many))} delivered/s (Kannel ${k.version}, 64 connections, fake SMSC)`
    : `not measured: Kannel is not installed (${KANNEL_INSTALL})`;
  const ratio = (x: LoadResult) => (k ? ratioOf(rate(x) / rate(k.many)) : 'n/a');
  aim({
    aim: "One message per request at 64 connections: at least 0.15 times Kannel's delivered rate",
    value: `${perSecondFmt(rate(r.gateway.many))} delivered/s`,
    baseline,
    ratio: ratio(r.gateway.many),
    met: k !== undefined && rate(r.gateway.many) / rate(k.many) >= 0.15,
  });
  aim({
    aim: `Batch endpoint (1,000 per request, ${connections(r.batchConnections)}): at least 0.5 times Kannel's delivered rate`,
    value: `${perSecondFmt(rate(r.gateway.batch))} delivered/s`,
    baseline,
    ratio: ratio(r.gateway.batch),
    met: k !== undefined && rate(r.gateway.batch) / rate(k.many) >= 0.5,
  });
}
