import type {
  ApiKeyRecord,
  DispatchRef,
  Jurisdiction,
  MessageError,
  MessageRecord,
  MessageStatus,
  StoredResult,
  Tenant,
} from '../core/model.ts';

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A new time-ordered id behind the given prefix, e.g. `msg_01J...`. */
  next(prefix: 'msg' | 'ten' | 'key' | 'era'): string;
}

export interface MessagePage {
  items: MessageRecord[];
  nextCursor?: string | undefined;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; message: MessageRecord }
  | { outcome: 'done'; status: MessageStatus }
  | { outcome: 'busy' }
  | { outcome: 'missing' };

export interface MessageStore {
  /** Creates messages that do not exist yet; returns the ids that already existed (a replayed write). */
  /**
   * Creates messages. With `mayExist` (an idempotent retry taking over a crashed attempt)
   * messages that already exist are left as they are instead of overwritten.
   */
  create(messages: MessageRecord[], options?: { mayExist?: boolean }): Promise<void>;
  get(tenantId: string, id: string, now: Date): Promise<MessageRecord | undefined>;
  list(
    tenantId: string,
    query: { status?: MessageStatus | undefined; limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<MessagePage>;
  /** Removes messages with their bodies. */
  remove(tenantId: string, ids: string[]): Promise<void>;
  /** Removes one message's body now; false when there was no live body. */
  removeBody(tenantId: string, id: string, now: Date): Promise<boolean>;
  /** Ids of the tenant's live messages to a number (found through its pseudonym). */
  idsForSubject(tenantId: string, e164: string, now: Date): Promise<string[]>;
  /** Removes every item of a tenant's partition except its keyring record; returns how many. */
  removeTenant(tenantId: string): Promise<number>;
  /** Takes a queued message for sending unless another worker holds an unexpired claim. */
  claim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<ClaimOutcome>;
  /** Gives a claim back early so the next delivery of the record can retry at once. */
  releaseClaim(ref: DispatchRef, token: string): Promise<void>;
  markSent(ref: DispatchRef, token: string, carrierMessageId: string, at: Date): Promise<void>;
  /** Moves a non-final message to a final or sent status; a message already final stays as it is. */
  transition(
    ref: DispatchRef,
    to: Exclude<MessageStatus, 'queued'>,
    at: Date,
    details?: { error?: MessageError | undefined; carrierMessageId?: string | undefined },
  ): Promise<'updated' | 'ignored'>;
}

export type IdempotencyBegin =
  | { state: 'started'; messageIds: string[]; takeover: boolean }
  | { state: 'replay'; result: StoredResult };

export interface IdempotencyStore {
  /**
   * Reserves a key for a request (by its hash) with the message ids it will create. A key
   * whose earlier holder died after its lease is taken over with the ids it reserved.
   */
  begin(
    tenantId: string,
    key: string,
    requestHash: string,
    messageIds: string[],
    now: Date,
  ): Promise<IdempotencyBegin>;
  /** Stores the result; `subjects` are the numbers it mentions, so an erasure can find it. */
  complete(
    tenantId: string,
    key: string,
    result: StoredResult,
    now: Date,
    subjects?: string[],
  ): Promise<void>;
  release(tenantId: string, key: string): Promise<void>;
  /** Removes the records whose results mention a number; returns how many. */
  removeForSubject(tenantId: string, e164: string): Promise<number>;
}

export interface TenantStore {
  createTenant(tenant: Tenant): Promise<void>;
  getTenant(id: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  putApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  getApiKey(tenantId: string, keyId: string): Promise<ApiKeyRecord | undefined>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Sets when a key stops working (revocation or end of rotation grace). */
  expireApiKey(tenantId: string, keyId: string, notAfter: Date, replacedBy?: string): Promise<void>;
  /** Sets a tenant's retention policy and residency mode. */
  updatePolicy(id: string, policy: Pick<Tenant, 'retention' | 'residency'>): Promise<void>;
  /** Marks a tenant closed; its record expires when the kept records may go. */
  closeTenant(id: string, closedAt: Date, recordsKeptUntil: Date): Promise<void>;
  /** Keeps the record of a subject erasure (never the number). */
  recordErasure(record: ErasureRecord): Promise<void>;
}

export interface ErasureRecord {
  id: string;
  tenantId: string;
  reason: string;
  erasedAt: string;
  removed: Record<string, number>;
  keptUntil: string;
}

export interface DispatchQueue {
  /** Enqueues references; returns the message ids that could not be enqueued. */
  enqueue(refs: DispatchRef[]): Promise<{ failed: string[] }>;
}

export interface CarrierSendRequest {
  messageId: string;
  tenantId: string;
  to: string;
  from: string;
  body: string;
  category: MessageRecord['category'];
}

export interface Carrier {
  /**
   * Hands one message to the carrier. Throws CarrierRejectedError for a permanent refusal and
   * CarrierUnavailableError for a temporary one. `messageId` is passed as the carrier's
   * idempotency key where the carrier supports one.
   */
  send(request: CarrierSendRequest): Promise<{ carrierMessageId: string }>;
}

/** A data key service (KMS): the gateway never sees a master key. */
export interface KeyService {
  /** Creates the tenant's key in this service's region (or adopts the one a racing caller made). */
  createTenantKey(tenantId: string, jurisdiction: Jurisdiction): Promise<string>;
  /** Schedules a key for deletion (7-30 days); returns when it will be gone. */
  scheduleKeyDeletion(keyId: string, pendingDays: number): Promise<Date>;
  generateDataKey(
    keyId: string,
    context: Record<string, string>,
  ): Promise<{ plaintext: Uint8Array; ciphertext: Uint8Array }>;
  decrypt(ciphertext: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
}

/** A tenant's key in one jurisdiction and its pseudonym secret, wrapped by that key. */
export interface KeyringRecord {
  tenantId: string;
  keyId: string;
  wrappedSecret: Uint8Array;
  createdAt: string;
  /** Set when the account is closed and the key scheduled for deletion. */
  closedAt?: string | undefined;
  deletionDate?: string | undefined;
}

export interface KeyringStore {
  get(tenantId: string): Promise<KeyringRecord | undefined>;
  /** Stores a record unless one exists; returns the one that won. */
  putIfAbsent(record: KeyringRecord): Promise<KeyringRecord>;
  markClosed(tenantId: string, closedAt: Date, deletionDate: Date): Promise<void>;
}

/** Holds the KMS-wrapped secrets the gateway itself needs (the API key pepper). */
export interface SecretStore {
  getWrapped(name: string): Promise<Uint8Array | undefined>;
  /** Stores a wrapped secret unless one exists; returns the one that won. */
  putWrappedIfAbsent(name: string, wrapped: Uint8Array): Promise<Uint8Array>;
}
