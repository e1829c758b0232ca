import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sequentialRoundTrips } from '../../bench/round-trips.ts';
import {
  FunctionError,
  LocalFunction,
  type LocalFunctionSpec,
  type OutgoingCall,
} from '../../infra/local/lambda.ts';

// A tiny handler: each instance (module scope) has an id; an invocation waits `delay` ms,
// optionally crashes its instance, and says which instance ran it and when.
const dir = mkdtempSync(join(tmpdir(), 'local-function-'));
writeFileSync(
  join(dir, 'index.mjs'),
  `const instance = Math.random().toString(36).slice(2);
let running = 0;
export const handler = async (event) => {
  if (event.call) {
    const { request } = await import('node:http');
    await new Promise((resolve, reject) => {
      const req = request(event.call, { method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.PutItem' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end('{}');
    });
  }
  const started = Date.now();
  running++;
  const overlapping = running > 1;
  await new Promise((r) => setTimeout(r, event.delay ?? 0));
  running--;
  if (event.crash) process.exit(3);
  return { instance, n: event.n, started, ended: Date.now(), overlapping };
};
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Result = { instance: string; n: number; started: number; ended: number; overlapping: boolean };

const fns: LocalFunction[] = [];
afterEach(async () => {
  await Promise.all(fns.splice(0).map((f) => f.stop()));
});
const make = (spec: Partial<LocalFunctionSpec> = {}) => {
  const fn = new LocalFunction({
    name: 'test-fn',
    region: 'us-east-1',
    codeDir: dir,
    handler: 'index.handler',
    timeoutSeconds: 10,
    memorySize: 128,
    env: {},
    ...spec,
  });
  fns.push(fn);
  return fn;
};

describe('LocalFunction instances (one invocation at a time, as in Lambda)', () => {
  it('runs two concurrent invocations in two different instances', async () => {
    const fn = make();
    const [a, b] = await Promise.all([
      fn.invoke<Result>({ n: 1, delay: 300 }),
      fn.invoke<Result>({ n: 2, delay: 300 }),
    ]);
    expect(a.instance).not.toBe(b.instance);
    expect(a.overlapping || b.overlapping).toBe(false);
    expect(fn.coldStarts).toBe(2);
  });

  it('reuses an idle instance for the next invocation', async () => {
    const fn = make();
    const a = await fn.invoke<Result>({ n: 1 });
    const b = await fn.invoke<Result>({ n: 2 });
    expect(b.instance).toBe(a.instance);
    expect(fn.coldStarts).toBe(1);
  });

  it('beyond the cap, an invocation waits for a free instance, in arrival order', async () => {
    const fn = make({ maxInstances: 2 });
    const results = await Promise.all([
      fn.invoke<Result>({ n: 1, delay: 300 }),
      fn.invoke<Result>({ n: 2, delay: 600 }),
      fn.invoke<Result>({ n: 3, delay: 900 }),
      fn.invoke<Result>({ n: 4, delay: 0 }),
    ]);
    const [a, b, c, d] = results;
    expect(fn.coldStarts).toBe(2);
    expect(new Set(results.map((r) => r.instance)).size).toBe(2);
    expect(results.some((r) => r.overlapping)).toBe(false);
    // The third waited for the first to be free (at 300 ms), the fourth for the second (600 ms).
    expect(c.instance).toBe(a.instance);
    expect(c.started).toBeGreaterThanOrEqual(a.ended);
    expect(d.instance).toBe(b.instance);
    expect(d.started).toBeGreaterThanOrEqual(b.ended);
  });

  it('a crashed instance fails only its own invocation and is discarded', async () => {
    const fn = make({ maxInstances: 2 });
    const [crashed, other] = await Promise.allSettled([
      fn.invoke<Result>({ n: 1, delay: 100, crash: true }),
      fn.invoke<Result>({ n: 2, delay: 400 }),
    ]);
    expect(crashed.status).toBe('rejected');
    expect((crashed as PromiseRejectedResult).reason).toBeInstanceOf(FunctionError);
    expect((crashed as PromiseRejectedResult).reason.name).toBe('Runtime.ExitError');
    expect(other.status).toBe('fulfilled');
    const survivor = (other as PromiseFulfilledResult<Result>).value.instance;
    // The survivor is reused; the crashed one is replaced by a fresh instance.
    const [x, y] = await Promise.all([
      fn.invoke<Result>({ n: 3, delay: 200 }),
      fn.invoke<Result>({ n: 4, delay: 200 }),
    ]);
    expect([x.instance, y.instance]).toContain(survivor);
    expect(fn.coldStarts).toBe(3);
  });

  it('a timed-out invocation fails and its instance is not reused', async () => {
    const fn = make({ timeoutSeconds: 0.2 });
    await expect(fn.invoke({ n: 1, delay: 1000 })).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
    const next = await fn.invoke<Result>({ n: 2 });
    expect(next.overlapping).toBe(false);
    expect(fn.coldStarts).toBe(2);
  });

  it('environment() reports the instance environment', async () => {
    const fn = make({ env: { FOO: 'bar' } });
    expect((await fn.environment()).FOO).toBe('bar');
  });
});

describe("an instance's outgoing calls (the bench's round-trip count)", () => {
  it('reports each HTTP call with its operation, its invocation and when it was made and answered', async () => {
    const server = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end('{}'), 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const calls: OutgoingCall[] = [];
    try {
      const fn = make({ onCall: (c) => calls.push(c) });
      const before = performance.timeOrigin + performance.now();
      await fn.invoke({ call: url }, { requestId: 'req-1' });
      await fn.invoke({}, { requestId: 'req-2' });
      expect(calls).toEqual([
        expect.objectContaining({ function: 'test-fn', invocation: 'req-1', operation: 'PutItem' }),
      ]);
      const [call] = calls;
      expect(call?.startedAt).toBeGreaterThanOrEqual(before);
      expect((call?.endedAt ?? 0) - (call?.startedAt ?? 0)).toBeGreaterThanOrEqual(45);
    } finally {
      server.close();
    }
  });

  it('counts calls made in parallel as one round trip, and calls one after another each', () => {
    const call = (startedAt: number, endedAt: number) => ({ startedAt, endedAt });
    expect(sequentialRoundTrips([])).toBe(0);
    // 0-10, then 10-20 and 12-18 in parallel, then 20-30: three round trips one after another.
    expect(sequentialRoundTrips([call(0, 10), call(10, 20), call(12, 18), call(20, 30)])).toBe(3);
    // A long call spanning two short ones: the two short ones are the chain.
    expect(sequentialRoundTrips([call(0, 100), call(1, 5), call(6, 9)])).toBe(2);
  });
});
