import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  type Aim,
  FakeSmscCounter,
  type KannelComparison,
  kannelConfig,
  kannelReport,
  type LoadResult,
  processCpuMs,
  processTree,
  recipient,
  TEXT,
} from '../../bench/kannel.ts';
import { analyseBody } from '../../layers/core/encoding.ts';
import { checkRecipient } from '../../layers/core/phone.ts';

// Lines as Kannel 1.4.5's fakesmsc prints them (its log goes to stderr).
const GOT = (n: number) =>
  `2026-11-30 13:23:33 [28587] [0] DEBUG: Got message ${n}: <Acme +16462000001 text Your Acme code>\n`;

describe("the Kannel bench's delivery count (fakesmsc's output)", () => {
  it('counts each message the fake SMSC printed, and nothing else it logs', () => {
    const counter = new FakeSmscCounter();
    counter.push(
      '2026-11-30 13:23:31 [28587] [0] INFO: fakesmsc starting\n' +
        '2026-11-30 13:23:31 [28587] [0] DEBUG: Connecting to <127.0.0.1>\n' +
        GOT(1) +
        GOT(2),
    );
    expect(counter.count).toBe(2);
  });

  it('counts a line split across chunks once, when it is complete', () => {
    const counter = new FakeSmscCounter();
    const line = GOT(7);
    counter.push(GOT(6) + line.slice(0, 50));
    expect(counter.count).toBe(1);
    counter.push(line.slice(50, 60));
    expect(counter.count).toBe(1);
    counter.push(line.slice(60));
    expect(counter.count).toBe(2);
  });
});

describe("the Kannel bench's message and configuration", () => {
  it('sends 100 GSM-7 characters (one segment) to a new valid recipient each time', () => {
    expect(analyseBody(TEXT)).toMatchObject({ encoding: 'GSM-7', characters: 100, segments: 1 });
    expect(recipient(0)).not.toBe(recipient(1));
    for (const n of [0, 4_999_999, 7_999_999]) expect(checkRecipient(recipient(n)).ok).toBe(true);
  });

  it('gives Kannel one fake SMSC, an smsbox and a sendsms user on the ports asked for', () => {
    const conf = kannelConfig({ admin: 1, smsbox: 2, smsc: 3, sendsms: 4 });
    expect(conf).toMatch(/group = smsc\nsmsc = fake\nsmsc-id = FAKE\nport = 3\n/);
    expect(conf).toMatch(/smsbox-port = 2\n/);
    expect(conf).toMatch(/group = smsbox\nbearerbox-host = 127.0.0.1\nsendsms-port = 4\n/);
    expect(conf).toMatch(/group = sendsms-user\nusername = bench\npassword = bench\n/);
  });
});

describe("the Kannel bench's CPU accounting (/proc)", () => {
  it("finds a process's children (the gateway's DynamoDB Local JVM) and reads CPU time", async () => {
    const child = spawn('sleep', ['5']);
    try {
      await new Promise((r) => child.once('spawn', r));
      const pid = child.pid ?? 0;
      expect(processTree(process.pid)).toContain(pid);
      expect(processTree(process.pid)[0]).toBe(process.pid);
      const before = processCpuMs(process.pid) ?? 0;
      const end = performance.now() + 100;
      while (performance.now() < end) Math.sqrt(Math.random());
      expect(processCpuMs(process.pid)).toBeGreaterThan(before);
      expect(processCpuMs(2 ** 30)).toBeUndefined();
    } finally {
      child.kill();
    }
  });
});

describe("the Kannel section's report", () => {
  const run = (system: LoadResult['system'], connections: number, perRequest: number, delivered: number) =>
    ({
      system,
      what: system === 'Kannel' ? 'GET /cgi-bin/sendsms' : 'POST /v1/messages',
      connections,
      perRequest,
      seconds: 10,
      accepted: delivered,
      failed: 0,
      delivered,
      p99Ms: 5,
      cpuMs: delivered,
      idleCpuMsPerSecond: 1,
    }) satisfies LoadResult;
  const gateway = {
    many: run('gateway', 64, 1, 10_000),
    one: run('gateway', 1, 1, 300),
    batch: run('gateway', 1, 1000, 40_000),
  };
  const render = (r: KannelComparison) => {
    const lines: string[] = [];
    const aims: Aim[] = [];
    kannelReport(
      r,
      (s = '') => lines.push(s),
      (a) => aims.push(a),
    );
    return { text: lines.join('\n'), aims };
  };

  it("compares the gateway's delivered rate with Kannel's at 64 connections, for both aims", () => {
    const { text, aims } = render({
      seconds: 10,
      batchConnections: 1,
      kannel: { version: '1.4.5', many: run('Kannel', 64, 1, 50_000), one: run('Kannel', 1, 1, 20_000) },
      gateway,
    });
    expect(aims).toEqual([
      expect.objectContaining({ value: '1,000 delivered/s', ratio: '0.200', met: true }),
      expect.objectContaining({ value: '4,000 delivered/s', ratio: '0.800', met: true }),
    ]);
    expect(aims[0]?.baseline).toContain('5,000 delivered/s (Kannel 1.4.5');
    expect(text).toContain('| one per request, 1 connection | 0.015 |');
  });

  it('says how to install Kannel when it is missing, and gives the gateway figures without ratios', () => {
    const { text, aims } = render({ seconds: 10, batchConnections: 1, gateway });
    expect(text).toContain('apt-get install -y kannel kannel-extras');
    expect(text).toContain('| gateway, local runtime | POST /v1/messages | 64 | 1 | 10 | 1,000 | 1,000 |');
    expect(text).not.toContain('Kannel 1.4.5');
    expect(aims.map((a) => [a.ratio, a.met])).toEqual([
      ['n/a', false],
      ['n/a', false],
    ]);
  });
});
