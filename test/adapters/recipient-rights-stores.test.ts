import { PutItemCommand, ScanCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareMessage } from '../../functions/messages/model.ts';
import { makePublicRights } from '../../functions/public-rights/use-cases/public-rights.ts';
import { ensureTable } from '../../infra/local/provision.ts';
import { TABLES } from '../../infra/resources.ts';
import { DynamoDbBudgetCounters } from '../../layers/adapters/dynamodb-budget-counters.ts';
import { DynamoDbCounters, DynamoDbSenderIdStore } from '../../layers/adapters/dynamodb-controls-store.ts';
import { DynamoDbMessageStore } from '../../layers/adapters/dynamodb-message-store.ts';
import {
  DynamoDbRecipientStore,
  DynamoDbVerificationStore,
} from '../../layers/adapters/dynamodb-recipient-store.ts';
import { VerificationFailedError } from '../../layers/core/errors.ts';
import { newUlid } from '../../layers/core/ids.ts';
import type { DispatchRef } from '../../layers/core/model.ts';
import { RecipientPseudonyms } from '../../layers/core/recipient-pseudonym.ts';
import { localClients, localCrypto, uniqueName } from '../support/aws.ts';
import { FakeClock, fakeSendDeps } from '../support/fakes.ts';

const messagesTable = uniqueName('messages');
const tenantsTable = uniqueName('tenants');
// From now: DynamoDB Local removes items whose TTL has passed, so a fixed date would rot.
const clock = new FakeClock(new Date(Math.floor(Date.now() / 1000) * 1000));
const local = localCrypto(messagesTable, { clock });
const recipients = new DynamoDbRecipientStore(local.dynamodb, messagesTable, local.crypto);
const counters = new DynamoDbCounters(local.dynamodb, tenantsTable);
const phone = '+4915123456789';

/** What the dispatch worker does once the carrier has taken a message. */
async function handOver(store: DynamoDbMessageStore, ref: DispatchRef, at: Date) {
  const token = `tok_${ref.messageId}`;
  expect((await store.claim(ref, token, 60_000, at)).outcome).toBe('claimed');
  await store.markSent(ref, token, `c_${ref.messageId}`, at);
}

/** A message store that indexes recipients by pseudonym (one fixed key), as the senders' lookups read it. */
function indexingStore() {
  const pseudonyms = new RecipientPseudonyms(async () => Buffer.alloc(32, 7));
  return {
    pseudonyms,
    store: new DynamoDbMessageStore(local.dynamodb, messagesTable, local.crypto, pseudonyms),
  };
}

/** A tenant's message as the send use case prepares it, its id `offset` ms after the clock (so ids sort as meant). */
function prepared(
  input: { to: string; from: string; body: string },
  tenantId: string,
  mode: 'live' | 'test',
  offset: number,
) {
  const p = prepareMessage(
    input,
    { tenantId, mode, retention: { bodyDays: 7, metadataDays: 90 } },
    { id: `msg_${newUlid(clock.now().getTime() + offset)}`, now: clock.now() },
  );
  if (!p.ok) throw new Error('fixture');
  return p.message;
}

const refOf = (m: {
  tenantId: string;
  id: string;
  jurisdiction: DispatchRef['jurisdiction'];
}): DispatchRef => ({
  tenantId: m.tenantId,
  messageId: m.id,
  jurisdiction: m.jurisdiction,
});

async function raw(table: string) {
  const out = await local.dynamodb.send(new ScanCommand({ TableName: table }));
  return JSON.stringify(
    (out.Items ?? []).map((i) => unmarshall(i)),
    (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v),
  );
}

beforeAll(async () => {
  await ensureTable(local.dynamodb, messagesTable, TABLES.messages);
  await ensureTable(local.dynamodb, tenantsTable, TABLES.tenants);
});

describe('the request rate limit (GCRA in one conditional write), on DynamoDB Local', () => {
  // Times from now on: a bucket dated in the past expires (TTL), and DynamoDB Local removes it.
  const base = Date.now();
  const at = (ms: number) => new Date(base + ms);

  it('admits exactly the burst, then says when the next request will be admitted', async () => {
    const key = uniqueName('tenant');
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await counters.admit(key, 60, 3, at(0)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    expect(results[3]).toEqual({ ok: false, retryAfterSeconds: 1 });
    // One request a second refills: one more after a second, then refused again.
    expect((await counters.admit(key, 60, 3, at(1000))).ok).toBe(true);
    expect((await counters.admit(key, 60, 3, at(1000))).ok).toBe(false);
    // An idle bucket is full again.
    const later = [];
    for (let i = 0; i < 4; i++) later.push((await counters.admit(key, 60, 3, at(60_000))).ok);
    expect(later).toEqual([true, true, true, false]);
  });

  it('admits exactly the burst when the requests race each other', async () => {
    const key = uniqueName('tenant');
    const results = await Promise.all(Array.from({ length: 12 }, () => counters.admit(key, 6, 5, at(0))));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    // 6 a minute: the next one is 10 s away.
    expect(results.find((r) => !r.ok)).toEqual({ ok: false, retryAfterSeconds: 10 });
  });

  it('refuses a flooding key from memory until its bucket can admit again, without a write per refusal', async () => {
    const { dynamodb } = localClients();
    let calls = 0;
    dynamodb.middlewareStack.add(
      (next) => async (args) => {
        calls++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const flooded = new DynamoDbCounters(dynamodb, tenantsTable);
    const key = uniqueName('tenant');
    for (let i = 0; i < 2; i++) expect((await flooded.admit(key, 60, 2, at(0))).ok).toBe(true);
    expect(await flooded.admit(key, 60, 2, at(0))).toEqual({ ok: false, retryAfterSeconds: 1 });
    const before = calls;
    const refusals = [];
    for (let i = 0; i < 200; i++) refusals.push(await flooded.admit(key, 60, 2, at(500)));
    expect(refusals.every((r) => !r.ok && r.retryAfterSeconds === 1)).toBe(true);
    expect(calls).toBe(before);
    // A limit raised by the operator applies at once.
    expect((await flooded.admit(key, 600, 20, at(500))).ok).toBe(true);
    expect(calls).toBeGreaterThan(before);
    // Once the bucket has room again under the old limits, the shared bucket decides again.
    expect((await flooded.admit(key, 60, 2, at(1100))).ok).toBe(true);
  });

  it('takes one write per request of a tenant sending below its rate (the idle bucket restarted at once)', async () => {
    const { dynamodb } = localClients();
    const writes: string[] = [];
    dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand') writes.push(context.commandName);
        return next(args);
      },
      { step: 'initialize' },
    );
    const steady = new DynamoDbCounters(dynamodb, tenantsTable);
    const key = uniqueName('tenant');
    // One a second allowed; one every two seconds sent: the bucket is idle at each request.
    const perRequest = [];
    for (let i = 0; i < 5; i++) {
      const before = writes.length;
      expect((await steady.admit(key, 60, 3, at(i * 2_000))).ok).toBe(true);
      perRequest.push(writes.length - before);
    }
    // The first finds no bucket it knows (a step that fails, then the restart); the others restart it at once.
    expect(perRequest).toEqual([2, 1, 1, 1, 1]);
    // And the limit still holds: a burst at one instant gets the burst, then a refusal.
    const burst = [];
    for (let i = 0; i < 4; i++) burst.push((await steady.admit(key, 60, 3, at(20_000))).ok);
    expect(burst).toEqual([true, true, true, false]);
  });

  it('keeps a monthly total under its cap, and none without a cap', async () => {
    const tenant = uniqueName('ten');
    expect(await counters.addUsage(tenant, '2026-11', 3, 4)).toBe(true);
    expect(await counters.addUsage(tenant, '2026-11', 2, 4)).toBe(false);
    expect(await counters.addUsage(tenant, '2026-11', 1, 4)).toBe(true);
    expect(await counters.addUsage(tenant, '2026-12', 4, 4)).toBe(true);
    expect(await counters.addUsage(tenant, '2026-11', 1_000, 0)).toBe(true);
  });
});

/** A DynamoDB client that notes when each call started and was answered. */
function timedClient() {
  const { dynamodb } = localClients();
  const calls: { op: string; start: number; end: number }[] = [];
  dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        calls.push({ op: String(context.commandName), start, end: performance.now() });
      }
    },
    { step: 'initialize' },
  );
  return { dynamodb, calls };
}

/** The other region's item was read while this region's was written: neither waited for the other. */
function expectReadAlongsideWrite(calls: { op: string; start: number; end: number }[]) {
  const [read] = calls.filter((c) => c.op === 'GetItemCommand');
  const [write] = calls.filter((c) => c.op === 'UpdateItemCommand');
  expect(read!.start).toBeLessThan(write!.end);
  expect(write!.start).toBeLessThan(read!.end);
}

describe('counters of a tenants table replicated to two regions (a global table), on DynamoDB Local', () => {
  // One table stands for the replicas once replication has caught up: each region's items are in both.
  const all = ['us-east-1', 'eu-central-1'];
  const inUs = new DynamoDbCounters(local.dynamodb, tenantsTable, { own: 'us-east-1', all });
  const inEu = new DynamoDbCounters(local.dynamodb, tenantsTable, { own: 'eu-central-1', all });
  const items = async (pk: string) =>
    (await local.dynamodb.send(new ScanCommand({ TableName: tenantsTable })))
      .Items!.map((i) => unmarshall(i))
      .filter((i) => i.pk === pk)
      .map(({ sk, segments }) => ({ sk, segments }))
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));

  it("keeps the monthly cap over both regions' segments, each region counting in its own item", async () => {
    const tenant = uniqueName('ten');
    expect(await inUs.addUsage(tenant, '2026-11', 3, 5)).toBe(true);
    expect(await inEu.addUsage(tenant, '2026-11', 2, 5)).toBe(true);
    expect(await inEu.addUsage(tenant, '2026-11', 1, 5)).toBe(false);
    expect(await inUs.addUsage(tenant, '2026-11', 1, 5)).toBe(false);
    // No item is written by both regions (a global table would keep only the last writer's).
    expect(await items(tenant)).toEqual([
      { sk: 'USAGE#2026-11', segments: 3 },
      { sk: 'USAGE#2026-11@eu-central-1', segments: 2 },
    ]);
  });

  it("limits a tenant's rate over both regions together, each region moving its own bucket", async () => {
    const key = uniqueName('tenant');
    const t0 = new Date(Date.now());
    expect((await inUs.admit(key, 60, 3, t0)).ok).toBe(true);
    expect((await inUs.admit(key, 60, 3, t0)).ok).toBe(true);
    expect((await inEu.admit(key, 60, 3, t0)).ok).toBe(true);
    expect(await inEu.admit(key, 60, 3, t0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect((await inUs.admit(key, 60, 3, t0)).ok).toBe(false);
    // One a second refills the shared bucket: one more, from either region.
    const t1 = new Date(t0.getTime() + 1000);
    expect((await inEu.admit(key, 60, 3, t1)).ok).toBe(true);
    expect((await inUs.admit(key, 60, 3, t1)).ok).toBe(false);
    expect((await items(`RATE#${key}`)).map((i) => i.sk)).toEqual(['RATE', 'RATE@eu-central-1']);
    // A closed account's bucket goes in every region.
    await inUs.removeBucket(key);
    expect(await items(`RATE#${key}`)).toEqual([]);
  });
  it('limits a rate shared by requests that alternate between the regions, as time goes on', async () => {
    const key = uniqueName('tenant');
    const t0 = Date.now();
    // A burst of four, one a second; a request every 10 ms, each region in turn.
    const outcomes = [];
    for (const [i, region] of [inUs, inEu, inUs, inEu, inUs].entries()) {
      outcomes.push((await region.admit(key, 60, 4, new Date(t0 + 10 * i))).ok);
    }
    expect(outcomes).toEqual([true, true, true, true, false]);
  });

  it("admits in one round trip: the other region's bucket is read while this region's is written", async () => {
    const { dynamodb, calls } = timedClient();
    const us = new DynamoDbCounters(dynamodb, tenantsTable, { own: 'us-east-1', all });
    const key = uniqueName('tenant');
    const t0 = new Date(Date.now());
    for (let i = 0; i < 3; i++) {
      calls.length = 0;
      expect((await us.admit(key, 60, 5, t0)).ok).toBe(true);
      expectReadAlongsideWrite(calls);
    }
    // The other region sends too: its bucket, read with the next write, still counts.
    for (let i = 0; i < 2; i++) expect((await inEu.admit(key, 60, 5, t0)).ok).toBe(true);
    expect(await us.admit(key, 60, 5, t0)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });
  it("counts against the monthly cap in one round trip once it has read the other region's count", async () => {
    const { dynamodb, calls } = timedClient();
    const us = new DynamoDbCounters(dynamodb, tenantsTable, { own: 'us-east-1', all });
    const tenant = uniqueName('ten');
    expect(await us.addUsage(tenant, '2026-11', 1, 10)).toBe(true);
    for (let i = 0; i < 3; i++) {
      calls.length = 0;
      expect(await us.addUsage(tenant, '2026-11', 1, 10)).toBe(true);
      expectReadAlongsideWrite(calls);
    }
    // The EU counts 5 since this instance last read it: 4 + 5 is within 10, 4 + 5 + 2 is not.
    expect(await inEu.addUsage(tenant, '2026-11', 5, 10)).toBe(true);
    expect(await us.addUsage(tenant, '2026-11', 2, 10)).toBe(false);
    // The refused add was given back: this region still holds 4.
    expect(await items(tenant)).toEqual([
      { sk: 'USAGE#2026-11', segments: 4 },
      { sk: 'USAGE#2026-11@eu-central-1', segments: 5 },
    ]);
    expect(await us.addUsage(tenant, '2026-11', 1, 10)).toBe(true);
    // The EU gives its 5 back: what this instance assumed (5) would leave no room for 4, but there is.
    expect(await inEu.addUsage(tenant, '2026-11', -5, 0)).toBe(true);
    expect(await us.addUsage(tenant, '2026-11', 4, 10)).toBe(true);
    expect(await us.addUsage(tenant, '2026-11', 2, 10)).toBe(false);
  });
});

describe('opt-outs, consents, replies and flood counts, on DynamoDB Local with the KMS stand-in', () => {
  it('keeps numbers only sealed, found again by the tenant pseudonym', async () => {
    await recipients.putOptOut('ten_A', {
      phone,
      scope: 'promotional',
      source: 'api',
      at: '2026-11-24T10:00:00.000Z',
    });
    await recipients.appendConsent('ten_A', {
      id: `con_${newUlid(Date.now())}`,
      phone,
      kind: 'granted',
      source: 'signup form',
      at: '2026-11-24T10:01:00.000Z',
      ip: '198.51.100.7',
      disclosureVersion: 'v3',
    });
    expect(await raw(messagesTable)).not.toContain('15123456789');
    expect(await raw(messagesTable)).not.toContain('198.51.100.7');
    expect(await recipients.getOptOut('ten_A', phone)).toMatchObject({ phone, scope: 'promotional' });
    expect(await recipients.listOptOuts('ten_A')).toEqual([
      { phone, scope: 'promotional', source: 'api', at: '2026-11-24T10:00:00.000Z' },
    ]);
    expect(await recipients.consents('ten_A', phone)).toEqual([
      expect.objectContaining({ phone, kind: 'granted', ip: '198.51.100.7', disclosureVersion: 'v3' }),
    ]);
    // Another tenant knows nothing of it.
    expect(await recipients.getOptOut('ten_B', phone)).toBeUndefined();
    expect(await recipients.consents('ten_B', phone)).toEqual([]);
  });

  it('never changes a ledger entry: the same id again is a replay', async () => {
    const id = `con_${newUlid(Date.now())}`;
    const entry = {
      id,
      phone: '+4915123456780',
      kind: 'granted' as const,
      source: 'form',
      at: '2026-11-24T10:00:00.000Z',
    };
    await recipients.appendConsent('ten_A', entry);
    await recipients.appendConsent('ten_A', { ...entry, kind: 'withdrawn' });
    expect((await recipients.consents('ten_A', entry.phone)).map((c) => c.kind)).toEqual(['granted']);
  });

  it('counts identical and different messages per recipient and hour', async () => {
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const limits = { identicalPerHour: 2, perHour: 3 };
    const n = '+4915123456781';
    expect(await recipients.countSend('ten_A', n, 'aaaa', hour, limits)).toBe('counted');
    expect(await recipients.countSend('ten_A', n, 'aaaa', hour, limits)).toBe('counted');
    expect(await recipients.countSend('ten_A', n, 'aaaa', hour, limits)).toBe('identical');
    expect(await recipients.countSend('ten_A', n, 'bbbb', hour, limits)).toBe('counted');
    expect(await recipients.countSend('ten_A', n, 'cccc', hour, limits)).toBe('total');
    expect(await recipients.countSend('ten_A', n, 'cccc', new Date(hour.getTime() + 3_600_000), limits)).toBe(
      'counted',
    );
  });

  it('takes back a counted send, and nothing that was not counted', async () => {
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const limits = { identicalPerHour: 1, perHour: 2 };
    const n = '+4915123456784';
    const tenantId = uniqueName('ten');
    expect(await recipients.countSend(tenantId, n, 'aaaa', hour, limits)).toBe('counted');
    expect(await recipients.countSend(tenantId, n, 'aaaa', hour, limits)).toBe('identical');
    await recipients.uncountSend(tenantId, n, 'aaaa', hour);
    // Never counted: no item, no negative count that would let more through.
    await recipients.uncountSend(tenantId, n, 'bbbb', hour);
    await recipients.uncountSend(tenantId, '+4915123456785', 'aaaa', hour);
    expect(await recipients.countSend(tenantId, n, 'aaaa', hour, limits)).toBe('counted');
    expect(await recipients.countSend(tenantId, n, 'bbbb', hour, limits)).toBe('counted');
    expect(await recipients.countSend(tenantId, n, 'cccc', hour, limits)).toBe('total');
    expect(await recipients.countSend(tenantId, '+4915123456785', 'aaaa', hour, limits)).toBe('counted');
    expect(await recipients.countSend(tenantId, '+4915123456785', 'aaaa', hour, limits)).toBe('identical');
  });

  it("finds and erases one number's replies, consents and flood counts, and leaves another number's", async () => {
    const tenantId = uniqueName('ten');
    const [erased, kept] = ['+4915123456782', '+4915123456783'];
    const now = clock.now();
    const sec = Math.floor(now.getTime() / 1000);
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    const limits = { identicalPerHour: 1, perHour: 5 };
    for (const [i, from] of [erased, kept].entries()) {
      await recipients.putInbound({
        tenantId,
        id: `inb_${newUlid(now.getTime() + i)}`,
        from,
        to: 'Acme',
        body: `reply from ${from}`,
        receivedAt: now.toISOString(),
        carrierMessageId: `s${i}`,
        expiresAt: sec + 86_400,
        bodyExpiresAt: sec + 86_400,
      });
      await recipients.appendConsent(tenantId, {
        id: `con_${newUlid(now.getTime() + i)}`,
        phone: from,
        kind: 'granted',
        source: 'form',
        at: now.toISOString(),
      });
      expect(await recipients.countSend(tenantId, from, 'code 1234', hour, limits)).toBe('counted');
    }
    const bodies = async (from: string) =>
      (await recipients.inboundFrom(tenantId, from, now)).map((r) =>
        'unreadable' in r ? 'unreadable' : r.body,
      );
    expect(await bodies(erased)).toEqual([`reply from ${erased}`]);
    expect(await bodies(kept)).toEqual([`reply from ${kept}`]);

    // One consent and one reply are the number's records (its reply's body and flood count go too).
    expect(await recipients.removeForSubject(tenantId, erased)).toBe(2);
    expect(await bodies(erased)).toEqual([]);
    expect(await recipients.consents(tenantId, erased)).toEqual([]);
    expect(await recipients.countSend(tenantId, erased, 'code 1234', hour, limits)).toBe('counted');
    expect(await bodies(kept)).toEqual([`reply from ${kept}`]);
    expect(await recipients.consents(tenantId, kept)).toHaveLength(1);
    expect(await recipients.countSend(tenantId, kept, 'code 1234', hour, limits)).toBe('identical');
  });

  it('lists replies newest first, without the body once its retention has passed', async () => {
    const now = clock.now();
    const sec = Math.floor(now.getTime() / 1000);
    for (const [i, body] of ['first', 'second'].entries()) {
      await recipients.putInbound({
        tenantId: 'ten_R',
        id: `inb_${newUlid(now.getTime() + i)}`,
        from: phone,
        to: 'Acme',
        body,
        receivedAt: now.toISOString(),
        carrierMessageId: `c${i}`,
        expiresAt: sec + 90 * 86_400,
        bodyExpiresAt: sec + (i === 0 ? 60 : 7 * 86_400),
      });
    }
    expect(await raw(messagesTable)).not.toContain('second');
    const page = await recipients.listInbound('ten_R', { limit: 10 }, new Date(now.getTime() + 120_000));
    expect(page.items.map((r) => ('unreadable' in r ? ['unreadable'] : [r.from, r.body]))).toEqual([
      [phone, 'second'],
      [phone, undefined],
    ]);
  });

  it('never lists a reply without its body while storing it (the body is written first)', async () => {
    const now = clock.now();
    const sec = Math.floor(now.getTime() / 1000);
    // After each write of the store, what a reader listing the replies would see.
    const seen: (string | undefined)[][] = [];
    const watched = new DynamoDbRecipientStore(
      {
        send: async (command: Parameters<typeof local.dynamodb.send>[0]) => {
          const out = await local.dynamodb.send(command);
          if (command instanceof PutItemCommand || command instanceof TransactWriteItemsCommand) {
            const page = await recipients.listInbound('ten_W', { limit: 10 }, now);
            seen.push(page.items.map((r) => ('unreadable' in r ? 'unreadable' : r.body)));
          }
          return out;
        },
      } as unknown as typeof local.dynamodb,
      messagesTable,
      local.crypto,
    );
    await watched.putInbound({
      tenantId: 'ten_W',
      id: `inb_${newUlid(now.getTime())}`,
      from: phone,
      to: 'Acme',
      body: 'Stop please',
      receivedAt: now.toISOString(),
      carrierMessageId: 'w1',
      expiresAt: sec + 86_400,
      bodyExpiresAt: sec + 86_400,
    });
    expect(seen.at(-1)).toEqual(['Stop please']);
    for (const listed of seen) expect(listed.filter((body) => body !== 'Stop please')).toEqual([]);
  });

  it('pages replies with a cursor, and refuses a cursor it did not issue', async () => {
    const now = clock.now();
    const sec = Math.floor(now.getTime() / 1000);
    for (let i = 0; i < 5; i++) {
      await recipients.putInbound({
        tenantId: 'ten_P',
        id: `inb_${newUlid(now.getTime() + i)}`,
        from: phone,
        to: 'Acme',
        body: `reply ${i}`,
        receivedAt: now.toISOString(),
        carrierMessageId: `p${i}`,
        expiresAt: sec + 86_400,
        bodyExpiresAt: sec + 86_400,
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await recipients.listInbound('ten_P', { limit: 2, cursor }, now);
      seen.push(...page.items.map((r) => ('unreadable' in r ? 'unreadable' : r.body!)));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['reply 4', 'reply 3', 'reply 2', 'reply 1', 'reply 0']);
    await expect(recipients.listInbound('ten_P', { limit: 2, cursor: 'bm9wZQ' }, now)).rejects.toMatchObject({
      issues: [{ parameter: 'cursor', detail: expect.any(String) }],
    });
  });

  it('finds the sender of messages to a number across tenants, with no content in the index', async () => {
    const { pseudonyms, store } = indexingStore();
    for (const [tenantId, from] of [
      ['ten_X', 'Acme'],
      ['ten_Y', 'Globex'],
    ] as const) {
      const message = prepared(
        { to: '+4915123456782', from, body: 'Vertraulich' },
        tenantId,
        'live',
        tenantId === 'ten_Y' ? 1 : 0,
      );
      message.refCode = 'K7Q2MX';
      await store.create([message]);
      await handOver(store, refOf(message), clock.now());
    }
    const traces = await store.sentTo(await pseudonyms.of('+4915123456782'), clock.now());
    expect(traces.map((t) => [t.tenantId, t.from, t.refCode])).toEqual([
      ['ten_Y', 'Globex', 'K7Q2MX'],
      ['ten_X', 'Acme', 'K7Q2MX'],
    ]);
    expect(JSON.stringify(traces)).not.toContain('Vertraulich');
    expect(await store.sentTo(await pseudonyms.of('+4915123456783'), clock.now())).toEqual([]);
  });

  it('never indexes a test-mode message for reply routing or "who sent me this?"', async () => {
    const { pseudonyms, store } = indexingStore();
    for (const [tenantId, mode, offset] of [
      ['ten_L', 'live', 0],
      ['ten_T', 'test', 1],
    ] as const) {
      const message = prepared(
        { to: '+4915123456784', from: 'AlphaSMS', body: 'Hallo' },
        tenantId,
        mode,
        offset,
      );
      await store.create([message]);
      // Both handed to a carrier (the test-mode one to the sandbox).
      await handOver(store, refOf(message), clock.now());
    }
    const traces = await store.sentTo(await pseudonyms.of('+4915123456784'), clock.now());
    expect(traces.map((t) => t.tenantId)).toEqual(['ten_L']);
  });

  it('indexes a live message for replies and "who sent me this?" only once the carrier has taken it', async () => {
    const { pseudonyms, store } = indexingStore();
    const to = '+4915123456785';
    const at = (s: number) => new Date(clock.now().getTime() + s * 1000);
    const live = async (tenantId: string, offset: number) => {
      const message = prepared({ to, from: 'AlphaSMS', body: 'Hallo' }, tenantId, 'live', offset);
      await store.create([message]);
      return refOf(message);
    };
    const found = async () =>
      (await store.sentTo(await pseudonyms.of(to), clock.now())).map((t) => t.tenantId);

    const queued = await live('ten_Queued', 0);
    const refused = await live('ten_Refused', 1);
    const taken = await live('ten_Taken', 2);
    const failedLater = await live('ten_FailedLater', 3);
    const overtaken = await live('ten_Overtaken', 4);
    // Stored (accepted) is not sent: nothing is in the index yet.
    expect(await found()).toEqual([]);

    // The carrier refuses one at send; takes another; takes a third that then fails; and a
    // fourth's delivery receipt overtakes the worker's own "sent".
    const token = 'tok_refused';
    await store.claim(refused, token, 60_000, at(1));
    await store.transition(refused, 'failed', at(1), {
      error: { code: 'invalid_destination', message: 'x' },
    });
    await handOver(store, taken, at(2));
    await handOver(store, failedLater, at(3));
    await store.transition(failedLater, 'undeliverable', at(4), {
      error: { code: 'unknown_subscriber', message: 'x' },
      carrierMessageId: `c_${failedLater.messageId}`,
    });
    await store.transition(overtaken, 'delivered', at(5), { carrierMessageId: `c_${overtaken.messageId}` });
    expect(await found()).toEqual(['ten_Overtaken', 'ten_Taken']);
    // A delivery receipt after "sent" keeps the message where it was.
    await store.transition(taken, 'delivered', at(6), { carrierMessageId: `c_${taken.messageId}` });
    expect(await found()).toEqual(['ten_Overtaken', 'ten_Taken']);

    // The queued one, handed over last, is the newest the person got.
    await handOver(store, queued, at(7));
    expect(await found()).toEqual(['ten_Queued', 'ten_Overtaken', 'ten_Taken']);
  });

  it("keeps a sender ID applicant's identity sealed, and purges it at the date set by the decision", async () => {
    const senderIds = new DynamoDbSenderIdStore(local.dynamodb, tenantsTable);
    const id = `sid_${newUlid(Date.now())}`;
    const identity = JSON.stringify({ companyName: 'Initech LLC', contactName: 'Bill Lumbergh' });
    const sealed = await local.crypto.seal('ten_S', 'sender-id', id, identity);
    await senderIds.apply(
      {
        id,
        tenantId: 'ten_S',
        value: 'Initech',
        type: 'alphanumeric',
        countries: [],
        status: 'pending',
        appliedAt: 'x',
      },
      sealed,
      new Date(clock.now().getTime() + 180 * 86_400_000),
    );
    expect(await raw(tenantsTable)).not.toContain('Lumbergh');
    const held = await senderIds.identity('ten_S', id, clock.now());
    expect((await local.crypto.open('ten_S', 'sender-id', id, held!)).toString()).toBe(identity);
    const purgeAt = new Date(clock.now().getTime() + 30 * 86_400_000);
    await senderIds.decide('ten_S', id, { status: 'approved', decidedAt: clock.now(), purgeAt });
    expect(await senderIds.identity('ten_S', id, new Date(purgeAt.getTime() - 1000))).toBeDefined();
    expect(await senderIds.identity('ten_S', id, purgeAt)).toBeUndefined();
    expect(await senderIds.get('ten_S', id)).toMatchObject({
      status: 'approved',
      identityPurgeAt: purgeAt.toISOString(),
    });
    await expect(
      senderIds.decide('ten_S', id, { status: 'rejected', reason: 'x', decidedAt: clock.now(), purgeAt }),
    ).rejects.toThrow();
  });

  it('forgets a one-time code after the allowed wrong tries', async () => {
    const verifications = new DynamoDbVerificationStore(local.dynamodb, messagesTable);
    const id = `vrf_${newUlid(Date.now())}`;
    await verifications.put({
      id,
      purpose: 'block',
      recipientPseudonym: 'p',
      codeDigest: 'd',
      attempts: 0,
      expiresAt: Math.floor(clock.now().getTime() / 1000) + 600,
    });
    const tries = [];
    for (let i = 0; i < 4; i++) tries.push((await verifications.claimAttempt(id, 3, clock.now()))?.attempts);
    expect(tries).toEqual([1, 2, 3, undefined]);
    expect(await verifications.get(id, clock.now())).toBeUndefined();
  });

  it("counts the gateway's own messages exactly: 30 racing takes of a budget of 10 get 10", async () => {
    const budget = new DynamoDbBudgetCounters(local.dynamodb, messagesTable);
    const key = uniqueName('hour');
    const expiresAt = Math.floor(clock.now().getTime() / 1000) + 3600;
    const taken = await Promise.all(Array.from({ length: 30 }, () => budget.take(key, 10, expiresAt)));
    expect(taken.filter(Boolean)).toHaveLength(10);
    expect(await budget.take(`${key}-other`, 10, expiresAt)).toBe(true);
  });

  it('compares at most 5 of 20 concurrent wrong codes, and the right code is refused after them', async () => {
    const verifications = new DynamoDbVerificationStore(local.dynamodb, messagesTable);
    const deps = fakeSendDeps();
    const codes: string[] = [];
    /** The public rights on this store (`store`) and the fakes, texting codes with `systemSms`. */
    const rightsOn = (
      store: DynamoDbVerificationStore,
      systemSms: Parameters<typeof makePublicRights>[0]['systemSms'],
    ) =>
      makePublicRights({
        verifications: { global: store, eu: store },
        blockList: deps.blockList,
        messages: { global: deps.stores.global.messages, eu: deps.stores.eu.messages },
        tenants: deps.tenants,
        here: 'global',
        endpoints: {},
        pseudonyms: deps.pseudonyms,
        counters: { admit: async () => ({ ok: true }), addUsage: async () => true },
        systemSms,
        ids: deps.ids,
        clock,
        gatewayBudget: async () => undefined,
      });
    const rights = rightsOn(verifications, async (_j, _to, _from, body) => {
      codes.push(/\d{6}/.exec(body)![0]);
    });
    const { verificationId } = await rights.start(
      { phone: '+12025550143', purpose: 'block' },
      '198.51.100.9',
    );
    const right = codes[0]!;
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    // Counted how many tries got as far as the comparison: only a try that has its attempt is compared.
    const compared = { n: 0 };
    const counted = Object.create(verifications) as DynamoDbVerificationStore;
    counted.claimAttempt = async (...args) => {
      const out = await verifications.claimAttempt(...args);
      if (out) compared.n++;
      return out;
    };
    const racing = rightsOn(counted, async () => undefined);
    const tries = await Promise.allSettled(
      Array.from({ length: 20 }, () => racing.confirm(verificationId, wrong, '198.51.100.9')),
    );
    expect(tries.every((t) => t.status === 'rejected')).toBe(true);
    expect(compared.n).toBeLessThanOrEqual(5);
    await expect(rights.confirm(verificationId, right, '198.51.100.9')).rejects.toBeInstanceOf(
      VerificationFailedError,
    );
  });
});
