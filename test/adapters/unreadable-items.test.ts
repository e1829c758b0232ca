import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import { ensureTable } from '../../infra/local/provision.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/services.ts';
import { TABLES } from '../../infra/resources.ts';
import { DynamoDbKeyringStore } from '../../layers/adapters/dynamodb-keyring-store.ts';
import { DynamoDbMessageStore } from '../../layers/adapters/dynamodb-message-store.ts';
import { DynamoDbRecipientStore } from '../../layers/adapters/dynamodb-recipient-store.ts';
import { KmsKeyService } from '../../layers/adapters/kms-key-service.ts';
import { TenantCrypto } from '../../layers/core/crypto.ts';
import { newUlid } from '../../layers/core/ids.ts';
import type { MessageRecord } from '../../layers/core/model.ts';
import { localCrypto, uniqueName } from '../support/aws.ts';
import { FakeClock } from '../support/fakes.ts';

const table = uniqueName('messages');
// From now: DynamoDB Local removes items whose TTL has passed, so a fixed date would rot.
const clock = new FakeClock(new Date(Math.floor(Date.now() / 1000) * 1000));
const local = localCrypto(table, { clock });
const messages = new DynamoDbMessageStore(local.dynamodb, table, local.crypto);
const recipients = new DynamoDbRecipientStore(local.dynamodb, table, local.crypto);
const US = '+12025550100';

let seq = 0;
function message(tenantId: string): MessageRecord {
  seq += 1;
  const prepared = prepareMessage(
    { to: US, from: 'Acme', body: `Your code is ${seq}`, reference: `order-${seq}` },
    { tenantId, mode: 'live', retention: { bodyDays: 7, metadataDays: 90 } },
    { id: `msg_${newUlid(clock.now().getTime() + seq)}`, now: clock.now() },
  );
  if (!prepared.ok) throw new Error('fixture');
  return prepared.message;
}

async function item(pk: string, sk: string) {
  const out = await local.dynamodb.send(
    new GetItemCommand({ TableName: table, Key: marshall({ pk, sk }), ConsistentRead: true }),
  );
  return unmarshall(out.Item!);
}

/** Flips the last bit of an item's sealed blob, as a damaged disk or a bad restore would. */
async function damage(pk: string, sk: string) {
  const sealed = Buffer.from((await item(pk, sk)).sealed as Uint8Array);
  sealed[sealed.length - 1]! ^= 1;
  await local.dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: marshall({ pk, sk }),
      UpdateExpression: 'SET sealed = :s',
      ExpressionAttributeValues: marshall({ ':s': sealed }),
    }),
  );
}

/** Puts another item's sealed attributes (its wrapped data key and blob) into an item. */
async function copySealed(from: { pk: string; sk: string }, to: { pk: string; sk: string }) {
  const source = await item(from.pk, from.sk);
  await local.dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: marshall({ ...(await item(to.pk, to.sk)), dk: source.dk, sealed: source.sealed }),
    }),
  );
}

beforeAll(async () => {
  await ensureTable(local.dynamodb, table, TABLES.messages);
});

describe('an item whose sealed content does not open is that item’s problem only (DynamoDB Local, KMS stand-in)', () => {
  it('marks a damaged message, one holding another tenant’s sealed content, and a damaged body; the others read', async () => {
    const [ok, damaged, copied, bodyDamaged] = [1, 2, 3, 4].map(() => message('ten_UNREAD'));
    const other = message('ten_OTHER');
    await messages.create([ok!, damaged!, copied!, bodyDamaged!, other]);
    await damage('ten_UNREAD', `MSG#${damaged!.id}`);
    await copySealed(
      { pk: 'ten_OTHER', sk: `MSG#${other.id}` },
      { pk: 'ten_UNREAD', sk: `MSG#${copied!.id}` },
    );
    await damage('ten_UNREAD', `BODY#${bodyDamaged!.id}`);
    const now = clock.now();

    await expect(messages.get('ten_UNREAD', ok!.id, now)).resolves.toMatchObject({ to: US, body: ok!.body });
    for (const m of [damaged!, copied!, bodyDamaged!]) {
      const read = await messages.get('ten_UNREAD', m.id, now);
      expect(read).toMatchObject({ id: m.id, unreadable: true, status: 'queued', from: 'Acme', segments: 1 });
      for (const sealed of ['to', 'body', 'reference']) expect(read).not.toHaveProperty(sealed);
    }
    // Another tenant's content never shows through the copy.
    expect(JSON.stringify(await messages.get('ten_UNREAD', copied!.id, now))).not.toContain(other.body);

    const page = await messages.list('ten_UNREAD', { limit: 10 }, now);
    expect(page.items.map((m) => [m.id, 'unreadable' in m])).toEqual([
      [bodyDamaged!.id, true],
      [copied!.id, true],
      [damaged!.id, true],
      [ok!.id, false],
    ]);
    // The tenant whose content was copied still reads its own.
    await expect(messages.get('ten_OTHER', other.id, now)).resolves.toMatchObject({ body: other.body });
  });

  it('marks an opt-out, a consent and a reply that do not open, and lists the rest', async () => {
    const t = 'ten_RECIPIENTS';
    const at = clock.now().toISOString();
    await recipients.putOptOut(t, { phone: US, scope: 'all', source: 'api', at });
    await recipients.putOptOut(t, { phone: '+12025550101', scope: 'promotional', source: 'api', at });
    await damage(t, await optOutKey(t, '+12025550101'));
    expect(await recipients.listOptOuts(t)).toEqual(
      expect.arrayContaining([
        { phone: US, scope: 'all', source: 'api', at },
        { unreadable: true, scope: 'promotional', source: 'api', at },
      ]),
    );

    const granted = (id: string) => ({
      id,
      phone: US,
      kind: 'granted' as const,
      source: 'web form',
      at,
      ip: '203.0.113.7',
      disclosureVersion: 'v1',
    });
    for (const id of ['con_1', 'con_2']) await recipients.appendConsent(t, granted(id));
    const consentSks = (await rawKeys(t)).filter((sk) => sk.startsWith('CONSENT#'));
    await damage(t, consentSks.find((sk) => sk.endsWith('#con_1'))!);
    expect(await recipients.consents(t, US)).toEqual([
      { id: 'con_1', unreadable: true, kind: 'granted', source: 'web form', at, disclosureVersion: 'v1' },
      granted('con_2'),
    ]);

    const expiresAt = Math.floor(clock.now().getTime() / 1000) + 86_400;
    for (const [id, body] of [
      ['inb_01JD5Z8Q2N3M4K5J6H7G8F9E0A', 'STOP please'],
      ['inb_01JD5Z8Q2N3M4K5J6H7G8F9E0B', 'thanks'],
    ] as const) {
      await recipients.putInbound({
        tenantId: t,
        id,
        from: US,
        to: 'Acme',
        body,
        receivedAt: at,
        carrierMessageId: id,
        expiresAt,
        bodyExpiresAt: expiresAt,
      });
    }
    await damage(t, 'INBODY#inb_01JD5Z8Q2N3M4K5J6H7G8F9E0A');
    const replies = await recipients.listInbound(t, { limit: 10 }, clock.now());
    expect(replies.items.map((r) => ('unreadable' in r ? [r.id, 'unreadable'] : [r.id, r.body]))).toEqual([
      ['inb_01JD5Z8Q2N3M4K5J6H7G8F9E0B', 'thanks'],
      ['inb_01JD5Z8Q2N3M4K5J6H7G8F9E0A', 'unreadable'],
    ]);
    expect(await recipients.inboundFrom(t, US, clock.now())).toHaveLength(2);
  });

  it('still fails, for the caller to retry, when KMS is unreachable rather than refusing', async () => {
    const m = message('ten_OUTAGE');
    await messages.create([m]);
    // A fresh process whose KMS does not answer: nothing is cached, nothing is marked unreadable.
    const unreachable = new TenantCrypto('global', {
      keys: new KmsKeyService(
        new KMSClient({
          region: 'us-east-1',
          credentials: LOCAL_CREDENTIALS,
          endpoint: 'http://127.0.0.1:9',
          maxAttempts: 1,
        }),
      ),
      keyrings: new DynamoDbKeyringStore(local.dynamodb, table),
      clock,
    });
    const store = new DynamoDbMessageStore(local.dynamodb, table, unreachable);
    await expect(store.get('ten_OUTAGE', m.id, clock.now())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

async function rawKeys(pk: string): Promise<string[]> {
  const out = await local.dynamodb.send(new ScanCommand({ TableName: table }));
  return (out.Items ?? [])
    .map((i) => unmarshall(i))
    .filter((i) => i.pk === pk)
    .map((i) => String(i.sk));
}

/** The sort key of a number's opt-out (named by the tenant's pseudonym of it). */
async function optOutKey(tenantId: string, phone: string) {
  return `OPTOUT#${await local.crypto.pseudonym(tenantId, phone, false)}`;
}
