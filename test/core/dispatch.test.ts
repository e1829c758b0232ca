import { beforeEach, describe, expect, it } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import {
  makeApplyCarrierEvent,
  makeDispatchMessage,
} from '../../functions/messages/use-cases/dispatch-message.ts';
import {
  CarrierRejectedError,
  CarrierTimeoutError,
  CarrierUnavailableError,
  DispatchBusyError,
} from '../../layers/core/errors.ts';
import { newUlid } from '../../layers/core/ids.ts';
import type { DispatchRef } from '../../layers/core/model.ts';
import { DEFAULT_RETENTION } from '../../layers/core/model.ts';
import { FakeCarrier, FakeClock, FakeMessageStore, FakeQueue } from '../support/fakes.ts';

const ref: DispatchRef = { tenantId: 'ten_A', messageId: 'msg_1', jurisdiction: 'global' };

describe('dispatching a queued message', () => {
  let messages: FakeMessageStore;
  let carrier: FakeCarrier;
  let clock: FakeClock;
  let dispatch: ReturnType<typeof makeDispatchMessage>;

  /** The use case on this test's fakes: a 30-second lease, three receives; `options` change that. */
  const dispatchWith = (options: Partial<Parameters<typeof makeDispatchMessage>[0]> = {}) =>
    makeDispatchMessage({ messages, carrier, clock, leaseMs: 30_000, maxReceiveCount: 3, ...options });

  /** A message of tenant ten_A accepted now, queued in the store. */
  const store = async (
    input: { to: string; from: string; body: string },
    mode: 'live' | 'test',
    id: string,
  ) => {
    const prepared = prepareMessage(
      input,
      { tenantId: 'ten_A', mode, retention: DEFAULT_RETENTION },
      { id, now: clock.now() },
    );
    if (!prepared.ok) throw new Error('fixture');
    await messages.create([prepared.message]);
  };

  beforeEach(async () => {
    messages = new FakeMessageStore();
    carrier = new FakeCarrier();
    clock = new FakeClock();
    dispatch = dispatchWith();
    await store({ to: '+12025550100', from: 'Acme', body: 'hi' }, 'live', 'msg_1');
  });

  const stored = () => messages.items.get('ten_A/msg_1')!;
  /** Makes the carrier hang for good; resolves once a worker is inside the carrier call. */
  const hangInCarrier = () =>
    new Promise<void>((inCall) => {
      carrier.behaviour = () => {
        inCall();
        return new Promise(() => undefined);
      };
    });

  it('hands it to the carrier once and marks it sent', async () => {
    await expect(dispatch(ref, 1)).resolves.toBe('sent');
    expect(carrier.sends).toHaveLength(1);
    expect(stored()).toMatchObject({ status: 'sent', carrierMessageId: 'c_msg_1', attempts: 1 });
  });

  it("sends a test key's message to the sandbox, never to the real carrier", async () => {
    const sandbox = new FakeCarrier();
    const routed = dispatchWith({ testCarrier: sandbox });
    await store({ to: '+12025550100', from: 'Anyone', body: 'test' }, 'test', 'msg_2');
    await routed({ ...ref, messageId: 'msg_2' }, 1);
    await routed(ref, 1);
    expect(sandbox.sends.map((s) => s.messageId)).toEqual(['msg_2']);
    expect(carrier.sends.map((s) => s.messageId)).toEqual(['msg_1']);
  });

  it('skips a redelivered record of a message already sent: never a second carrier send', async () => {
    await dispatch(ref, 1);
    await expect(dispatch(ref, 2)).resolves.toBe('skipped');
    expect(carrier.sends).toHaveLength(1);
  });

  it('asks for a later retry while another worker holds the message', async () => {
    const inCarrier = hangInCarrier(); // the first worker hangs in the carrier call
    // A worker that dies holding the message: its call never returns (no timeout fires in time).
    dispatch(ref, 1).catch(() => undefined);
    await inCarrier;
    await expect(dispatch(ref, 2)).rejects.toBeInstanceOf(DispatchBusyError);
    expect(carrier.sends).toHaveLength(1);
  });

  it('sends again with the same message id once a dead worker lease has expired', async () => {
    const inCarrier = hangInCarrier();
    // A worker that dies holding the message: its call never returns (no timeout fires in time).
    dispatch(ref, 1).catch(() => undefined);
    await inCarrier;
    clock.advance(31_000);
    carrier.behaviour = async (req) => ({ carrierMessageId: `c_${req.messageId}` });
    await expect(dispatch(ref, 2)).resolves.toBe('sent');
    expect(carrier.sends.map((s) => s.messageId)).toEqual(['msg_1', 'msg_1']);
    expect(stored().attempts).toBe(2);
  });

  it('never hands a message over again when the carrier took it but "sent" could not be written: the write goes on the queue', async () => {
    const requeue = new FakeQueue();
    const worker = dispatchWith({ requeue });
    const markSent = messages.markSent.bind(messages);
    messages.markSent = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    await expect(worker(ref, 1)).resolves.toBe('sent');
    expect(stored().status).toBe('queued');
    // The record that carries the write, a second later; the claim that sent it is kept.
    expect(requeue.sent).toEqual([
      {
        ...ref,
        handedOver: {
          token: stored().claimToken,
          carrierMessageId: 'c_msg_1',
          at: clock.now().toISOString(),
        },
      },
    ]);
    expect(requeue.delays).toEqual([1]);
    // A duplicate of the first record, while the claim holds: nothing is sent.
    await expect(worker(ref, 2)).rejects.toBeInstanceOf(DispatchBusyError);
    messages.markSent = markSent;
    await expect(worker(requeue.sent[0]!, 1)).resolves.toBe('recorded');
    expect(stored()).toMatchObject({ status: 'sent', carrierMessageId: 'c_msg_1' });
    // Later copies of either record find it sent.
    await expect(worker(ref, 3)).resolves.toBe('skipped');
    await expect(worker(requeue.sent[0]!, 2)).resolves.toBe('recorded');
    expect(carrier.sends).toHaveLength(1);
  });

  it('renews its claim before the handover when the lease would lapse during the carrier call', async () => {
    const claim = messages.claim.bind(messages);
    // Claiming (and reading) takes 25 s of the 30 s lease: 5 s are left, the carrier may take 10.
    messages.claim = async (...args) => {
      const out = await claim(...args);
      clock.advance(25_000);
      return out;
    };
    let leftAtHandover = 0;
    carrier.behaviour = async (req) => {
      leftAtHandover = stored().claimUntil! - clock.now().getTime();
      return { carrierMessageId: `c_${req.messageId}` };
    };
    await expect(dispatch(ref, 1)).resolves.toBe('sent');
    expect(leftAtHandover).toBe(30_000);
  });

  it('hands nothing over once its lease lapsed and another worker claimed the message', async () => {
    const claim = messages.claim.bind(messages);
    let second: Promise<unknown> | undefined;
    messages.claim = async (...args) => {
      const out = await claim(...args);
      if (!second) {
        // The first worker stalls past its lease; a second record's worker claims and sends.
        clock.advance(31_000);
        second = dispatch(ref, 1);
        await second;
      }
      return out;
    };
    await expect(dispatch(ref, 1)).resolves.toBe('skipped');
    await expect(second).resolves.toBe('sent');
    expect(carrier.sends).toHaveLength(1);
  });

  it('marks a message the carrier refuses for good as failed with its code', async () => {
    carrier.behaviour = async () => {
      throw new CarrierRejectedError('invalid_destination', 'no such subscriber');
    };
    await expect(dispatch(ref, 1)).resolves.toBe('rejected');
    expect(stored()).toMatchObject({ status: 'failed', error: { code: 'invalid_destination' } });
  });

  it('leaves it queued for a retry while the carrier is unavailable, and fails it on the last delivery', async () => {
    carrier.behaviour = async () => {
      throw new CarrierUnavailableError('503');
    };
    await expect(dispatch(ref, 1)).rejects.toBeInstanceOf(CarrierUnavailableError);
    expect(stored().status).toBe('queued');
    await expect(dispatch(ref, 2)).rejects.toBeInstanceOf(CarrierUnavailableError);
    await expect(dispatch(ref, 3)).rejects.toBeInstanceOf(CarrierUnavailableError);
    expect(stored()).toMatchObject({ status: 'failed', error: { code: 'carrier_unavailable' } });
    expect(stored().error?.message).toContain('after 3 attempts');
  });

  it('stops waiting for a carrier that does not answer, aborts the call, retries, and fails the message with carrier_timeout on the last delivery', async () => {
    const timed = dispatchWith({ maxReceiveCount: 2, carrierTimeoutMs: 20 });
    const signals: (AbortSignal | undefined)[] = [];
    carrier.behaviour = (_req, options) => {
      signals.push(options?.signal);
      return new Promise(() => undefined);
    };
    await expect(timed(ref, 1)).rejects.toBeInstanceOf(CarrierTimeoutError);
    expect(signals[0]?.aborted).toBe(true);
    expect(stored().status).toBe('queued');
    // The claim was given back: the record's next delivery may send at once.
    await expect(timed(ref, 2)).rejects.toBeInstanceOf(CarrierTimeoutError);
    expect(carrier.sends).toHaveLength(2);
    expect(stored()).toMatchObject({ status: 'failed', error: { code: 'carrier_timeout' } });
    expect(stored().error?.message).toContain('did not answer in time');
  });

  it('sends nothing again when a receipt shows that a carrier which did not answer took the message', async () => {
    const timed = dispatchWith({ carrierTimeoutMs: 20 });
    carrier.behaviour = () => new Promise(() => undefined);
    await expect(timed(ref, 1)).rejects.toBeInstanceOf(CarrierTimeoutError);
    await makeApplyCarrierEvent({ messages })({
      kind: 'delivery_receipt',
      ...ref,
      carrierMessageId: 'c_msg_1',
      status: 'delivered',
      occurredAt: clock.now().toISOString(),
    });
    await expect(timed(ref, 2)).resolves.toBe('skipped');
    expect(carrier.sends).toHaveLength(1);
    expect(stored()).toMatchObject({ status: 'delivered', carrierMessageId: 'c_msg_1' });
  });

  it('gives back a record that came before its message was stored, and sends the message once it is', async () => {
    const requeue = new FakeQueue();
    const early = dispatchWith({ requeue });
    const id = `msg_${newUlid(clock.now().getTime())}`;
    const young = { ...ref, messageId: id };
    // The ingest writes and enqueues at once: the record may come first.
    await expect(early(young, 1)).resolves.toBe('deferred');
    expect(requeue.sent).toEqual([young]);
    expect(requeue.delays).toEqual([1]);
    await store({ to: '+12025550100', from: 'Acme', body: 'hi' }, 'live', id);
    // The message item before its body item: given back again, not failed for a missing body.
    const item = messages.items.get(`ten_A/${id}`)!;
    const body = item.body;
    delete item.body;
    await expect(early(young, 1)).resolves.toBe('deferred');
    expect(item.status).toBe('queued');
    item.body = body;
    await expect(early(young, 1)).resolves.toBe('sent');
    await expect(early(young, 1)).resolves.toBe('skipped');
    expect(carrier.sends.map((s) => s.messageId)).toEqual([id]);
    // Long after its id was made, a message that is not there is gone: skipped.
    const stale = { ...ref, messageId: `msg_${newUlid(clock.now().getTime() - 60_000)}` };
    await expect(early(stale, 1)).resolves.toBe('skipped');
  });

  it('skips a message that no longer exists (erased or expired)', async () => {
    clock.advance(91 * 86_400_000);
    await expect(dispatch(ref, 1)).resolves.toBe('skipped');
    expect(carrier.sends).toHaveLength(0);
  });
});

describe('applying carrier receipts', () => {
  it('moves a sent message to its final status and ignores later receipts', async () => {
    const messages = new FakeMessageStore();
    const clock = new FakeClock();
    const prepared = prepareMessage(
      { to: '+12025550100', from: 'Acme', body: 'hi' },
      { tenantId: 'ten_A', mode: 'live', retention: DEFAULT_RETENTION },
      { id: 'msg_1', now: clock.now() },
    );
    if (!prepared.ok) throw new Error('fixture');
    await messages.create([{ ...prepared.message, status: 'sent' }]);
    const apply = makeApplyCarrierEvent({ messages });
    const receipt = {
      kind: 'delivery_receipt' as const,
      ...ref,
      carrierMessageId: 'c1',
      occurredAt: '2026-11-24T10:00:05.000Z',
    };
    await expect(
      apply({ ...receipt, status: 'undeliverable', errorCode: 'unknown_subscriber' }),
    ).resolves.toMatchObject({ outcome: 'updated' });
    await expect(apply({ ...receipt, status: 'delivered' })).resolves.toEqual({ outcome: 'ignored' });
    expect(messages.items.get('ten_A/msg_1')).toMatchObject({
      status: 'undeliverable',
      failedAt: '2026-11-24T10:00:05.000Z',
      error: { code: 'unknown_subscriber' },
    });
  });
});
