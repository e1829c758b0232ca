import type { KeyMode, Scope } from './api-keys.ts';
import type { Encoding } from './encoding.ts';
import type { SenderType } from './sender.ts';

/** Every item belongs to one jurisdiction; the EU one is pinned to an EU region. */
export type Jurisdiction = 'global' | 'eu';

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'undeliverable';
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
  from: string;
  fromType: SenderType;
  body: string;
  reference?: string | undefined;
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

export type TenantStatus = 'active' | 'closed';

export interface Tenant {
  id: string;
  displayName: string;
  legalName: string;
  contactEmail: string;
  homeJurisdiction: Jurisdiction;
  status: TenantStatus;
  createdAt: string;
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
}

/** What travels on the dispatch queue: references only, never a number or a body. */
export interface DispatchRef {
  tenantId: string;
  messageId: string;
  jurisdiction: Jurisdiction;
}

/** The outcome of an idempotent write, kept so that a replay returns it unchanged. */
export type StoredResult = object;
