import { beforeEach, describe, expect, it } from 'vitest';
import { makeSendMessage } from '../../functions/messages/use-cases/send-messages.ts';
import { settingsOf } from '../../functions/messages/use-cases/send-policy.ts';
import type { Verification, VerificationStore } from '../../functions/public-rights/ports.ts';
import { makePublicRights } from '../../functions/public-rights/use-cases/public-rights.ts';
import { makeReceiveInbound } from '../../functions/recipients/use-cases/inbound.ts';
import { MisdirectedError, RateLimitedError, VerificationFailedError } from '../../layers/core/errors.ts';
import { makeGatewayBudget } from '../../layers/core/gateway-budget.ts';
import type { Jurisdiction, Tenant } from '../../layers/core/model.ts';
import type { BudgetCounters, Counters } from '../../layers/ports/index.ts';
import { fakePseudonymOf, fakeSendDeps, tenantContext } from '../support/fakes.ts';

const person = '+12025550100';
const acme: Tenant = {
  id: 'ten_A',
  displayName: 'Acme',
  legalName: 'Acme Trading Ltd',
  contactEmail: 'privacy@acme.test',
  homeJurisdiction: 'global',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  retention: { bodyDays: 7, metadataDays: 90 },
  residency: 'forward',
};

type SendArgs = Parameters<ReturnType<typeof makeSendMessage>>;

/** Sends as a tenant and has the carrier take the message, as the dispatch worker would. */
async function text(deps: ReturnType<typeof fakeSendDeps>, ctx: SendArgs[0], input: SendArgs[1]) {
  const out = await makeSendMessage(deps)(ctx, input, 'global');
  const ref = { tenantId: ctx.tenantId, messageId: out.result.message.id, jurisdiction: 'global' as const };
  await deps.messages.claim(ref, 'tok', 60_000, deps.clock.now());
  await deps.messages.markSent(ref, 'tok', `c_${ref.messageId}`, deps.clock.now());
  return out;
}

/** An hour's budget of the gateway's own messages, in memory. */
const budgetOf = (clock: { now(): Date }, budget = { perHour: 1000, perCountryPerHour: { '*': 100 } }) => {
  const spent: string[] = [];
  const take = makeGatewayBudget({
    counters: new MemoryBudgetCounters(),
    budget,
    clock,
    spent: (scope) => spent.push(scope),
  });
  return Object.assign(take, { spent });
};

type BudgetLimits = Parameters<typeof budgetOf>[1];

function setup(options: { budget?: BudgetLimits } = {}) {
  const deps = fakeSendDeps();
  const log: string[] = [];
  // One log for the queue and the recipient stores: what happened before what.
  const enqueue = deps.queue.enqueue.bind(deps.queue);
  deps.queue.enqueue = async (refs) => {
    log.push(...refs.map((r) => `enqueue ${r.messageId}`));
    return enqueue(refs);
  };
  (deps.recipients.global as unknown as { log: string[] }).log.push = (...items: string[]) =>
    log.push(...items);
  const block = deps.blockList.global.block.bind(deps.blockList.global);
  deps.blockList.global.block = async (p: string, at: Date, source: 'keyword' | 'verified_request') => {
    log.push(`block ${p}`);
    return block(p, at, source);
  };
  const system: { to: string; body: string }[] = [];
  const budget = budgetOf(deps.clock, options.budget);
  const receive = makeReceiveInbound({
    messages: { global: deps.stores.global.messages, eu: deps.stores.eu.messages },
    queues: { global: deps.queue, eu: deps.stores.eu.queue },
    recipients: deps.recipients,
    blockList: deps.blockList,
    pseudonyms: deps.pseudonyms,
    tenants: deps.tenants,
    settings: async (id) => settingsOf(await deps.tenants.getTenant(id)),
    systemSms: async (_j, to, _from, body) => {
      system.push({ to, body });
    },
    clock: deps.clock,
    gatewayBudget: budget,
  });
  let n = 0;
  const reply = (body: string, to = 'Acme') =>
    receive({
      kind: 'inbound',
      from: person,
      to,
      body,
      carrierMessageId: `c${++n}`,
      receivedAt: deps.clock.now().toISOString(),
    });
  return { deps, log, receive, reply, system, budget };
}

describe('replies from recipients', () => {
  let t: ReturnType<typeof setup>;

  beforeEach(async () => {
    t = setup();
    await t.deps.tenants.createTenant(structuredClone(acme));
    // Acme texted the person, so their replies to 'Acme' are Acme's.
    await text(t.deps, tenantContext(), { to: person, from: 'Acme', body: 'Your order shipped' });
    t.log.length = 0;
  });

  const lastReplyBody = () => {
    const sent = [...t.deps.messages.items.values()].filter((m) => m.from === 'Acme' && m.to === person);
    return sent.sort((a, b) => a.id.localeCompare(b.id)).at(-1)?.body;
  };

  it('confirms a STOP before the opt-out takes effect, then refuses the next message', async () => {
    expect(await t.reply('Stop please')).toEqual({ tenantId: 'ten_A', action: 'opt_out' });
    const confirmation = [...t.deps.messages.items.values()].find((m) =>
      m.body?.startsWith('You are unsubscribed'),
    );
    expect(confirmation).toMatchObject({ to: person, from: 'Acme', status: 'queued' });
    expect(t.log[0]).toBe(`enqueue ${confirmation!.id}`);
    expect(t.log.slice(1)).toEqual([`optOut ${person}`, `consent withdrawn ${person}`]);
    await expect(
      makeSendMessage(t.deps)(tenantContext(), { to: person, from: 'Acme', body: 'More news' }, 'global'),
    ).rejects.toMatchObject({ reason: 'opted_out' });
  });

  it('routes a reply to the tenant that texted the person from the number they answered', async () => {
    await t.deps.tenants.createTenant({ ...structuredClone(acme), id: 'ten_B', displayName: 'Globex' });
    t.deps.senderIds.records.push({
      id: 'sid_G',
      tenantId: 'ten_B',
      value: 'Globex',
      type: 'alphanumeric',
      countries: [],
      status: 'approved',
      appliedAt: 'x',
    });
    t.deps.clock.advance(1000);
    await text(t.deps, tenantContext({ tenantId: 'ten_B' }), {
      to: person,
      from: 'Globex',
      body: 'Your parcel',
    });
    // Globex texted last, but the person answers Acme's number: only Acme's list changes.
    expect(await t.reply('STOP', 'Acme')).toMatchObject({ tenantId: 'ten_A' });
    expect(await t.deps.recipients.global.getOptOut('ten_A', person)).toBeDefined();
    expect(await t.deps.recipients.global.getOptOut('ten_B', person)).toBeUndefined();
    expect(await t.reply('STOP', 'Globex')).toMatchObject({ tenantId: 'ten_B' });
  });

  it('never routes a reply to a tenant that sent from the same sender ID in test mode', async () => {
    await t.deps.tenants.createTenant({ ...structuredClone(acme), id: 'ten_B', displayName: 'Squatter' });
    t.deps.clock.advance(1000);
    // Test keys may use any sender: their messages reach the sandbox, never the person.
    await text(t.deps, tenantContext({ tenantId: 'ten_B', mode: 'test' }), {
      to: person,
      from: 'Acme',
      body: 'Hello',
    });
    expect(await t.reply('STOP', 'Acme')).toEqual({ tenantId: 'ten_A', action: 'opt_out' });
    expect(await t.deps.recipients.global.getOptOut('ten_A', person)).toBeDefined();
    expect(await t.deps.recipients.global.getOptOut('ten_B', person)).toBeUndefined();
  });

  it('never routes a reply to a later live message the carrier has not taken or refused', async () => {
    await t.deps.tenants.createTenant({ ...structuredClone(acme), id: 'ten_B', displayName: 'Other' });
    t.deps.clock.advance(1000);
    // Another tenant's live messages from the same sender ID: one still queued, one refused.
    await makeSendMessage(t.deps)(
      tenantContext({ tenantId: 'ten_B' }),
      { to: person, from: 'Acme', body: 'a' },
      'global',
    );
    const { result } = await makeSendMessage(t.deps)(
      tenantContext({ tenantId: 'ten_B' }),
      { to: person, from: 'Acme', body: 'b' },
      'global',
    );
    await t.deps.messages.transition(
      { tenantId: 'ten_B', messageId: result.message.id, jurisdiction: 'global' },
      'failed',
      t.deps.clock.now(),
      { error: { code: 'invalid_destination', message: 'refused' } },
    );
    expect(await t.reply('STOP', 'Acme')).toEqual({ tenantId: 'ten_A', action: 'opt_out' });
    expect(await t.deps.recipients.global.getOptOut('ten_B', person)).toBeUndefined();
  });

  it('confirms a STOP to a test-mode message with a test-mode message', async () => {
    const handset = '+12025550107';
    const { result } = await makeSendMessage(t.deps)(
      tenantContext({ mode: 'test' }),
      { to: handset, from: 'Acme', body: 'Sale today' },
      'global',
    );
    // The sandbox carrier answers for its handset and names the message answered.
    expect(
      await t.receive({
        kind: 'inbound',
        from: handset,
        to: 'Acme',
        body: 'STOP',
        carrierMessageId: 'sbx_in_1',
        receivedAt: t.deps.clock.now().toISOString(),
        inReplyTo: { tenantId: 'ten_A', messageId: result.message.id },
      }),
    ).toEqual({ tenantId: 'ten_A', action: 'opt_out' });
    const confirmation = [...t.deps.messages.items.values()].find(
      (m) => m.to === handset && m.body?.startsWith('You are unsubscribed'),
    );
    // Counted and dispatched as test traffic (the sandbox, no cost), like the message it answers.
    expect(confirmation).toMatchObject({ mode: 'test' });
    expect(await t.deps.recipients.global.getOptOut('ten_A', handset)).toBeDefined();
  });

  it('opts back in on START and records it in the consent ledger', async () => {
    await t.reply('STOP');
    t.deps.clock.advance(1000);
    await t.reply('start');
    expect(await t.deps.recipients.global.getOptOut('ten_A', person)).toBeUndefined();
    expect((await t.deps.recipients.global.consents('ten_A', person)).map((c) => [c.kind, c.source])).toEqual(
      [
        ['withdrawn', 'keyword:STOP'],
        ['granted', 'keyword:START'],
      ],
    );
    expect(lastReplyBody()).toContain('subscribed again');
  });

  it("answers HELP with the tenant's help text and WHO with its legal identity and contact", async () => {
    await t.reply('help');
    expect(lastReplyBody()).toBe(settingsOf(acme).replies.helpText);
    t.deps.clock.advance(1000);
    await t.reply('Who?');
    expect(lastReplyBody()).toBe(
      'These messages are sent by Acme Trading Ltd (privacy@acme.test). Reply STOP to unsubscribe.',
    );
  });

  it("understands the tenant's own keywords", async () => {
    await t.deps.tenants.updateSettings('ten_A', {
      replies: { ...settingsOf(acme).replies, keywords: { optOut: ['ARRÊT'], optIn: [], help: ['AIDE'] } },
    });
    expect((await t.reply('arret')).action).toBe('opt_out');
  });

  it('blocks every tenant on BLOCK, after confirming it', async () => {
    expect((await t.reply('BLOCK ALL')).action).toBe('block_all');
    expect(lastReplyBody()).toContain('no more messages from anyone');
    expect(t.log.at(-1)).toBe(`block ${fakePseudonymOf(person)}`);
    await expect(
      makeSendMessage(t.deps)(
        tenantContext({ tenantId: 'ten_B' }),
        { to: person, from: 'Acme', body: 'Hi' },
        'global',
      ),
    ).rejects.toMatchObject({ reason: 'blocked' });
  });

  it('honours BLOCK sent to a number no tenant used, answered by the gateway itself', async () => {
    expect((await t.reply('block', '+15005550006')).action).toBe('block_all');
    expect(t.system).toEqual([{ to: person, body: expect.stringContaining('no more messages') }]);
    expect(await t.deps.blockList.global.isBlocked(fakePseudonymOf(person))).toBe(true);
  });

  it("confirms a BLOCK no tenant answers within the hour's budget of the gateway's own messages: per country, then gateway-wide; the number is blocked all the same", async () => {
    const gw = setup({ budget: { perHour: 3, perCountryPerHour: { '*': 2 } } });
    gw.deps.clock.advance(1000);
    let n = 0;
    const block = (from: string) =>
      gw.receive({
        kind: 'inbound',
        from,
        to: '+15005550006',
        body: 'BLOCK',
        carrierMessageId: `b${++n}`,
        receivedAt: gw.deps.clock.now().toISOString(),
      });
    const people = ['+12025550101', '+12025550102', '+12025550103', '+447911123456', '+4915123456789'];
    for (const p of people) expect((await block(p)).action).toBe('block_all');
    // The third US number's country budget is spent; the German one finds the gateway's spent.
    expect(gw.system.map((m) => m.to)).toEqual(['+12025550101', '+12025550102', '+447911123456']);
    expect(gw.budget.spent).toEqual(['country', 'gateway']);
    for (const p of people.slice(0, 4))
      expect(await gw.deps.blockList.global.isBlocked(fakePseudonymOf(p))).toBe(true);
    expect(await gw.deps.blockList.eu.isBlocked(fakePseudonymOf('+4915123456789'))).toBe(true);
    // The next hour has a fresh budget.
    gw.deps.clock.advance(3_600_000);
    await block('+12025550103');
    expect(gw.system.at(-1)).toEqual({
      to: '+12025550103',
      body: expect.stringContaining('no more messages'),
    });
  });

  it('keeps every reply for the tenant, keyword or not, once per carrier message', async () => {
    await t.reply('Thanks, got it');
    const event = {
      kind: 'inbound' as const,
      from: person,
      to: 'Acme',
      body: 'STOP',
      carrierMessageId: 'dup',
      receivedAt: t.deps.clock.now().toISOString(),
    };
    await t.receive(event);
    const messagesAfterFirst = t.deps.messages.items.size;
    await t.receive(event);
    expect(t.deps.messages.items.size).toBe(messagesAfterFirst);
    expect(t.deps.recipients.global.inbound.map((r) => [r.body, r.action ?? null])).toEqual([
      ['Thanks, got it', null],
      ['STOP', 'opt_out'],
    ]);
    expect(
      (await t.deps.recipients.global.consents('ten_A', person)).filter((c) => c.kind === 'withdrawn'),
    ).toHaveLength(1);
  });
});

class MemoryBudgetCounters implements BudgetCounters {
  readonly counts = new Map<string, number>();
  async take(key: string, limit: number) {
    const n = this.counts.get(key) ?? 0;
    if (n >= limit) return false;
    this.counts.set(key, n + 1);
    return true;
  }
}

class MemoryVerifications implements VerificationStore {
  readonly items = new Map<string, Verification>();
  async put(v: Verification) {
    this.items.set(v.id, structuredClone(v));
  }
  async get(id: string) {
    return this.items.get(id);
  }
  async claimAttempt(id: string, max: number) {
    const v = this.items.get(id);
    if (!v) return undefined;
    if (v.attempts >= max) {
      this.items.delete(id);
      return undefined;
    }
    v.attempts += 1;
    return structuredClone(v);
  }
  async remove(id: string) {
    this.items.delete(id);
  }
}

describe('the public flows: block-all and "who sent me this?"', () => {
  let t: ReturnType<typeof setup>;
  let rights: ReturnType<typeof makePublicRights>;
  let codes: { to: string; body: string }[];
  let limited: Set<string>;

  beforeEach(async () => {
    t = setup();
    codes = [];
    limited = new Set();
    await t.deps.tenants.createTenant(structuredClone(acme));
    rights = makePublicRights({
      ...rightsDeps(),
      gatewayBudget: makeGatewayBudget({
        counters: new MemoryBudgetCounters(),
        budget: { perHour: 1000, perCountryPerHour: { '*': 100 } },
        clock: t.deps.clock,
      }),
    });
  });

  const rightsDeps = () => {
    const counters: Counters = {
      admit: async (key) => (limited.has(key) ? { ok: false, retryAfterSeconds: 42 } : { ok: true }),
      addUsage: async () => true,
    };
    return {
      verifications: { global: new MemoryVerifications(), eu: new MemoryVerifications() },
      blockList: t.deps.blockList,
      messages: { global: t.deps.stores.global.messages, eu: t.deps.stores.eu.messages },
      tenants: t.deps.tenants,
      pseudonyms: t.deps.pseudonyms,
      counters,
      systemSms: async (_j: Jurisdiction, to: string, _from: string | undefined, body: string) => {
        codes.push({ to, body });
      },
      ids: t.deps.ids,
      clock: t.deps.clock,
      here: 'global' as Jurisdiction,
      endpoints: { global: 'https://sms.example', eu: 'https://eu.sms.example' },
    };
  };

  const codeFor = (to: string) => /\d{6}/.exec(codes.filter((c) => c.to === to).at(-1)!.body)![0];

  it('answers alike for a blocked, a known and an unknown number until the code is given', async () => {
    await text(t.deps, tenantContext(), { to: person, from: 'Acme', body: 'x' });
    await t.deps.blockList.global.block(fakePseudonymOf('+12025550199'), t.deps.clock.now(), 'keyword');
    const shapes = [];
    for (const phone of [person, '+12025550199', '+12025550198']) {
      const started = await rights.start({ phone, purpose: 'block' }, '198.51.100.7');
      shapes.push({ ...started, verificationId: started.verificationId.slice(0, 4) });
      const wrong = await rights
        .confirm(started.verificationId, '000000', '198.51.100.7')
        .catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(VerificationFailedError);
    }
    expect(new Set(shapes.map((s) => JSON.stringify(s))).size).toBe(1);
    expect(codes.map((c) => c.to)).toEqual([person, '+12025550199', '+12025550198']);
  });

  it("refuses an EU/EEA number's code in the global region with 421 naming the EU endpoint, which sends it", async () => {
    const german = '+4915123456789';
    const refused = await rights
      .start({ phone: german, purpose: 'block' }, '198.51.100.7')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MisdirectedError);
    expect((refused as MisdirectedError).problem).toMatchObject({
      status: 421,
      extensions: { jurisdiction: 'eu', endpoint: 'https://eu.sms.example' },
      errors: [{ pointer: '/phone' }],
    });
    expect(codes).toEqual([]);
    // The EU region sends it, keeps it in the EU, and confirms it there; the global region
    // (which never looks in the EU table) answers its id as an unknown one.
    const deps = rightsDeps();
    const eu = makePublicRights({ ...deps, here: 'eu', gatewayBudget: async () => {} });
    const global = makePublicRights({ ...deps, gatewayBudget: async () => {} });
    const { verificationId } = await eu.start({ phone: german, purpose: 'block' }, '198.51.100.7');
    expect(codes.map((c) => c.to)).toEqual([german]);
    await expect(global.confirm(verificationId, codeFor(german), '198.51.100.7')).rejects.toBeInstanceOf(
      VerificationFailedError,
    );
    await expect(eu.confirm(verificationId, codeFor(german), '198.51.100.7')).resolves.toMatchObject({
      blocked: true,
    });
    expect(await t.deps.blockList.eu.isBlocked(fakePseudonymOf(german))).toBe(true);
  });

  it('blocks the number once its code is given, and every tenant is refused from then on', async () => {
    const { verificationId } = await rights.start({ phone: person, purpose: 'block' }, '198.51.100.7');
    const done = await rights.confirm(verificationId, codeFor(person), '198.51.100.7');
    expect(done).toMatchObject({ purpose: 'block', blocked: true });
    await expect(
      makeSendMessage(t.deps)(tenantContext(), { to: person, from: 'Acme', body: 'x' }, 'global'),
    ).rejects.toMatchObject({ reason: 'blocked' });
    // A code works once.
    await expect(rights.confirm(verificationId, codeFor(person), '198.51.100.7')).rejects.toBeInstanceOf(
      VerificationFailedError,
    );
  });

  it('lifts a block on the same verified request, and only then', async () => {
    await t.deps.blockList.global.block(fakePseudonymOf(person), t.deps.clock.now(), 'keyword');
    const started = await rights.start({ phone: person, purpose: 'unblock' }, 'ip');
    await expect(rights.confirm(started.verificationId, '000000', 'ip')).rejects.toBeInstanceOf(
      VerificationFailedError,
    );
    expect(await t.deps.blockList.global.isBlocked(fakePseudonymOf(person))).toBe(true);
    expect(await rights.confirm(started.verificationId, codeFor(person), 'ip')).toMatchObject({
      purpose: 'unblock',
      blocked: false,
    });
    await expect(
      makeSendMessage(t.deps)(tenantContext(), { to: person, from: 'Acme', body: 'x' }, 'global'),
    ).resolves.toBeDefined();
  });

  it("refuses one-time codes with 429 and Retry-After once the hour's budget is spent: per country, then gateway-wide", async () => {
    const spent: string[] = [];
    const budgeted = makePublicRights({
      ...rightsDeps(),
      gatewayBudget: makeGatewayBudget({
        counters: new MemoryBudgetCounters(),
        budget: { perHour: 3, perCountryPerHour: { '*': 2 } },
        clock: t.deps.clock,
        spent: (scope) => spent.push(scope),
      }),
    });
    t.deps.clock.advance(1000);
    const ask = (phone: string) => budgeted.start({ phone, purpose: 'block' }, '198.51.100.7');
    await ask('+12025550101');
    await ask('+12025550102');
    const us = await ask('+12025550103').catch((e: unknown) => e);
    expect(us).toBeInstanceOf(RateLimitedError);
    expect(us).toMatchObject({ retryAfterSeconds: 3599 });
    // Another country is still served, until the gateway-wide budget is spent too.
    await ask('+447911123456');
    await expect(ask('+61412345678')).rejects.toBeInstanceOf(RateLimitedError);
    expect(codes.map((c) => c.to)).toEqual(['+12025550101', '+12025550102', '+447911123456']);
    expect(spent).toEqual(['country', 'gateway']);
    // The next hour has a fresh budget.
    t.deps.clock.advance(3_600_000);
    await expect(ask('+12025550103')).resolves.toMatchObject({ verificationId: expect.any(String) });
  });

  it('counts one-time codes and block-all confirmations against the same hourly budget', async () => {
    const gw = setup({ budget: { perHour: 2, perCountryPerHour: { '*': 2 } } });
    const shared = makePublicRights({ ...rightsDeps(), gatewayBudget: gw.budget });
    await shared.start({ phone: '+12025550101', purpose: 'block' }, '198.51.100.7');
    await gw.receive({
      kind: 'inbound',
      from: '+12025550102',
      to: '+15005550006',
      body: 'BLOCK',
      carrierMessageId: 'b1',
      receivedAt: gw.deps.clock.now().toISOString(),
    });
    expect(gw.system.map((m) => m.to)).toEqual(['+12025550102']);
    await expect(
      shared.start({ phone: '+12025550103', purpose: 'block' }, '198.51.100.7'),
    ).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('gives up a code after 5 wrong tries, with the same answer as an unknown one', async () => {
    const { verificationId } = await rights.start({ phone: person, purpose: 'block' }, '198.51.100.7');
    for (let i = 0; i < 5; i++) {
      await expect(rights.confirm(verificationId, '000000', 'ip')).rejects.toBeInstanceOf(
        VerificationFailedError,
      );
    }
    await expect(rights.confirm(verificationId, codeFor(person), 'ip')).rejects.toBeInstanceOf(
      VerificationFailedError,
    );
  });

  it('names the sender of a message by its reference code, never its content', async () => {
    await t.deps.tenants.updateSettings('ten_A', {
      replies: { ...settingsOf(acme).replies, referenceCodes: true },
    });
    const { result } = await text(t.deps, tenantContext(), {
      to: person,
      from: 'Acme',
      body: 'Secret offer',
    });
    const ref = /Ref: (\w+)/.exec(result.message.body ?? '')![1]!;
    const { verificationId } = await rights.start(
      { phone: person, purpose: 'identify', reference: ref.toLowerCase() },
      'ip',
    );
    const answer = await rights.confirm(verificationId, codeFor(person), 'ip');
    expect(answer).toEqual({
      purpose: 'identify',
      senders: [
        {
          legalName: 'Acme Trading Ltd',
          contactEmail: 'privacy@acme.test',
          senderId: 'Acme',
          sentAt: result.message.createdAt,
        },
      ],
    });
    expect(JSON.stringify(answer)).not.toContain('Secret');
  });

  it('names the sender by the time and sender ID, and nobody for another number', async () => {
    const { result } = await text(t.deps, tenantContext(), { to: person, from: 'Acme', body: 'x' });
    const query = { purpose: 'identify' as const, sentAt: '2026-11-24T10:20:00Z', senderId: 'ACME' };
    const mine = await rights.start({ phone: person, ...query }, 'ip');
    expect(await rights.confirm(mine.verificationId, codeFor(person), 'ip')).toMatchObject({
      senders: [{ legalName: 'Acme Trading Ltd', sentAt: result.message.createdAt }],
    });
    const other = await rights.start({ phone: '+12025550199', ...query }, 'ip');
    expect(await rights.confirm(other.verificationId, codeFor('+12025550199'), 'ip')).toEqual({
      purpose: 'identify',
      senders: [],
    });
  });

  it('never names a tenant that sent from the same sender ID in test mode', async () => {
    await t.deps.tenants.createTenant({
      ...structuredClone(acme),
      id: 'ten_B',
      legalName: 'Squatter Ltd',
    });
    await text(t.deps, tenantContext(), { to: person, from: 'Acme', body: 'x' });
    await text(t.deps, tenantContext({ tenantId: 'ten_B', mode: 'test' }), {
      to: person,
      from: 'Acme',
      body: 'y',
    });
    const query = { purpose: 'identify' as const, sentAt: '2026-11-24T10:20:00Z', senderId: 'Acme' };
    const v = await rights.start({ phone: person, ...query }, 'ip');
    const answer = await rights.confirm(v.verificationId, codeFor(person), 'ip');
    expect((answer as { senders: { legalName: string }[] }).senders.map((s) => s.legalName)).toEqual([
      'Acme Trading Ltd',
    ]);
  });

  it('refuses with Retry-After past the per-IP and per-number limits', async () => {
    limited.add('ip#203.0.113.9');
    await expect(rights.start({ phone: person, purpose: 'block' }, '203.0.113.9')).rejects.toEqual(
      new RateLimitedError(42),
    );
    limited.add(`number#${fakePseudonymOf(person)}`);
    await expect(rights.start({ phone: person, purpose: 'block' }, 'ip')).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    expect(codes).toEqual([]);
  });
});
