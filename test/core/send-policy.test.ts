import { beforeEach, describe, expect, it, vi } from 'vitest';
import { makeSendBatch, makeSendMessage } from '../../functions/messages/use-cases/send-messages.ts';
import { DEFAULT_CONTROLS } from '../../layers/core/controls.ts';
import { RateLimitedError, SendRefusedError } from '../../layers/core/errors.ts';
import type { OptOutEntry } from '../../layers/ports/index.ts';
import {
  answeredOnceAsked,
  fakePseudonymOf,
  fakeSendDeps,
  tenantContext,
  tenantRecord,
} from '../support/fakes.ts';

const tenant = tenantContext();
const to = '+12025550100';
const good = { to, from: 'Acme', body: 'Your code is 123456' };

describe('what the gateway refuses to send, and says so', () => {
  let deps: ReturnType<typeof fakeSendDeps>;
  let send: ReturnType<typeof makeSendMessage>;

  const refusal = async (input: object, ctx = tenant) => {
    const error = await send(ctx, { ...good, ...input }, 'global').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendRefusedError);
    return error as SendRefusedError;
  };

  /** The recipient `to` opted out of tenant ten_A's messages (all, or promotional ones only). */
  const optOut = (scope: OptOutEntry['scope'], source: string) =>
    deps.recipients.global.putOptOut('ten_A', { phone: to, scope, source, at: 'x' });

  beforeEach(async () => {
    deps = fakeSendDeps();
    send = makeSendMessage(deps);
    await deps.tenants.createTenant(tenantRecord());
  });

  it('refuses a number on the opt-out list, and stores and enqueues nothing', async () => {
    await optOut('all', 'keyword:STOP');
    const error = await refusal({});
    expect(error.reason).toBe('opted_out');
    expect(error.issues).toEqual([{ pointer: '/to', detail: expect.stringContaining('opted out') }]);
    expect(deps.messages.items.size).toBe(0);
    expect(deps.queue.sent).toEqual([]);
  });

  it('points each refusal at its own field: an unapproved sender at /from, a recipient at /to', async () => {
    const live = { ...tenant, mode: 'live' as const };
    const sender = await refusal({ from: 'Initech' }, live);
    expect(sender.reason).toBe('sender_not_approved');
    expect(sender.issues).toEqual([{ pointer: '/from', detail: expect.stringContaining('Initech') }]);
  });

  it('lets transactional messages through a promotional-only opt-out, but not promotional ones', async () => {
    await optOut('promotional', 'api');
    await deps.recipients.global.appendConsent('ten_A', {
      id: 'con_1',
      phone: to,
      kind: 'granted',
      source: 'form',
      at: '2026-01-01T00:00:00.000Z',
    });
    await expect(send(tenant, good, 'global')).resolves.toBeDefined();
    expect((await refusal({ category: 'promotional' })).reason).toBe('opted_out');
  });

  it("refuses a promotional message without the recipient's live consent", async () => {
    expect((await refusal({ category: 'promotional' })).reason).toBe('consent_required');
    await deps.recipients.global.appendConsent('ten_A', {
      id: 'con_1',
      phone: to,
      kind: 'granted',
      source: 'form',
      at: '2026-11-01T00:00:00.000Z',
    });
    await expect(send(tenant, { ...good, category: 'promotional' }, 'global')).resolves.toBeDefined();
    // STOP appends a withdrawal: the consent is no longer live.
    await deps.recipients.global.appendConsent('ten_A', {
      id: 'con_2',
      phone: to,
      kind: 'withdrawn',
      source: 'keyword:STOP',
      at: '2026-11-02T00:00:00.000Z',
    });
    expect((await refusal({ category: 'promotional', body: 'Sale!' })).reason).toBe('consent_required');
  });

  it('refuses a sender ID that is not approved for a live key, in that country', async () => {
    expect((await refusal({ from: 'Initech' })).reason).toBe('sender_not_approved');
    deps.senderIds.records.push({
      id: 'sid_2',
      tenantId: 'ten_A',
      value: 'Initech',
      type: 'alphanumeric',
      countries: ['GB'],
      status: 'approved',
      appliedAt: 'x',
    });
    // Approved for GB only: a US number is still refused.
    expect((await refusal({ from: 'Initech' })).message).toContain('for US');
    await expect(
      send(tenant, { ...good, to: '+447400123456', from: 'Initech' }, 'global'),
    ).resolves.toBeDefined();
    // A pending application is not enough.
    deps.senderIds.records.push({
      id: 'sid_3',
      tenantId: 'ten_A',
      value: 'Hooli',
      type: 'alphanumeric',
      countries: [],
      status: 'pending',
      appliedAt: 'x',
    });
    expect((await refusal({ from: 'Hooli' })).reason).toBe('sender_not_approved');
    // Test keys reach the sandbox only and may use any sender.
    await expect(
      send(tenantContext({ mode: 'test' }), { ...good, from: 'Hooli' }, 'global'),
    ).resolves.toBeDefined();
  });

  it("refuses a country outside the tenant's allow-list", async () => {
    await deps.tenants.updateSettings('ten_A', {
      controls: { ...DEFAULT_CONTROLS, allowedCountries: ['GB'] },
    });
    expect((await refusal({})).reason).toBe('country_not_allowed');
    await expect(send(tenant, { ...good, to: '+447400123456' }, 'global')).resolves.toBeDefined();
  });

  it('refuses a number that blocked every message from the gateway, whatever the tenant', async () => {
    await deps.blockList.global.block(fakePseudonymOf(to), deps.clock.now(), 'keyword');
    expect((await refusal({})).reason).toBe('blocked');
    expect((await refusal({}, tenantContext({ tenantId: 'ten_B' }))).reason).toBe('blocked');
  });

  it('allows 6 identical and 20 different messages to one recipient an hour, then refuses with Retry-After', async () => {
    for (let i = 0; i < 6; i++) await send(tenant, good, 'global');
    const identical = await refusal({});
    expect(identical.reason).toBe('flood_limit');
    expect(identical.message).toContain('6 identical');
    // The clock is at 10:00:00, so the hour ends in 3600 s.
    expect(identical.retryAfterSeconds).toBe(3600);
    for (let i = 0; i < 14; i++) await send(tenant, { ...good, body: `message ${i}` }, 'global');
    const total = await refusal({ body: 'one more' });
    expect(total.message).toContain('20 messages');
    // Another recipient is not affected; the next hour starts afresh.
    await expect(send(tenant, { ...good, to: '+12025550199' }, 'global')).resolves.toBeDefined();
    deps.clock.advance(3_600_000);
    await expect(send(tenant, good, 'global')).resolves.toBeDefined();
  });

  it('refuses everything once the monthly segment cap is reached, until the next month', async () => {
    await deps.tenants.updateSettings('ten_A', { controls: { ...DEFAULT_CONTROLS, monthlySegmentCap: 3 } });
    await send(tenant, { ...good, body: 'x'.repeat(200) }, 'global'); // 2 segments
    await send(tenant, { ...good, to: '+12025550199' }, 'global'); // 3
    const error = await refusal({ to: '+12025550198' });
    expect(error.reason).toBe('monthly_cap');
    expect(error.message).toContain('2026-11');
    deps.clock.advance(5 * 86_400_000);
    expect((await refusal({ to: '+12025550198' })).reason).toBe('monthly_cap');
    deps.clock.current = new Date('2026-12-01T00:00:00Z');
    await expect(send(tenant, { ...good, to: '+12025550198' }, 'global')).resolves.toBeDefined();
  });

  /** A rate-limit decision the test settles; `admitted` is what the handler passes the send. */
  const decision = () => {
    let admit!: () => void;
    let refuse!: (error: Error) => void;
    const admitted = new Promise<void>((resolve, reject) => {
      admit = resolve;
      refuse = reject;
    });
    return { admitted, admit, refuse };
  };
  /** The counters' values (flood counts of every recipient and body, segments of every month). */
  const counts = () => [...[...deps.recipients.global.floods.values()], ...[...deps.counters.usage.values()]];

  it('counts the flood limit and the cap in the same round trip as the reads and the rate limit, and gives it all back when the rate limit refuses', async () => {
    const { admitted, refuse } = decision();
    // The block list answers only once the flood counter was asked: counted after the reads, this hangs.
    [deps.blockList.global.isBlocked, deps.recipients.global.countSend] = answeredOnceAsked(
      deps.blockList.global.isBlocked.bind(deps.blockList.global),
      deps.recipients.global.countSend.bind(deps.recipients.global),
    );
    const sending = send(tenant, good, 'global', undefined, admitted).catch((e: unknown) => e);
    await vi.waitFor(() => expect(deps.counters.usage.get('ten_A/2026-11')).toBe(1));
    refuse(new RateLimitedError(7));
    expect(await sending).toBeInstanceOf(RateLimitedError);
    // The refused request used no flood allowance and no segment of the cap.
    expect(counts().every((n) => n === 0)).toBe(true);
    expect(deps.messages.items.size).toBe(0);
    expect(deps.queue.sent).toEqual([]);
  });

  it('counts a tenant the rate limit refused only once admitted, until its Retry-After has passed', async () => {
    const first = decision();
    const refusedSend = send(tenant, good, 'global', undefined, first.admitted).catch((e: unknown) => e);
    first.refuse(new RateLimitedError(7));
    expect(await refusedSend).toBeInstanceOf(RateLimitedError);
    let read = false;
    const isBlocked = deps.blockList.global.isBlocked.bind(deps.blockList.global);
    deps.blockList.global.isBlocked = async (p) => {
      read = true;
      return isBlocked(p);
    };
    const next = decision();
    const sending = send(tenant, good, 'global', undefined, next.admitted);
    await vi.waitFor(() => expect(read).toBe(true));
    await new Promise((r) => setTimeout(r, 20));
    // Read, but not counted: this tenant was over its limit a moment ago.
    expect(counts().every((n) => n === 0)).toBe(true);
    next.admit();
    await expect(sending).resolves.toBeDefined();
    expect(deps.counters.usage.get('ten_A/2026-11')).toBe(1);
    // After the Retry-After, counting goes along with the reads again.
    deps.clock.current = new Date(deps.clock.now().getTime() + 8_000);
    const later = decision();
    const again = send(tenant, { ...good, body: 'Later' }, 'global', undefined, later.admitted);
    await vi.waitFor(() => expect(deps.counters.usage.get('ten_A/2026-11')).toBe(2));
    later.admit();
    await expect(again).resolves.toBeDefined();
  });

  it('gives back the flood count and the segments of a message a read refused', async () => {
    await optOut('all', 'keyword:STOP');
    expect((await refusal({})).reason).toBe('opted_out');
    const blocked = '+12025550142';
    deps.blockList.global.blocked.add(fakePseudonymOf(blocked));
    const { result } = await makeSendBatch(deps)(
      tenant,
      [
        { ok: true, input: { ...good, to: blocked } },
        { ok: true, input: { ...good, to: '+12025550143' } },
      ],
      'global',
    );
    expect(result.accepted).toBe(1);
    // Only the message that went holds a flood count and a segment.
    expect(deps.counters.usage.get('ten_A/2026-11')).toBe(1);
    const counted = [...deps.recipients.global.floods.entries()].filter(
      ([k, n]) => k.split('/').length === 3 && n > 0,
    );
    expect(counted.map(([k, n]) => [k.split('/')[1], n])).toEqual([['+12025550143', 1]]);
  });

  it('counts the flood limit and the monthly cap at once, and gives back the cap a flood refusal did not use', async () => {
    // The flood counter answers only once the cap was asked: counted one after the other, this hangs.
    [deps.recipients.global.countSend, deps.counters.addUsage] = answeredOnceAsked(
      deps.recipients.global.countSend.bind(deps.recipients.global),
      deps.counters.addUsage.bind(deps.counters),
    );
    for (let i = 0; i < 6; i++) await send(tenant, { ...good, body: 'Same code' }, 'global');
    expect((await refusal({ body: 'Same code' })).reason).toBe('flood_limit');
    // Six segments counted; the refused seventh's was counted with them and given back.
    expect(deps.counters.usage.get('ten_A/2026-11')).toBe(6);
  });

  it('refuses a batch at the cap only for the segments of the messages the flood limit let through', async () => {
    await deps.tenants.updateSettings('ten_A', { controls: { ...DEFAULT_CONTROLS, monthlySegmentCap: 2 } });
    await deps.counters.addUsage('ten_A', '2026-11', 1, 2);
    // The recipient `to` had its 20 messages this hour (counted with no cap in the way).
    for (let i = 0; i < 20; i++)
      await deps.recipients.global.countSend('ten_A', to, `m${i}`, deps.clock.now(), DEFAULT_CONTROLS.flood);
    const { result } = await makeSendBatch(deps)(
      tenant,
      [
        { ok: true, input: good },
        { ok: true, input: { ...good, to: '+12025550199' } },
      ],
      'global',
    );
    // Two segments asked of a cap with one left: refused, but one of them was the flood's.
    expect(
      result.results.map((r) =>
        r.status === 'rejected' && r.reason === 'refused' ? r.refusal.reason : r.status,
      ),
    ).toEqual(['flood_limit', 'accepted']);
    expect(deps.counters.usage.get('ten_A/2026-11')).toBe(2);
  });

  it("gives back the flood count of a message the monthly cap refused: the recipient's hour is not used up by sends that never went", async () => {
    await deps.tenants.updateSettings('ten_A', { controls: { ...DEFAULT_CONTROLS, monthlySegmentCap: 1 } });
    await send(tenant, good, 'global');
    for (let i = 0; i < 5; i++) expect((await refusal({ body: `Code ${i}` })).reason).toBe('monthly_cap');
    const hour = [...deps.recipients.global.floods.entries()].filter(([k]) => k.split('/').length === 3);
    // Only the message that went counts towards the recipient's hour.
    expect(hour.map(([, n]) => n)).toEqual([1]);
    // The operator raises the cap: the recipient still has 19 of its 20 messages this hour.
    await deps.tenants.updateSettings('ten_A', { controls: { ...DEFAULT_CONTROLS, monthlySegmentCap: 100 } });
    for (let i = 0; i < 19; i++) await send(tenant, { ...good, body: `Again ${i}` }, 'global');
    expect((await refusal({ body: 'One too many' })).reason).toBe('flood_limit');
  });

  it('quarantines a message a content rule denies: kept with its reason, never queued', async () => {
    const { result } = await send(
      tenant,
      { ...good, body: 'Claim your prize at https://bit.ly/x1' },
      'global',
    );
    expect(result.message).toMatchObject({
      status: 'quarantined',
      error: { code: 'content_denied', message: expect.stringContaining('bit.ly') },
    });
    expect(deps.queue.sent).toEqual([]);
    await deps.tenants.updateSettings('ten_A', {
      controls: { ...DEFAULT_CONTROLS, denyPhrases: ['wire transfer'], denyUrlShorteners: false },
    });
    expect(
      (await send(tenant, { ...good, body: 'See https://bit.ly/x1' }, 'global')).result.message.status,
    ).toBe('queued');
    expect(
      (await send(tenant, { ...good, body: 'Send a WIRE TRANSFER now' }, 'global')).result.message.error
        ?.message,
    ).toContain("'wire transfer'");
  });

  it('refuses items of a batch one by one, each with its reason, and accepts the rest', async () => {
    await optOut('all', 'api');
    const { result } = await makeSendBatch(deps)(
      tenant,
      [
        { ok: true, input: good },
        { ok: true, input: { ...good, to: '+12025550199' } },
        { ok: true, input: { ...good, to: '+12025550198', from: 'Nobody' } },
      ],
      'global',
    );
    expect(result.accepted).toBe(1);
    expect(
      result.results.map((r) =>
        r.status === 'rejected' && r.reason === 'refused' ? r.refusal.reason : r.status,
      ),
    ).toEqual(['opted_out', 'accepted', 'sender_not_approved']);
    expect(deps.queue.sent).toHaveLength(1);
  });

  it('appends a reference code to the body when the tenant turned them on', async () => {
    await deps.tenants.updateSettings('ten_A', {
      replies: { helpText: 'Help', keywords: { optOut: [], optIn: [], help: [] }, referenceCodes: true },
    });
    await send(tenant, good, 'global');
    const [stored] = [...deps.messages.items.values()];
    expect(stored!.refCode).toMatch(/^[2-9A-Z]{6}$/);
    expect(stored!.body).toBe(`${good.body}\nRef: ${stored!.refCode}`);
  });
});
