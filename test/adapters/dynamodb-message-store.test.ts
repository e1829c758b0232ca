import { beforeAll, describe, expect, it } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import { DynamoDbMessageStore } from '../../layers/adapters/dynamodb-message-store.ts';
import { ValidationError } from '../../layers/core/errors.ts';
import { newUlid } from '../../layers/core/ids.ts';
import { DEFAULT_RETENTION, type MessageRecord } from '../../layers/core/model.ts';
import { localCrypto, uniqueName } from '../support/aws.ts';

const table = uniqueName('messages');
const { dynamodb, crypto } = localCrypto(table);
const store = new DynamoDbMessageStore(dynamodb, table, crypto);
// Now, to the second: DynamoDB Local removes items whose TTL has passed, so a fixed date in the
// past would make these tests depend on when they run.
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);

let seq = 0;
function message(tenantId: string, overrides: Partial<MessageRecord> = {}, at = T0): MessageRecord {
  seq += 1;
  const prepared = prepareMessage(
    { to: '+12025550100', from: 'Acme', body: `hello ${seq}` },
    { tenantId, mode: 'live', retention: DEFAULT_RETENTION },
    { id: `msg_${newUlid(at.getTime() + seq)}`, now: at },
  );
  if (!prepared.ok) throw new Error('fixture');
  return { ...prepared.message, ...overrides };
}

const ref = (m: MessageRecord) => ({ tenantId: m.tenantId, messageId: m.id, jurisdiction: m.jurisdiction });

beforeAll(async () => {
  await ensureTable(dynamodb, table, TABLES.messages);
});

describe('DynamoDbMessageStore on DynamoDB Local', () => {
  it('reads a message back only under its own tenant', async () => {
    const m = message('ten_A');
    await store.create([m]);
    await expect(store.get('ten_A', m.id, T0)).resolves.toEqual(m);
    await expect(store.get('ten_B', m.id, T0)).resolves.toBeUndefined();
  });

  it('never returns an expired item, though DynamoDB Local keeps it', async () => {
    const m = message('ten_A', { expiresAt: T0.getTime() / 1000 + 60 });
    await store.create([m]);
    await expect(store.get('ten_A', m.id, T0)).resolves.toBeDefined();
    const later = new Date(T0.getTime() + 61_000);
    await expect(store.get('ten_A', m.id, later)).resolves.toBeUndefined();
    const page = await store.list('ten_A', { limit: 100 }, later);
    expect(page.items.map((i) => i.id)).not.toContain(m.id);
  });

  it('lists newest first across pages with a cursor, and filters by status', async () => {
    const tenant = `ten_${uniqueName('list')}`;
    const batch = Array.from({ length: 30 }, (_, i) =>
      message(tenant, {}, new Date(T0.getTime() + i * 1000)),
    );
    await store.create(batch);
    await store.transition(ref(batch[3]!), 'failed', T0, { error: { code: 'x', message: 'y' } });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(tenant, { limit: 12, cursor }, T0);
      seen.push(...page.items.map((m) => m.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(batch.map((m) => m.id).reverse());
    const failed = await store.list(tenant, { status: 'failed', limit: 10 }, T0);
    expect(failed.items.map((m) => m.id)).toEqual([batch[3]!.id]);
    expect(failed.items[0]).toMatchObject({ status: 'failed', error: { code: 'x' } });
  });

  it('pages a status filter newest first, with no message twice or left out', async () => {
    const tenant = `ten_${uniqueName('status')}`;
    const batch = Array.from({ length: 150 }, (_, i) =>
      message(tenant, {}, new Date(T0.getTime() + i * 1000)),
    );
    await store.create(batch);
    const delivered = batch.filter((_, i) => i % 7 === 0);
    for (const m of delivered) await store.transition(ref(m), 'delivered', T0);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(tenant, { status: 'delivered', limit: 4, cursor }, T0);
      pages.push(page.items.map((m) => m.id));
      expect(page.items.every((m) => m.status === 'delivered')).toBe(true);
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages.flat()).toEqual(delivered.map((m) => m.id).reverse());
    expect(pages.slice(0, -1).every((p) => p.length === 4)).toBe(true);
    const queued = await store.list(tenant, { status: 'queued', limit: 200 }, T0);
    expect(queued.items).toHaveLength(150 - delivered.length);
    expect(queued.nextCursor).toBeUndefined();
  });

  it('refuses a cursor it did not issue', async () => {
    await expect(store.list('ten_A', { limit: 5, cursor: 'bm9wZQ' }, T0)).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('lets one worker claim a queued message and tells the others it is busy, then done', async () => {
    const m = message('ten_A');
    await store.create([m]);
    const first = await store.claim(ref(m), 'w1', 30_000, T0);
    expect(first).toMatchObject({ outcome: 'claimed', message: { id: m.id, attempts: 1 } });
    await expect(store.claim(ref(m), 'w2', 30_000, T0)).resolves.toEqual({ outcome: 'busy' });
    await store.markSent(ref(m), 'w1', 'carrier-1', T0);
    await expect(store.claim(ref(m), 'w3', 30_000, T0)).resolves.toEqual({ outcome: 'done', status: 'sent' });
    await expect(store.get('ten_A', m.id, T0)).resolves.toMatchObject({
      status: 'sent',
      carrierMessageId: 'carrier-1',
    });
  });

  it('lets another worker take over a claim whose lease has expired, and ignores the old holder', async () => {
    const m = message('ten_A');
    await store.create([m]);
    await store.claim(ref(m), 'dead', 1_000, T0);
    const later = new Date(T0.getTime() + 2_000);
    await expect(store.claim(ref(m), 'w2', 30_000, later)).resolves.toMatchObject({
      outcome: 'claimed',
      message: { attempts: 2 },
    });
    await store.markSent(ref(m), 'dead', 'stale', later);
    await expect(store.get('ten_A', m.id, later)).resolves.toMatchObject({ status: 'queued' });
  });

  it('renews a claim only for the worker that still holds it', async () => {
    const m = message('ten_A');
    await store.create([m]);
    await store.claim(ref(m), 'w1', 1_000, T0);
    // Renewed at 0.5 s for 30 s: at 2 s the message is still held.
    await expect(store.renewClaim(ref(m), 'w1', 30_000, new Date(T0.getTime() + 500))).resolves.toBe(true);
    const at2s = new Date(T0.getTime() + 2_000);
    await expect(store.claim(ref(m), 'w2', 30_000, at2s)).resolves.toEqual({ outcome: 'busy' });
    await expect(store.renewClaim(ref(m), 'w2', 30_000, at2s)).resolves.toBe(false);
    await store.markSent(ref(m), 'w1', 'carrier-1', at2s);
    await expect(store.renewClaim(ref(m), 'w1', 30_000, at2s)).resolves.toBe(false);
  });

  it('reports a missing message as missing', async () => {
    await expect(
      store.claim({ tenantId: 'ten_A', messageId: 'msg_nope', jurisdiction: 'global' }, 't', 1000, T0),
    ).resolves.toEqual({
      outcome: 'missing',
    });
  });

  it('keeps a final status final and fills sentAt from a receipt that overtook the worker', async () => {
    const m = message('ten_A');
    await store.create([m]);
    // The change names what usage and webhooks need, and nothing of the content.
    await expect(store.transition(ref(m), 'delivered', T0, { carrierMessageId: 'c1' })).resolves.toEqual({
      outcome: 'updated',
      change: {
        tenantId: m.tenantId,
        messageId: m.id,
        jurisdiction: m.jurisdiction,
        status: 'delivered',
        at: T0.toISOString(),
        mode: m.mode,
        country: 'US',
        segments: m.segments,
      },
    });
    await expect(
      store.transition(ref(m), 'failed', T0, { error: { code: 'late', message: 'late' } }),
    ).resolves.toEqual({ outcome: 'ignored' });
    await expect(store.get('ten_A', m.id, T0)).resolves.toMatchObject({
      status: 'delivered',
      sentAt: T0.toISOString(),
      deliveredAt: T0.toISOString(),
      carrierMessageId: 'c1',
    });
  });

  it('tells which of some ids are stored and as what (expired or not), without their content', async () => {
    const queued = message('ten_A', { refCode: 'K7Q2MX' });
    const quarantined = message('ten_A', {
      status: 'quarantined',
      error: { code: 'content_denied', message: 'denied' },
      expiresAt: T0.getTime() / 1000 - 60,
    });
    await store.create([queued, quarantined]);
    const found = await store.accepted('ten_A', [
      queued.id,
      quarantined.id,
      'msg_00000000000000000000000000',
    ]);
    expect(found.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [queued, quarantined]
        .map(({ id, status, createdAt, expiresAt, refCode, error }) => ({
          id,
          status,
          createdAt,
          expiresAt,
          refCode,
          error,
        }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(JSON.stringify(found)).not.toMatch(/hello|12025550100/);
    await expect(store.accepted('ten_B', [queued.id])).resolves.toEqual([]);
  });

  it('does not overwrite existing messages when asked to create with mayExist', async () => {
    const m = message('ten_A');
    await store.create([m]);
    await store.transition(ref(m), 'sent', T0, {});
    await store.create([{ ...m, body: 'changed' }, message('ten_A')], { mayExist: true });
    await expect(store.get('ten_A', m.id, T0)).resolves.toMatchObject({ status: 'sent', body: m.body });
  });

  it('writes a batch of 1,000 and removes them', async () => {
    const tenant = `ten_${uniqueName('bulk')}`;
    const many = Array.from({ length: 1000 }, () => message(tenant));
    await store.create(many);
    expect((await store.list(tenant, { limit: 100 }, T0)).items).toHaveLength(100);
    await store.remove(
      tenant,
      many.map((m) => m.id),
    );
    expect((await store.list(tenant, { limit: 100 }, T0)).items).toHaveLength(0);
  });
});
