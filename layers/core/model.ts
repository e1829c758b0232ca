import type { KeyMode, Scope } from './api-keys.ts';
import type { TenantControls, TenantReplies } from './controls.ts';
import type { Encoding } from './encoding.ts';
import type { SenderType } from './sender.ts';

/** Every item belongs to one jurisdiction; the EU one is pinned to an EU region. */
export type Jurisdiction = 'global' | 'eu';

/** `quarantined`: held by a content rule, never sent. */
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'undeliverable' | 'quarantined';
export type Category = 'transactional' | 'promotional';

export interface MessageError {
  code: string;
  message: string;
}

export interface MessageRecord {
  tenantId: string;
  id: string;
  jurisdiction: Jurisdiction;
  mode: KeyMode;
  to: string;
  /** The recipient's country (ISO 3166 alpha-2) as the number check found it: usage and cost by country. */
  country?: string | undefined;
  from: string;
  fromType: SenderType;
  /** Absent once the body has been removed (retention or an explicit redaction). */
  body?: string | undefined;
  /** The tenant's body retention when the message was accepted: days kept after its final status. */
  bodyRetentionDays: number;
  reference?: string | undefined;
  /** The short code appended to the body when the tenant turned reference codes on. */
  refCode?: string | undefined;
  category: Category;
  encoding: Encoding;
  characters: number;
  segments: number;
  status: MessageStatus;
  createdAt: string;
  sentAt?: string | undefined;
  deliveredAt?: string | undefined;
  failedAt?: string | undefined;
  error?: MessageError | undefined;
  carrierMessageId?: string | undefined;
  /** Carrier send attempts, counted when a worker claims the message. */
  attempts: number;
  /** Epoch seconds after which the item must never be returned (DynamoDB TTL attribute). */
  expiresAt: number;
}

/**
 * A stored message whose sealed content (recipient, reference, body) does not open under the
 * tenant's key: its plain metadata only.
 */
export type UnreadableMessage = Omit<MessageRecord, 'to' | 'body' | 'reference'> & { unreadable: true };

/** A message as read back: readable, or marked unreadable. */
export type StoredMessage = MessageRecord | UnreadableMessage;

export const isUnreadable = <T extends object>(m: T): m is Extract<T, { unreadable: true }> =>
  'unreadable' in m && m.unreadable === true;

export type TenantStatus = 'active' | 'closed';

export interface RetentionPolicy {
  /** Days a message body is kept after the message's final status; 0 drops it at once. */
  bodyDays: number;
  /** Days a message's metadata (recipient, status, times) is kept after acceptance. */
  metadataDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { bodyDays: 7, metadataDays: 90 };
export const MAX_RETENTION_DAYS = 400;

/**
 * `strict` (the default): the global region refuses EU subjects' messages and reads of EU data
 * with 421 and the EU endpoint, so their data never passes through it. `forward` (a tenant's
 * explicit opt-in, a cross-border transfer): the global endpoint relays a send to an EU subject
 * to the EU region's API as it came; the EU region's ingress hands a message for a global
 * subject to the global stores.
 */
export type ResidencyMode = 'forward' | 'strict';

export interface Tenant {
  id: string;
  displayName: string;
  legalName: string;
  /** Told to recipients who ask who sent a message; removed when the account closes (it may name a person). */
  contactEmail?: string | undefined;
  homeJurisdiction: Jurisdiction;
  status: TenantStatus;
  createdAt: string;
  retention: RetentionPolicy;
  residency: ResidencyMode;
  closedAt?: string | undefined;
  /** Until when the records the law requires (billing totals, audit trail) are kept after closure. */
  recordsKeptUntil?: string | undefined;
  /** The operator's abuse controls; DEFAULT_CONTROLS where absent. */
  controls?: TenantControls | undefined;
  /** HELP text, extra keywords, reference codes; DEFAULT_REPLIES where absent. */
  replies?: TenantReplies | undefined;
}

export interface ApiKeyRecord {
  tenantId: string;
  id: string;
  name: string;
  mode: KeyMode;
  scopes: Scope[];
  hint: string;
  hash: string;
  createdAt: string;
  /** When set, the key stops working at this instant (revocation, or the end of a rotation's grace). */
  notAfter?: string | undefined;
  replacedBy?: string | undefined;
}

/** What the authorizer hands to every tenant route: the only source of tenant identity. */
export interface TenantContext {
  tenantId: string;
  keyId: string;
  mode: KeyMode;
  scopes: Scope[];
  retention: RetentionPolicy;
  residency: ResidencyMode;
}

/** What travels on the dispatch queue: references only, never a number or a body. */
export interface DispatchRef {
  tenantId: string;
  messageId: string;
  jurisdiction: Jurisdiction;
}

/**
 * A dispatch queue record. `handedOver`: the carrier took the message but the worker could not
 * write "sent"; a worker that gets this record writes it (under the claim that sent it) and
 * never hands the message over again.
 */
export interface DispatchRecord extends DispatchRef {
  handedOver?: { token: string; carrierMessageId: string; at: string } | undefined;
}

/** The outcome of an idempotent write, kept so that a replay returns it unchanged. */
export type StoredResult = object;

export const WEBHOOK_EVENT_TYPES = ['message.status', 'message.inbound'] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One item's sealed content: the wrapped data key and one AES-256-GCM blob (version, IV, tag, ciphertext). */
export interface Sealed {
  dataKey: Uint8Array;
  blob: Uint8Array;
}
