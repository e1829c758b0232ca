import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { IdempotencyKeyScope } from '../../functions/messages/ports.ts';
import { makeSendPolicy, settingsOf } from '../../functions/messages/use-cases/send-policy.ts';
import type { AuditEntry } from '../../layers/core/audit.ts';
import {
  CiphertextRefusedError,
  IdempotencyConflictError,
  IdempotencyInProgressError,
} from '../../layers/core/errors.ts';
import type { Sealed } from '../../layers/core/model.ts';
import {
  type ApiKeyRecord,
  DEFAULT_RETENTION,
  type DispatchRecord,
  type DispatchRef,
  type Jurisdiction,
  type MessageRecord,
  type StoredMessage,
  type StoredResult,
  type Tenant,
  type TenantContext,
} from '../../layers/core/model.ts';
import { RecipientPseudonyms } from '../../layers/core/recipient-pseudonym.ts';
import { statusChange, type UsageStatus } from '../../layers/core/usage.ts';
import type {
  BlockList,
  Carrier,
  CarrierSendOptions,
  CarrierSendRequest,
  ClaimOutcome,
  Clock,
  ConsentEntry,
  Counters,
  DispatchQueue,
  ErasureRecord,
  IdempotencyBegin,
  IdempotencyStore,
  IdGenerator,
  InboundRecord,
  KeyringRecord,
  KeyringStore,
  KeyService,
  MessagePage,
  MessageStore,
  OptOutEntry,
  RecipientStore,
  SenderIdRecord,
  SenderIdStore,
  SentTrace,
  TenantStore,
  TransitionResult,
} from '../../layers/ports/index.ts';

/** Fakes of the core's ports, for core tests only (adapters are tested against real local services). */

export class FakeClock implements Clock {
  constructor(public current = new Date('2026-11-24T10:00:00Z')) {}
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export class SequenceIds implements IdGenerator {
  private n = 0;
  next(prefix: string) {
    this.n += 1;
    return `${prefix}_${String(this.n).padStart(26, '0')}`;
  }
}

export class FakeMessageStore implements MessageStore {
  readonly items = new Map<string, MessageRecord & { claimToken?: string; claimUntil?: number }>();
  /** Messages whose sealed content no longer opens (as if damaged or copied from another tenant). */
  readonly unreadable = new Set<string>();
  private key = (t: string, id: string) => `${t}/${id}`;

  markUnreadable(tenantId: string, id: string) {
    this.unreadable.add(this.key(tenantId, id));
  }
  /** What the real store reads back: the record, or its plain metadata marked unreadable. */
  private read(m: MessageRecord): StoredMessage {
    const { to: _to, body: _body, reference: _reference, ...plain } = structuredClone(m);
    return this.unreadable.has(this.key(m.tenantId, m.id))
      ? { ...plain, unreadable: true }
      : structuredClone(m);
  }

  async create(messages: MessageRecord[], options?: { mayExist?: boolean }) {
    for (const m of messages) {
      const k = this.key(m.tenantId, m.id);
      if (options?.mayExist && this.items.has(k)) continue;
      this.items.set(k, structuredClone(m));
    }
  }
  async get(tenantId: string, id: string, now: Date) {
    const m = this.items.get(this.key(tenantId, id));
    return m && m.expiresAt > now.getTime() / 1000 ? this.read(m) : undefined;
  }
  async accepted(tenantId: string, ids: string[]) {
    return ids.flatMap((id) => {
      const m = this.items.get(this.key(tenantId, id));
      return m
        ? [
            {
              id,
              status: m.status,
              createdAt: m.createdAt,
              expiresAt: m.expiresAt,
              refCode: m.refCode,
              error: m.error,
            },
          ]
        : [];
    });
  }
  /** Newest first, one page (no cursor). */
  async list(tenantId: string, query: { limit: number }, now: Date): Promise<MessagePage> {
    const items = [...this.items.values()]
      .filter((m) => m.tenantId === tenantId && m.expiresAt > now.getTime() / 1000)
      .sort((a, b) => b.id.localeCompare(a.id))
      .slice(0, query.limit)
      .map((m) => this.read(m));
    return { items };
  }
  async remove(tenantId: string, ids: string[]) {
    for (const id of ids) this.items.delete(this.key(tenantId, id));
  }
  async removeBody(tenantId: string, id: string) {
    const m = this.items.get(this.key(tenantId, id));
    const had = m?.body !== undefined;
    if (m) delete m.body;
    return had;
  }
  async idsForSubject(tenantId: string, e164: string) {
    return [...this.items.values()].filter((m) => m.tenantId === tenantId && m.to === e164).map((m) => m.id);
  }
  /** Keyed by the number itself: the fake's recipient pseudonym (see fakeSendDeps) is the identity. */
  async sentTo(recipientPseudonym: string): Promise<SentTrace[]> {
    const taken = (m: MessageRecord) => m.sentAt ?? m.deliveredAt ?? '';
    return [...this.items.values()]
      .filter(
        (m) =>
          `p:${m.to}` === recipientPseudonym &&
          m.mode === 'live' &&
          (m.status === 'sent' || m.status === 'delivered'),
      )
      .sort((a, b) => taken(b).localeCompare(taken(a)) || b.id.localeCompare(a.id))
      .map((m) => ({
        tenantId: m.tenantId,
        messageId: m.id,
        from: m.from,
        createdAt: m.createdAt,
        refCode: m.refCode,
      }));
  }
  async removeTenant(tenantId: string) {
    const ids = [...this.items.values()].filter((m) => m.tenantId === tenantId).map((m) => m.id);
    await this.remove(tenantId, ids);
    return ids.length;
  }
  async claim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<ClaimOutcome> {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (!m || m.expiresAt <= now.getTime() / 1000) return { outcome: 'missing' };
    if (m.status !== 'queued') return { outcome: 'done', status: m.status };
    if (m.claimUntil !== undefined && m.claimUntil >= now.getTime()) return { outcome: 'busy' };
    m.claimToken = token;
    m.claimUntil = now.getTime() + leaseMs;
    m.attempts += 1;
    return { outcome: 'claimed', message: this.read(m) };
  }
  async releaseClaim(ref: DispatchRef, token: string) {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (m?.claimToken === token) {
      delete m.claimToken;
      delete m.claimUntil;
    }
  }
  async renewClaim(ref: DispatchRef, token: string, leaseMs: number, now: Date) {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (m?.claimToken !== token || m.status !== 'queued') return false;
    m.claimUntil = now.getTime() + leaseMs;
    return true;
  }
  async markSent(ref: DispatchRef, token: string, carrierMessageId: string, at: Date) {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (m?.claimToken !== token || m.status !== 'queued') return;
    Object.assign(m, { status: 'sent', sentAt: at.toISOString(), carrierMessageId });
    delete m.claimToken;
    delete m.claimUntil;
  }
  async transition(
    ref: DispatchRef,
    to: Exclude<MessageRecord['status'], 'queued'>,
    at: Date,
    details: { error?: MessageRecord['error']; carrierMessageId?: string } = {},
  ): Promise<TransitionResult> {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (!m || !(m.status === 'queued' || (m.status === 'sent' && to !== 'sent')))
      return { outcome: 'ignored' };
    m.status = to;
    if (to === 'delivered') m.deliveredAt = at.toISOString();
    else if (to !== 'sent') m.failedAt = at.toISOString();
    if (details.error) m.error = details.error;
    if (details.carrierMessageId) m.carrierMessageId ??= details.carrierMessageId;
    delete m.claimToken;
    delete m.claimUntil;
    return { outcome: 'updated', change: statusChange(m, to as UsageStatus, at, details.error) };
  }
}

export class FakeIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<
    string,
    { hash: string; ids: string[]; result?: StoredResult; leaseUntil: number; subjects?: string[] }
  >();
  constructor(private readonly leaseMs = 60_000) {}
  async begin(
    tenantId: string,
    key: string,
    hash: string,
    ids: string[],
    now: Date,
  ): Promise<IdempotencyBegin> {
    const k = `${tenantId}/${key}`;
    const r = this.records.get(k);
    if (!r) {
      this.records.set(k, { hash, ids, leaseUntil: now.getTime() + this.leaseMs });
      return { state: 'started', messageIds: ids, takeover: false };
    }
    if (r.hash !== hash) throw new IdempotencyConflictError();
    if (r.result) return { state: 'replay', result: r.result };
    if (r.leaseUntil >= now.getTime()) throw new IdempotencyInProgressError();
    r.leaseUntil = now.getTime() + this.leaseMs;
    return { state: 'started', messageIds: r.ids, takeover: true };
  }
  async complete(tenantId: string, key: string, result: StoredResult, _now: Date, subjects: string[] = []) {
    const r = this.records.get(`${tenantId}/${key}`);
    if (r) {
      r.result = structuredClone(result);
      r.subjects = subjects;
    }
  }
  async removeForSubject(tenantId: string, e164: string) {
    let n = 0;
    for (const [k, r] of this.records) {
      if (k.startsWith(`${tenantId}/`) && r.subjects?.includes(e164)) {
        this.records.delete(k);
        n++;
      }
    }
    return n;
  }
  async release(tenantId: string, key: string) {
    this.records.delete(`${tenantId}/${key}`);
  }
  async endLease(tenantId: string, key: string) {
    const r = this.records.get(`${tenantId}/${key}`);
    if (r && !r.result) r.leaseUntil = 0;
  }
}

export class FakeIdempotencyKeyScope implements IdempotencyKeyScope {
  readonly claims = new Map<string, string>();
  async claim(tenantId: string, key: string, hash: string) {
    const k = `${tenantId}/${key}`;
    const held = this.claims.get(k);
    if (held !== undefined && held !== hash) return false;
    this.claims.set(k, hash);
    return true;
  }
  async release(tenantId: string, key: string) {
    this.claims.delete(`${tenantId}/${key}`);
  }
}

export class FakeQueue implements DispatchQueue {
  readonly sent: DispatchRecord[] = [];
  /** The delay each sent reference was given, in order. */
  readonly delays: number[] = [];
  failIds = new Set<string>();
  async enqueue(refs: DispatchRecord[], options?: { delaySeconds?: number }) {
    const failed = refs.filter((r) => this.failIds.has(r.messageId)).map((r) => r.messageId);
    const ok = refs.filter((r) => !this.failIds.has(r.messageId));
    this.sent.push(...ok);
    this.delays.push(...ok.map(() => options?.delaySeconds ?? 0));
    return { failed };
  }
}

export class FakeCarrier implements Carrier {
  readonly sends: CarrierSendRequest[] = [];
  behaviour: (
    req: CarrierSendRequest,
    options?: CarrierSendOptions,
  ) => Promise<{ carrierMessageId: string }> = async (req) => ({ carrierMessageId: `c_${req.messageId}` });
  async send(req: CarrierSendRequest, options?: CarrierSendOptions) {
    this.sends.push(req);
    return this.behaviour(req, options);
  }
}

export class FakeTenantStore implements TenantStore {
  readonly tenants = new Map<string, Tenant>();
  readonly keys = new Map<string, ApiKeyRecord>();
  async createTenant(t: Tenant) {
    this.tenants.set(t.id, structuredClone(t));
  }
  async getTenant(id: string) {
    return this.tenants.get(id);
  }
  async listTenants() {
    return [...this.tenants.values()];
  }
  async putApiKey(k: ApiKeyRecord) {
    this.keys.set(k.id, structuredClone(k));
  }
  async listApiKeys(tenantId: string) {
    return [...this.keys.values()].filter((k) => k.tenantId === tenantId);
  }
  async getApiKey(tenantId: string, keyId: string) {
    const k = this.keys.get(keyId);
    return k?.tenantId === tenantId ? k : undefined;
  }
  async findApiKeyByHash(hash: string) {
    return [...this.keys.values()].find((k) => k.hash === hash);
  }
  readonly erasures: ErasureRecord[] = [];
  async updatePolicy(id: string, policy: Pick<Tenant, 'retention' | 'residency'>) {
    const t = this.tenants.get(id);
    if (t) Object.assign(t, structuredClone(policy));
  }
  async updateSettings(id: string, settings: Partial<Pick<Tenant, 'controls' | 'replies'>>) {
    const t = this.tenants.get(id);
    if (t) Object.assign(t, structuredClone(settings));
  }
  async closeTenant(id: string, closedAt: Date, recordsKeptUntil: Date) {
    const t = this.tenants.get(id);
    if (t) {
      Object.assign(t, {
        status: 'closed',
        closedAt: closedAt.toISOString(),
        recordsKeptUntil: recordsKeptUntil.toISOString(),
      });
      delete t.replies;
      delete t.contactEmail;
    }
  }
  async recordErasure(record: ErasureRecord) {
    this.erasures.push(structuredClone(record));
  }
  async removeTenant(tenantId: string) {
    const keys = await this.listApiKeys(tenantId);
    for (const k of keys) this.keys.delete(k.id);
    return keys.length;
  }
  async expireApiKey(tenantId: string, keyId: string, notAfter: Date, replacedBy?: string) {
    const k = await this.getApiKey(tenantId, keyId);
    if (!k || (k.notAfter && new Date(k.notAfter) <= notAfter)) return;
    k.notAfter = notAfter.toISOString();
    if (replacedBy) k.replacedBy = replacedBy;
  }
}

/** A KMS double for core tests: real AES-GCM under per-key material, contexts enforced, calls counted. */
export class FakeKeyService implements KeyService {
  readonly calls = { generateDataKey: 0, decrypt: 0, createTenantKey: 0 };
  readonly deleted = new Set<string>();
  private readonly material = new Map<string, Buffer>();
  private readonly aliases = new Map<string, string>();

  async createTenantKey(tenantId: string, jurisdiction: Jurisdiction) {
    this.calls.createTenantKey++;
    const alias = `${tenantId}/${jurisdiction}`;
    let id = this.aliases.get(alias);
    if (!id) {
      id = `key-${this.material.size + 1}`;
      this.material.set(id, randomBytes(32));
      this.aliases.set(alias, id);
    }
    return id;
  }
  async scheduleKeyDeletion(keyId: string) {
    this.deleted.add(keyId);
    return new Date(Date.UTC(2030, 0, 1));
  }
  private usable(keyId: string) {
    const m = this.material.get(keyId);
    if (!m || this.deleted.has(keyId)) throw new Error(`KMSInvalidStateException: ${keyId}`);
    return m;
  }
  async generateDataKey(keyId: string, context: Record<string, string>) {
    this.calls.generateDataKey++;
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.usable(keyId), iv);
    c.setAAD(Buffer.from(JSON.stringify(Object.entries(context).sort())));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return { plaintext, ciphertext: Buffer.concat([Buffer.from(`${keyId}|`), iv, c.getAuthTag(), ct]) };
  }
  /** Wraps any bytes like KMS Encrypt; a key id it has not seen gets its own material (a system key). */
  async encrypt(keyId: string, plaintext: Uint8Array, context: Record<string, string>) {
    if (!this.material.has(keyId)) this.material.set(keyId, randomBytes(32));
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.usable(keyId), iv);
    c.setAAD(Buffer.from(JSON.stringify(Object.entries(context).sort())));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([Buffer.from(`${keyId}|`), iv, c.getAuthTag(), ct]);
  }
  /** Refuses (CiphertextRefusedError) what KMS refuses: another context, an altered blob, a deleted key. */
  async decrypt(ciphertext: Uint8Array, context: Record<string, string>) {
    this.calls.decrypt++;
    try {
      const b = Buffer.from(ciphertext);
      const bar = b.indexOf('|');
      const keyId = b.subarray(0, bar).toString();
      const d = createDecipheriv('aes-256-gcm', this.usable(keyId), b.subarray(bar + 1, bar + 13));
      d.setAAD(Buffer.from(JSON.stringify(Object.entries(context).sort())));
      d.setAuthTag(b.subarray(bar + 13, bar + 29));
      return Buffer.concat([d.update(b.subarray(bar + 29)), d.final()]);
    } catch (error) {
      throw new CiphertextRefusedError('refused', { cause: error });
    }
  }
}

export class FakeKeyringStore implements KeyringStore {
  readonly records = new Map<string, KeyringRecord>();
  async get(tenantId: string) {
    return this.records.get(tenantId);
  }
  async putIfAbsent(record: KeyringRecord) {
    const existing = this.records.get(record.tenantId);
    if (existing) return existing;
    this.records.set(record.tenantId, record);
    return record;
  }
  async markClosed(tenantId: string, closedAt: Date, deletionDate: Date) {
    const r = this.records.get(tenantId);
    if (r) Object.assign(r, { closedAt: closedAt.toISOString(), deletionDate: deletionDate.toISOString() });
  }
}

export class FakeRecipientStore implements RecipientStore {
  readonly optOuts = new Map<string, OptOutEntry>();
  readonly ledger: (ConsentEntry & { tenantId: string })[] = [];
  readonly inbound: InboundRecord[] = [];
  readonly floods = new Map<string, number>();
  /** Every write in order, to check what happened before what. */
  readonly log: string[];
  constructor(log: string[] = []) {
    this.log = log;
  }
  async getOptOut(tenantId: string, phone: string) {
    return this.optOuts.get(`${tenantId}/${phone}`);
  }
  async putOptOut(tenantId: string, entry: OptOutEntry) {
    this.log.push(`optOut ${entry.phone}`);
    this.optOuts.set(`${tenantId}/${entry.phone}`, { ...entry });
  }
  async removeOptOut(tenantId: string, phone: string) {
    this.log.push(`optIn ${phone}`);
    return this.optOuts.delete(`${tenantId}/${phone}`);
  }
  async listOptOuts(tenantId: string) {
    return [...this.optOuts.entries()].filter(([k]) => k.startsWith(`${tenantId}/`)).map(([, v]) => v);
  }
  async appendConsent(tenantId: string, entry: ConsentEntry) {
    if (this.ledger.some((e) => e.id === entry.id)) return;
    this.log.push(`consent ${entry.kind} ${entry.phone}`);
    this.ledger.push({ ...entry, tenantId });
  }
  async consents(tenantId: string, phone: string) {
    return this.ledger.filter((e) => e.tenantId === tenantId && e.phone === phone);
  }
  async putInbound(record: InboundRecord) {
    if (this.inbound.some((r) => r.id === record.id)) return;
    this.inbound.push({ ...record });
  }
  async listInbound(tenantId: string) {
    return { items: this.inbound.filter((r) => r.tenantId === tenantId) };
  }
  async countSend(...[tenantId, phone, body, hourStart, limits]: Parameters<RecipientStore['countSend']>) {
    const base = `${tenantId}/${phone}/${hourStart.toISOString()}`;
    const total = this.floods.get(base) ?? 0;
    const same = this.floods.get(`${base}/${body}`) ?? 0;
    if (total >= limits.perHour) return 'total' as const;
    if (same >= limits.identicalPerHour) return 'identical' as const;
    this.floods.set(base, total + 1);
    this.floods.set(`${base}/${body}`, same + 1);
    return 'counted' as const;
  }
  async uncountSend(tenantId: string, phone: string, body: string, hourStart: Date) {
    const base = `${tenantId}/${phone}/${hourStart.toISOString()}`;
    const total = this.floods.get(base) ?? 0;
    const same = this.floods.get(`${base}/${body}`) ?? 0;
    if (total > 0 && same > 0) {
      this.floods.set(base, total - 1);
      this.floods.set(`${base}/${body}`, same - 1);
    }
  }
  async inboundFrom(tenantId: string, phone: string) {
    return this.inbound.filter((r) => r.tenantId === tenantId && r.from === phone);
  }
  async removeForSubject(tenantId: string, phone: string) {
    const before = this.ledger.length + this.inbound.length;
    const keep = <T extends { phone?: string; from?: string; tenantId: string }>(xs: T[]) =>
      xs.filter((x) => x.tenantId !== tenantId || (x.phone ?? x.from) !== phone);
    this.ledger.splice(0, this.ledger.length, ...keep(this.ledger));
    this.inbound.splice(0, this.inbound.length, ...keep(this.inbound));
    return before - this.ledger.length - this.inbound.length;
  }
}

export class FakeBlockList implements BlockList {
  readonly blocked = new Set<string>();
  constructor(private readonly log: string[] = []) {}
  async isBlocked(p: string) {
    return this.blocked.has(p);
  }
  async block(p: string, _at: Date, _source: 'keyword' | 'verified_request') {
    this.log.push(`block ${p}`);
    this.blocked.add(p);
  }
  async unblock(p: string) {
    this.log.push(`unblock ${p}`);
    this.blocked.delete(p);
  }
}

export class FakeCounters implements Counters {
  readonly usage = new Map<string, number>();
  async admit() {
    return { ok: true as const };
  }
  async addUsage(tenantId: string, month: string, segments: number, cap: number) {
    const k = `${tenantId}/${month}`;
    const used = this.usage.get(k) ?? 0;
    if (cap > 0 && used + segments > cap) return false;
    this.usage.set(k, used + segments);
    return true;
  }
}

export class FakeSenderIdStore implements SenderIdStore {
  readonly records: SenderIdRecord[] = [];
  async apply(record: SenderIdRecord, _identity: Sealed) {
    this.records.push({ ...record });
  }
  async get(tenantId: string, id: string) {
    return this.records.find((r) => r.tenantId === tenantId && r.id === id);
  }
  async identity() {
    return undefined;
  }
  async list(tenantId: string) {
    return this.records.filter((r) => r.tenantId === tenantId);
  }
  async listPending() {
    return this.records.filter((r) => r.status === 'pending');
  }
  async decide(tenantId: string, id: string, d: { status: 'approved' | 'rejected'; decidedAt: Date }) {
    const r = await this.get(tenantId, id);
    if (r) Object.assign(r, { status: d.status, decidedAt: d.decidedAt.toISOString() });
  }
}

/** The fakes' recipient pseudonym is the number behind a prefix: readable in assertions. */
export const fakePseudonyms = () => new RecipientPseudonyms(async () => new Uint8Array(32));
export const fakePseudonymOf = (e164: string) => `p:${e164}`;

/** Tenant ten_A's record as onboarding stores it (active, forward residency). */
export function tenantRecord(overrides: Partial<Tenant> = {}): Tenant {
  return {
    id: 'ten_A',
    displayName: 'Acme',
    legalName: 'Acme Ltd',
    contactEmail: 'ops@acme.test',
    homeJurisdiction: 'global',
    status: 'active',
    createdAt: '2026-01-01T00:00:00.000Z',
    retention: { bodyDays: 7, metadataDays: 90 },
    residency: 'forward',
    ...overrides,
  };
}

/** A tenant context as the authorizer hands it over, with the default policy. */
export function tenantContext(overrides: Partial<TenantContext> = {}): TenantContext {
  return {
    tenantId: 'ten_A',
    keyId: 'key_1',
    mode: 'live',
    scopes: ['send', 'read'],
    retention: { ...DEFAULT_RETENTION },
    residency: 'forward',
    ...overrides,
  };
}

/** Send-use-case dependencies wired to the fakes above (core tests and the in-process bench). */
export function fakeSendDeps() {
  const stores = (j: Jurisdiction) => ({
    messages: new FakeMessageStore(),
    idempotency: new FakeIdempotencyStore() as IdempotencyStore,
    queue: new FakeQueue(),
    jurisdiction: j,
  });
  const global = stores('global');
  const eu = stores('eu');
  const clock = new FakeClock();
  const tenants = new FakeTenantStore();
  const recipients = { global: new FakeRecipientStore(), eu: new FakeRecipientStore() };
  const blockList = { global: new FakeBlockList(), eu: new FakeBlockList() };
  const senderIds = new FakeSenderIdStore();
  // Tenants ten_A's and ten_B's approved sender ID, so that live-mode sends from 'Acme' pass.
  for (const tenantId of ['ten_A', 'ten_B']) {
    senderIds.records.push({
      id: `sid_${tenantId}`,
      tenantId,
      value: 'Acme',
      type: 'alphanumeric',
      countries: [],
      status: 'approved',
      appliedAt: '2026-01-01T00:00:00.000Z',
    });
  }
  const counters = new FakeCounters();
  // Readable pseudonyms (the number itself, marked); keyed digests under a fixed test secret.
  const pseudonyms = new (class extends RecipientPseudonyms {
    override async of(e164: string) {
      return fakePseudonymOf(e164);
    }
  })(async () => new Uint8Array(32));
  const policy = makeSendPolicy({
    recipients,
    blockList,
    pseudonyms,
    senderIds,
    counters,
    settings: async (id) => settingsOf(await tenants.getTenant(id)),
    clock,
  });
  return {
    stores: { global, eu },
    endpoints: { global: 'https://api.example', eu: 'https://eu.api.example' },
    clock,
    ids: new SequenceIds(),
    policy,
    keyScope: new FakeIdempotencyKeyScope() as IdempotencyKeyScope,
    tenants,
    recipients,
    blockList,
    senderIds,
    counters,
    pseudonyms,
    // The global jurisdiction's fakes, for tests that only send there.
    messages: global.messages,
    idempotency: global.idempotency,
    queue: global.queue,
  };
}

/** An audit entry of a tenant's API call (the n-th: its id, time and target follow n), as the edge records it. */
export const auditEntry = (n: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id: `aud_${String(n).padStart(26, '0')}`,
  tenantId: 'ten_A',
  at: `2026-11-24T10:00:${String(n % 60).padStart(2, '0')}.000Z`,
  actor: { type: 'api_key', keyId: 'key_1' },
  action: 'sendMessage',
  route: 'POST /v1/messages',
  targets: [`msg_${n}`],
  ip: '203.0.113.7',
  userAgent: 'curl/8',
  outcome: 'success',
  status: 202,
  jurisdiction: 'global',
  ...overrides,
});

/**
 * Wraps two port calls so that `waiting` answers only once `other` was asked: a use case that
 * awaits them one after the other (`waiting` first) hangs, one that asks both at once goes on.
 */
export function answeredOnceAsked<WA extends unknown[], WR, OA extends unknown[], OR>(
  waiting: (...args: WA) => Promise<WR>,
  other: (...args: OA) => Promise<OR>,
): [(...args: WA) => Promise<WR>, (...args: OA) => Promise<OR>] {
  let asked!: () => void;
  const wasAsked = new Promise<void>((r) => {
    asked = r;
  });
  return [
    async (...args) => {
      await wasAsked;
      return waiting(...args);
    },
    async (...args) => {
      asked();
      return other(...args);
    },
  ];
}
