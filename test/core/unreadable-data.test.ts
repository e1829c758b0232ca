import { beforeEach, describe, expect, it } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import { ListedMessage, MessageList } from '../../functions/messages/schemas.ts';
import { makeDispatchMessage } from '../../functions/messages/use-cases/dispatch-message.ts';
import {
  makeGetMessage,
  makeListMessages,
  makeRedactBody,
} from '../../functions/messages/use-cases/read-messages.ts';
import { makeSubjectRights } from '../../functions/subject-rights/use-cases/subject-rights.ts';
import { TenantCrypto } from '../../layers/core/crypto.ts';
import { UnreadableError } from '../../layers/core/errors.ts';
import { DEFAULT_RETENTION, type MessageRecord } from '../../layers/core/model.ts';
import { toProblem } from '../../layers/http/problems.ts';
import {
  FakeCarrier,
  FakeClock,
  FakeIdempotencyStore,
  FakeKeyringStore,
  FakeKeyService,
  FakeMessageStore,
  FakeRecipientStore,
  FakeTenantStore,
  SequenceIds,
  tenantContext,
} from '../support/fakes.ts';

const US = '+12025550100';

describe('a message whose sealed content does not open', () => {
  let clock: FakeClock;
  let global: FakeMessageStore;
  let sent: MessageRecord[];
  const ctx = tenantContext({ tenantId: 'ten_A' });

  beforeEach(async () => {
    clock = new FakeClock();
    global = new FakeMessageStore();
    sent = [1, 2, 3].map((n) => {
      const prepared = prepareMessage(
        { to: US, from: 'Acme', body: `Your code is ${n}`, reference: `order-${n}` },
        { tenantId: 'ten_A', mode: 'live', retention: DEFAULT_RETENTION },
        { id: `msg_${String(n).padStart(26, '0')}`, now: clock.now() },
      );
      if (!prepared.ok) throw new Error('fixture');
      return prepared.message;
    });
    await global.create(sent);
    global.markUnreadable('ten_A', sent[1]!.id);
  });

  const deps = () => ({ messages: { global, eu: new FakeMessageStore() }, clock, endpoints: {} });

  it('answers its own read with a clear 410 problem, not a 500; the others read as before', async () => {
    const get = makeGetMessage(deps());
    await expect(get(ctx, sent[0]!.id, 'global')).resolves.toMatchObject({ to: US, body: 'Your code is 1' });
    const error = await get(ctx, sent[1]!.id, 'global').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableError);
    const problem = toProblem(error);
    expect(problem.status).toBe(410);
    expect(problem.body).toMatchObject({
      type: 'https://sms-gateway.dev/problems/message-unreadable',
      title: "The message's content cannot be read.",
    });
    expect(problem.body.detail).toContain(sent[1]!.id);
    expect(problem.body.detail).toContain('Asking again gives the same answer');
  });

  it('is listed, marked, with its plain metadata and nothing sealed; the list carries on', async () => {
    const page = await makeListMessages(deps())(ctx, { limit: 10 }, 'global');
    expect(page.data.map((m) => m.id)).toEqual([sent[2]!.id, sent[1]!.id, sent[0]!.id]);
    expect(page.data[1]).toEqual({
      id: sent[1]!.id,
      unreadable: true,
      status: 'queued',
      from: 'Acme',
      category: 'transactional',
      encoding: 'GSM-7',
      characters: 14,
      segments: 1,
      jurisdiction: 'global',
      mode: 'live',
      createdAt: clock.now().toISOString(),
      sentAt: null,
      deliveredAt: null,
      failedAt: null,
      error: null,
    });
    expect(page.data[0]).toMatchObject({ to: US, body: 'Your code is 3', reference: 'order-3' });
    // The documented schema takes both kinds.
    expect(MessageList.safeParse(page).success).toBe(true);
  });

  it("is in the subject's export, marked, beside the readable ones", async () => {
    const rights = makeSubjectRights({
      ...deps(),
      idempotency: { global: new FakeIdempotencyStore(), eu: new FakeIdempotencyStore() },
      recipients: { global: new FakeRecipientStore(), eu: new FakeRecipientStore() },
      tenants: new FakeTenantStore(),
      ids: new SequenceIds(),
      backupWindowDays: 35,
      auditRetentionDays: 400,
      erasureRecordDays: 3650,
    });
    const exported = await rights.export(ctx, US, 'eu');
    const messages = exported.jurisdictions.global!.messages;
    expect(messages.map((m) => ('unreadable' in m ? 'unreadable' : m.body))).toEqual([
      'Your code is 1',
      'unreadable',
      'Your code is 3',
    ]);
  });

  it('still has its body removed on request, and the answer is its marked view', async () => {
    const redacted = await makeRedactBody(deps())(ctx, sent[1]!.id, 'global');
    expect(redacted).toMatchObject({ id: sent[1]!.id, unreadable: true });
    expect(ListedMessage.safeParse(redacted).success).toBe(true);
    expect(global.items.get(`ten_A/${sent[1]!.id}`)?.body).toBeUndefined();
  });

  it('is never sent: dispatch marks it failed, with why, instead of retrying it into the DLQ', async () => {
    const carrier = new FakeCarrier();
    const dispatch = makeDispatchMessage({
      messages: global,
      carrier,
      clock,
      leaseMs: 30_000,
      maxReceiveCount: 3,
    });
    const ref = { tenantId: 'ten_A', messageId: sent[1]!.id, jurisdiction: 'global' as const };
    await expect(dispatch(ref, 1)).resolves.toBe('rejected');
    expect(carrier.sends).toHaveLength(0);
    expect(global.items.get(`ten_A/${sent[1]!.id}`)).toMatchObject({
      status: 'failed',
      error: { code: 'unreadable' },
    });
  });
});

describe('opening sealed content', () => {
  it('tells content that does not open for good from a key service that is only unavailable', async () => {
    const keys = new FakeKeyService();
    const crypto = new TenantCrypto('global', {
      keys,
      keyrings: new FakeKeyringStore(),
      clock: new FakeClock(),
    });
    const sealed = await crypto.seal('ten_A', 'message', 'msg_1', 'hello');
    const other = await crypto.seal('ten_B', 'message', 'msg_9', 'not yours');
    const altered = Buffer.from(sealed.blob);
    altered[altered.length - 1]! ^= 1;
    for (const bad of [{ ...sealed, blob: altered }, other, { ...sealed, blob: new Uint8Array([9]) }]) {
      await expect(crypto.open('ten_A', 'message', 'msg_1', bad)).rejects.toBeInstanceOf(UnreadableError);
    }
    // Throttled or down: thrown as it came, so the request is answered 503 and retried.
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const fresh = new TenantCrypto('global', {
      keys: Object.assign(Object.create(keys), { decrypt: async () => Promise.reject(throttled) }),
      keyrings: new FakeKeyringStore(),
      clock: new FakeClock(),
    });
    const error = await fresh.open('ten_A', 'message', 'msg_1', sealed).catch((e: unknown) => e);
    expect(error).toBe(throttled);
    expect(toProblem(error).status).toBe(503);
  });

  it('answers another sealed record a request needs (a replayed result) with 410 data-unreadable', async () => {
    const crypto = new TenantCrypto('global', {
      keys: new FakeKeyService(),
      keyrings: new FakeKeyringStore(),
      clock: new FakeClock(),
    });
    const sealed = await crypto.seal('ten_A', 'idempotency', 'IDEM#k1', '{"message":{}}');
    const error = await crypto.open('ten_A', 'idempotency', 'IDEM#k2', sealed).catch((e: unknown) => e);
    expect(toProblem(error)).toMatchObject({
      status: 410,
      body: {
        type: 'https://sms-gateway.dev/problems/data-unreadable',
        title: 'Stored data cannot be read.',
      },
    });
  });
});
