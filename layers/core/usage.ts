import type { Jurisdiction, MessageError, MessageRecord, MessageStatus } from './model.ts';

/**
 * Usage is counted per status reached: a message handed to the carrier counts once under
 * `sent`, and once more under `delivered` or `undeliverable` when the receipt comes; a message
 * that failed before or at the carrier counts under `failed`; one held by a content rule under
 * `quarantined`. The carrier charges for what it was handed, so the cost estimate is on `sent`.
 */
export type UsageStatus = Exclude<MessageStatus, 'queued'>;
export const USAGE_STATUSES: UsageStatus[] = ['sent', 'delivered', 'undeliverable', 'failed', 'quarantined'];

/** Unknown country (a number the check could not place): reported as `ZZ`. */
export const UNKNOWN_COUNTRY = 'ZZ';

export interface UsageCount {
  tenantId: string;
  jurisdiction: Jurisdiction;
  /** UTC day the status was reached, YYYY-MM-DD. */
  day: string;
  country: string;
  mode: MessageRecord['mode'];
  status: UsageStatus;
  messages: number;
  segments: number;
}

export function statusChange(
  m: Pick<MessageRecord, 'tenantId' | 'id' | 'jurisdiction' | 'mode' | 'country' | 'segments'>,
  status: UsageStatus,
  at: Date | string,
  error?: MessageRecord['error'],
): StatusChange {
  return {
    tenantId: m.tenantId,
    messageId: m.id,
    jurisdiction: m.jurisdiction,
    status,
    at: typeof at === 'string' ? at : at.toISOString(),
    mode: m.mode,
    country: m.country,
    segments: m.segments,
    ...(error ? { error } : {}),
  };
}

/** Sums changes into one count per tenant, jurisdiction, day, country, mode and status. */
export function tally(changes: StatusChange[]): UsageCount[] {
  const counts = new Map<string, UsageCount>();
  for (const c of changes) {
    const day = c.at.slice(0, 10);
    const country = c.country ?? UNKNOWN_COUNTRY;
    const key = [c.tenantId, c.jurisdiction, day, country, c.mode, c.status].join('|');
    const count = counts.get(key) ?? {
      tenantId: c.tenantId,
      jurisdiction: c.jurisdiction,
      day,
      country,
      mode: c.mode,
      status: c.status,
      messages: 0,
      segments: 0,
    };
    count.messages += 1;
    count.segments += c.segments;
    counts.set(key, count);
  }
  return [...counts.values()];
}

/**
 * Indicative list prices per segment, USD, for the estimate only (the operator sets their own
 * with `SMS_PRICES_USD`, a JSON object by country code; `*` is every other country).
 */
export const DEFAULT_PRICES_USD: Record<string, number> & { '*': number } = {
  US: 0.0083,
  CA: 0.0083,
  GB: 0.0409,
  IE: 0.0769,
  DE: 0.1023,
  FR: 0.0837,
  NL: 0.1121,
  ES: 0.0865,
  IT: 0.0885,
  AT: 0.1051,
  BE: 0.0935,
  PL: 0.0426,
  SE: 0.0624,
  IN: 0.0046,
  AU: 0.0517,
  '*': 0.05,
};

export const priceOf = (prices: Record<string, number>, country: string) =>
  prices[country] ?? prices['*'] ?? DEFAULT_PRICES_USD['*'];

/** Whole cents would hide small tenants' costs: rounded to 1/10,000 of a dollar. */
export const roundUsd = (usd: number) => Math.round(usd * 10_000) / 10_000;

const DAY_MS = 86_400_000;

export type Period = { from?: string | undefined; to?: string | undefined };

/** The days a report covers: `from` to `to` inclusive, defaulting to this month so far. */
export function days(now: Date, q: Period) {
  const today = now.toISOString().slice(0, 10);
  const from = q.from ?? `${today.slice(0, 8)}01`;
  const to = q.to ?? today;
  return { from, to, count: (Date.parse(to) - Date.parse(from)) / DAY_MS + 1 };
}

/** Why a report cannot cover these days (the parameter at fault and the reason), if it cannot. */
export function periodProblem(
  now: Date,
  q: Period,
  maxDays: number,
): { parameter: 'from' | 'to'; reason: string } | undefined {
  const { count } = days(now, q);
  if (count < 1) return { parameter: 'to', reason: "must not be before 'from'" };
  if (count > maxDays) return { parameter: 'from', reason: `a report covers at most ${maxDays} days` };
  return undefined;
}

/** What a status change tells usage reports and webhooks: never the number, never the body. */
export interface StatusChange {
  tenantId: string;
  messageId: string;
  jurisdiction: Jurisdiction;
  status: Exclude<MessageStatus, 'queued'>;
  at: string;
  mode: MessageRecord['mode'];
  country?: string | undefined;
  segments: number;
  error?: MessageError | undefined;
}
