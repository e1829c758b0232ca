import { createHash, randomInt } from 'node:crypto';
import {
  type DomainError,
  type FieldIssue,
  IdempotencyConflictError,
  MisdirectedError,
  ServiceUnavailableError,
  ValidationError,
} from '#layers/core/errors.ts';
import type { Jurisdiction, MessageRecord, StoredResult, TenantContext } from '#layers/core/model.ts';
import { checkRecipient } from '#layers/core/phone.ts';
import { classifyRecipient } from '#layers/core/residency.ts';
import { statusChange } from '#layers/core/usage.ts';
import type {
  AcceptedMessage,
  Clock,
  DispatchQueue,
  IdempotencyStore,
  IdGenerator,
  MessageStore,
} from '#layers/ports/index.ts';
import { present } from '#layers/present.ts';
import {
  type MessageSummary,
  messageSummary,
  messageView,
  type Prepared,
  prepareMessage,
  type ReadableMessageView,
  type SendInput,
} from '../model.ts';
import type { IdempotencyKeyScope, StatusEvents } from '../ports.ts';
import { type Refusal, refusedError, type SendPolicy } from './send-policy.ts';

/** What one jurisdiction offers the ingress: its table, its queue. */
export interface JurisdictionStores {
  messages: MessageStore;
  idempotency: IdempotencyStore;
  queue: DispatchQueue;
}

export interface SendDeps {
  stores: Record<Jurisdiction, JurisdictionStores>;
  /** Each jurisdiction's public API endpoint, named in 421 responses. */
  endpoints: Partial<Record<Jurisdiction, string>>;
  clock: Clock;
  ids: IdGenerator;
  /** Sender IDs, opt-outs, block-all, consent, content, flood and cap checks. */
  policy: Pick<SendPolicy, 'screen' | 'settings'>;
  /** Told of messages quarantined at acceptance (usage counts them; webhooks report them). */
  events?: StatusEvents | undefined;
  /** Keys are the tenant's, whichever jurisdiction a request's data goes to. */
  keyScope: IdempotencyKeyScope;
}

export type BatchItemResult =
  | { index: number; status: 'accepted'; message: MessageSummary }
  | { index: number; status: 'rejected'; reason: 'validation'; errors: FieldIssue[] }
  | { index: number; status: 'rejected'; reason: 'residency'; jurisdiction: Jurisdiction; endpoint?: string }
  | { index: number; status: 'rejected'; reason: 'unavailable' }
  | { index: number; status: 'rejected'; reason: 'refused'; refusal: Refusal }
  /** Left to the EU region (forward residency at the global endpoint): the caller relays it. */
  | { index: number; status: 'relayed' };

const MISDIRECTED =
  "The recipient is an EU/EEA data subject and this tenant's residency is strict: send to the EU endpoint.";

/**
 * A refused item of a batch as the error a single send would have raised, so one mapper answers
 * both (the batch endpoint puts its problem in the item's result).
 */
export function itemError(r: Extract<BatchItemResult, { status: 'rejected' }>): DomainError {
  switch (r.reason) {
    case 'validation':
      return new ValidationError(r.errors, "This message has invalid fields; see 'errors'.");
    case 'residency':
      return new MisdirectedError(r.jurisdiction, r.endpoint, MISDIRECTED);
    case 'refused':
      return refusedError(r.refusal, `/messages/${r.index}`);
    case 'unavailable':
      return new ServiceUnavailableError('This message could not be queued; send it again.');
  }
}

export interface BatchResult {
  accepted: number;
  rejected: number;
  results: BatchItemResult[];
}

/** A batch item as it arrives: shape-checked at the edge, or already refused there. */
export type BatchItem = { ok: true; input: SendInput } | { ok: false; issues: FieldIssue[] };

function requestHash(kind: string, input: unknown): string {
  return createHash('sha256').update(kind).update('\0').update(JSON.stringify(input)).digest('base64url');
}

/** What a unit of work under an Idempotency-Key answers, and what its record keeps to answer again. */
interface Outcome<T> {
  result: T;
  /** What the key's record keeps: the answer, or as much of it as a replay cannot rebuild. */
  kept: StoredResult;
  /** The numbers it mentions, so that an erasure finds the record. */
  subjects: string[];
}

/**
 * Runs `work` at most once per Idempotency-Key: a replay with the same request gets the stored
 * result (rebuilt by `replay` from what the record kept), a different request under the same key
 * is refused. The message ids are reserved with the key, so a retry that takes over from a
 * crashed attempt answers with the messages that attempt stored, and writes only those it did not
 * store, under the same ids. `work` calls `storing()` before its first write: from then a failure
 * (even of the write completing the key) keeps the reservation and ends its lease, so the
 * client's retry takes over with the same ids; only an attempt that stored nothing frees its key.
 */
async function once<T extends StoredResult>(
  idempotency: IdempotencyStore,
  deps: SendDeps,
  ctx: TenantContext,
  key: string | undefined,
  hash: string,
  count: number,
  work: (ids: string[], takeover: boolean, storing: () => void) => Promise<Outcome<T>>,
  replay: (kept: StoredResult) => T,
): Promise<{ result: T; replayed: boolean }> {
  const fresh = Array.from({ length: count }, () => deps.ids.next('msg'));
  if (key === undefined)
    return { result: (await work(fresh, false, () => undefined)).result, replayed: false };
  if (!(await deps.keyScope.claim(ctx.tenantId, key, hash, deps.clock.now()))) {
    throw new IdempotencyConflictError();
  }
  const begun = await idempotency.begin(ctx.tenantId, key, hash, fresh, deps.clock.now());
  if (begun.state === 'replay') return { result: replay(begun.result), replayed: true };
  let stored = begun.takeover;
  try {
    const { result, kept, subjects } = await work(begun.messageIds, begun.takeover, () => {
      stored = true;
    });
    await idempotency.complete(ctx.tenantId, key, kept, deps.clock.now(), subjects);
    return { result, replayed: false };
  } catch (error) {
    const settle = stored
      ? idempotency.endLease(ctx.tenantId, key)
      : Promise.all([idempotency.release(ctx.tenantId, key), deps.keyScope.release(ctx.tenantId, key)]);
    await settle.catch(() => undefined);
    throw error;
  }
}

/**
 * The jurisdiction a recipient's data belongs to; an invalid number has none (it is refused
 * before anything is written), so the endpoint's own stands in.
 */
function jurisdictionOf(to: string, endpoint: Jurisdiction): Jurisdiction {
  const check = checkRecipient(to);
  return check.ok ? classifyRecipient(check.e164).jurisdiction : endpoint;
}

/**
 * Whether this endpoint may handle a subject of `target`: a strict tenant's EU subjects never
 * pass through the global region.
 */
const refusedHere = (ctx: TenantContext, endpoint: Jurisdiction, target: Jurisdiction) =>
  ctx.residency === 'strict' && endpoint === 'global' && target === 'eu';

/**
 * Forward residency at the global endpoint: an EU/EEA subject's message is relayed to the EU
 * region's API as it came; the global region never handles it (it holds no EU grant to).
 */
export const relayedToEu = (ctx: TenantContext, endpoint: Jurisdiction, to: string) =>
  ctx.residency === 'forward' && endpoint === 'global' && jurisdictionOf(to, endpoint) === 'eu';

const REF_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A body with its reference code, as it is sent and answered. */
const referenced = (body: string, refCode: string | undefined) =>
  refCode === undefined ? body : `${body}\nRef: ${refCode}`;

/**
 * With reference codes on, each message carries a short code ("Ref: K7Q2MX") that its recipient
 * can give to the public "who sent me this?" flow; it counts towards the message's length.
 */
async function newReference(deps: SendDeps, ctx: TenantContext): Promise<string | undefined> {
  const { replies } = await deps.policy.settings(ctx.tenantId);
  if (!replies.referenceCodes) return undefined;
  return Array.from({ length: 6 }, () => REF_ALPHABET[randomInt(REF_ALPHABET.length)]).join('');
}

/**
 * Prepares a message; one an earlier attempt under the same Idempotency-Key stored (`before`) is
 * prepared as it was accepted then: at its acceptance time, with its reference code and its
 * quarantine, so the answer is the one the first attempt would have given.
 */
async function prepareWithReference(
  deps: SendDeps,
  ctx: TenantContext,
  raw: SendInput,
  options: { id: string; now: Date; pointer?: string },
  before?: AcceptedMessage,
): Promise<Prepared> {
  const refCode = before ? before.refCode : await newReference(deps, ctx);
  const now = before ? new Date(before.createdAt) : options.now;
  const prepared = prepareMessage({ ...raw, body: referenced(raw.body, refCode) }, ctx, { ...options, now });
  if (!prepared.ok) return prepared;
  if (refCode) prepared.message.refCode = refCode;
  if (before) {
    prepared.message.expiresAt = before.expiresAt;
    if (before.status === 'quarantined') {
      prepared.message.status = 'quarantined';
      prepared.message.error = before.error;
    }
  }
  return prepared;
}

/**
 * The messages an earlier attempt under the same key stored, by id, looked up in the
 * jurisdiction each one belongs to. Reads only: nothing is written for a message found here.
 */
async function acceptedBefore(
  deps: SendDeps,
  tenantId: string,
  reserved: { id: string; jurisdiction: Jurisdiction }[],
): Promise<Map<string, AcceptedMessage>> {
  const found = new Map<string, AcceptedMessage>();
  for (const jurisdiction of ['global', 'eu'] as const) {
    const ids = reserved.filter((r) => r.jurisdiction === jurisdiction).map((r) => r.id);
    if (ids.length === 0) continue;
    for (const m of await deps.stores[jurisdiction].messages.accepted(tenantId, ids)) found.set(m.id, m);
  }
  return found;
}

/**
 * Stores then enqueues in each message's own jurisdiction; a message that cannot be enqueued is
 * removed again. A message an earlier attempt stored (`before`) was screened, counted and
 * reported then: it is only written and enqueued again while it is still queued (that attempt
 * may have died before enqueueing it; a missing body item is written, an existing item is left
 * as it is), never once final, when its body may already be gone by the tenant's retention.
 */
async function storeAndEnqueue(
  deps: SendDeps,
  messages: MessageRecord[],
  options: { takeover: boolean; storing: () => void; before: Map<string, AcceptedMessage> },
): Promise<Set<string>> {
  const failed = new Set<string>();
  if (messages.length > 0) options.storing();
  const pending = messages.filter((m) => (options.before.get(m.id)?.status ?? 'queued') === 'queued');
  for (const jurisdiction of ['global', 'eu'] as const) {
    const group = pending.filter((m) => m.jurisdiction === jurisdiction);
    const [first] = group;
    if (!first) continue;
    const stores = deps.stores[jurisdiction];
    // A quarantined message is kept (with its reason) but never sent.
    const refs = group
      .filter((m) => m.status === 'queued')
      .map((m) => ({ tenantId: m.tenantId, messageId: m.id, jurisdiction: m.jurisdiction }));
    const create = () => stores.messages.create(group, { mayExist: options.takeover });
    let out: Awaited<ReturnType<DispatchQueue['enqueue']>>;
    if (options.takeover) {
      // Taking over an earlier attempt: its messages may be on the queue and being sent already.
      await create();
      out = await stores.queue.enqueue(refs);
    } else {
      // Written and enqueued at once: a dispatch worker that gets a record before its message is
      // stored gives it back for a moment (see STORE_GRACE_MS in dispatch-message.ts).
      const [created, enqueued] = await Promise.allSettled([create(), stores.queue.enqueue(refs)]);
      if (created.status === 'rejected') {
        // Not stored (or not known to be): removed, so a record already queued finds nothing to send.
        await stores.messages
          .remove(
            first.tenantId,
            group.map((m) => m.id),
          )
          .catch(() => undefined);
        throw created.reason;
      }
      if (enqueued.status === 'rejected') throw enqueued.reason;
      out = enqueued.value;
    }
    if (out.failed.length > 0) await stores.messages.remove(first.tenantId, out.failed);
    for (const id of out.failed) failed.add(id);
    // Reported as soon as they are stored, so a later failure (the other jurisdiction's write,
    // the key's completion) cannot leave a stored quarantine unreported: a retry does not report
    // the messages it finds stored.
    const quarantined = group.filter((m) => m.status === 'quarantined');
    for (const m of quarantined) deps.events?.changed(statusChange(m, 'quarantined', m.createdAt, m.error));
    if (quarantined.length > 0) await deps.events?.flush();
  }
  return failed;
}

type SendResult = { message: ReadableMessageView };

/**
 * What the key's record keeps of a send's answer: all of it but the body, which the replayed
 * request carries itself (its hash matched), so no record keeps a body past the tenant's body
 * retention; the reference code rebuilds the body exactly as it was answered.
 */
const keptSend = (result: SendResult, refCode: string | undefined) => ({
  message: { ...result.message, body: null },
  ...(refCode === undefined ? {} : { refCode }),
});

/** The answer again from what the record kept (a record kept before bodies were left out holds its body). */
function replaySend(kept: StoredResult, input: SendInput): SendResult {
  const { message, refCode } = kept as { message: SendResult['message']; refCode?: string };
  // The body takes its place in the answer again (spreading keeps the members' order).
  return { message: { ...message, body: message.body ?? referenced(input.body, refCode) } };
}

/**
 * `admitted`: the request's rate limit, decided while the send's first reads run (see
 * `screen`); what is counted before it settles is given back if it refuses, and its refusal wins
 * over the send's own.
 */
export function makeSendMessage(deps: SendDeps) {
  return async (
    ctx: TenantContext,
    input: SendInput,
    endpoint: Jurisdiction,
    idempotencyKey?: string,
    admitted?: Promise<unknown>,
  ) => {
    // The key's claim is a write: a keyed send is admitted first.
    if (idempotencyKey !== undefined) await admitted;
    const target = jurisdictionOf(input.to, endpoint);
    if (refusedHere(ctx, endpoint, target)) {
      throw new MisdirectedError(target, deps.endpoints[target], MISDIRECTED, [
        { pointer: '/to', detail: "'to' is an EU/EEA number; only the EU region may process it" },
      ]);
    }
    const hash = requestHash('send', input);
    const stores = deps.stores[target];
    return once(
      stores.idempotency,
      deps,
      ctx,
      idempotencyKey,
      hash,
      1,
      async (ids, takeover, storing) => {
        const id = present(ids[0], 'the message id the send reserved');
        const before = takeover
          ? await acceptedBefore(deps, ctx.tenantId, [{ id, jurisdiction: target }])
          : new Map<string, AcceptedMessage>();
        const now = deps.clock.now();
        const prepared = await prepareWithReference(deps, ctx, input, { id, now }, before.get(id));
        if (!prepared.ok) throw new ValidationError(prepared.issues);
        // Screened (and counted against the flood limits and the monthly cap) once only.
        if (!before.has(id)) {
          const refusal = (await deps.policy.screen(ctx, [prepared], admitted)).get(id);
          if (refusal) throw refusedError(refusal);
        }
        const failed = await storeAndEnqueue(deps, [prepared.message], { takeover, storing, before });
        if (failed.size > 0) throw new ServiceUnavailableError('The message could not be queued; retry it.');
        const result = { message: messageView(prepared.message) };
        return {
          result,
          kept: keptSend(result, prepared.message.refCode),
          subjects: [prepared.message.to],
        };
      },
      (kept) => replaySend(kept, input),
    );
  };
}

export function makeSendBatch(deps: SendDeps) {
  return async (ctx: TenantContext, items: BatchItem[], endpoint: Jurisdiction, idempotencyKey?: string) => {
    const hash = requestHash('batch', items);
    // Each item with its jurisdiction, and whether this endpoint refuses it or relays it to the EU.
    const plans = items.map((item) => {
      const target = item.ok ? jurisdictionOf(item.input.to, endpoint) : endpoint;
      return {
        item,
        target,
        refused: refusedHere(ctx, endpoint, target),
        relayed: item.ok && relayedToEu(ctx, endpoint, item.input.to),
      };
    });
    // The key is kept where the batch's data goes: in the EU as soon as one EU subject is in it.
    const keyedIn = plans.some((p) => p.target === 'eu' && !p.refused && !p.relayed && p.item.ok)
      ? 'eu'
      : 'global';
    return once(
      deps.stores[keyedIn].idempotency,
      deps,
      ctx,
      idempotencyKey,
      hash,
      items.length,
      async (ids, takeover, storing) => {
        const now = deps.clock.now();
        // The key reserved one message id for each item, in the batch's order.
        const reserved = (index: number) => present(ids[index], `the message id reserved for item ${index}`);
        const before = takeover
          ? await acceptedBefore(
              deps,
              ctx.tenantId,
              plans.flatMap((p, index) =>
                p.item.ok && !p.refused && !p.relayed
                  ? [{ id: reserved(index), jurisdiction: p.target }]
                  : [],
              ),
            )
          : new Map<string, AcceptedMessage>();
        const prepare = async (
          { item, refused, relayed }: (typeof plans)[number],
          index: number,
        ): Promise<Prepared | 'refused' | 'relayed'> => {
          if (!item.ok) return item;
          if (refused) return 'refused';
          if (relayed) return 'relayed';
          const id = reserved(index);
          return prepareWithReference(
            deps,
            ctx,
            item.input,
            { id, now, pointer: `/messages/${index}` },
            before.get(id),
          );
        };
        const prepared = await Promise.all(
          plans.map(async (plan, index) => ({ target: plan.target, outcome: await prepare(plan, index) })),
        );
        const valid = prepared.flatMap(({ outcome: p }) =>
          p !== 'refused' && p !== 'relayed' && p.ok ? [p] : [],
        );
        // Screened (and counted against the flood limits and the monthly cap) once only.
        const refusals = await deps.policy.screen(
          ctx,
          valid.filter((p) => !before.has(p.message.id)),
        );
        const accepted = valid.map((p) => p.message).filter((m) => !refusals.has(m.id));
        const failed = await storeAndEnqueue(deps, accepted, { takeover, storing, before });
        const results = prepared.map(({ target, outcome: p }, index): BatchItemResult => {
          if (p === 'relayed') return { index, status: 'relayed' };
          if (p === 'refused') {
            const at = deps.endpoints[target];
            return {
              index,
              status: 'rejected',
              reason: 'residency',
              jurisdiction: target,
              ...(at ? { endpoint: at } : {}),
            };
          }
          if (!p.ok) return { index, status: 'rejected', reason: 'validation', errors: p.issues };
          const refusal = refusals.get(p.message.id);
          if (refusal) return { index, status: 'rejected', reason: 'refused', refusal };
          if (failed.has(p.message.id)) return { index, status: 'rejected', reason: 'unavailable' };
          return { index, status: 'accepted', message: messageSummary(p.message) };
        });
        const count = results.filter((r) => r.status === 'accepted').length;
        const result: BatchResult = { accepted: count, rejected: results.length - count, results };
        // A batch's answer names no body: the record keeps it whole.
        return { result, kept: result, subjects: accepted.map((m) => m.to) };
      },
      (kept) => kept as BatchResult,
    );
  };
}
