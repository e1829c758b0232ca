import type { AuditEntry } from '../core/audit.ts';
import type { KeywordAction } from '../core/keywords.ts';
import type {
  ApiKeyRecord,
  DispatchRecord,
  DispatchRef,
  Jurisdiction,
  MessageError,
  MessageRecord,
  MessageStatus,
  Sealed,
  StoredMessage,
  StoredResult,
  Tenant,
  WebhookEventType,
} from '../core/model.ts';
import type { StatusChange, UsageCount, UsageStatus } from '../core/usage.ts';

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A new time-ordered id behind the given prefix, e.g. `msg_01J...`. */
  next(prefix: 'msg' | 'ten' | 'key' | 'era' | 'inb' | 'con' | 'sid' | 'vrf' | 'aud' | 'whk' | 'wev'): string;
}

export interface MessagePage {
  items: StoredMessage[];
  nextCursor?: string | undefined;
}

export type ClaimOutcome =
  | { outcome: 'claimed'; message: StoredMessage }
  | { outcome: 'done'; status: MessageStatus }
  | { outcome: 'busy' }
  | { outcome: 'missing' };

export type TransitionResult = { outcome: 'updated'; change: StatusChange } | { outcome: 'ignored' };

/** A stored message as a retry of its request needs it: no recipient, no body. */
export type AcceptedMessage = Pick<
  MessageRecord,
  'id' | 'status' | 'createdAt' | 'expiresAt' | 'refCode' | 'error'
>;

export interface MessageStore {
  /** Creates messages that do not exist yet; returns the ids that already existed (a replayed write). */
  /**
   * Creates messages. With `mayExist` (an idempotent retry taking over a crashed attempt)
   * messages that already exist are left as they are instead of overwritten.
   */
  create(messages: MessageRecord[], options?: { mayExist?: boolean }): Promise<void>;
  /** A live message; one whose sealed content does not open comes back marked unreadable. */
  get(tenantId: string, id: string, now: Date): Promise<StoredMessage | undefined>;
  /**
   * The messages among `ids` that are stored (expired or not): when and as what they were
   * accepted, and their status now; never their content. A retry taking over an
   * Idempotency-Key answers with them as the first answer would have, instead of accepting
   * (and counting) them again.
   */
  accepted(tenantId: string, ids: string[]): Promise<AcceptedMessage[]>;
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
  /**
   * Live-mode messages the carrier took for a number, from any tenant, the last taken first,
   * found through the gateway-wide recipient pseudonym: routes replies and answers "who sent me
   * this?". Never the content, never a test-mode message (it reached only the sandbox), and
   * never one that is queued, quarantined, refused or failed (it did not reach the person).
   */
  sentTo(recipientPseudonym: string, now: Date, limit?: number): Promise<SentTrace[]>;
  /** Removes every item of a tenant's partition except its keyring record; returns how many. */
  removeTenant(tenantId: string): Promise<number>;
  /** Takes a queued message for sending unless another worker holds an unexpired claim. */
  claim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<ClaimOutcome>;
  /** Gives a claim back early so the next delivery of the record can retry at once. */
  releaseClaim(ref: DispatchRef, token: string): Promise<void>;
  /**
   * Extends a claim this worker still holds to `leaseMs` from `now`; false when it no longer
   * holds it (its lease lapsed and another worker claimed the message, or it is no longer queued).
   */
  renewClaim(ref: DispatchRef, token: string, leaseMs: number, now: Date): Promise<boolean>;
  markSent(ref: DispatchRef, token: string, carrierMessageId: string, at: Date): Promise<void>;
  /** Moves a non-final message to a final or sent status; a message already final stays as it is. */
  transition(
    ref: DispatchRef,
    to: Exclude<MessageStatus, 'queued' | 'quarantined'>,
    at: Date,
    details?: { error?: MessageError | undefined; carrierMessageId?: string | undefined },
  ): Promise<TransitionResult>;
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
  /** Frees a key whose attempt stored nothing. */
  release(tenantId: string, key: string): Promise<void>;
  /**
   * Ends the lease of a pending key whose attempt failed after it stored messages: the key keeps
   * its reserved ids, and the client's retry takes them over at once instead of starting again.
   */
  endLease(tenantId: string, key: string): Promise<void>;
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
  /** Sets a tenant's abuse controls and/or its replies (HELP text, keywords, reference codes). */
  updateSettings(id: string, settings: Partial<Pick<Tenant, 'controls' | 'replies'>>): Promise<void>;
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
  /**
   * Enqueues references; returns the message ids that could not be enqueued. `delaySeconds`
   * (0-900, SQS's message timer) keeps them out of sight that long.
   */
  enqueue(refs: DispatchRecord[], options?: { delaySeconds?: number }): Promise<{ failed: string[] }>;
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
  send(request: CarrierSendRequest, options?: CarrierSendOptions): Promise<{ carrierMessageId: string }>;
}

export interface CarrierSendOptions {
  /** Aborted when the dispatcher stops waiting for the carrier's answer. */
  signal?: AbortSignal | undefined;
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
  /** Wraps a small secret (at most 4 KB) under the key, bound to the context. */
  encrypt(keyId: string, plaintext: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
  /**
   * Unwraps a data key. Throws CiphertextRefusedError when the service refuses it for good (not
   * its ciphertext, another context, a key that can no longer decrypt); anything else (throttling,
   * an outage) is thrown as it came, for the caller to retry.
   */
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
  /** Stores (or replaces) a secret's value, e.g. the carrier webhook token's hash. */
  put(name: string, value: Uint8Array): Promise<void>;
}

/** Where a message to a number came from: enough to route a reply or name the sender, no content. */
export interface SentTrace {
  tenantId: string;
  messageId: string;
  from: string;
  createdAt: string;
  refCode?: string | undefined;
}

export type OptOutScope = 'all' | 'promotional';

export interface OptOutEntry {
  phone: string;
  scope: OptOutScope;
  /** keyword (the reply's word), api, or block */
  source: string;
  at: string;
}

export type ConsentKind = 'granted' | 'withdrawn';

/** One line of the append-only consent ledger: what was agreed, when, and the evidence. */
export interface ConsentEntry {
  id: string;
  phone: string;
  kind: ConsentKind;
  /** Where the consent was given or withdrawn: web form, keyword, ... */
  source: string;
  at: string;
  ip?: string | undefined;
  /** The version of the disclosure text the person saw. */
  disclosureVersion?: string | undefined;
}

/** An opt-out whose sealed number does not open: its scope, source and time, no number. */
export type UnreadableOptOut = Omit<OptOutEntry, 'phone'> & { unreadable: true };
/** A consent whose sealed number and IP do not open: the rest of the line. */
export type UnreadableConsent = Omit<ConsentEntry, 'phone' | 'ip'> & { unreadable: true };

export interface InboundRecord {
  tenantId: string;
  id: string;
  /** The person's number. */
  from: string;
  /** The gateway number or sender ID the reply was sent to. */
  to: string;
  body?: string | undefined;
  keyword?: string | undefined;
  action?: KeywordAction | undefined;
  receivedAt: string;
  carrierMessageId: string;
  expiresAt: number;
  bodyExpiresAt: number;
}

/** A reply whose sealed numbers or body do not open: its id, keyword and times. */
export type UnreadableInbound = Omit<InboundRecord, 'from' | 'to' | 'body'> & { unreadable: true };

/** What one jurisdiction knows about recipients, per tenant: opt-outs, consents, replies, send counts. */
export interface RecipientStore {
  getOptOut(tenantId: string, phone: string): Promise<OptOutEntry | undefined>;
  putOptOut(tenantId: string, entry: OptOutEntry): Promise<void>;
  removeOptOut(tenantId: string, phone: string): Promise<boolean>;
  /** Every opt-out; one whose sealed number does not open is marked unreadable. */
  listOptOuts(tenantId: string): Promise<(OptOutEntry | UnreadableOptOut)[]>;
  /** Appends to the ledger; an entry is never changed or removed (except by erasure). */
  appendConsent(tenantId: string, entry: ConsentEntry): Promise<void>;
  /** A number's ledger, oldest first; a line whose sealed number does not open is marked unreadable. */
  consents(tenantId: string, phone: string): Promise<(ConsentEntry | UnreadableConsent)[]>;
  putInbound(record: InboundRecord): Promise<void>;
  listInbound(
    tenantId: string,
    query: { limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<{ items: (InboundRecord | UnreadableInbound)[]; nextCursor?: string | undefined }>;
  /**
   * Counts one message to a number in the current hour unless that would pass a flood limit;
   * says which limit was hit. Identical bodies are recognised by a keyed digest, never a plain hash.
   */
  countSend(
    tenantId: string,
    phone: string,
    body: string,
    hourStart: Date,
    limits: { identicalPerHour: number; perHour: number },
  ): Promise<'counted' | 'identical' | 'total'>;
  /** Takes back one `countSend` that counted, for a message refused after it (the monthly cap). */
  uncountSend(tenantId: string, phone: string, body: string, hourStart: Date): Promise<void>;
  /** A number's replies (for a subject access export). */
  inboundFrom(tenantId: string, phone: string, now: Date): Promise<(InboundRecord | UnreadableInbound)[]>;
  /**
   * Removes a number's consents and replies (returns how many) and its flood counters. Its
   * opt-out stays: it is what keeps the number from being texted again.
   */
  removeForSubject(tenantId: string, phone: string): Promise<number>;
}

/** The gateway-wide block list, by recipient pseudonym: a person who wants no message at all. */
export interface BlockList {
  isBlocked(recipientPseudonym: string): Promise<boolean>;
  block(recipientPseudonym: string, at: Date, source: 'keyword' | 'verified_request'): Promise<void>;
  /** Lifts a block (only ever on the person's own verified request). */
  unblock(recipientPseudonym: string): Promise<void>;
}

/** Hourly counters of the gateway's own messages, in the region that took the request. */
export interface BudgetCounters {
  /**
   * Adds one to counter `key` unless it has reached `limit`: false when it has. The counter is
   * kept until `expiresAt` (epoch seconds).
   */
  take(key: string, limit: number, expiresAt: number): Promise<boolean>;
}

/** Atomic counters in the tenants table: request rates (GCRA) and monthly usage. */
export interface Counters {
  /**
   * Admits one request under a rate of `perMinute` with bursts of `burst` for `key`, or says
   * how many seconds until one would be admitted.
   */
  admit(
    key: string,
    perMinute: number,
    burst: number,
    now: Date,
  ): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
  /**
   * Adds segments to a month's total unless that passes `cap`; false when it would. With `cap`
   * 0 (none) it always adds: negative segments give back what was counted.
   */
  addUsage(tenantId: string, month: string, segments: number, cap: number): Promise<boolean>;
}

export type SenderIdStatus = 'pending' | 'approved' | 'rejected';

export interface SenderIdRecord {
  id: string;
  tenantId: string;
  value: string;
  type: 'phone_number' | 'short_code' | 'alphanumeric';
  countries: string[];
  status: SenderIdStatus;
  appliedAt: string;
  decidedAt?: string | undefined;
  reason?: string | undefined;
  /** When the identity details are (or were) purged. */
  identityPurgeAt?: string | undefined;
}

/** An operator's decision on a sender ID application; the identity details go at `purgeAt`. */
export interface SenderIdDecision {
  status: 'approved' | 'rejected';
  reason?: string | undefined;
  decidedAt: Date;
  purgeAt: Date;
}

export interface SenderIdStore {
  /** Stores an application; the identity details arrive sealed under the tenant's key. */
  apply(record: SenderIdRecord, identity: Sealed, keepUntil: Date): Promise<void>;
  get(tenantId: string, id: string): Promise<SenderIdRecord | undefined>;
  /** The sealed identity details while they are kept. */
  identity(tenantId: string, id: string, now: Date): Promise<Sealed | undefined>;
  list(tenantId: string): Promise<SenderIdRecord[]>;
  listPending(): Promise<SenderIdRecord[]>;
  decide(tenantId: string, id: string, decision: SenderIdDecision): Promise<void>;
}

/** Sends a message on the gateway's own behalf (one-time codes, block-all confirmations): no tenant, not stored. */
export type SystemSms = (
  jurisdiction: Jurisdiction,
  to: string,
  /** The number the flow answers from; undefined: the gateway's own identity for the recipient's country. */
  from: string | undefined,
  body: string,
  id: string,
) => Promise<void>;

/** Takes an audit entry for its tenant's chain (a FIFO queue per jurisdiction in AWS and locally). */
export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
}

/** A gateway-wide cell of the operator's analytics, before suppression. */
export interface AggregateCell {
  day: string;
  country: string;
  status: UsageStatus;
  messages: number;
  segments: number;
  /**
   * Who contributed, as far as the cell knows them: only counted (suppression of single-tenant
   * cells), never reported. The ledger keeps the first tenant of a cell and `severalTenants`
   * once a second one added to it.
   */
  tenantIds: string[];
  severalTenants: boolean;
}

/** Usage counters of one jurisdiction: per tenant (billing), and gateway-wide (analytics, live traffic only). */
export interface UsageLedger {
  add(counts: UsageCount[]): Promise<void>;
  /** A tenant's counts for the days from `fromDay` to `toDay`, inclusive. */
  tenant(tenantId: string, fromDay: string, toDay: string): Promise<UsageCount[]>;
  aggregate(fromDay: string, toDay: string): Promise<AggregateCell[]>;
  /**
   * Takes the tenant's id out of every gateway-wide cell of the analytics retention window (to
   * `today`'s next day, for clock skew), leaving the cells' anonymous counts: at the account's
   * closure. Resolves to the number of cells it changed.
   */
  forgetTenant(tenantId: string, today: string): Promise<number>;
}

export interface WebhookAttempt {
  deliveryId: string;
  endpointId: string;
  tenantId: string;
  type: WebhookEventType;
  createdAt: string;
  status: 'retrying' | 'delivered' | 'dead';
  attempts: number;
  lastAttemptAt: string;
  /** The receiver's HTTP status, when it answered. */
  lastStatusCode?: number | undefined;
  /** Why the last attempt failed (never the receiver's response body). */
  lastError?: string | undefined;
  nextAttemptAt?: string | undefined;
}
