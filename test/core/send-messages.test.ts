import { beforeEach, describe, expect, it } from 'vitest';
import { makeSendBatch, makeSendMessage } from '../../functions/messages/use-cases/send-messages.ts';
import { DEFAULT_REPLIES } from '../../layers/core/controls.ts';
import {
  IdempotencyConflictError,
  MisdirectedError,
  ServiceUnavailableError,
  ValidationError,
} from '../../layers/core/errors.ts';
import type { TenantContext } from '../../layers/core/model.ts';
import type { StatusChange } from '../../layers/core/usage.ts';
import {
  answeredOnceAsked,
  type FakeIdempotencyStore,
  fakeSendDeps,
  tenantContext,
  tenantRecord,
} from '../support/fakes.ts';

const tenant: TenantContext = tenantContext();
const good = { to: '+12025550100', from: 'Acme', body: 'Your code is 123456' };

describe('sending messages', () => {
  let deps: ReturnType<typeof fakeSendDeps>;

  beforeEach(() => {
    deps = fakeSendDeps();
  });

  it('writes a message and enqueues it at once, not one after the other', async () => {
    // The write is answered only once the enqueue was asked: one after the other, this hangs.
    [deps.messages.create, deps.queue.enqueue] = answeredOnceAsked(
      deps.messages.create.bind(deps.messages),
      deps.queue.enqueue.bind(deps.queue),
    );
    const { result } = await makeSendMessage(deps)(tenant, good, 'global');
    expect(deps.messages.items.has(`ten_A/${result.message.id}`)).toBe(true);
    expect(deps.queue.sent.map((r) => r.messageId)).toEqual([result.message.id]);
  });

  it('leaves nothing to send for a message whose write failed after it was enqueued (its answer lost)', async () => {
    const create = deps.messages.create.bind(deps.messages);
    deps.messages.create = async (...args) => {
      await create(...args); // written, but the answer never came
      throw new Error('socket hang up');
    };
    await expect(makeSendMessage(deps)(tenant, good, 'global')).rejects.toThrow('socket hang up');
    // Its record is on the queue; the message it names is gone, so the worker skips it.
    expect(deps.queue.sent).toHaveLength(1);
    expect(deps.messages.items.size).toBe(0);
  });

  it('stores a valid message as queued, under the caller tenant, and enqueues only a reference', async () => {
    const { result } = await makeSendMessage(deps)(tenant, good, 'global');
    expect(result.message).toMatchObject({
      status: 'queued',
      encoding: 'GSM-7',
      segments: 1,
      to: '+12025550100',
    });
    const stored = [...deps.messages.items.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ tenantId: 'ten_A', body: good.body, mode: 'live' });
    expect(stored[0]!.expiresAt).toBe(Date.parse('2026-11-24T10:00:00Z') / 1000 + 90 * 86_400);
    expect(deps.queue.sent).toEqual([
      { tenantId: 'ten_A', messageId: result.message.id, jurisdiction: 'global' },
    ]);
  });

  it('refuses invalid fields with a pointer and reason for each, storing nothing', async () => {
    const error = await makeSendMessage(deps)(
      tenant,
      {
        to: '+1202',
        from: 'Way too long sender',
        body: ' ',
      },
      'global',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.pointer)).toEqual(['/to', '/from', '/body']);
    expect(deps.messages.items.size).toBe(0);
    expect(deps.queue.sent).toHaveLength(0);
  });

  it('refuses a body over the segment maximum', async () => {
    const error = (await makeSendMessage(deps)(tenant, { ...good, body: 'ж'.repeat(671) }, 'global').catch(
      (e) => e,
    )) as ValidationError;
    expect(error.issues).toEqual([
      { pointer: '/body', detail: "'body' needs 11 UCS-2 segments; the maximum is 10" },
    ]);
  });

  it('returns the original result for a replayed Idempotency-Key, without a second message', async () => {
    const send = makeSendMessage(deps);
    const first = await send(tenant, good, 'global', 'order-42');
    const replay = await send(tenant, good, 'global', 'order-42');
    expect(replay).toEqual({ result: first.result, replayed: true });
    expect(deps.messages.items.size).toBe(1);
    expect(deps.queue.sent).toHaveLength(1);
  });

  it('refuses the same Idempotency-Key with a different request', async () => {
    const send = makeSendMessage(deps);
    await send(tenant, good, 'global', 'order-42');
    await expect(send(tenant, { ...good, body: 'other' }, 'global', 'order-42')).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
  });

  it('keeps idempotency keys per tenant', async () => {
    const send = makeSendMessage(deps);
    await send(tenant, good, 'global', 'same');
    const other = await send(
      { ...tenant, tenantId: 'ten_B' },
      { ...good, body: 'different' },
      'global',
      'same',
    );
    expect(other.replayed).toBe(false);
  });

  it('removes a message it could not enqueue, and a retry takes its reserved id over at once', async () => {
    deps.queue.failIds.add('msg_00000000000000000000000001');
    const send = makeSendMessage(deps);
    await expect(send(tenant, good, 'global', 'k1')).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(deps.messages.items.size).toBe(0);
    deps.queue.failIds.clear();
    const retry = await send(tenant, good, 'global', 'k1');
    expect(retry).toMatchObject({
      replayed: false,
      result: { message: { id: 'msg_00000000000000000000000001' } },
    });
    expect(deps.messages.items.size).toBe(1);
  });

  it('replays the stored message when the write completing its key failed, never a second message', async () => {
    const send = makeSendMessage(deps);
    const idempotency = deps.stores.global.idempotency;
    const complete = idempotency.complete.bind(idempotency);
    // The message is stored and queued; then the write completing the key fails (503 to the client).
    idempotency.complete = async () => {
      idempotency.complete = complete;
      throw new ServiceUnavailableError('DynamoDB failed');
    };
    await expect(send(tenant, good, 'global', 'k503')).rejects.toBeInstanceOf(ServiceUnavailableError);
    const [stored] = [...deps.messages.items.values()];
    deps.clock.advance(1000);
    const retry = await send(tenant, good, 'global', 'k503');
    expect(retry.result.message.id).toBe(stored!.id);
    expect(deps.messages.items.size).toBe(1);
    expect(new Set(deps.queue.sent.map((r) => r.messageId))).toEqual(new Set([stored!.id]));
    const replay = await send(tenant, good, 'global', 'k503');
    expect(replay).toEqual({ result: retry.result, replayed: true });
  });

  it('reuses the reserved ids when a retry takes over from an attempt that died', async () => {
    const send = makeSendMessage(deps);
    const enqueue = deps.queue.enqueue.bind(deps.queue);
    // The first attempt stores its message, then its process dies before it enqueues.
    let reachedEnqueue!: () => void;
    const stored = new Promise<void>((r) => {
      reachedEnqueue = r;
    });
    deps.queue.enqueue = () => {
      reachedEnqueue();
      return new Promise<never>(() => undefined);
    };
    void send(tenant, good, 'global', 'k2');
    await stored;
    const [stranded] = [...deps.messages.items.values()];
    deps.queue.enqueue = enqueue;
    await expect(send(tenant, good, 'global', 'k2')).rejects.toThrow('still being processed');
    deps.clock.advance(61_000); // past the first attempt's lease
    const { result } = await send(tenant, good, 'global', 'k2');
    expect(result.message.id).toBe(stranded!.id);
    expect(deps.messages.items.size).toBe(1);
    expect(deps.queue.sent.map((r) => r.messageId)).toEqual([stranded!.id]);
  });

  describe('a retry taking over an Idempotency-Key whose messages were stored', () => {
    /** The write completing the key fails once: the client hears 503 after its messages were stored. */
    const failCompleteOnce = (store = deps.stores.global.idempotency) => {
      const complete = store.complete.bind(store);
      store.complete = async () => {
        store.complete = complete;
        throw new ServiceUnavailableError('DynamoDB failed');
      };
    };
    const floodCounts = (j: 'global' | 'eu' = 'global') =>
      [...deps.recipients[j].floods.entries()].filter(([k]) => k.split('/').length === 3).map(([, n]) => n);
    const segmentsCounted = () => [...deps.counters.usage.values()].reduce((a, b) => a + b, 0);

    it('answers with the stored message as it was accepted (its createdAt and reference code) and counts it once', async () => {
      await deps.tenants.createTenant(
        tenantRecord({ replies: { ...DEFAULT_REPLIES, referenceCodes: true } }),
      );
      const send = makeSendMessage(deps);
      failCompleteOnce();
      await expect(send(tenant, good, 'global', 'k-take')).rejects.toBeInstanceOf(ServiceUnavailableError);
      const [stored] = [...deps.messages.items.values()];
      deps.clock.advance(5_000);
      const retry = await send(tenant, good, 'global', 'k-take');
      expect(retry.replayed).toBe(false);
      expect(retry.result.message).toMatchObject({
        id: stored!.id,
        createdAt: stored!.createdAt,
        body: stored!.body,
        status: 'queued',
      });
      expect(floodCounts()).toEqual([1]);
      expect(segmentsCounted()).toBe(1);
      expect(await send(tenant, good, 'global', 'k-take')).toEqual({ result: retry.result, replayed: true });
    });

    it('answers a quarantined message as quarantined and reports its quarantine once', async () => {
      const changes: StatusChange[] = [];
      const send = makeSendMessage({
        ...deps,
        events: { changed: (c) => changes.push(c), flush: async () => undefined },
      });
      const shortened = { ...good, body: 'Pay at https://bit.ly/x' };
      failCompleteOnce();
      await expect(send(tenant, shortened, 'global', 'k-q')).rejects.toBeInstanceOf(ServiceUnavailableError);
      deps.clock.advance(5_000);
      const retry = await send(tenant, shortened, 'global', 'k-q');
      const [stored] = [...deps.messages.items.values()];
      expect(retry.result.message).toMatchObject({
        status: 'quarantined',
        createdAt: stored!.createdAt,
        error: stored!.error,
      });
      expect(changes.map((c) => [c.messageId, c.status])).toEqual([[stored!.id, 'quarantined']]);
    });

    it('in a batch, answers each stored item as it was accepted and counts each once', async () => {
      const items = [
        { ok: true, input: good },
        { ok: true, input: { ...good, to: '+12025550101' } },
      ] as const;
      failCompleteOnce();
      await expect(makeSendBatch(deps)(tenant, [...items], 'global', 'k-batch')).rejects.toBeInstanceOf(
        ServiceUnavailableError,
      );
      const stored = [...deps.messages.items.values()];
      deps.clock.advance(5_000);
      const retry = await makeSendBatch(deps)(tenant, [...items], 'global', 'k-batch');
      expect(
        retry.result.results.map((r) => r.status === 'accepted' && [r.message.id, r.message.createdAt]),
      ).toEqual(stored.map((m) => [m.id, m.createdAt]));
      expect(floodCounts()).toEqual([1, 1]);
      expect(segmentsCounted()).toBe(2);
    });
  });

  describe('the Idempotency-Key record', () => {
    it('keeps no body, and its replay still answers with the body, byte for byte', async () => {
      const send = makeSendMessage(deps);
      const first = await send(tenant, good, 'global', 'k-body');
      const records = (deps.idempotency as FakeIdempotencyStore).records;
      expect(JSON.stringify([...records.values()])).not.toContain('123456');
      const replay = await send(tenant, good, 'global', 'k-body');
      expect(replay.replayed).toBe(true);
      expect(JSON.stringify(replay.result)).toBe(JSON.stringify(first.result));
    });

    it('replays a record kept with its body before bodies were left out', async () => {
      const send = makeSendMessage(deps);
      const first = await send(tenant, good, 'global', 'k-old');
      const record = (deps.idempotency as FakeIdempotencyStore).records.get('ten_A/k-old')!;
      record.result = structuredClone(first.result);
      const replay = await send(tenant, good, 'global', 'k-old');
      expect(JSON.stringify(replay.result)).toBe(JSON.stringify(first.result));
    });
  });

  describe('in a batch', () => {
    it('accepts the valid items and refuses the others, each with its own index and pointers', async () => {
      const { result } = await makeSendBatch(deps)(
        tenant,
        [
          { ok: true, input: good },
          { ok: true, input: { ...good, to: '+44' } },
          { ok: false, issues: [{ pointer: '/messages/2/body', detail: "'body' is required" }] },
          { ok: true, input: { ...good, body: 'Привет' } },
        ],
        'global',
      );
      expect(result.accepted).toBe(2);
      expect(result.rejected).toBe(2);
      expect(result.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'rejected', 'accepted']);
      const second = result.results[1]!;
      expect(
        second.status === 'rejected' && second.reason === 'validation' && second.errors[0]!.pointer,
      ).toBe('/messages/1/to');
      const fourth = result.results[3]!;
      expect(fourth.status === 'accepted' && fourth.message.encoding).toBe('UCS-2');
      expect(deps.queue.sent).toHaveLength(2);
    });

    it('reports an item it could not enqueue as refused and keeps no trace of it', async () => {
      deps.queue.failIds.add('msg_00000000000000000000000002');
      const { result } = await makeSendBatch(deps)(
        tenant,
        [
          { ok: true, input: good },
          { ok: true, input: good },
        ],
        'global',
      );
      expect(result.results[1]).toEqual({ index: 1, status: 'rejected', reason: 'unavailable' });
      expect(deps.messages.items.size).toBe(1);
    });
  });

  describe('across jurisdictions', () => {
    const german = { ...good, to: '+4915123456789' };

    it("stores an EU subject's message only in the EU stores, whichever endpoint took it", async () => {
      const { result } = await makeSendMessage(deps)(tenant, german, 'global', 'eu-1');
      expect(result.message.jurisdiction).toBe('eu');
      expect(deps.stores.global.messages.items.size).toBe(0);
      expect(deps.stores.global.queue.sent).toHaveLength(0);
      expect((deps.stores.global.idempotency as FakeIdempotencyStore).records.size).toBe(0);
      expect([...deps.stores.eu.messages.items.values()].map((m) => m.to)).toEqual(['+4915123456789']);
      expect(deps.stores.eu.queue.sent).toEqual([
        { tenantId: 'ten_A', messageId: result.message.id, jurisdiction: 'eu' },
      ]);
      expect((deps.stores.eu.idempotency as FakeIdempotencyStore).records.size).toBe(1);
    });

    it('refuses an Idempotency-Key reused with a recipient in the other jurisdiction, creating nothing there', async () => {
      const send = makeSendMessage(deps);
      await send(tenant, good, 'global', 'k-both');
      await expect(send(tenant, german, 'global', 'k-both')).rejects.toBeInstanceOf(IdempotencyConflictError);
      await expect(send(tenant, german, 'eu', 'k-both')).rejects.toBeInstanceOf(IdempotencyConflictError);
      expect(deps.stores.eu.messages.items.size).toBe(0);
      // The same request again is still a replay; another tenant's key of that name is its own.
      expect((await send(tenant, good, 'global', 'k-both')).replayed).toBe(true);
      await send({ ...tenant, tenantId: 'ten_B' }, german, 'global', 'k-both');
    });

    it('refuses an EU subject at the global endpoint with 421 and the EU endpoint when residency is strict', async () => {
      const strict = tenantContext({ residency: 'strict' });
      const error = await makeSendMessage(deps)(strict, german, 'global', 'k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MisdirectedError);
      expect(error).toMatchObject({ jurisdiction: 'eu', endpoint: 'https://eu.api.example' });
      for (const j of ['global', 'eu'] as const) {
        expect(deps.stores[j].messages.items.size).toBe(0);
        expect((deps.stores[j].idempotency as FakeIdempotencyStore).records.size).toBe(0);
      }
      // The EU endpoint takes it, and a global subject is still welcome at the global one.
      await makeSendMessage(deps)(strict, german, 'eu');
      await makeSendMessage(deps)(strict, good, 'global');
      expect(deps.stores.eu.messages.items.size).toBe(1);
      expect(deps.stores.global.messages.items.size).toBe(1);
    });

    it('splits a mixed batch by jurisdiction at the EU endpoint, leaves its EU items to the relay at the global one, and refuses only the EU items of a strict tenant', async () => {
      const items = [
        { ok: true, input: good },
        { ok: true, input: german },
      ] as const;
      const mixed = await makeSendBatch(deps)(tenant, [...items], 'eu');
      expect(mixed.result.accepted).toBe(2);
      expect(deps.stores.global.queue.sent.map((r) => r.jurisdiction)).toEqual(['global']);
      expect(deps.stores.eu.queue.sent.map((r) => r.jurisdiction)).toEqual(['eu']);
      // A forward tenant at the global endpoint: the EU item goes to the EU API, nothing is written here.
      const relayed = await makeSendBatch(deps)(tenant, [...items], 'global');
      expect(relayed.result.results.map((r) => r.status)).toEqual(['accepted', 'relayed']);
      expect(deps.stores.eu.messages.items.size).toBe(1);
      expect(deps.stores.eu.queue.sent).toHaveLength(1);
      const strict = await makeSendBatch(deps)(tenantContext({ residency: 'strict' }), [...items], 'global');
      expect(strict.result.results[1]).toEqual({
        index: 1,
        status: 'rejected',
        reason: 'residency',
        jurisdiction: 'eu',
        endpoint: 'https://eu.api.example',
      });
      expect(deps.stores.eu.messages.items.size).toBe(1);
    });

    it("gives each message the tenant's retention: metadata expiry and the body's days after final", async () => {
      const ctx = tenantContext({ retention: { bodyDays: 0, metadataDays: 30 } });
      const { result } = await makeSendMessage(deps)(ctx, good, 'global');
      const stored = await deps.messages.get('ten_A', result.message.id, deps.clock.now());
      expect(stored!.expiresAt).toBe(Math.floor(deps.clock.now().getTime() / 1000) + 30 * 86_400);
      expect(stored!.bodyRetentionDays).toBe(0);
    });
  });
});
