import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Verification, VerificationStore } from '#functions/public-rights/ports.ts';
import { type TenantCrypto, TenantKeyUnavailableError } from '../core/crypto.ts';
import { CURSORS } from '../core/cursors.ts';
import { UnreadableError } from '../core/errors.ts';
import type { Sealed } from '../core/model.ts';
import type {
  BlockList,
  ConsentEntry,
  InboundRecord,
  OptOutEntry,
  RecipientStore,
  UnreadableConsent,
  UnreadableInbound,
  UnreadableOptOut,
} from '../ports/index.ts';
import { keyringOpen } from './dynamodb-keyring-store.ts';
import {
  batchGet,
  deleteAll,
  epochSeconds,
  getItem,
  isConditionFailure,
  putWhile,
  queryPrefix,
  readCursor,
  unlessConditionFails,
} from './dynamodb-util.ts';

const HOUR_SECONDS = 3_600;
const optOutSk = (pseudonym: string) => `OPTOUT#${pseudonym}`;
const consentPrefix = (pseudonym: string) => `CONSENT#${pseudonym}#`;
const inboundSk = (id: string) => `IN#${id}`;
const inboundBodySk = (id: string) => `INBODY#${id}`;

/** A reply's item as stored: the plain attributes plus the sealed `{from, to}`. */
type StoredReply = Omit<InboundRecord, 'tenantId' | 'from' | 'to' | 'body'> & {
  sk: string;
  dk: Uint8Array;
  sealed: Uint8Array;
};

const sealedOf = (raw: Record<string, unknown>): Sealed => ({
  dataKey: raw.dk as Uint8Array,
  blob: raw.sealed as Uint8Array,
});

/**
 * Opt-outs, the consent ledger, replies and flood counters, under the tenant's partition in
 * the recipient's jurisdiction. Numbers are found by the tenant's pseudonym and kept only
 * sealed under the tenant's key.
 */
export class DynamoDbRecipientStore implements RecipientStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly crypto: TenantCrypto,
  ) {}

  private async open<T>(tenantId: string, itemId: string, raw: Record<string, unknown>): Promise<T> {
    const opened = await this.crypto.open(tenantId, 'recipient', itemId, sealedOf(raw));
    return JSON.parse(opened.toString('utf8')) as T;
  }

  /** `read`'s answer, or `unreadable`'s when the item's sealed part does not open: one item's problem. */
  private async orUnreadable<T, U>(read: () => Promise<T>, unreadable: () => U): Promise<T | U> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof UnreadableError) return unreadable();
      throw error;
    }
  }

  private async seal(tenantId: string, itemId: string, value: unknown) {
    const s = await this.crypto.seal(tenantId, 'recipient', itemId, JSON.stringify(value));
    return { dk: s.dataKey, sealed: s.blob };
  }

  async getOptOut(tenantId: string, phone: string): Promise<OptOutEntry | undefined> {
    const pseudonym = await this.crypto.pseudonym(tenantId, phone, false);
    if (pseudonym === undefined) return undefined;
    const raw = await getItem(this.client, this.table, { pk: tenantId, sk: optOutSk(pseudonym) });
    if (!raw) return undefined;
    return { phone, scope: raw.scope, source: raw.source, at: raw.at };
  }

  async putOptOut(tenantId: string, entry: OptOutEntry): Promise<void> {
    const pseudonym = await this.crypto.pseudonym(tenantId, entry.phone);
    const sk = optOutSk(pseudonym);
    const item = {
      pk: tenantId,
      sk,
      scope: entry.scope,
      source: entry.source,
      at: entry.at,
      ...(await this.seal(tenantId, sk, { phone: entry.phone })),
    };
    // Kept only while the account is open (its keyring here): see keyringOpen.
    if ((await putWhile(this.client, this.table, keyringOpen(tenantId), { item })) === 'check') {
      throw new TenantKeyUnavailableError(tenantId);
    }
  }

  async removeOptOut(tenantId: string, phone: string): Promise<boolean> {
    const pseudonym = await this.crypto.pseudonym(tenantId, phone, false);
    if (pseudonym === undefined) return false;
    const out = await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: marshall({ pk: tenantId, sk: optOutSk(pseudonym) }),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes !== undefined;
  }

  async listOptOuts(tenantId: string): Promise<(OptOutEntry | UnreadableOptOut)[]> {
    const items = await queryPrefix(this.client, this.table, tenantId, 'OPTOUT#');
    return Promise.all(
      items.map(async (item) => {
        const raw = unmarshall(item);
        const plain = { scope: raw.scope, source: raw.source, at: raw.at };
        return this.orUnreadable(
          async () => ({
            phone: (await this.open<{ phone: string }>(tenantId, raw.sk, raw)).phone,
            ...plain,
          }),
          () => ({ unreadable: true as const, ...plain }),
        );
      }),
    );
  }

  async appendConsent(tenantId: string, entry: ConsentEntry): Promise<void> {
    const pseudonym = await this.crypto.pseudonym(tenantId, entry.phone);
    const sk = `${consentPrefix(pseudonym)}${entry.id}`;
    const { phone, ip, ...plain } = entry;
    const item = { pk: tenantId, sk, ...plain, ...(await this.seal(tenantId, sk, { phone, ip })) };
    // Append-only: an entry is never overwritten; the same id again is a replayed event ('put').
    // Kept only while the account is open (its keyring here): see keyringOpen.
    const written = await putWhile(this.client, this.table, keyringOpen(tenantId), {
      item,
      condition: 'attribute_not_exists(pk)',
    });
    if (written === 'check') throw new TenantKeyUnavailableError(tenantId);
  }

  async consents(tenantId: string, phone: string): Promise<(ConsentEntry | UnreadableConsent)[]> {
    const pseudonym = await this.crypto.pseudonym(tenantId, phone, false);
    if (pseudonym === undefined) return [];
    const items = await queryPrefix(this.client, this.table, tenantId, consentPrefix(pseudonym), {
      consistent: true,
    });
    return Promise.all(
      items.map(async (item) => {
        const { pk: _pk, sk, dk: _dk, sealed: _s, ...rest } = unmarshall(item);
        const plain = rest as Omit<ConsentEntry, 'phone' | 'ip'>;
        return this.orUnreadable(
          async () => {
            const secret = await this.open<{ phone: string; ip?: string }>(tenantId, sk, unmarshall(item));
            return { ...plain, phone: secret.phone, ip: secret.ip };
          },
          () => ({ ...plain, unreadable: true as const }),
        );
      }),
    );
  }

  async putInbound(r: InboundRecord): Promise<void> {
    const pseudonym = await this.crypto.pseudonym(r.tenantId, r.from);
    const { tenantId, id, from, to, body, ...plain } = r;
    const items: Record<string, unknown>[] = [
      {
        pk: tenantId,
        sk: inboundSk(id),
        id,
        ...plain,
        subject: pseudonym,
        ...(await this.seal(tenantId, inboundSk(id), { from, to })),
      },
    ];
    if (body !== undefined && r.bodyExpiresAt > epochSeconds(new Date(r.receivedAt))) {
      items.push({
        pk: tenantId,
        sk: inboundBodySk(id),
        expiresAt: r.bodyExpiresAt,
        ...(await this.seal(tenantId, inboundBodySk(id), { body })),
      });
    }
    // The body first: a reply is listed (its own item) only once its body can be read with it,
    // never for a moment without one. Conditional: a carrier's redelivered event stores it once.
    // Kept only while the account is open (its keyring here): a reply routed before a closure
    // and stored after its sweep is refused.
    for (const item of items.reverse()) {
      const written = await putWhile(this.client, this.table, keyringOpen(tenantId), {
        item,
        condition: 'attribute_not_exists(pk)',
      });
      if (written === 'check') throw new TenantKeyUnavailableError(tenantId);
    }
  }

  async hasInbound(tenantId: string, id: string, now: Date): Promise<boolean> {
    const item = await getItem(
      this.client,
      this.table,
      { pk: tenantId, sk: inboundSk(id) },
      { projection: 'expiresAt' },
    );
    return item !== undefined && Number(item.expiresAt) > epochSeconds(now);
  }

  private async openInbound(
    tenantId: string,
    found: StoredReply[],
    now: Date,
  ): Promise<(InboundRecord | UnreadableInbound)[]> {
    const bodies = new Map(
      (
        await batchGet(
          this.client,
          this.table,
          found.map((r) => marshall({ pk: tenantId, sk: inboundBodySk(r.id) })),
        )
      )
        .map((i) => unmarshall(i))
        .filter((b) => b.expiresAt > epochSeconds(now))
        .map((b) => [String(b.sk).slice('INBODY#'.length), b]),
    );
    return Promise.all(
      found.map(async (raw) => {
        const plain = {
          tenantId,
          id: raw.id,
          keyword: raw.keyword,
          action: raw.action,
          receivedAt: raw.receivedAt,
          carrierMessageId: raw.carrierMessageId,
          expiresAt: raw.expiresAt,
          bodyExpiresAt: raw.bodyExpiresAt,
        };
        return this.orUnreadable(
          async () => {
            const bodyItem = bodies.get(raw.id);
            const [{ from, to }, body] = await Promise.all([
              this.open<{ from: string; to: string }>(tenantId, raw.sk, raw),
              bodyItem
                ? this.open<{ body: string }>(tenantId, bodyItem.sk, bodyItem).then((b) => b.body)
                : undefined,
            ]);
            return { ...plain, from, to, body } satisfies InboundRecord;
          },
          () => ({ ...plain, unreadable: true as const }) satisfies UnreadableInbound,
        );
      }),
    );
  }

  async inboundFrom(
    tenantId: string,
    phone: string,
    now: Date,
  ): Promise<(InboundRecord | UnreadableInbound)[]> {
    const pseudonym = await this.crypto.pseudonym(tenantId, phone, false);
    if (pseudonym === undefined) return [];
    const items = await queryPrefix(this.client, this.table, tenantId, 'IN#', {
      filter: 'subject = :s AND expiresAt > :now',
      values: { ':s': pseudonym, ':now': epochSeconds(now) },
    });
    return this.openInbound(
      tenantId,
      items.map((i) => unmarshall(i) as StoredReply),
      now,
    );
  }

  async listInbound(
    tenantId: string,
    query: { limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<{ items: (InboundRecord | UnreadableInbound)[]; nextCursor?: string | undefined }> {
    const after = query.cursor === undefined ? undefined : readCursor(CURSORS.inbound, query.cursor);
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: marshall({ ':pk': tenantId, ':p': 'IN#', ':now': epochSeconds(now) }),
        ScanIndexForward: false,
        Limit: query.limit,
        ExclusiveStartKey: after ? marshall({ pk: tenantId, sk: inboundSk(after) }) : undefined,
      }),
    );
    const found = (out.Items ?? []).map((i) => unmarshall(i) as StoredReply);
    const items = await this.openInbound(tenantId, found, now);
    const last = found.at(-1);
    return {
      items,
      nextCursor: out.LastEvaluatedKey && last ? CURSORS.inbound.write(String(last.id)) : undefined,
    };
  }

  async countSend(
    tenantId: string,
    phone: string,
    body: string,
    hourStart: Date,
    limits: { identicalPerHour: number; perHour: number },
  ): Promise<'counted' | 'identical' | 'total'> {
    // Identical bodies are told apart by a keyed digest: a plain hash of a short body (a code)
    // would give it away to anyone reading the table.
    const [pseudonym, bodyDigest] = await Promise.all([
      this.crypto.pseudonym(tenantId, phone),
      this.crypto.keyedDigest(tenantId, 'flood-body', body),
    ]);
    const hour = epochSeconds(hourStart);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: `FLOOD#${pseudonym}#${hour}` }),
          UpdateExpression: 'ADD #total :one, #same :one SET expiresAt = :exp',
          ConditionExpression:
            '(attribute_not_exists(#total) OR #total < :perHour) AND (attribute_not_exists(#same) OR #same < :identical)',
          ExpressionAttributeNames: { '#total': 'total', '#same': `b_${bodyDigest.slice(0, 16)}` },
          ExpressionAttributeValues: marshall({
            ':one': 1,
            ':exp': hour + 2 * HOUR_SECONDS,
            ':perHour': limits.perHour,
            ':identical': limits.identicalPerHour,
          }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'counted';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = error.Item ? unmarshall(error.Item) : {};
      return Number(old.total ?? 0) >= limits.perHour ? 'total' : 'identical';
    }
  }

  async uncountSend(tenantId: string, phone: string, body: string, hourStart: Date): Promise<void> {
    const [pseudonym, bodyDigest] = await Promise.all([
      this.crypto.pseudonym(tenantId, phone),
      this.crypto.keyedDigest(tenantId, 'flood-body', body),
    ]);
    await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: tenantId, sk: `FLOOD#${pseudonym}#${epochSeconds(hourStart)}` }),
          UpdateExpression: 'ADD #total :minus, #same :minus',
          // Only what was counted: never an item of its own, never below zero.
          ConditionExpression: '#total > :zero AND #same > :zero',
          ExpressionAttributeNames: { '#total': 'total', '#same': `b_${bodyDigest.slice(0, 16)}` },
          ExpressionAttributeValues: marshall({ ':minus': -1, ':zero': 0 }),
        }),
      ),
    );
  }

  async removeForSubject(tenantId: string, phone: string): Promise<number> {
    const pseudonym = await this.crypto.pseudonym(tenantId, phone, false);
    if (pseudonym === undefined) return 0;
    const keys = (prefix: string, more: { filter?: string; values?: Record<string, unknown> } = {}) =>
      queryPrefix(this.client, this.table, tenantId, prefix, { ...more, projection: 'pk, sk' });
    const consents = await keys(consentPrefix(pseudonym));
    const replies = await keys('IN#', { filter: 'subject = :s', values: { ':s': pseudonym } });
    const bodies = replies.map((r) =>
      marshall({ pk: tenantId, sk: `INBODY#${String(r.sk?.S).slice('IN#'.length)}` }),
    );
    // The hour's flood counters of the number (its pseudonym, and its bodies' digests) go too.
    const counters = await keys(`FLOOD#${pseudonym}#`);
    await deleteAll(this.client, this.table, [...consents, ...replies, ...bodies, ...counters]);
    // Counted as records: a reply's body item goes with it; counters are not records.
    return consents.length + replies.length;
  }
}

/** The gateway-wide block list, in the person's jurisdiction; no tenant and no number in it. */
export class DynamoDbBlockList implements BlockList {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async isBlocked(recipientPseudonym: string): Promise<boolean> {
    return (
      (await getItem(this.client, this.table, { pk: `BLOCK#${recipientPseudonym}`, sk: 'BLOCK' })) !==
      undefined
    );
  }

  async block(recipientPseudonym: string, at: Date, source: 'keyword' | 'verified_request'): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall({ pk: `BLOCK#${recipientPseudonym}`, sk: 'BLOCK', at: at.toISOString(), source }),
      }),
    );
  }

  async unblock(recipientPseudonym: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: marshall({ pk: `BLOCK#${recipientPseudonym}`, sk: 'BLOCK' }),
      }),
    );
  }
}

/** One-time-code challenges of the public flows, in the person's jurisdiction, with a TTL. */
export class DynamoDbVerificationStore implements VerificationStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async put(v: Verification): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshall({ pk: `VERIFY#${v.id}`, sk: 'VERIFY', ...v }, { removeUndefinedValues: true }),
      }),
    );
  }

  async get(id: string, now: Date): Promise<Verification | undefined> {
    const item = await getItem(this.client, this.table, { pk: `VERIFY#${id}`, sk: 'VERIFY' });
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...v } = item;
    return v.expiresAt > epochSeconds(now) ? (v as Verification) : undefined;
  }

  async claimAttempt(id: string, maxAttempts: number, now: Date): Promise<Verification | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: `VERIFY#${id}`, sk: 'VERIFY' }),
          UpdateExpression: 'ADD attempts :one',
          ConditionExpression: 'attribute_exists(pk) AND attempts < :max AND expiresAt > :now',
          ExpressionAttributeValues: marshall({ ':one': 1, ':max': maxAttempts, ':now': epochSeconds(now) }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const { pk: _pk, sk: _sk, ...v } = unmarshall(out.Attributes ?? {});
      return v as Verification;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Used up (or expired): forgotten. An unknown id leaves nothing to remove.
      if (error.Item) await this.remove(id);
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.table, Key: marshall({ pk: `VERIFY#${id}`, sk: 'VERIFY' }) }),
    );
  }
}
