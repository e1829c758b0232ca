import { IdempotencyConflictError, IdempotencyInProgressError } from '../../layers/core/errors.ts';
import type {
  ApiKeyRecord,
  DispatchRef,
  MessageRecord,
  StoredResult,
  Tenant,
} from '../../layers/core/model.ts';
import type {
  Carrier,
  CarrierSendRequest,
  ClaimOutcome,
  Clock,
  DispatchQueue,
  IdempotencyBegin,
  IdempotencyStore,
  IdGenerator,
  MessagePage,
  MessageStore,
  TenantStore,
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
  next(prefix: 'msg' | 'ten' | 'key') {
    this.n += 1;
    return `${prefix}_${String(this.n).padStart(26, '0')}`;
  }
}

export class FakeMessageStore implements MessageStore {
  readonly items = new Map<string, MessageRecord & { claimToken?: string; claimUntil?: number }>();
  private key = (t: string, id: string) => `${t}/${id}`;

  async create(messages: MessageRecord[], options?: { mayExist?: boolean }) {
    for (const m of messages) {
      const k = this.key(m.tenantId, m.id);
      if (options?.mayExist && this.items.has(k)) continue;
      this.items.set(k, structuredClone(m));
    }
  }
  async get(tenantId: string, id: string, now: Date) {
    const m = this.items.get(this.key(tenantId, id));
    return m && m.expiresAt > now.getTime() / 1000 ? structuredClone(m) : undefined;
  }
  async list(): Promise<MessagePage> {
    throw new Error('not used by core tests');
  }
  async remove(tenantId: string, ids: string[]) {
    for (const id of ids) this.items.delete(this.key(tenantId, id));
  }
  async claim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<ClaimOutcome> {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (!m || m.expiresAt <= now.getTime() / 1000) return { outcome: 'missing' };
    if (m.status !== 'queued') return { outcome: 'done', status: m.status };
    if (m.claimUntil !== undefined && m.claimUntil >= now.getTime()) return { outcome: 'busy' };
    m.claimToken = token;
    m.claimUntil = now.getTime() + leaseMs;
    m.attempts += 1;
    return { outcome: 'claimed', message: structuredClone(m) };
  }
  async releaseClaim(ref: DispatchRef, token: string) {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (m?.claimToken === token) {
      delete m.claimToken;
      delete m.claimUntil;
    }
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
  ): Promise<'updated' | 'ignored'> {
    const m = this.items.get(this.key(ref.tenantId, ref.messageId));
    if (!m || !(m.status === 'queued' || (m.status === 'sent' && to !== 'sent'))) return 'ignored';
    m.status = to;
    if (to === 'delivered') m.deliveredAt = at.toISOString();
    else if (to !== 'sent') m.failedAt = at.toISOString();
    if (details.error) m.error = details.error;
    if (details.carrierMessageId) m.carrierMessageId ??= details.carrierMessageId;
    delete m.claimToken;
    delete m.claimUntil;
    return 'updated';
  }
}

export class FakeIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<
    string,
    { hash: string; ids: string[]; result?: StoredResult; leaseUntil: number }
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
  async complete(tenantId: string, key: string, result: StoredResult) {
    const r = this.records.get(`${tenantId}/${key}`);
    if (r) r.result = structuredClone(result);
  }
  async release(tenantId: string, key: string) {
    this.records.delete(`${tenantId}/${key}`);
  }
}

export class FakeQueue implements DispatchQueue {
  readonly sent: DispatchRef[] = [];
  failIds = new Set<string>();
  async enqueue(refs: DispatchRef[]) {
    const failed = refs.filter((r) => this.failIds.has(r.messageId)).map((r) => r.messageId);
    this.sent.push(...refs.filter((r) => !this.failIds.has(r.messageId)));
    return { failed };
  }
}

export class FakeCarrier implements Carrier {
  readonly sends: CarrierSendRequest[] = [];
  behaviour: (req: CarrierSendRequest) => Promise<{ carrierMessageId: string }> = async (req) => ({
    carrierMessageId: `c_${req.messageId}`,
  });
  async send(req: CarrierSendRequest) {
    this.sends.push(req);
    return this.behaviour(req);
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
  async expireApiKey(tenantId: string, keyId: string, notAfter: Date, replacedBy?: string) {
    const k = await this.getApiKey(tenantId, keyId);
    if (!k || (k.notAfter && new Date(k.notAfter) <= notAfter)) return;
    k.notAfter = notAfter.toISOString();
    if (replacedBy) k.replacedBy = replacedBy;
  }
}

/** Send-use-case dependencies wired to the fakes above (core tests and the in-process bench). */
export function fakeSendDeps() {
  return {
    messages: new FakeMessageStore(),
    idempotency: new FakeIdempotencyStore() as IdempotencyStore,
    queue: new FakeQueue(),
    clock: new FakeClock(),
    ids: new SequenceIds(),
    retentionDays: 90,
    jurisdiction: 'global' as const,
  };
}
