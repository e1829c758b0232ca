import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import { makeDispatchMessage } from '../../functions/messages/use-cases/dispatch-message.ts';
import { CarrierThrottledError } from '../../layers/core/errors.ts';
import { DEFAULT_RETENTION, type DispatchRef } from '../../layers/core/model.ts';
import { makePacer, type SendRates } from '../../layers/core/pacing.ts';
import type { Clock, DispatchQueue } from '../../layers/ports/index.ts';
import { FakeCarrier, FakeClock, FakeMessageStore, FakeQueue } from '../support/fakes.ts';

const TOLL_FREE = '+18005550100';

async function seed(messages: FakeMessageStore, n: number, from: (i: number) => string, now: Date) {
  const refs: DispatchRef[] = [];
  for (let i = 0; i < n; i++) {
    const id = `msg_${String(i).padStart(6, '0')}`;
    const prepared = prepareMessage(
      { to: '+12025550100', from: from(i), body: 'Your code is 123456' },
      { tenantId: 'ten_A', mode: 'live', retention: DEFAULT_RETENTION },
      { id, now },
    );
    if (!prepared.ok) throw new Error('fixture');
    await messages.create([prepared.message]);
    refs.push({ tenantId: 'ten_A', messageId: id, jurisdiction: 'global' });
  }
  return refs;
}

describe('pacing', () => {
  it("leaves test-mode messages out: they go to the sandbox and use none of the carrier's rate", async () => {
    const clock = new FakeClock();
    const messages = new FakeMessageStore();
    const carrier = new FakeCarrier();
    const sandbox = new FakeCarrier();
    const waits: number[] = [];
    const dispatch = makeDispatchMessage({
      messages,
      carrier,
      testCarrier: sandbox,
      clock,
      leaseMs: 30_000,
      maxReceiveCount: 3,
      requeue: new FakeQueue(),
      pacer: makePacer({
        rates: { account: 1 },
        share: 1,
        clock,
        sleep: async (ms) => {
          waits.push(ms);
          clock.advance(ms);
        },
      }),
    });
    for (const [i, mode] of (['test', 'test', 'test', 'live', 'live'] as const).entries()) {
      const prepared = prepareMessage(
        { to: '+12025550100', from: 'Acme', body: 'hi' },
        { tenantId: 'ten_A', mode, retention: DEFAULT_RETENTION },
        { id: `msg_${i}`, now: clock.now() },
      );
      if (!prepared.ok) throw new Error('fixture');
      await messages.create([prepared.message]);
      await expect(
        dispatch({ tenantId: 'ten_A', messageId: `msg_${i}`, jurisdiction: 'global' }, 1),
      ).resolves.toBe('sent');
    }
    expect(sandbox.sends).toHaveLength(3);
    expect(carrier.sends).toHaveLength(2);
    // Only the second live message waited for its turn: one second after the first.
    expect(waits).toEqual([1000]);
  });
});

describe('a throttle from the carrier', () => {
  const clock = new FakeClock();
  let messages: FakeMessageStore;
  let carrier: FakeCarrier;
  let queue: FakeQueue;
  let ref: DispatchRef;

  beforeEach(async () => {
    messages = new FakeMessageStore();
    carrier = new FakeCarrier();
    queue = new FakeQueue();
    [ref] = (await seed(messages, 1, () => TOLL_FREE, clock.now())) as [DispatchRef];
  });

  const dispatch = () =>
    makeDispatchMessage({ messages, carrier, clock, leaseMs: 30_000, maxReceiveCount: 3, requeue: queue });

  it('delays the message on a fresh record, even on its last receive, and it is sent once later', async () => {
    carrier.behaviour = async () => {
      throw new CarrierThrottledError('slow down');
    };
    // The record's last receive before the DLQ: a throttle must not fail the message.
    await expect(dispatch()(ref, 3)).resolves.toBe('deferred');
    expect(messages.items.get('ten_A/msg_000000')).toMatchObject({ status: 'queued' });
    expect(queue.sent).toEqual([ref]);
    expect(queue.delays[0]).toBeGreaterThanOrEqual(1);

    carrier.behaviour = async (req) => ({ carrierMessageId: `c_${req.messageId}` });
    // The fresh copy starts again at receive count 1.
    await expect(dispatch()(ref, 1)).resolves.toBe('sent');
    await expect(dispatch()(ref, 2)).resolves.toBe('skipped');
    expect(carrier.sends.map((s) => s.messageId)).toEqual(['msg_000000', 'msg_000000']);
    expect(messages.items.get('ten_A/msg_000000')).toMatchObject({ status: 'sent' });
  });

  it('gives the record back to the queue when the fresh copy cannot be enqueued', async () => {
    carrier.behaviour = async () => {
      throw new CarrierThrottledError('slow down');
    };
    queue.failIds.add('msg_000000');
    await expect(dispatch()(ref, 1)).rejects.toBeInstanceOf(CarrierThrottledError);
    // The claim is released: the old record's next delivery can send it.
    carrier.behaviour = async (req) => ({ carrierMessageId: `c_${req.messageId}` });
    await expect(dispatch()(ref, 2)).resolves.toBe('sent');
  });
});

/**
 * The load test at a scaled-down rate, on fake timers: N instances (the event source's
 * MaximumConcurrency) each take batches of 10 from an in-memory queue with SQS's message timers,
 * dispatch them concurrently with a pacer at rate / N, and requeue what must wait.
 */
async function drain(options: {
  count: number;
  rates: SendRates;
  instances: number;
  from: (i: number) => string;
  /** The carrier's own limit per identity per second; beyond it, it throttles (like EUM). */
  carrierMps?: (from: string) => number;
}) {
  const clock: Clock = { now: () => new Date() };
  const start = Date.now();
  const messages = new FakeMessageStore();
  const refs = await seed(messages, options.count, options.from, clock.now());
  // SQS records: a fresh one starts at receive count 0; past maxReceiveCount one is dead-lettered.
  const visible = refs.map((ref) => ({ ref, receives: 0 }));
  const deadLettered: DispatchRef[] = [];
  let requeued = 0;
  const queue: DispatchQueue = {
    async enqueue(more, o) {
      requeued += more.length;
      setTimeout(
        () => visible.push(...more.map((ref) => ({ ref, receives: 0 }))),
        (o?.delaySeconds ?? 0) * 1000,
      );
      return { failed: [] };
    },
  };
  const seen: { id: string; from: string; at: number }[] = [];
  const attempts: { id: string; from: string; at: number }[] = [];
  let throttles = 0;
  const carrier = new FakeCarrier();
  carrier.behaviour = async (req) => {
    const at = Date.now();
    attempts.push({ id: req.messageId, from: req.from, at });
    if (options.carrierMps !== undefined) {
      const recent = seen.filter((s) => s.from === req.from && s.at > at - 1000).length;
      if (recent >= options.carrierMps(req.from)) {
        throttles++;
        throw new CarrierThrottledError('slow down');
      }
    }
    seen.push({ id: req.messageId, from: req.from, at });
    return { carrierMessageId: `c_${req.messageId}` };
  };
  const outstanding = () => [...messages.items.values()].filter((m) => m.status === 'queued').length;
  const instance = async () => {
    const dispatch = makeDispatchMessage({
      messages,
      carrier,
      clock,
      leaseMs: 180_000,
      maxReceiveCount: 5,
      requeue: queue,
      pacer: makePacer({
        rates: options.rates,
        share: 1 / options.instances,
        clock,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      }),
    });
    while (outstanding() > 0) {
      const batch = visible.splice(0, 10);
      if (batch.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const r of batch) r.receives++;
      const results = await Promise.allSettled(batch.map((r) => dispatch(r.ref, r.receives)));
      // A record that failed comes back after its visibility timeout, or goes to the DLQ.
      results.forEach((r, i) => {
        const record = batch[i]!;
        if (r.status === 'fulfilled') return;
        if (record.receives >= 5) deadLettered.push(record.ref);
        else setTimeout(() => visible.push(record), 180_000);
      });
    }
  };
  let finished = false;
  const all = Promise.all(Array.from({ length: options.instances }, instance)).then(() => {
    finished = true;
  });
  while (!finished) await vi.advanceTimersByTimeAsync(10);
  await all;
  const lastSend = Math.max(...seen.map((s) => s.at));
  return { seen, attempts, throttles, deadLettered, requeued, drainMs: lastSend - start, messages };
}

/** The most sends of one origination identity (or of all, without one) in any 1-second window. */
function busiestSecond(seen: { from: string; at: number }[], from?: string) {
  const at = seen
    .filter((s) => from === undefined || s.from === from)
    .map((s) => s.at)
    .sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('dispatch at a configured send rate', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-30T09:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drains 1,000 messages at 50/s across 2 instances in about 20 s: none lost, none twice, never above 50 in a second', async () => {
    const { seen, drainMs, messages } = await drain({
      count: 1000,
      rates: { account: 50 },
      instances: 2,
      from: () => 'Acme',
    });
    expect(seen).toHaveLength(1000);
    expect(new Set(seen.map((s) => s.id)).size).toBe(1000);
    expect([...messages.items.values()].every((m) => m.status === 'sent')).toBe(true);
    // 1,000 / 50 = 20 s; the first of each instance's turns goes at once, so the last at ~19.96 s.
    expect(drainMs).toBeGreaterThanOrEqual(19_500);
    expect(drainMs).toBeLessThanOrEqual(20_500);
    expect(busiestSecond(seen)).toBeLessThanOrEqual(50);
  }, 60_000);

  it("keeps a toll-free number to its own 3 MPS while the account's other identities go on", async () => {
    const { seen, attempts } = await drain({
      count: 120,
      rates: { account: 20, default: 20, [TOLL_FREE]: 3 },
      instances: 2,
      // Every fourth message comes from the toll-free number.
      from: (i) => (i % 4 === 0 ? TOLL_FREE : 'Acme'),
      carrierMps: (from) => (from === TOLL_FREE ? 3 : 20),
    });
    expect(seen).toHaveLength(120);
    expect(new Set(seen.map((s) => s.id)).size).toBe(120);
    // Two uncoordinated instances at 1.5/s each may meet in one second (2 x ceil(1.5) = 4); the
    // carrier throttles the one too many, which waits and goes later, once.
    expect(busiestSecond(attempts, TOLL_FREE)).toBeLessThanOrEqual(4);
    expect(busiestSecond(seen, TOLL_FREE)).toBeLessThanOrEqual(3);
    // 20/s shared by 2 instances at 10/s each: never above 20 in a second.
    expect(busiestSecond(attempts)).toBeLessThanOrEqual(20);
    // The 90 others are not held behind the toll-free number's 30: they finish first.
    const lastOther = Math.max(...seen.filter((s) => s.from === 'Acme').map((s) => s.at));
    const lastTollFree = Math.max(...seen.filter((s) => s.from === TOLL_FREE).map((s) => s.at));
    expect(lastOther).toBeLessThan(lastTollFree);
  }, 60_000);

  it('without a configured rate, a carrier that throttles still gets every message once, none dead-lettered', async () => {
    const { seen, throttles, deadLettered, messages } = await drain({
      count: 100,
      rates: {},
      instances: 2,
      from: () => TOLL_FREE,
      carrierMps: () => 3,
    });
    expect(throttles).toBeGreaterThan(0);
    expect(deadLettered).toEqual([]);
    expect(seen).toHaveLength(100);
    expect(new Set(seen.map((s) => s.id)).size).toBe(100);
    expect([...messages.items.values()].every((m) => m.status === 'sent')).toBe(true);
    expect(busiestSecond(seen, TOLL_FREE)).toBeLessThanOrEqual(3);
  }, 60_000);

  it("puts back on the queue, not in the DLQ, what waits longer than an invocation should: a 10DLC number's 1 MPS", async () => {
    const TEN_DLC = '+12025550199';
    const { seen, attempts, requeued, deadLettered, drainMs } = await drain({
      count: 20,
      rates: { default: 1 },
      instances: 2,
      from: () => TEN_DLC,
    });
    // Batches of 10 at 0.5/s an instance: past the 5 s an instance waits, records go back.
    expect(requeued).toBeGreaterThan(0);
    expect(deadLettered).toEqual([]);
    expect(seen).toHaveLength(20);
    expect(new Set(seen.map((s) => s.id)).size).toBe(20);
    // Two instances at 0.5/s each: at most 2 in a second, 1 a second over time.
    expect(busiestSecond(attempts, TEN_DLC)).toBeLessThanOrEqual(2);
    expect(drainMs).toBeGreaterThanOrEqual(15_000);
  }, 60_000);
});
