import { createHash } from 'node:crypto';
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import {
  DynamoDbIdempotencyKeyScope,
  DynamoDbIdempotencyStore,
} from '../../layers/adapters/dynamodb-idempotency-store.ts';
import { DynamoDbSecretStore, DynamoDbTenantStore } from '../../layers/adapters/dynamodb-tenant-store.ts';
import { DEFAULT_REPLIES } from '../../layers/core/controls.ts';
import { IdempotencyConflictError, IdempotencyInProgressError } from '../../layers/core/errors.ts';
import type { ApiKeyRecord, Tenant } from '../../layers/core/model.ts';
import { localCrypto, uniqueName } from '../support/aws.ts';

const messagesTable = uniqueName('messages');
const { dynamodb, crypto } = localCrypto(messagesTable);
const tenantsTable = uniqueName('tenants');
// Now, to the second: DynamoDB Local removes items whose TTL has passed, so a fixed date in the
// past would make these tests depend on when they run.
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (ms: number) => new Date(T0.getTime() + ms);

beforeAll(async () => {
  await ensureTable(dynamodb, messagesTable, TABLES.messages);
  await ensureTable(dynamodb, tenantsTable, TABLES.tenants);
});

describe('DynamoDbIdempotencyStore', () => {
  const store = new DynamoDbIdempotencyStore(dynamodb, messagesTable, crypto, {
    ttlSeconds: 3600,
    leaseSeconds: 30,
  });

  it('starts, then replays the stored result for the same request', async () => {
    await expect(store.begin('ten_A', 'k1', 'h1', ['msg_1'], T0)).resolves.toEqual({
      state: 'started',
      messageIds: ['msg_1'],
      takeover: false,
    });
    const result = { message: { id: 'msg_1', body: 'ünïcödé ✓' } };
    await store.complete('ten_A', 'k1', result, T0);
    await expect(store.begin('ten_A', 'k1', 'h1', ['msg_2'], at(1000))).resolves.toEqual({
      state: 'replay',
      result,
    });
  });

  it('refuses a different request under the same key, and a concurrent one while in progress', async () => {
    await store.begin('ten_A', 'k2', 'h1', ['msg_1'], T0);
    await expect(store.begin('ten_A', 'k2', 'h2', ['msg_2'], T0)).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(store.begin('ten_A', 'k2', 'h1', ['msg_2'], at(1000))).rejects.toBeInstanceOf(
      IdempotencyInProgressError,
    );
  });

  it('hands the reserved ids to a retry once the first attempt lease has expired', async () => {
    await store.begin('ten_A', 'k3', 'h1', ['msg_first'], T0);
    await expect(store.begin('ten_A', 'k3', 'h1', ['msg_second'], at(31_000))).resolves.toEqual({
      state: 'started',
      messageIds: ['msg_first'],
      takeover: true,
    });
  });

  it('frees a key after its time to live, and on release', async () => {
    await store.begin('ten_A', 'k4', 'h1', ['msg_1'], T0);
    await store.complete('ten_A', 'k4', { ok: 1 }, T0);
    await expect(store.begin('ten_A', 'k4', 'h2', ['msg_9'], at(3_601_000))).resolves.toMatchObject({
      state: 'started',
    });
    await store.release('ten_A', 'k4');
    await expect(store.begin('ten_A', 'k4', 'h3', ['msg_8'], at(3_602_000))).resolves.toMatchObject({
      state: 'started',
    });
  });

  it('keeps a request only as a keyed digest, and still knows a record that kept the plain hash', async () => {
    const hash = createHash('sha256')
      .update('send\0{"to":"+12025550100","body":"123456"}')
      .digest('base64url');
    await store.begin('ten_A', 'k-keyed', hash, ['msg_1'], T0);
    const out = await dynamodb.send(
      new GetItemCommand({ TableName: messagesTable, Key: marshall({ pk: 'ten_A', sk: 'IDEM#k-keyed' }) }),
    );
    const kept = unmarshall(out.Item!).requestHash as string;
    expect(kept).not.toBe(hash);
    expect(kept).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A record written before requests were keyed: its retry takes it over, another request is refused.
    await dynamodb.send(
      new PutItemCommand({
        TableName: messagesTable,
        Item: marshall({
          pk: 'ten_A',
          sk: 'IDEM#k-legacy',
          requestHash: hash,
          messageIds: ['msg_old'],
          state: 'pending',
          leaseUntil: 0,
          expiresAt: T0.getTime() / 1000 + 3600,
        }),
      }),
    );
    await expect(store.begin('ten_A', 'k-legacy', 'other', ['msg_2'], T0)).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(store.begin('ten_A', 'k-legacy', hash, ['msg_2'], T0)).resolves.toEqual({
      state: 'started',
      messageIds: ['msg_old'],
      takeover: true,
    });
  });

  it('keeps a 1,000-item batch result under the item size limit', async () => {
    const result = {
      results: Array.from({ length: 1000 }, (_, i) => ({
        index: i,
        status: 'accepted',
        message: { id: `msg_${i}`.padEnd(30, 'X') },
      })),
    };
    await store.begin('ten_A', 'big', 'h', [], T0);
    await store.complete('ten_A', 'big', result, T0);
    await expect(store.begin('ten_A', 'big', 'h', [], T0)).resolves.toEqual({ state: 'replay', result });
  });
});

describe('DynamoDbTenantStore', () => {
  const store = new DynamoDbTenantStore(dynamodb, tenantsTable);
  const key: ApiKeyRecord = {
    tenantId: 'ten_A',
    id: 'key_1',
    name: 'ci',
    mode: 'live',
    scopes: ['send'],
    hint: 'sk_live_…abcd',
    hash: 'hash-1',
    createdAt: T0.toISOString(),
  };

  /** An active tenant, named as given. */
  const tenant = (name: Pick<Tenant, 'id' | 'displayName' | 'legalName' | 'contactEmail'>): Tenant => ({
    ...name,
    homeJurisdiction: 'global',
    status: 'active',
    createdAt: T0.toISOString(),
    retention: { bodyDays: 7, metadataDays: 90 },
    residency: 'forward',
  });

  it('finds a key by its hash and sees a revocation on both copies', async () => {
    await store.createTenant(
      tenant({ id: 'ten_A', displayName: 'A', legalName: 'A Ltd', contactEmail: 'a@a.test' }),
    );
    await store.putApiKey(key);
    await expect(store.findApiKeyByHash('hash-1')).resolves.toEqual(key);
    await store.expireApiKey('ten_A', 'key_1', T0);
    await expect(store.findApiKeyByHash('hash-1')).resolves.toMatchObject({ notAfter: T0.toISOString() });
    await expect(store.getApiKey('ten_A', 'key_1')).resolves.toMatchObject({ notAfter: T0.toISOString() });
    // Never extended by a later, longer expiry.
    await store.expireApiKey('ten_A', 'key_1', at(60_000), 'key_2');
    await expect(store.findApiKeyByHash('hash-1')).resolves.toMatchObject({ notAfter: T0.toISOString() });
  });

  it('lists only its own tenant keys and never exposes another tenant key by id', async () => {
    await store.putApiKey({ ...key, tenantId: 'ten_B', id: 'key_b', hash: 'hash-b' });
    expect((await store.listApiKeys('ten_A')).map((k) => k.id)).toEqual(['key_1']);
    await expect(store.getApiKey('ten_A', 'key_b')).resolves.toBeUndefined();
  });

  it('keeps of a closed account the legal name and dates only: no contact address, no reply texts', async () => {
    await store.createTenant(
      tenant({
        id: 'ten_closing',
        displayName: 'Closing',
        legalName: 'Closing GmbH',
        contactEmail: 'jane.doe@closing.test',
      }),
    );
    await store.updateSettings('ten_closing', {
      replies: { ...DEFAULT_REPLIES, helpText: 'Call Jane on +4915123456789' },
    });
    await store.closeTenant('ten_closing', at(1_000), at(86_400_000));
    const raw = await dynamodb.send(
      new GetItemCommand({ TableName: tenantsTable, Key: marshall({ pk: 'ten_closing', sk: 'PROFILE' }) }),
    );
    const item = JSON.stringify(unmarshall(raw.Item ?? {}));
    expect(item).toContain('Closing GmbH');
    expect(item).not.toContain('jane.doe');
    expect(item).not.toContain('4915123456789');
    await expect(store.getTenant('ten_closing')).resolves.toMatchObject({
      status: 'closed',
      legalName: 'Closing GmbH',
      closedAt: at(1_000).toISOString(),
    });
  });

  it('keeps exactly one wrapped secret when two writers race', async () => {
    const secrets = new DynamoDbSecretStore(dynamodb, tenantsTable);
    const [a, b] = await Promise.all([
      secrets.putWrappedIfAbsent('pepper', new Uint8Array([1, 2, 3])),
      secrets.putWrappedIfAbsent('pepper', new Uint8Array([4, 5, 6])),
    ]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    await expect(secrets.getWrapped('pepper')).resolves.toEqual(a);
  });
});

describe('the tenant-wide scope of Idempotency-Keys, on DynamoDB Local', () => {
  it('refuses a key used for another request, frees it on release, and keeps only HMACs', async () => {
    const secret = async () => new Uint8Array(32).fill(7);
    const scope = new DynamoDbIdempotencyKeyScope(dynamodb, tenantsTable, secret);
    const tenant = uniqueName('ten');
    const first = 'hash-of-a-request-to-+4915123456789';
    expect(await scope.claim(tenant, 'order-1', first, at(0))).toBe(true);
    expect(await scope.claim(tenant, 'order-1', first, at(1000))).toBe(true);
    expect(await scope.claim(tenant, 'order-1', 'another request', at(2000))).toBe(false);
    expect(await scope.claim(`${tenant}-other`, 'order-1', 'another request', at(2000))).toBe(true);
    const items = await dynamodb.send(new ScanCommand({ TableName: tenantsTable }));
    const text = JSON.stringify(items.Items);
    expect(text).toContain(`IDEMKEY#${tenant}`);
    expect(text).not.toMatch(/order-1|4915123456789|hash-of/);
    await scope.release(tenant, 'order-1');
    expect(await scope.claim(tenant, 'order-1', 'another request', at(3000))).toBe(true);
  });
});
