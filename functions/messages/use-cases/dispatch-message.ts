import { randomUUID } from 'node:crypto';
import {
  CarrierRejectedError,
  CarrierThrottledError,
  CarrierTimeoutError,
  CarrierUnavailableError,
  DispatchBusyError,
} from '#layers/core/errors.ts';
import { ulidTime } from '#layers/core/ids.ts';
import {
  type DispatchRecord,
  type DispatchRef,
  isUnreadable,
  type MessageError,
} from '#layers/core/model.ts';
import type { Pacer } from '#layers/core/pacing.ts';
import { statusChange } from '#layers/core/usage.ts';
import type { Carrier, CarrierSendRequest, Clock, DispatchQueue, MessageStore } from '#layers/ports/index.ts';
import type { StatusEvents } from '../ports.ts';

export interface DispatchDeps {
  messages: MessageStore;
  carrier: Carrier;
  /** Where test-mode keys' messages go instead (the sandbox), whatever `carrier` is. */
  testCarrier?: Carrier | undefined;
  clock: Clock;
  /** How long a claim keeps other workers off a message; at most the queue's visibility timeout. */
  leaseMs: number;
  /** The queue's maxReceiveCount: on the last delivery a failing message is marked failed before it goes to the DLQ. */
  maxReceiveCount: number;
  /** Told of each status this worker moved a message to (usage counters, webhooks). */
  events?: StatusEvents | undefined;
  /**
   * How long to wait for the carrier's answer before giving the record back to the queue
   * (default 10 s): a carrier that hangs must not hold a worker until its function times out.
   */
  carrierTimeoutMs?: number | undefined;
  /** Keeps sends within the configured rates (per origination identity, per account). */
  pacer?: Pacer | undefined;
  /**
   * The dispatch queue, to put back a fresh copy of a message that must wait (throttled, or its
   * turn is far off): a new SQS message starts at receive count 0, so waiting never uses up the
   * attempts that lead to the DLQ. Without it such a record is given back to the queue instead.
   */
  requeue?: DispatchQueue | undefined;
  /** The longest a record waits for its turn in this invocation (default 5 s); longer, it is requeued. */
  maxPaceWaitMs?: number | undefined;
}

export const DEFAULT_CARRIER_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_PACE_WAIT_MS = 5_000;
/** How long an origination identity rests after the carrier throttled it. */
export const THROTTLE_HOLD_OFF_MS = 1_000;
/** SQS's longest message timer (DelaySeconds): 15 minutes. */
const MAX_DELAY_SECONDS = 900;
/**
 * How long after its id was made a message may still be on its way into the table: the ingest
 * enqueues a message while it writes it, so a worker may get the record first. Until then a
 * record whose message (or body) is not there yet comes back a second later; after, it is skipped.
 */
export const STORE_GRACE_MS = 10_000;
/**
 * What a claim must still have left at the handover beyond the carrier's longest answer: the time
 * to write "sent". With less, the claim is renewed first, so no other worker can claim the
 * message while the carrier has it. (In AWS the lease, the queue's visibility timeout, is six
 * times the function's timeout, so a live worker never comes close; locally it can be seconds.)
 */
export const RECORD_ALLOWANCE_MS = 1_000;

/** The carrier's answer, or CarrierTimeoutError once `ms` have passed (the request is aborted). */
async function sendWithin(carrier: Carrier, request: CarrierSendRequest, ms: number) {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new CarrierTimeoutError(`The carrier did not answer within ${ms} ms.`));
      abort.abort();
    }, ms);
  });
  try {
    return await Promise.race([carrier.send(request, { signal: abort.signal }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `deferred`: not sent yet; a fresh copy of its record waits on the queue. `recorded`: a
 * `handedOver` record's "sent" written (or found already moved on).
 */
export type DispatchOutcome = 'sent' | 'rejected' | 'skipped' | 'deferred' | 'recorded';

/**
 * Sends one queued message at most once per claim. SQS delivers at least once, so a record may
 * arrive again after the message was sent (skipped: already done), while another worker holds
 * it (busy: retried later), or after a worker died holding it (its lease expired: sent again
 * with the same message id, which the carrier uses as its idempotency key where it has one).
 */
export function makeDispatchMessage(deps: DispatchDeps) {
  const fail = async (ref: DispatchRef, error: MessageError) => {
    const out = await deps.messages.transition(ref, 'failed', deps.clock.now(), { error });
    if (out.outcome === 'updated') deps.events?.changed(out.change);
  };
  /**
   * Gives the message up for now and puts a fresh record of it on the queue, due in `ms`. The
   * claim is released first, so the copy (or a duplicate of the old record) claims it as usual;
   * the message id stays the carrier's idempotency key, so nothing is sent twice.
   */
  const later = async (ref: DispatchRef, token: string, ms: number, why: Error): Promise<DispatchOutcome> => {
    await deps.messages.releaseClaim(ref, token);
    if (!deps.requeue) throw why;
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(ms / 1000)));
    const { failed } = await deps.requeue.enqueue([ref], { delaySeconds });
    // Not requeued: the old record comes back after its visibility timeout instead.
    if (failed.length > 0) throw why;
    return 'deferred';
  };
  /** Whether the message may still be being stored (see STORE_GRACE_MS). */
  const beingStored = (ref: DispatchRef) => {
    const made = ulidTime(ref.messageId);
    return made !== undefined && deps.clock.now().getTime() - made < STORE_GRACE_MS;
  };
  const notYet = () => new Error('The message is not stored yet.');
  const timeoutMs = deps.carrierTimeoutMs ?? DEFAULT_CARRIER_TIMEOUT_MS;
  /**
   * Writes "sent". The carrier has the message, so a failed write must never lead to a second
   * handover: the claim is kept (the record's copies find the message busy), and the write goes
   * on the queue as a record of its own, which a worker only writes. Only when that fails too
   * does the error reach SQS (the record comes back once the lease lapses, and is sent again).
   */
  const recordSent = async (ref: DispatchRef, token: string, carrierMessageId: string, at: Date) => {
    try {
      await deps.messages.markSent(ref, token, carrierMessageId, at);
    } catch (error) {
      if (!deps.requeue) throw error;
      const handedOver = { token, carrierMessageId, at: at.toISOString() };
      const { failed } = await deps.requeue.enqueue([{ ...ref, handedOver }], { delaySeconds: 1 });
      if (failed.length > 0) throw error;
    }
  };
  return async (record: DispatchRecord, receiveCount: number): Promise<DispatchOutcome> => {
    const ref: DispatchRef = {
      tenantId: record.tenantId,
      messageId: record.messageId,
      jurisdiction: record.jurisdiction,
    };
    if (record.handedOver) {
      const { token, carrierMessageId, at } = record.handedOver;
      // Under the claim that sent it: a receipt that moved the message on first wins.
      await deps.messages.markSent(ref, token, carrierMessageId, new Date(at));
      return 'recorded';
    }
    const token = randomUUID();
    const claimedAt = deps.clock.now();
    const claim = await deps.messages.claim(ref, token, deps.leaseMs, claimedAt);
    if (claim.outcome === 'missing' && beingStored(ref)) {
      // Got before its item was written: a fresh record comes back in a second (or, without a
      // queue to put it on, this one after its visibility timeout).
      if (!deps.requeue) throw notYet();
      const { failed } = await deps.requeue.enqueue([ref], { delaySeconds: 1 });
      if (failed.length > 0) throw notYet();
      return 'deferred';
    }
    if (claim.outcome === 'missing' || claim.outcome === 'done') return 'skipped';
    if (claim.outcome === 'busy')
      throw new DispatchBusyError(`Message ${ref.messageId} is held by another worker.`);
    const m = claim.message;
    if (isUnreadable(m)) {
      // Its sealed recipient and body do not open (damaged, or another tenant's): never sendable.
      await fail(ref, {
        code: 'unreadable',
        message: "The message's stored content does not open under this account's key; it was not sent.",
      });
      return 'rejected';
    }
    // Its body item may still be on its way (written at the same time as the message's).
    if (m.body === undefined && beingStored(ref)) return later(ref, token, 1_000, notYet());
    if (m.body === undefined) {
      // Redacted before it could be sent: there is nothing left to send.
      await fail(ref, {
        code: 'body_removed',
        message: 'The body was removed before the message could be sent.',
      });
      return 'rejected';
    }
    const carrier = m.mode === 'test' && deps.testCarrier ? deps.testCarrier : deps.carrier;
    // Test-mode messages never reach the real carrier: they use none of its rate.
    if (deps.pacer && carrier === deps.carrier) {
      const turn = await deps.pacer.take(m.from, m.segments, deps.maxPaceWaitMs ?? DEFAULT_MAX_PACE_WAIT_MS);
      if (!turn.ok) {
        return later(
          ref,
          token,
          turn.retryInMs,
          new CarrierThrottledError(`Message ${ref.messageId}'s turn is later.`),
        );
      }
    }
    // The claim must outlast the carrier's answer and the write of "sent" (see RECORD_ALLOWANCE_MS);
    // one that lapsed and was claimed by another worker is theirs: nothing is handed over.
    const leaseLeft = claimedAt.getTime() + deps.leaseMs - deps.clock.now().getTime();
    if (
      leaseLeft < timeoutMs + RECORD_ALLOWANCE_MS &&
      !(await deps.messages.renewClaim(ref, token, deps.leaseMs, deps.clock.now()))
    ) {
      return 'skipped';
    }
    // "Sent" is when the message was handed over, so a fast receipt never predates it.
    const handedOverAt = deps.clock.now();
    let carrierMessageId: string;
    try {
      ({ carrierMessageId } = await sendWithin(
        carrier,
        { messageId: m.id, tenantId: m.tenantId, to: m.to, from: m.from, body: m.body, category: m.category },
        timeoutMs,
      ));
    } catch (error) {
      if (error instanceof CarrierRejectedError) {
        await fail(ref, { code: error.code, message: error.message });
        return 'rejected';
      }
      if (error instanceof CarrierThrottledError) {
        deps.pacer?.holdOff(m.from, THROTTLE_HOLD_OFF_MS);
        return later(ref, token, THROTTLE_HOLD_OFF_MS, error);
      }
      await deps.messages.releaseClaim(ref, token);
      if (receiveCount >= deps.maxReceiveCount) await fail(ref, givenUp(error, receiveCount));
      throw error;
    }
    // Counted as handed over even when a fast receipt moved it on first: the carrier has it.
    deps.events?.changed(statusChange(m, 'sent', handedOverAt));
    await recordSent(ref, token, carrierMessageId, handedOverAt);
    return 'sent';
  };
}

function givenUp(error: unknown, attempts: number): MessageError {
  const [code, why] =
    error instanceof CarrierTimeoutError
      ? ['carrier_timeout', 'the carrier did not answer in time']
      : error instanceof CarrierUnavailableError
        ? ['carrier_unavailable', 'the carrier was unavailable']
        : ['dispatch_error', 'the message could not be dispatched'];
  return { code, message: `Gave up after ${attempts} attempts: ${why}.` };
}

export type CarrierEvent = {
  kind: 'delivery_receipt';
  tenantId: string;
  messageId: string;
  jurisdiction: DispatchRef['jurisdiction'];
  carrierMessageId: string;
  status: 'delivered' | 'failed' | 'undeliverable';
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  occurredAt: string;
};

/** Applies a delivery receipt; receipts for final or unknown messages change nothing. */
export function makeApplyCarrierEvent(deps: { messages: MessageStore; events?: StatusEvents | undefined }) {
  return async (event: CarrierEvent) => {
    const ref = { tenantId: event.tenantId, messageId: event.messageId, jurisdiction: event.jurisdiction };
    const error =
      event.status === 'delivered'
        ? undefined
        : {
            code: event.errorCode ?? event.status,
            message: event.errorMessage ?? `Carrier reported ${event.status}.`,
          };
    const out = await deps.messages.transition(ref, event.status, new Date(event.occurredAt), {
      error,
      carrierMessageId: event.carrierMessageId,
    });
    if (out.outcome === 'updated') deps.events?.changed(out.change);
    return out;
  };
}
