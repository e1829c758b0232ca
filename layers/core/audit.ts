import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Jurisdiction } from './model.ts';

/** Who acted: a tenant's API key (by id, never the key), or the operator (by IAM principal). */
/** The trail of entries that name no valid tenant (an operator's call about none): gateway-wide. */
export const OPERATOR_TRAIL = 'operator';

export type AuditActor = { type: 'api_key'; keyId: string } | { type: 'operator'; principal: string };

/** One authenticated call or admin action, as the API function saw it. */
export interface AuditEntry {
  /** Unique per entry (a ULID): a redelivered entry is recognised by it and chained once. */
  id: string;
  /** The tenant whose trail it joins; `operator` for operator actions on no tenant. */
  tenantId: string;
  at: string;
  actor: AuditActor;
  /** The route's operation id, e.g. `sendMessage`. */
  action: string;
  /** The route template, e.g. `POST /v1/messages/{id}`; never the raw path. */
  route: string;
  /** Ids the call named or created; never a phone number, not even in part. */
  targets: string[];
  ip: string;
  userAgent: string;
  outcome: 'success' | 'failure';
  status: number;
  requestId?: string | undefined;
  jurisdiction: Jurisdiction;
}

/** What an entry records in place of a value that is not a well-formed id (it may be a phone number). */
export const INVALID_ID = 'invalid-id';
/**
 * What an entry records in place of an id the endpoint looked for only in its own region (a
 * strict tenant's id not found at the global endpoint): it may be an EU message's, so the global
 * trail keeps the call, never the id.
 */
export const WITHHELD_ID = 'withheld-id';
/** Every id the gateway issues: a three-letter type, `_`, a ULID (layers/core/ids.ts). */
const WELL_FORMED_ID = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;
/** A run of 7 or more digits, alone or split by spaces, dots, dashes or brackets: it could be a phone number. */
const DIGIT_RUN = /\+?\d(?:[\s().-]{0,2}\d){6,}/g;

const isTenantId = (value: string) => auditId(value) !== INVALID_ID && value.startsWith('ten_');

/** An id as the trail may keep it: itself when well-formed, else `invalid-id`, never the value. */
export const auditId = (value: unknown): string =>
  typeof value === 'string' && WELL_FORMED_ID.test(value) ? value : INVALID_ID;

/** Free text a caller chose (its user agent) without any run of digits that could be a phone number. */
export const withoutNumbers = (text: string): string => text.replace(DIGIT_RUN, '[redacted]');

/**
 * An entry as it is kept: nothing in it that a caller typed can be a phone number. Ids that
 * are not well-formed are `invalid-id`; a trail is a well-formed tenant's or the operator's;
 * free text (the user agent, an operator's session name) loses its long digit runs, and an IP
 * address that is not one is `unknown`. The AWS account in an operator's ARN stays, and so does
 * the request id (API Gateway makes it; a UUID's groups would read as a digit run).
 */
export function auditSafe<T extends Omit<AuditEntry, 'id' | 'jurisdiction'>>(entry: T): T {
  const actor: AuditActor =
    entry.actor.type === 'api_key'
      ? { type: 'api_key', keyId: auditId(entry.actor.keyId) }
      : {
          type: 'operator',
          principal: entry.actor.principal.replace(
            /^(arn:[\w-]+:(?:iam|sts)::\d{12}:)?(.*)$/s,
            (_all, account: string | undefined, rest: string) => (account ?? '') + withoutNumbers(rest),
          ),
        };
  return {
    ...entry,
    // A trail is a tenant's (chained with that tenant's scoped credentials) or the operator's.
    tenantId: isTenantId(entry.tenantId) ? entry.tenantId : OPERATOR_TRAIL,
    actor,
    targets: entry.targets.map((t) => (t === WITHHELD_ID ? t : auditId(t))),
    ip: isIP(entry.ip) ? entry.ip : 'unknown',
    userAgent: withoutNumbers(entry.userAgent),
  };
}

/** An entry in its tenant's chain: `hash` covers the entry, its `seq` and the previous hash. */
export interface AuditEvent extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
  /** Ids of the last entries chained: a redelivered batch is skipped, not chained twice. */
  recentIds: string[];
}

/** The previous hash of a chain's first event. */
export const GENESIS_HASH = '0'.repeat(64);
export const RECENT_IDS = 50;

/** JSON with object keys sorted at every level and undefined members left out. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `hash = SHA-256(prevHash + "\n" + canonical JSON of the event without its hash)`, hex. Anyone
 * holding an export can recompute it (README: "Audit trail").
 */
export function auditHash(event: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256')
    .update(`${event.prevHash}\n${canonicalJson(event)}`)
    .digest('hex');
}

/** Appends entries after `head`: the events to store and the new head. Known ids are skipped. */
export function chainEntries(
  head: AuditHead | undefined,
  entries: AuditEntry[],
): { events: AuditEvent[]; head: AuditHead } {
  const seen = new Set(head?.recentIds ?? []);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const events: AuditEvent[] = [];
  for (const entry of entries) {
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    seq += 1;
    const unsigned = { ...entry, seq, prevHash };
    const hash = auditHash(unsigned);
    events.push({ ...unsigned, hash });
    prevHash = hash;
  }
  const recentIds = [...(head?.recentIds ?? []), ...events.map((e) => e.id)].slice(-RECENT_IDS);
  return { events, head: { seq, hash: prevHash, recentIds } };
}

export interface ChainVerification {
  intact: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The first event whose hash or link does not hold, and why. */
  broken?: { seq: number; reason: 'hash_mismatch' | 'link_mismatch' | 'gap' } | undefined;
}

/**
 * Verifies events in ascending `seq`. The first event's link is taken as given (older events
 * may have expired); every later one must link to its predecessor with no gap, and every hash
 * must match its content.
 */
export function verifyChain(events: AuditEvent[]): ChainVerification {
  let previous: AuditEvent | undefined;
  for (const event of events) {
    const { hash, ...unsigned } = event;
    if (auditHash(unsigned) !== hash) return result(events, { seq: event.seq, reason: 'hash_mismatch' });
    if (previous) {
      if (event.seq !== previous.seq + 1) return result(events, { seq: event.seq, reason: 'gap' });
      if (event.prevHash !== previous.hash)
        return result(events, { seq: event.seq, reason: 'link_mismatch' });
    }
    previous = event;
  }
  return result(events, undefined);
}

function result(events: AuditEvent[], broken: ChainVerification['broken']): ChainVerification {
  return {
    intact: broken === undefined,
    checked: events.length,
    firstSeq: events[0]?.seq ?? null,
    lastSeq: events.at(-1)?.seq ?? null,
    ...(broken ? { broken } : {}),
  };
}
