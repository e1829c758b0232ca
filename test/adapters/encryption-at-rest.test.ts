import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import { makeCloseAccount } from '../../functions/tenants/use-cases/close-account.ts';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import { DynamoDbMessageStore } from '../../layers/adapters/dynamodb-message-store.ts';
import { DynamoDbRecipientStore } from '../../layers/adapters/dynamodb-recipient-store.ts';
import { DynamoDbWebhookHistory } from '../../layers/adapters/dynamodb-webhook-store.ts';
import { newUlid } from '../../layers/core/ids.ts';
import type { MessageRecord, RetentionPolicy } from '../../layers/core/model.ts';
import { localCrypto, uniqueName } from '../support/aws.ts';
import { FakeClock, FakeTenantStore } from '../support/fakes.ts';

const table = uniqueName('messages');
// From now: DynamoDB Local removes items whose TTL has passed, so a fixed date would rot.
const clock = new FakeClock(new Date(Math.floor(Date.now() / 1000) * 1000));
const local = localCrypto(table, { clock });
const store = new DynamoDbMessageStore(local.dynamodb, table, local.crypto);
const DAY = 86_400_000;

let seq = 0;
function message(
  tenantId: string,
  retention: RetentionPolicy = { bodyDays: 7, metadataDays: 90 },
): MessageRecord {
  seq += 1;
  const prepared = prepareMessage(
    { to: '+4915123456789', from: 'Acme', body: `Geheim ${seq}`, reference: `order-${seq}` },
    { tenantId, mode: 'live', retention },
    { id: `msg_${newUlid(clock.now().getTime() + seq)}`, now: clock.now() },
  );
  if (!prepared.ok) throw new Error('fixture');
  return prepared.message;
}

const ref = (m: MessageRecord) => ({ tenantId: m.tenantId, messageId: m.id, jurisdiction: m.jurisdiction });

async function rawItems(tenantId?: string) {
  const out = await local.dynamodb.send(new ScanCommand({ TableName: table }));
  return (out.Items ?? []).map((i) => unmarshall(i)).filter((i) => !tenantId || i.pk === tenantId);
}

const nothingHeld = { removeTenant: async () => 0 };
const nothingCounted = { forgetTenant: async () => 0 };

/** Active tenants in a fake tenant store, and the closure of this table's jurisdiction over them. */
async function closure(
  ids: string[],
  webhookHistory: { removeTenant(id: string): Promise<number> } = nothingHeld,
) {
  const tenants = new FakeTenantStore();
  for (const id of ids) {
    await tenants.createTenant({
      id,
      displayName: id,
      legalName: id,
      contactEmail: 'a@b.test',
      homeJurisdiction: 'global',
      status: 'active',
      createdAt: clock.now().toISOString(),
      retention: { bodyDays: 7, metadataDays: 90 },
      residency: 'forward',
    });
  }
  return makeCloseAccount({
    tenants,
    messages: { global: store, eu: store },
    idempotencyScope: nothingHeld,
    counters: { removeBucket: async () => {} },
    webhookHistory: { global: webhookHistory, eu: nothingHeld },
    keyrings: { global: local.keyrings, eu: local.keyrings },
    usage: { global: nothingCounted, eu: nothingCounted },
    keys: { global: local.keys, eu: local.keys },
    crypto: { global: local.crypto, eu: local.crypto },
    clock,
    keyDeletionDays: 7,
    backupWindowDays: 35,
    recordsRetentionDays: 3650,
    jurisdictions: ['global'],
  });
}

beforeAll(async () => {
  await ensureTable(local.dynamodb, table, TABLES.messages);
});

describe('data at rest, on DynamoDB Local with the KMS stand-in', () => {
  it('stores no recipient, body or reference in clear, and reads them back decrypted', async () => {
    const m = message('ten_A');
    await store.create([m]);
    const raw = JSON.stringify(await rawItems('ten_A'), (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
    );
    expect(raw).not.toContain('4915123456789');
    expect(raw).not.toContain('Geheim');
    expect(raw).not.toContain('order-');
    await expect(store.get('ten_A', m.id, clock.now())).resolves.toMatchObject({
      to: '+4915123456789',
      body: m.body,
      reference: m.reference,
    });
    await expect(store.idsForSubject('ten_A', '+4915123456789')).resolves.toContain(m.id);
    await expect(store.idsForSubject('ten_B', '+4915123456789')).resolves.toEqual([]);
  });

  it('never returns a message past its metadata retention, on any read path', async () => {
    const m = message('ten_R', { bodyDays: 1, metadataDays: 2 });
    await store.create([m]);
    clock.advance(2 * DAY + 1000);
    const now = clock.now();
    await expect(store.get('ten_R', m.id, now)).resolves.toBeUndefined();
    await expect(store.list('ten_R', { limit: 10 }, now)).resolves.toMatchObject({ items: [] });
    await expect(store.list('ten_R', { limit: 10, status: 'queued' }, now)).resolves.toMatchObject({
      items: [],
    });
    const claim = await store.claim(ref(m), 'token', 1000, now);
    expect(claim.outcome).toBe('missing');
    // Every raw item holding personal data carries a TTL no later than the policy allows (the
    // keyring item holds none: a key ARN and a wrapped secret).
    for (const item of (await rawItems('ten_R')).filter((i) => i.sk !== 'KEYRING')) {
      expect(item.expiresAt).toBeLessThanOrEqual(Math.floor(m.expiresAt));
    }
  });

  it("drops the body at the final status when the tenant keeps none, and keeps the message's metadata", async () => {
    const m = message('ten_Z', { bodyDays: 0, metadataDays: 90 });
    await store.create([m]);
    await store.transition(ref(m), 'delivered', clock.now(), { carrierMessageId: 'c1' });
    const read = await store.get('ten_Z', m.id, clock.now());
    expect(read).toMatchObject({ status: 'delivered', to: '+4915123456789' });
    expect(read).not.toHaveProperty('body');
    expect((await rawItems('ten_Z')).map((i) => i.sk).filter((sk) => sk !== 'KEYRING')).toEqual([
      `MSG#${m.id}`,
    ]);
  });

  it('keeps a body for its days after the first final status only, and a late duplicate receipt never extends it', async () => {
    const m = message('ten_S', { bodyDays: 7, metadataDays: 90 });
    await store.create([m]);
    const finalAt = clock.now();
    await store.transition(ref(m), 'delivered', finalAt);
    clock.advance(3 * DAY);
    await store.transition(ref(m), 'delivered', clock.now());
    const body = (await rawItems('ten_S')).find((i) => String(i.sk).startsWith('BODY#'))!;
    expect(body.expiresAt).toBe(Math.floor(finalAt.getTime() / 1000) + 7 * 86_400);
    clock.advance(4 * DAY + 1000);
    const read = await store.get('ten_S', m.id, clock.now());
    expect(read).toMatchObject({ status: 'delivered', to: m.to });
    expect(read).not.toHaveProperty('body');
    expect((await store.list('ten_S', { limit: 5 }, clock.now())).items[0]).not.toHaveProperty('body');
  });

  it('removes one body on request', async () => {
    const m = message('ten_D');
    await store.create([m]);
    await expect(store.removeBody('ten_D', m.id, clock.now())).resolves.toBe(true);
    expect(await store.get('ten_D', m.id, clock.now())).not.toHaveProperty('body');
    await expect(store.removeBody('ten_D', m.id, clock.now())).resolves.toBe(false);
  });

  it('creates one key per tenant even when two functions race to create it', async () => {
    const a = localCrypto(table, { clock });
    const b = localCrypto(table, { clock });
    await Promise.all([a.crypto.ensureTenantKey('ten_RACE'), b.crypto.ensureTenantKey('ten_RACE')]);
    const pa = await a.crypto.pseudonym('ten_RACE', '+4915123456789');
    const pb = await b.crypto.pseudonym('ten_RACE', '+4915123456789');
    expect(pa).toBe(pb);
  });

  it("stores a new tenant's first message while its opt-out check is still looking for the key", async () => {
    // One process, one crypto per jurisdiction: the send path's opt-out look-up (which may not
    // create the key: no key, nobody opted out) and the message write (which creates it) at once.
    const fresh = localCrypto(table, { clock });
    const messages = new DynamoDbMessageStore(fresh.dynamodb, table, fresh.crypto);
    const recipients = new DynamoDbRecipientStore(fresh.dynamodb, table, fresh.crypto);
    const m = message('ten_FIRST');
    const [optOut, stored] = await Promise.allSettled([
      recipients.getOptOut('ten_FIRST', m.to),
      messages.create([m]),
    ]);
    expect(optOut).toEqual({ status: 'fulfilled', value: undefined });
    expect(stored).toEqual({ status: 'fulfilled', value: undefined });
    await expect(messages.get('ten_FIRST', m.id, clock.now())).resolves.toMatchObject({ to: m.to });
  });

  it('after closure, a raw copy taken before (a backup) can no longer be decrypted, and other tenants are unaffected', async () => {
    const doomed = message('ten_CLOSE');
    const other = message('ten_KEEP');
    await store.create([doomed, other]);
    const backup = await rawItems();
    const close = await closure(['ten_CLOSE', 'ten_KEEP']);
    const closed = await close('ten_CLOSE');
    expect(closed.jurisdictions[0]).toMatchObject({
      jurisdiction: 'global',
      keyDeletionDate: expect.any(String),
    });
    expect((await rawItems('ten_CLOSE')).map((i) => i.sk)).toEqual(['KEYRING']);

    // Restore the "backup" into a fresh table and read it with a fresh process's crypto.
    const restored = uniqueName('restored');
    await ensureTable(local.dynamodb, restored, TABLES.messages);
    const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    for (const item of backup) {
      await local.dynamodb.send(new PutItemCommand({ TableName: restored, Item: marshall(item) }));
    }
    const fresh = localCrypto(restored, { clock });
    const restoredStore = new DynamoDbMessageStore(fresh.dynamodb, restored, fresh.crypto);
    // Crypto-shredded: KMS refuses the data key, so only what is stored in clear comes back.
    const shredded = await restoredStore.get('ten_CLOSE', doomed.id, clock.now());
    expect(shredded).toMatchObject({ id: doomed.id, unreadable: true });
    for (const sealed of ['to', 'body', 'reference']) expect(shredded).not.toHaveProperty(sealed);
    await expect(restoredStore.get('ten_KEEP', other.id, clock.now())).resolves.toMatchObject({
      to: '+4915123456789',
      body: other.body,
    });
  });

  it('keeps no webhook attempt that lands after the closure swept the table (a delivery in flight)', async () => {
    const m = message('ten_INFLIGHT');
    await store.create([m]);
    const history = new DynamoDbWebhookHistory(local.dynamodb, table);
    const attempt = (deliveryId: string) => ({
      deliveryId,
      endpointId: 'whk_1',
      tenantId: 'ten_INFLIGHT',
      type: 'message.status' as const,
      createdAt: clock.now().toISOString(),
      status: 'retrying' as const,
      attempts: 1,
      lastAttemptAt: clock.now().toISOString(),
      lastError: 'The request failed.',
    });
    const expiresAt = Math.floor(clock.now().getTime() / 1000) + 86_400;
    await expect(history.record(attempt('wev_before'), expiresAt)).resolves.toBe(true);
    // The worker's attempt (its endpoint read before the closure) ends right after the sweep.
    let late: boolean | undefined;
    const sweptThenLate = {
      removeTenant: async (tenantId: string) => {
        const removed = await history.removeTenant(tenantId);
        late = await history.record(attempt('wev_late'), expiresAt);
        return removed;
      },
    };
    const close = await closure(['ten_INFLIGHT'], sweptThenLate);
    await close('ten_INFLIGHT');
    expect(late).toBe(false);
    expect(await rawItems('ten_INFLIGHT#webhooks')).toEqual([]);
    expect((await rawItems('ten_INFLIGHT')).map((i) => i.sk)).toEqual(['KEYRING']);
  });
});
