import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookEndpoint, WebhookSecret } from '../../functions/webhooks/model.ts';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import { DynamoDbWebhookStore } from '../../layers/adapters/dynamodb-webhook-store.ts';
import type { TenantCrypto } from '../../layers/core/crypto.ts';
import { localCrypto, uniqueName } from '../support/aws.ts';

/**
 * Issue 14, "each region serves on its own": an endpoint's signing secrets have a global copy
 * (the tenant's global key) and, in the EU region, an EU copy (the tenant's EU key), so the EU
 * webhook worker opens them without the global region's KMS. Both stores share one tenants
 * table here, as the global table's replicas do once replicated.
 */
const tenantsTable = uniqueName('tenants');
const globalMessages = uniqueName('messages-global');
const euMessages = uniqueName('messages-eu');
const { dynamodb, crypto: globalCrypto } = localCrypto(globalMessages, { jurisdiction: 'global' });
const { crypto: euCrypto } = localCrypto(euMessages, { jurisdiction: 'eu' });

/** The global key as the EU region reaches it: its opens counted, refused while us-east-1 is down. */
const usEast1 = { opens: 0, down: false, during: undefined as (() => Promise<unknown>) | undefined };
const globalKey: Pick<TenantCrypto, 'seal' | 'open'> = {
  seal: (...args) => {
    if (usEast1.down) return Promise.reject(new Error('us-east-1 KMS unavailable'));
    return globalCrypto.seal(...args);
  },
  open: async (...args) => {
    usEast1.opens += 1;
    if (usEast1.down) throw new Error('us-east-1 KMS unavailable');
    const opened = await globalCrypto.open(...args);
    await usEast1.during?.();
    return opened;
  },
};
const atGlobal = new DynamoDbWebhookStore(dynamodb, tenantsTable, globalKey);
const inEu = new DynamoDbWebhookStore(dynamodb, tenantsTable, globalKey, euCrypto);

let n = 0;
const endpoint = (): WebhookEndpoint => ({
  tenantId: 'ten_copies',
  id: `whk_${++n}`,
  url: 'https://hooks.example.com/sms',
  events: ['message.status'],
  createdAt: new Date().toISOString(),
});
const secret = (value: string): WebhookSecret[] => [{ value, createdAt: new Date().toISOString() }];
const item = async (e: WebhookEndpoint, sk: string) =>
  (
    await dynamodb.send(
      new GetItemCommand({ TableName: tenantsTable, Key: marshall({ pk: e.tenantId, sk: `${sk}${e.id}` }) }),
    )
  ).Item;
const restore = async (raw: Awaited<ReturnType<typeof item>>) => {
  if (!raw) throw new Error('nothing to restore');
  await dynamodb.send(new PutItemCommand({ TableName: tenantsTable, Item: raw }));
};

beforeAll(async () => {
  await ensureTable(dynamodb, tenantsTable, TABLES.tenants);
  await ensureTable(dynamodb, globalMessages, TABLES.messages);
  await ensureTable(dynamodb, euMessages, TABLES.messages);
});

beforeEach(() => {
  usEast1.opens = 0;
  usEast1.down = false;
  usEast1.during = undefined;
});

describe('webhook secrets sealed in each region', () => {
  it('an endpoint written at the global endpoint gets its EU copy on its first EU read; later EU reads call no global KMS', async () => {
    const e = endpoint();
    await atGlobal.put(e, secret('whsec_first'));
    const first = await inEu.get(e.tenantId, e.id);
    expect(first?.secrets.map((s) => s.value)).toEqual(['whsec_first']);
    expect(usEast1.opens).toBe(1);

    usEast1.down = true;
    const during = await inEu.get(e.tenantId, e.id);
    expect(during?.endpoint).toEqual(e);
    expect(during?.secrets.map((s) => s.value)).toEqual(['whsec_first']);
    expect(usEast1.opens).toBe(1);
    // The endpoint lists as before: the copy is not an endpoint.
    expect((await inEu.list(e.tenantId)).filter((l) => l.id === e.id)).toHaveLength(1);
  });

  it('an endpoint written at the EU endpoint has both copies at once: the EU never needs the global key for it', async () => {
    const e = endpoint();
    await inEu.put(e, secret('whsec_eu'));
    usEast1.down = true;
    expect((await inEu.get(e.tenantId, e.id))?.secrets.map((s) => s.value)).toEqual(['whsec_eu']);
    expect(usEast1.opens).toBe(0);
    usEast1.down = false;
    // The global region reads its own copy.
    expect((await atGlobal.get(e.tenantId, e.id))?.secrets.map((s) => s.value)).toEqual(['whsec_eu']);
  });

  it('after a rotation at the global endpoint the old EU copy is never used, even if it is still there', async () => {
    const e = endpoint();
    await atGlobal.put(e, secret('whsec_old'));
    await inEu.get(e.tenantId, e.id);
    const oldCopy = await item(e, 'WEBHOOKEU#');
    expect(oldCopy).toBeDefined();

    await atGlobal.put(e, secret('whsec_new'));
    // A copy of the old secrets still there (a worker's late write, replication order):
    await restore(oldCopy);
    usEast1.down = true;
    // With us-east-1 down the EU cannot open the new secrets: the read fails (the delivery is
    // retried) instead of signing with the retired secret.
    await expect(inEu.get(e.tenantId, e.id)).rejects.toThrow('us-east-1 KMS unavailable');

    usEast1.down = false;
    expect((await inEu.get(e.tenantId, e.id))?.secrets.map((s) => s.value)).toEqual(['whsec_new']);
    usEast1.down = true;
    expect((await inEu.get(e.tenantId, e.id))?.secrets.map((s) => s.value)).toEqual(['whsec_new']);
  });

  it('a copy of an older revision never replaces a newer one (conditional write): a concurrent rotation wins', async () => {
    const e = endpoint();
    await atGlobal.put(e, secret('whsec_before'));
    const before = await item(e, 'WEBHOOK#');
    // Rotated at the EU endpoint: both copies of the new revision.
    await inEu.put(e, secret('whsec_rotated'));
    const rotated = await item(e, 'WEBHOOK#');
    const rotatedCopy = await item(e, 'WEBHOOKEU#');

    // A worker that still sees the endpoint before the rotation (its replica lags) makes a copy
    // of that revision: the write is refused, the rotation's copy stays.
    await restore(before);
    expect((await inEu.get(e.tenantId, e.id))?.secrets.map((s) => s.value)).toEqual(['whsec_before']);
    expect(usEast1.opens).toBe(1);
    expect(await item(e, 'WEBHOOKEU#')).toEqual(rotatedCopy);

    // Once the rotation is seen, its EU copy serves with us-east-1 down.
    await restore(rotated);
    usEast1.down = true;
    expect((await inEu.get(e.tenantId, e.id))?.secrets.map((s) => s.value)).toEqual(['whsec_rotated']);
  });

  it('removing an endpoint removes its EU copy too', async () => {
    const e = endpoint();
    await inEu.put(e, secret('whsec_gone'));
    expect(await inEu.remove(e.tenantId, e.id)).toBe(true);
    expect(await item(e, 'WEBHOOK#')).toBeUndefined();
    expect(await item(e, 'WEBHOOKEU#')).toBeUndefined();
  });

  it('an endpoint removed while its first EU delivery is opening the global copy (or its account closed) gets no EU copy', async () => {
    const e = endpoint();
    await atGlobal.put(e, secret('whsec_inflight'));
    usEast1.during = () => atGlobal.remove(e.tenantId, e.id);
    // The delivery in flight still has the secret it read; nothing of the endpoint stays behind.
    await expect(inEu.get(e.tenantId, e.id)).resolves.toMatchObject({
      secrets: [{ value: 'whsec_inflight' }],
    });
    expect(await item(e, 'WEBHOOK#')).toBeUndefined();
    expect(await item(e, 'WEBHOOKEU#')).toBeUndefined();
  });
});
