import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { alive } from '../../infra/local/assembly.ts';
import { localClients, uniqueName } from '../support/aws.ts';
import { type GatewayProcess, ON_FREE_PORTS, spawnGateway } from '../support/gateway-process.ts';
import { client, onboard, waitFor } from '../support/http.ts';

const { services, dynamodb } = localClients();
const running: GatewayProcess[] = [];

const dataDirs: string[] = [];

afterAll(() => {
  for (const g of running) g.child.kill('SIGKILL');
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** The pids of the java processes (DynamoDB Local) below a process. */
function javaBelow(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), cmd: m[3]! }));
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows)
      if (below.has(r.ppid) && !below.has(r.pid)) {
        below.add(r.pid);
        grew = true;
      }
  }
  return rows.filter((r) => below.has(r.pid) && /^java /.test(r.cmd)).map((r) => r.pid);
}

describe('a worker killed mid-batch', () => {
  it('loses no message, never re-sends one already sent, and delivers each once', async () => {
    const prefix = uniqueName('restart');
    const args = [
      '--port',
      '0',
      '--external',
      `dynamodb=${services.dynamodb},sqs=${services.sqs},kms=${services.kms}`,
      '--prefix',
      prefix,
      '--visibility-timeout',
      '6',
    ];
    const first = await spawnGateway(args);
    running.push(first);
    const api = client(first.url);
    const { key } = await onboard(api, first.adminToken);

    // Fast and slow (3 s carrier) sends mixed in the same batches: when the worker dies, some
    // messages are sent but their records not yet deleted, others are mid-send.
    const messages = Array.from({ length: 24 }, (_, i) => ({
      to: i % 3 === 0 ? '+12025550106' : '+12025550100',
      from: 'Acme',
      body: `restart ${i}`,
    }));
    const batch = await api.call<{ results: { message: { id: string } }[] }>('POST', '/v1/messages/batch', {
      key,
      body: { messages },
    });
    const ids = batch.body.results.map((r) => r.message.id);
    expect(ids).toHaveLength(24);

    await waitFor(async () => {
      const res = await api.call<{ data: unknown[] }>('GET', '/v1/messages?status=sent&limit=100', { key });
      const delivered = await api.call<{ data: unknown[] }>(
        'GET',
        '/v1/messages?status=delivered&limit=100',
        { key },
      );
      return res.body.data.length + delivered.body.data.length >= 4 ? true : undefined;
    }, 'some messages to be sent');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const atKill = new Map(
      ((await dynamodb.send(new ScanCommand({ TableName: first.tables.messages }))).Items ?? [])
        .map((i) => unmarshall(i))
        .filter((m) => String(m.sk).startsWith('MSG#'))
        .map((m) => [m.id as string, { status: m.status as string, attempts: m.attempts as number }]),
    );

    const second = await spawnGateway(args);
    running.push(second);
    const api2 = client(second.url);
    // One list call per poll: 24 GETs every 100 ms would pass the tenant's rate limit (bursts of
    // 200, then 100/s) whenever delivery is slow, and the 429s would never show 'delivered'.
    const statuses = await waitFor(
      async () => {
        const res = await api2.call<{ data: { id: string; status: string }[] }>(
          'GET',
          '/v1/messages?status=delivered&limit=100',
          { key },
        );
        const s = res.body.data.filter((m) => ids.includes(m.id)).map((m) => m.status);
        return s.length === ids.length ? s : undefined;
      },
      'every message to be delivered after the restart',
      40_000,
    );
    expect(statuses).toHaveLength(24);

    // The sandbox carrier's handsets: one entry per message id, so each person got it once.
    const ledger = await dynamodb.send(new ScanCommand({ TableName: first.tables.sandboxLedger }));
    const sends = new Map(
      (ledger.Items ?? [])
        .map((i) => unmarshall(i))
        .map((i) => [String(i.pk).replace('SANDBOX#', ''), i.sends as number]),
    );
    expect([...sends.keys()].sort()).toEqual([...ids].sort());
    // A message already marked sent when the worker died was never handed to the carrier again,
    // although its record came back (its batch had not finished, so nothing was deleted).
    const sentBeforeKill = ids.filter((id) => atKill.get(id)?.status !== 'queued');
    expect(sentBeforeKill.length).toBeGreaterThanOrEqual(4);
    for (const id of sentBeforeKill) expect(sends.get(id), id).toBe(1);
    // Only a message caught between claim and "sent" may be handed over again, with the same id
    // (the carrier's idempotency key): at most once more, and only if it had been claimed.
    for (const id of ids.filter((i) => !sentBeforeKill.includes(i))) {
      expect(sends.get(id)! - 1, id).toBeLessThanOrEqual(atKill.get(id)!.attempts);
    }
    second.child.kill('SIGTERM');
  }, 90_000);
});

describe('a gateway stopped before a receipt came back', () => {
  it('has the sandbox carrier report the receipt again at the next start, so the message reaches delivered', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sms-gateway-receipts-'));
    dataDirs.push(dataDir);
    // Its own services, as `npm start` runs them: the local SQS lives in the gateway's process.
    const args = [...ON_FREE_PORTS, '--data-dir', dataDir];
    const first = await spawnGateway(args);
    running.push(first);
    const api = client(first.url);
    const { key } = await onboard(api, first.adminToken);
    // The sandbox takes a message to this number at once and reports it delivered 10 s later.
    const sent = await api.call<{ message: { id: string } }>('POST', '/v1/messages', {
      key,
      body: { to: '+12025550103', from: 'Acme', body: 'Your receipt comes late' },
    });
    const path = `/v1/messages/${sent.body.message.id}`;
    type View = { status: string; sentAt: string | null; deliveredAt: string | null };
    const atSend = await waitFor(async () => {
      const res = await api.call<View>('GET', path, { key });
      return res.body.status === 'sent' ? res.body : undefined;
    }, 'the message to be sent');

    // A crash: the local SQS goes with the process, and the receipt waiting in it.
    const java = javaBelow(first.child.pid!);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    await waitFor(async () => (java.some(alive) ? undefined : true), 'DynamoDB Local to stop', 15_000);

    const second = await spawnGateway(args);
    running.push(second);
    const api2 = client(second.url);
    const delivered = await waitFor(
      async () => {
        const res = await api2.call<View>('GET', path, { key });
        return res.body.status === 'delivered' ? res.body : undefined;
      },
      'the receipt to be reported again',
      30_000,
    );
    // The receipt the carrier would have sent: delivered 10 s after it took the message.
    const lag = Date.parse(delivered.deliveredAt!) - Date.parse(atSend.sentAt!);
    expect(lag).toBeGreaterThanOrEqual(9_000);
    expect(lag).toBeLessThan(12_000);
    second.child.kill('SIGINT');
    await new Promise((r) => second.child.once('exit', r));
  }, 120_000);
});
