import { createHash } from 'node:crypto';
import type { Clock, DispatchQueue, IdempotencyStore, IdGenerator, MessageStore } from '../../ports/index.ts';
import { type FieldIssue, ServiceUnavailableError, ValidationError } from '../errors.ts';
import {
  type MessageSummary,
  messageSummary,
  messageView,
  type Prepared,
  prepareMessage,
  type SendInput,
} from '../messages.ts';
import type { Jurisdiction, MessageRecord, StoredResult, TenantContext } from '../model.ts';

export interface SendDeps {
  messages: MessageStore;
  idempotency: IdempotencyStore;
  queue: DispatchQueue;
  clock: Clock;
  ids: IdGenerator;
  retentionDays: number;
  jurisdiction: Jurisdiction;
}

export type BatchItemResult =
  | { index: number; status: 'accepted'; message: MessageSummary }
  | { index: number; status: 'rejected'; reason: 'validation'; errors: FieldIssue[] }
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
  deps: SendDeps,
  ctx: TenantContext,
  key: string | undefined,
  hash: string,
  count: number,
  work: (ids: string[], takeover: boolean) => Promise<T>,
): Promise<{ result: T; replayed: boolean }> {
  const fresh = Array.from({ length: count }, () => deps.ids.next('msg'));
  if (key === undefined) return { result: await work(fresh, false), replayed: false };
  const begun = await deps.idempotency.begin(ctx.tenantId, key, hash, fresh, deps.clock.now());
  if (begun.state === 'replay') return { result: begun.result as T, replayed: true };
  try {
    const result = await work(begun.messageIds, begun.takeover);
    await deps.idempotency.complete(ctx.tenantId, key, result, deps.clock.now());
    return { result, replayed: false };
  } catch (error) {
    await deps.idempotency.release(ctx.tenantId, key).catch(() => undefined);
    throw error;
  }
}

/** Stores then enqueues; a message that cannot be enqueued is removed again, never left stranded. */
async function storeAndEnqueue(
  deps: SendDeps,
  messages: MessageRecord[],
  takeover: boolean,
): Promise<Set<string>> {
  if (messages.length === 0) return new Set();
  await deps.messages.create(messages, { mayExist: takeover });
  const { failed } = await deps.queue.enqueue(
    messages.map((m) => ({ tenantId: m.tenantId, messageId: m.id, jurisdiction: m.jurisdiction })),
  );
  if (failed.length > 0) await deps.messages.remove(messages[0]!.tenantId, failed);
  return new Set(failed);
}

export function makeSendMessage(deps: SendDeps) {
  return async (ctx: TenantContext, input: SendInput, idempotencyKey?: string) => {
    const hash = requestHash('send', input);
    return once(deps, ctx, idempotencyKey, hash, 1, async ([id], takeover) => {
      const prepared = prepareMessage(input, ctx, {
        id: id!,
        now: deps.clock.now(),
        retentionDays: deps.retentionDays,
        jurisdiction: deps.jurisdiction,
      });
      if (!prepared.ok) throw new ValidationError(prepared.issues);
      const failed = await storeAndEnqueue(deps, [prepared.message], takeover);
      if (failed.size > 0) throw new ServiceUnavailableError('The message could not be queued; retry it.');
      return { message: messageView(prepared.message) };
    });
  };
}

export function makeSendBatch(deps: SendDeps) {
  return async (ctx: TenantContext, items: BatchItem[], idempotencyKey?: string) => {
    const hash = requestHash('batch', items);
    return once(
      deps,
      ctx,
      idempotencyKey,
      hash,
      items.length,
      async (ids, takeover): Promise<BatchResult> => {
        const now = deps.clock.now();
        const prepared = items.map(
          (item, index): Prepared =>
            item.ok
              ? prepareMessage(item.input, ctx, {
                  id: ids[index]!,
                  now,
                  retentionDays: deps.retentionDays,
                  jurisdiction: deps.jurisdiction,
                  pointer: `/messages/${index}`,
                })
              : item,
        );
        const valid = prepared.flatMap((p) => (p.ok ? [p.message] : []));
        const failed = await storeAndEnqueue(deps, valid, takeover);
        const results = prepared.map((p, index): BatchItemResult => {
          if (!p.ok) return { index, status: 'rejected', reason: 'validation', errors: p.issues };
          if (failed.has(p.message.id)) return { index, status: 'rejected', reason: 'unavailable' };
          return { index, status: 'accepted', message: messageSummary(p.message) };
        });
        const accepted = results.filter((r) => r.status === 'accepted').length;
        return { accepted, rejected: results.length - accepted, results };
      },
    );
  };
}
