import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { TenantCrypto } from '../core/crypto.ts';
import { CURSORS } from '../core/cursors.ts';
import { UnreadableError } from '../core/errors.ts';
import type { DispatchRef, MessageRecord, MessageStatus, Sealed, StoredMessage } from '../core/model.ts';
import type { RecipientPseudonyms } from '../core/recipient-pseudonym.ts';
import { statusChange } from '../core/usage.ts';
import type {
  AcceptedMessage,
  ClaimOutcome,
  MessagePage,
  MessageStore,
  SentTrace,
  TransitionResult,
} from '../ports/index.ts';
import { present } from '../present.ts';
import { KEYRING_SK } from './dynamodb-keyring-store.ts';
import {
  batchGet,
  batchWrite,
  deleteAll,
  epochSeconds,
  isConditionFailure,
  queryAll,
  readCursor,
  unlessConditionFails,
} from './dynamodb-util.ts';

const sk = (id: string) => `MSG#${id}`;
const bodySk = (id: string) => `BODY#${id}`;
const subjectKey = (tenantId: string, pseudonym: string) => `${tenantId}#${pseudonym}`;
/** The byRecipient sort key: when the carrier took the message (newest first is the last to reach the person). */
const takenKey = (at: Date, id: string) => `${at.toISOString()}#${id}`;
const INTERNAL = [
  'pk',
  'sk',
  'gsi2pk',
  'gsi2sk',
  'gsi3pk',
  'gsi3sk',
  'claimToken',
  'claimUntil',
  'dk',
  'sealed',
];
const DAY_SECONDS = 86_400;
/** Items one read of a status-filtered listing evaluates, and reads one page may take. */
const FILTERED_READ = 100;
const MAX_READS = 10;
const TIME_FIELD = {
  sent: 'sentAt',
  delivered: 'deliveredAt',
  failed: 'failedAt',
  undeliverable: 'failedAt',
} as const;

type Item = Record<string, AttributeValue>;

const live = (m: Pick<MessageRecord, 'expiresAt'>, now: Date) => m.expiresAt > epochSeconds(now);

function sealedOf(raw: Record<string, unknown>): Sealed {
  return { dataKey: raw.dk as Uint8Array, blob: raw.sealed as Uint8Array };
}

const encodeCursor = CURSORS.messages.write;

/**
 * Messages live under the tenant id as partition key (tenant isolation by key design), sorted
 * by time-ordered id. A status filter is a filter on that same query, not an index: an index
 * keyed by status would be rewritten (a delete and a put) at every status change, tripling
 * the write units of a message's life for a listing that is read far less often than written.
 */
export class DynamoDbMessageStore implements MessageStore {
  /**
   * @param lookups The client of the gateway-wide `byRecipient` look-up (whose partition is a
   * person's pseudonym, no tenant's): the execution role's where `client` is tenant-scoped.
   */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly crypto: TenantCrypto,
    private readonly recipients?: RecipientPseudonyms,
    private readonly lookups: DynamoDBClient = client,
  ) {}

  /**
   * Two items per message: the message (recipient and reference sealed, a look-up pseudonym
   * of the recipient in the sparse `bySubject` index) and its body (sealed), which has a TTL
   * of its own so it can go before the message's metadata does.
   */
  private async toItems(m: MessageRecord): Promise<Item[]> {
    const { to, body, reference, ...plain } = m;
    const [sealed, sealedBody, pseudonym, recipient] = await Promise.all([
      this.crypto.seal(
        m.tenantId,
        'message',
        m.id,
        JSON.stringify(reference === undefined ? { to } : { to, reference }),
      ),
      body === undefined ? undefined : this.crypto.seal(m.tenantId, 'message', bodySk(m.id), body),
      this.crypto.pseudonym(m.tenantId, to),
      this.recipients?.of(to),
    ]);
    const items: Item[] = [
      marshall(
        {
          pk: m.tenantId,
          sk: sk(m.id),
          gsi2pk: subjectKey(m.tenantId, pseudonym),
          gsi2sk: m.id,
          // Gateway-wide look-up (byRecipient): reply routing, "who sent me this?". Live messages
          // only: a test key may use any sender ID and its messages reach only the sandbox, so
          // indexing them would hand another tenant's replies and identity to whoever tests.
          // Only the partition key is written now: the sort key (gsi3sk) comes with the carrier's
          // acceptance, so a message queued, refused or never sent is in no one's replies.
          ...(recipient === undefined || m.mode !== 'live' ? {} : { gsi3pk: recipient }),
          ...plain,
          dk: sealed.dataKey,
          sealed: sealed.blob,
        },
        { removeUndefinedValues: true },
      ),
    ];
    if (sealedBody) {
      items.push(
        marshall({
          pk: m.tenantId,
          sk: bodySk(m.id),
          dk: sealedBody.dataKey,
          sealed: sealedBody.blob,
          retainSeconds: m.bodyRetentionDays * DAY_SECONDS,
          // Until the message is final, the body lives no longer than the message itself; a
          // message final from the start (quarantined) starts the body's retention at once.
          expiresAt:
            m.status === 'quarantined'
              ? Math.min(m.expiresAt, epochSeconds(new Date(m.createdAt)) + m.bodyRetentionDays * DAY_SECONDS)
              : m.expiresAt,
        }),
      );
    }
    return items;
  }

  /**
   * A message as stored, opened. Sealed content that does not open (the recipient, reference
   * or body: damaged, or another tenant's) makes this one message unreadable: its plain
   * metadata comes back marked, and the read or list it is part of carries on.
   */
  private async fromItem(item: Item, bodyItem?: Item): Promise<StoredMessage> {
    const raw = unmarshall(item);
    const tenantId = raw.pk as string;
    const id = raw.id as string;
    const sealed = sealedOf(raw);
    for (const k of INTERNAL) delete raw[k];
    try {
      const [opened, body] = await Promise.all([
        this.crypto.open(tenantId, 'message', id, sealed),
        bodyItem && this.crypto.open(tenantId, 'message', bodySk(id), sealedOf(unmarshall(bodyItem))),
      ]);
      const secret = JSON.parse(opened.toString('utf8')) as { to: string; reference?: string };
      const m = raw as MessageRecord;
      m.to = secret.to;
      if (secret.reference !== undefined) m.reference = secret.reference;
      if (body) m.body = body.toString('utf8');
      return m;
    } catch (error) {
      if (!(error instanceof UnreadableError)) throw error;
      return { ...(raw as Omit<MessageRecord, 'to' | 'body' | 'reference'>), unreadable: true };
    }
  }

  private async liveBodies(tenantId: string, ids: string[], now: Date): Promise<Map<string, Item>> {
    const items = await batchGet(
      this.client,
      this.table,
      ids.map((id) => marshall({ pk: tenantId, sk: bodySk(id) })),
    );
    return new Map(
      items
        .filter((i) => Number(i.expiresAt?.N) > epochSeconds(now))
        .map((i) => [String(i.sk?.S).slice('BODY#'.length), i]),
    );
  }

  async create(messages: MessageRecord[], options?: { mayExist?: boolean }): Promise<void> {
    const items = await Promise.all(messages.map((m) => this.toItems(m)));
    if (messages.length === 1 || options?.mayExist) {
      await Promise.all(
        items.flat().map(async (item) => {
          try {
            await this.client.send(
              new PutItemCommand({
                TableName: this.table,
                Item: item,
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            );
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
          }
        }),
      );
      return;
    }
    await batchWrite(
      this.client,
      this.table,
      items.flat().map((Item) => ({ PutRequest: { Item } })),
    );
  }

  async get(tenantId: string, id: string, now: Date): Promise<StoredMessage | undefined> {
    const [out, body] = await Promise.all([
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: sk(id) }),
          ConsistentRead: true,
        }),
      ),
      this.liveBodies(tenantId, [id], now),
    ]);
    if (!out.Item || !(Number(out.Item.expiresAt?.N) > epochSeconds(now))) return undefined;
    return this.fromItem(out.Item, body.get(id));
  }

  async accepted(tenantId: string, ids: string[]): Promise<AcceptedMessage[]> {
    if (ids.length === 0) return [];
    const items = await batchGet(
      this.client,
      this.table,
      ids.map((id) => marshall({ pk: tenantId, sk: sk(id) })),
    );
    return items.map((item) => {
      const { id, status, createdAt, expiresAt, refCode, error } = unmarshall(item) as MessageRecord;
      return { id, status, createdAt, expiresAt, refCode, error };
    });
  }

  async list(
    tenantId: string,
    query: { status?: MessageStatus | undefined; limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<MessagePage> {
    const after = query.cursor === undefined ? undefined : readCursor(CURSORS.messages, query.cursor);
    const status = query.status;
    const found: Item[] = [];
    let startKey: Item | undefined =
      after === undefined ? undefined : marshall({ pk: tenantId, sk: sk(after) });
    let more = true;
    // A filter (expired items, another status) applies after Limit, so a page may need several
    // reads to fill; a status-filtered page reads at most MAX_READS x FILTERED_READ items and may
    // come back short, with a cursor past what it read.
    for (let reads = 0; found.length < query.limit && more && reads < MAX_READS; reads++) {
      const need = query.limit - found.length;
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
          FilterExpression:
            status === undefined ? 'expiresAt > :now' : 'expiresAt > :now AND #status = :status',
          ...(status === undefined ? {} : { ExpressionAttributeNames: { '#status': 'status' } }),
          ExpressionAttributeValues: marshall({
            ':pk': tenantId,
            ':msg': 'MSG#',
            ':now': epochSeconds(now),
            ...(status === undefined ? {} : { ':status': status }),
          }),
          ScanIndexForward: false,
          Limit: status === undefined ? need : Math.max(need, FILTERED_READ),
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
      more = startKey !== undefined;
    }
    // A read past the page's end: the next page starts after the last item returned.
    let nextId = startKey === undefined ? undefined : String(startKey.sk?.S).slice('MSG#'.length);
    if (found.length > query.limit) {
      found.length = query.limit;
      nextId = String(present(found.at(-1), 'the last message of the page').id?.S);
    }
    const idOf = (i: Item) => String(i.id?.S);
    const ids = found.map(idOf);
    const bodies = ids.length > 0 ? await this.liveBodies(tenantId, ids, now) : new Map<string, Item>();
    const items = await Promise.all(found.map((i) => this.fromItem(i, bodies.get(idOf(i)))));
    return { items, nextCursor: nextId === undefined ? undefined : encodeCursor(nextId) };
  }

  async remove(tenantId: string, ids: string[]): Promise<void> {
    await batchWrite(
      this.client,
      this.table,
      ids.flatMap((id) => [
        { DeleteRequest: { Key: marshall({ pk: tenantId, sk: sk(id) }) } },
        { DeleteRequest: { Key: marshall({ pk: tenantId, sk: bodySk(id) }) } },
      ]),
    );
  }

  async removeBody(tenantId: string, id: string, now: Date): Promise<boolean> {
    const out = await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: bodySk(id) }),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Number(out.Attributes?.expiresAt?.N) > epochSeconds(now);
  }

  async idsForSubject(tenantId: string, e164: string): Promise<string[]> {
    const pseudonym = await this.crypto.pseudonym(tenantId, e164, false);
    if (pseudonym === undefined) return [];
    const items = await queryAll(this.client, {
      TableName: this.table,
      IndexName: 'bySubject',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': subjectKey(tenantId, pseudonym) }),
    });
    return items.map((i) => String(i.gsi2sk?.S));
  }

  async sentTo(recipientPseudonym: string, now: Date, limit = 50): Promise<SentTrace[]> {
    const out = await this.lookups.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byRecipient',
        KeyConditionExpression: 'gsi3pk = :r',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: marshall({ ':r': recipientPseudonym, ':now': epochSeconds(now) }),
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => {
      const raw = unmarshall(i);
      return {
        tenantId: raw.tenantId as string,
        messageId: raw.id as string,
        from: raw.from as string,
        createdAt: raw.createdAt as string,
        refCode: raw.refCode as string | undefined,
      };
    });
  }

  async removeTenant(tenantId: string): Promise<number> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': tenantId }),
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
    return deleteAll(
      this.client,
      this.table,
      items.filter((i) => i.sk?.S !== KEYRING_SK),
    );
  }

  async claim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<ClaimOutcome> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: 'SET claimToken = :token, claimUntil = :until ADD attempts :one',
          ConditionExpression:
            'attribute_exists(pk) AND #status = :queued AND expiresAt > :nowSec AND (attribute_not_exists(claimUntil) OR claimUntil < :nowMs)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':token': token,
            ':until': now.getTime() + leaseMs,
            ':one': 1,
            ':queued': 'queued',
            ':nowSec': epochSeconds(now),
            ':nowMs': now.getTime(),
          }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const bodies = await this.liveBodies(ref.tenantId, [ref.messageId], now);
      const claimed = present(out.Attributes, "DynamoDB UpdateItem's Attributes (ALL_NEW)");
      return { outcome: 'claimed', message: await this.fromItem(claimed, bodies.get(ref.messageId)) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (!error.Item) return { outcome: 'missing' };
      const m = unmarshall(error.Item) as Pick<MessageRecord, 'status' | 'expiresAt'>;
      if (!live(m, now)) return { outcome: 'missing' };
      if (m.status !== 'queued') return { outcome: 'done', status: m.status };
      return { outcome: 'busy' };
    }
  }

  async releaseClaim(ref: DispatchRef, token: string): Promise<void> {
    await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: 'REMOVE claimToken, claimUntil',
          ConditionExpression: 'claimToken = :token',
          ExpressionAttributeValues: marshall({ ':token': token }),
        }),
      ),
    );
  }

  async renewClaim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: 'SET claimUntil = :until',
          ConditionExpression: 'claimToken = :token AND #status = :queued',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':token': token,
            ':until': now.getTime() + leaseMs,
            ':queued': 'queued',
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markSent(ref: DispatchRef, token: string, carrierMessageId: string, at: Date): Promise<void> {
    // A receipt that overtook us already moved the message on (the condition fails); nothing is lost.
    await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          // The carrier has it: the message enters byRecipient (for a live one, whose item holds
          // the index's partition key) in this same write.
          UpdateExpression:
            'SET #status = :sent, sentAt = :at, carrierMessageId = :cid, gsi3sk = :taken REMOVE claimToken, claimUntil',
          ConditionExpression: 'claimToken = :token AND #status = :queued',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':sent': 'sent',
            ':queued': 'queued',
            ':at': at.toISOString(),
            ':cid': carrierMessageId,
            ':token': token,
            ':taken': takenKey(at, ref.messageId),
          }),
        }),
      ),
    );
  }

  async transition(
    ref: DispatchRef,
    to: Exclude<MessageStatus, 'queued' | 'quarantined'>,
    at: Date,
    details: {
      error?: { code: string; message: string } | undefined;
      carrierMessageId?: string | undefined;
    } = {},
  ): Promise<TransitionResult> {
    if (to !== 'sent') await this.startBodyRetention(ref, at);
    const sets = ['#status = :to', `${TIME_FIELD[to]} = :at`];
    const values: Record<string, unknown> = {
      ':to': to,
      ':at': at.toISOString(),
      ':queued': 'queued',
      ':sent': 'sent',
    };
    if (details.error) {
      sets.push('#error = :error');
      values[':error'] = details.error;
    }
    if (details.carrierMessageId !== undefined) {
      // A receipt proves the carrier had it, even if the worker's own update was lost.
      sets.push('carrierMessageId = if_not_exists(carrierMessageId, :cid)');
      values[':cid'] = details.carrierMessageId;
      if (to !== 'sent') sets.push('sentAt = if_not_exists(sentAt, :at)');
    }
    // byRecipient holds what reached the person: a message enters it when the carrier takes it
    // (here when a receipt overtook the worker's "sent"), and leaves it when it fails.
    const removes = ['claimToken', 'claimUntil'];
    if (to === 'sent' || to === 'delivered') {
      sets.push('gsi3sk = if_not_exists(gsi3sk, :taken)');
      values[':taken'] = takenKey(at, ref.messageId);
    } else {
      removes.push('gsi3sk');
    }
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: sk(ref.messageId) }),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
          // The plain metadata the change reports (mode, country, segments): no read of its own.
          ReturnValues: 'ALL_NEW',
          ConditionExpression:
            to === 'sent'
              ? '#status = :queued'
              : 'attribute_exists(pk) AND (#status = :queued OR #status = :sent)',
          ExpressionAttributeNames: { '#status': 'status', ...(details.error ? { '#error': 'error' } : {}) },
          ExpressionAttributeValues: marshall(
            to === 'sent'
              ? Object.fromEntries(Object.entries(values).filter(([k]) => k !== ':sent'))
              : values,
          ),
        }),
      );
      const m = unmarshall(out.Attributes ?? {}) as MessageRecord;
      return { outcome: 'updated', change: statusChange(m, to, at, details.error) };
    } catch (error) {
      if (isConditionFailure(error)) return { outcome: 'ignored' };
      throw error;
    }
  }

  /**
   * Starts the body's retention clock at the message's first final status (a later, duplicate
   * receipt never extends it); a policy of 0 days removes the body at once. Runs before the
   * status update, so a crash in between is repaired by the retried event.
   */
  private async startBodyRetention(ref: DispatchRef, at: Date): Promise<void> {
    // No body (or its clock already started): nothing to do.
    const out = await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: bodySk(ref.messageId) }),
          UpdateExpression: 'SET finalAt = :at, expiresAt = retainSeconds + :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(finalAt)',
          ExpressionAttributeValues: marshall({ ':at': epochSeconds(at) }),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (out && Number(out.Attributes?.retainSeconds?.N) === 0) {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: marshall({ pk: ref.tenantId, sk: bodySk(ref.messageId) }),
        }),
      );
    }
  }
}
