import { createHash } from 'node:crypto';
import type { Clock, DispatchQueue, IdempotencyStore, IdGenerator, MessageStore } from '../../ports/index.ts';
import { type FieldIssue, MisdirectedError, ServiceUnavailableError, ValidationError } from '../errors.ts';
import {
  type MessageSummary,
  messageSummary,
  messageView,
  type Prepared,
  prepareMessage,
  type SendInput,
} from '../messages.ts';
import type { Jurisdiction, MessageRecord, StoredResult, TenantContext } from '../model.ts';
import { checkRecipient } from '../phone.ts';
import { classifyRecipient } from '../residency.ts';

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
}

export type BatchItemResult =
  | { index: number; status: 'accepted'; message: MessageSummary }
  | { index: number; status: 'rejected'; reason: 'validation'; errors: FieldIssue[] }
  | { index: number; status: 'rejected'; reason: 'residency'; jurisdiction: Jurisdiction; endpoint?: string }
  | { index: number; status: 'rejected'; reason: 'unavailable' };

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

/**
 * Runs `work` at most once per Idempotency-Key: a replay with the same request gets the stored
 * result, a different request under the same key is refused. The message ids are reserved with
 * the key, so a retry that takes over from a crashed attempt writes the same messages again
 * (conditional creates make that a no-op) instead of new ones.
 */
async function once<T extends StoredResult>(
  idempotency: IdempotencyStore,
  deps: SendDeps,
  ctx: TenantContext,
  key: string | undefined,
  hash: string,
  count: number,
  work: (ids: string[], takeover: boolean) => Promise<{ result: T; subjects: string[] }>,
): Promise<{ result: T; replayed: boolean }> {
  const fresh = Array.from({ length: count }, () => deps.ids.next('msg'));
  if (key === undefined) return { result: (await work(fresh, false)).result, replayed: false };
  const begun = await idempotency.begin(ctx.tenantId, key, hash, fresh, deps.clock.now());
  if (begun.state === 'replay') return { result: begun.result as T, replayed: true };
  try {
    const { result, subjects } = await work(begun.messageIds, begun.takeover);
    await idempotency.complete(ctx.tenantId, key, result, deps.clock.now(), subjects);
    return { result, replayed: false };
  } catch (error) {
    await idempotency.release(ctx.tenantId, key).catch(() => undefined);
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

/** Stores then enqueues in each message's own jurisdiction; a message that cannot be enqueued is removed again. */
async function storeAndEnqueue(
  deps: SendDeps,
  messages: MessageRecord[],
  takeover: boolean,
): Promise<Set<string>> {
  const failed = new Set<string>();
  for (const jurisdiction of ['global', 'eu'] as const) {
    const group = messages.filter((m) => m.jurisdiction === jurisdiction);
    if (group.length === 0) continue;
    const stores = deps.stores[jurisdiction];
    await stores.messages.create(group, { mayExist: takeover });
    const out = await stores.queue.enqueue(
      group.map((m) => ({ tenantId: m.tenantId, messageId: m.id, jurisdiction: m.jurisdiction })),
    );
    if (out.failed.length > 0) await stores.messages.remove(group[0]!.tenantId, out.failed);
    for (const id of out.failed) failed.add(id);
  }
  return failed;
}

export function makeSendMessage(deps: SendDeps) {
  return async (ctx: TenantContext, input: SendInput, endpoint: Jurisdiction, idempotencyKey?: string) => {
    const target = jurisdictionOf(input.to, endpoint);
    if (refusedHere(ctx, endpoint, target)) {
      throw new MisdirectedError(
        target,
        deps.endpoints[target],
        "The recipient is an EU/EEA data subject and this tenant's residency is strict: send to the EU endpoint.",
        [{ pointer: '/to', detail: "'to' is an EU/EEA number; only the EU region may process it" }],
      );
    }
    const hash = requestHash('send', input);
    const stores = deps.stores[target];
    return once(stores.idempotency, deps, ctx, idempotencyKey, hash, 1, async ([id], takeover) => {
      const prepared = prepareMessage(input, ctx, { id: id!, now: deps.clock.now() });
      if (!prepared.ok) throw new ValidationError(prepared.issues);
      const failed = await storeAndEnqueue(deps, [prepared.message], takeover);
      if (failed.size > 0) throw new ServiceUnavailableError('The message could not be queued; retry it.');
      return { result: { message: messageView(prepared.message) }, subjects: [prepared.message.to] };
    });
  };
}

export function makeSendBatch(deps: SendDeps) {
  return async (ctx: TenantContext, items: BatchItem[], endpoint: Jurisdiction, idempotencyKey?: string) => {
    const hash = requestHash('batch', items);
    const targets = items.map((item) => (item.ok ? jurisdictionOf(item.input.to, endpoint) : endpoint));
    const refused = targets.map((target) => refusedHere(ctx, endpoint, target));
    // The key is kept where the batch's data goes: in the EU as soon as one EU subject is in it.
    const keyedIn = targets.some((t, i) => t === 'eu' && !refused[i] && items[i]!.ok) ? 'eu' : 'global';
    return once(
      deps.stores[keyedIn].idempotency,
      deps,
      ctx,
      idempotencyKey,
      hash,
      items.length,
      async (ids, takeover) => {
        const now = deps.clock.now();
        const prepared = items.map((item, index): Prepared | 'refused' => {
          if (!item.ok) return item;
          if (refused[index]) return 'refused';
          return prepareMessage(item.input, ctx, { id: ids[index]!, now, pointer: `/messages/${index}` });
        });
        const valid = prepared.flatMap((p) => (p !== 'refused' && p.ok ? [p.message] : []));
        const failed = await storeAndEnqueue(deps, valid, takeover);
        const results = prepared.map((p, index): BatchItemResult => {
          if (p === 'refused') {
            const jurisdiction = targets[index]!;
            const at = deps.endpoints[jurisdiction];
            return {
              index,
              status: 'rejected',
              reason: 'residency',
              jurisdiction,
              ...(at ? { endpoint: at } : {}),
            };
          }
          if (!p.ok) return { index, status: 'rejected', reason: 'validation', errors: p.issues };
          if (failed.has(p.message.id)) return { index, status: 'rejected', reason: 'unavailable' };
          return { index, status: 'accepted', message: messageSummary(p.message) };
        });
        const accepted = results.filter((r) => r.status === 'accepted').length;
        const result: BatchResult = { accepted, rejected: results.length - accepted, results };
        return { result, subjects: valid.map((m) => m.to) };
      },
    );
  };
}
