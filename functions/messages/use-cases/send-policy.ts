import {
  contentVerdict,
  DEFAULT_CONTROLS,
  DEFAULT_REPLIES,
  type TenantControls,
  type TenantReplies,
} from '#layers/core/controls.ts';
import { RateLimitedError, type RefusalReason, SendRefusedError } from '#layers/core/errors.ts';
import type { Jurisdiction, MessageRecord, Tenant, TenantContext } from '#layers/core/model.ts';
import type { RecipientPseudonyms } from '#layers/core/recipient-pseudonym.ts';
import type {
  BlockList,
  Clock,
  Counters,
  RecipientStore,
  SenderIdRecord,
  SenderIdStore,
} from '#layers/ports/index.ts';

export interface TenantSettings {
  controls: TenantControls;
  replies: TenantReplies;
}

export const settingsOf = (t: Pick<Tenant, 'controls' | 'replies'> | undefined): TenantSettings => ({
  controls: { ...DEFAULT_CONTROLS, ...t?.controls },
  replies: { ...DEFAULT_REPLIES, ...t?.replies },
});

export interface PolicyDeps {
  recipients: Record<Jurisdiction, RecipientStore>;
  blockList: Record<Jurisdiction, BlockList>;
  pseudonyms: RecipientPseudonyms;
  senderIds: SenderIdStore;
  counters: Counters;
  /** The tenant's controls and replies (cached by the caller for a short while). */
  settings: (tenantId: string) => Promise<TenantSettings>;
  clock: Clock;
}

export interface Refusal {
  reason: RefusalReason;
  detail: string;
  retryAfterSeconds?: number | undefined;
}

const HOUR_MS = 3_600_000;

const refusal = (reason: RefusalReason, detail: string, retryAfterSeconds?: number): Refusal => ({
  reason,
  detail,
  ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
});

function approvedFor(senders: SenderIdRecord[], from: string, country: string | undefined): boolean {
  return senders.some(
    (s) =>
      s.status === 'approved' &&
      s.value.toLowerCase() === from.toLowerCase() &&
      (s.countries.length === 0 || (country !== undefined && s.countries.includes(country))),
  );
}

/** How many messages of a batch are checked at once (each check is a few reads and a write). */
const SCREEN_CONCURRENCY = 32;

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  // One iterator shared by the workers: each takes the next item not yet taken.
  const queue = items.values();
  const worker = async () => {
    for (const item of queue) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * What the gateway checks before it accepts a message, in order: sender ID, country, the
 * person's block-all, the tenant's opt-out list, promotional consent, content rules (which
 * quarantine instead of refusing), flood limits, then the monthly cap. Every refusal is a
 * reason the caller returns; nothing is dropped in silence.
 */
/** The key of a tenant's request-rate bucket. */
export const tenantRateKey = (tenantId: string) => `tenant#${tenantId}`;

const countryAllowed = (settings: TenantSettings, country: string | undefined) => {
  const allowed = settings.controls.allowedCountries;
  return allowed.length === 0 || (country !== undefined && allowed.includes(country));
};

export function makeSendPolicy(deps: PolicyDeps) {
  /** Tenant-level request rate: 429 with Retry-After, shared exactly by every function instance. */
  async function admit(
    ctx: Pick<TenantContext, 'tenantId'>,
  ): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
    const { controls } = await deps.settings(ctx.tenantId);
    return deps.counters.admit(
      tenantRateKey(ctx.tenantId),
      controls.rateLimit.perMinute,
      controls.rateLimit.burst,
      deps.clock.now(),
    );
  }

  async function checkOne(
    ctx: TenantContext,
    m: MessageRecord,
    country: string | undefined,
    settings: TenantSettings,
    senders: () => Promise<SenderIdRecord[]>,
  ): Promise<Refusal | undefined> {
    // Test-mode keys reach the sandbox carrier only, so they may use any sender.
    if (ctx.mode === 'live' && !approvedFor(await senders(), m.from, country)) {
      return refusal(
        'sender_not_approved',
        `'${m.from}' is not an approved sender ID of this account${country ? ` for ${country}` : ''}; apply with POST /v1/sender-ids.`,
      );
    }
    if (!countryAllowed(settings, country)) {
      return refusal('country_not_allowed', `This account may not send to ${country ?? 'this destination'}.`);
    }
    const recipients = deps.recipients[m.jurisdiction];
    // Independent reads, made at once: the block list, the opt-out, and for promotions the ledger.
    const [blocked, optOut, ledger] = await Promise.all([
      deps.pseudonyms.of(m.to).then((p) => deps.blockList[m.jurisdiction].isBlocked(p)),
      recipients.getOptOut(m.tenantId, m.to),
      m.category === 'promotional' ? recipients.consents(m.tenantId, m.to) : undefined,
    ]);
    if (blocked) {
      return refusal('blocked', 'The recipient has blocked every message sent through this gateway.');
    }
    if (optOut && (optOut.scope === 'all' || m.category === 'promotional')) {
      return refusal(
        'opted_out',
        `The recipient opted out of ${optOut.scope === 'all' ? 'all' : 'promotional'} messages from this account on ${optOut.at}.`,
      );
    }
    if (ledger) {
      if (ledger.at(-1)?.kind !== 'granted') {
        return refusal(
          'consent_required',
          'A promotional message needs a live consent from the recipient; record it with POST /v1/consents.',
        );
      }
    }
    return undefined;
  }

  /**
   * Tenants whose rate limit refused a request of this instance, until when: their sends are
   * counted only once admitted, so a tenant over its limit costs no counter writes to give back.
   */
  const refusedUntil = new Map<string, number>();
  const lately = (tenantId: string, now: number) => {
    const until = refusedUntil.get(tenantId);
    if (until !== undefined && until <= now) refusedUntil.delete(tenantId);
    return until !== undefined && until > now;
  };
  const noteRefused = (tenantId: string, now: number, error: unknown) => {
    if (refusedUntil.size >= 10_000) refusedUntil.clear();
    const seconds = error instanceof RateLimitedError ? error.retryAfterSeconds : 1;
    refusedUntil.set(tenantId, now + Math.max(1, seconds) * 1000);
  };

  /**
   * Screens messages that passed validation. Returns the refusals by message id; a message
   * whose content a rule denies is turned into a quarantined one (kept, never sent).
   *
   * One round trip: the reads (sender IDs, block list, opt-out, consent), the flood counters and
   * the monthly cap run at once, while `admitted` (the request's rate limit) is decided. What a
   * read or the rate limit then refuses is given back: its flood counts and its segments. The
   * reads' refusals win over the flood limit's, and the rate limit's over everything. A cap that
   * refuses only because of segments given back is asked again for the rest, so the cap refuses
   * exactly what it did when counted last. How exact the limits stay: a concurrent request may
   * meet a counter briefly raised by a send about to be refused and given back, and be refused
   * that many sends (or segments) early; no send is ever admitted past a limit. A tenant whose
   * rate limit refused a request of this instance is counted only after admission until its
   * Retry-After has passed, so a tenant over its limit writes no counters it gives back.
   */
  async function screen(
    ctx: TenantContext,
    messages: { message: MessageRecord; country: string | undefined }[],
    admitted?: Promise<unknown>,
  ): Promise<Map<string, Refusal>> {
    const refused = new Map<string, Refusal>();
    const settled = async () => {
      try {
        await admitted;
      } catch (error) {
        noteRefused(ctx.tenantId, deps.clock.now().getTime(), error);
        throw error;
      }
    };
    if (messages.length === 0) {
      await settled();
      return refused;
    }
    const settings = await deps.settings(ctx.tenantId);
    let senderList: Promise<SenderIdRecord[]> | undefined;
    const senders = () => {
      senderList ??= deps.senderIds.list(ctx.tenantId);
      return senderList;
    };
    const now = deps.clock.now();
    const hourStart = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
    const retryFlood = Math.ceil((hourStart.getTime() + HOUR_MS - now.getTime()) / 1000);
    const cap = settings.controls.monthlySegmentCap;
    const month = now.toISOString().slice(0, 7);
    const segmentsOf = (ms: MessageRecord[]) => ms.reduce((n, m) => n + m.segments, 0);
    // Content rules are pure: a message they deny is quarantined (unless a read refuses it).
    const verdicts = new Map(
      messages.map(({ message: m }) => [m.id, contentVerdict(m.body ?? '', settings.controls)]),
    );
    const reads = forEachLimited(messages, SCREEN_CONCURRENCY, async ({ message: m, country }) => {
      const r = await checkOne(ctx, m, country, settings, senders);
      if (r) refused.set(m.id, r);
    });
    const flooded = new Map<string, Refusal>();
    const floodCounted = new Set<string>();
    const countFlood = (ms: MessageRecord[]) =>
      forEachLimited(ms, SCREEN_CONCURRENCY, async (m) => {
        const flood = await deps.recipients[m.jurisdiction].countSend(
          m.tenantId,
          m.to,
          m.body ?? '',
          hourStart,
          settings.controls.flood,
        );
        if (flood === 'counted') {
          floodCounted.add(m.id);
          return;
        }
        flooded.set(
          m.id,
          refusal(
            'flood_limit',
            flood === 'identical'
              ? `This recipient already got ${settings.controls.flood.identicalPerHour} identical messages this hour.`
              : `This recipient already got ${settings.controls.flood.perHour} messages this hour.`,
            retryFlood,
          ),
        );
      });
    let capAdded = 0;
    /** Counts messages against the flood limits and the cap at once; true when the cap took them. */
    const count = async (ms: MessageRecord[]) => {
      const segments = segmentsOf(ms);
      const [flood, cap_] = await Promise.allSettled([
        countFlood(ms),
        segments > 0
          ? deps.counters.addUsage(ctx.tenantId, month, segments, cap).then((ok) => {
              if (ok) capAdded = segments;
              return ok;
            })
          : true,
      ]);
      if (flood.status === 'rejected') throw flood.reason;
      if (cap_.status === 'rejected') throw cap_.reason;
      return cap_.value;
    };
    /** Gives back flood counts of messages that will not go (a failed write leaves the recipient's limit that much early this hour). */
    const uncount = (ms: MessageRecord[]) =>
      forEachLimited(ms, SCREEN_CONCURRENCY, (m) =>
        deps.recipients[m.jurisdiction]
          .uncountSend(m.tenantId, m.to, m.body ?? '', hourStart)
          .catch(() => undefined),
      );
    // What the pure rules refuse or quarantine (country, content) is never counted.
    const countable = messages
      .filter(({ message: m, country }) => !verdicts.get(m.id) && countryAllowed(settings, country))
      .map(({ message: m }) => m);
    let counted: MessageRecord[];
    let capped: boolean;
    if (admitted === undefined || !lately(ctx.tenantId, now.getTime())) {
      counted = countable;
      const [read, took] = await Promise.allSettled([reads, count(counted)]);
      try {
        // The rate limit's refusal wins, then a failed read or count: all of it is given back.
        await settled();
        if (read.status === 'rejected') throw read.reason;
        if (took.status === 'rejected') throw took.reason;
        capped = took.value;
      } catch (error) {
        await Promise.all([
          uncount(counted.filter((m) => floodCounted.has(m.id))),
          capAdded > 0
            ? deps.counters.addUsage(ctx.tenantId, month, -capAdded, 0).catch(() => undefined)
            : undefined,
        ]);
        throw error;
      }
    } else {
      await reads;
      await settled();
      counted = countable.filter((m) => !refused.has(m.id));
      capped = await count(counted);
    }
    // A read's refusal wins over the flood limit's; the flood counts of what a read refused go back.
    const readRefused = counted.filter((m) => refused.has(m.id));
    for (const m of readRefused) flooded.delete(m.id);
    const givenBack = uncount(readRefused.filter((m) => floodCounted.has(m.id)));
    for (const [id, r] of flooded) refused.set(id, r);
    for (const { message: m } of messages) {
      const verdict = verdicts.get(m.id);
      if (verdict && !refused.has(m.id)) {
        m.status = 'quarantined';
        m.error = { code: 'content_denied', message: verdict };
      }
    }
    const segments = segmentsOf(counted);
    const toSend = counted.filter((m) => !refused.has(m.id));
    const refunded = segments - segmentsOf(toSend);
    let inCap = capped;
    if (capped && refunded > 0) await deps.counters.addUsage(ctx.tenantId, month, -refunded, 0);
    // Refused only for segments given back: the rest may fit.
    else if (!capped && refunded > 0 && toSend.length > 0)
      inCap = await deps.counters.addUsage(ctx.tenantId, month, segments - refunded, cap);
    if (!inCap) {
      for (const m of toSend) {
        refused.set(
          m.id,
          refusal('monthly_cap', `This account's cap of ${cap} segments for ${month} is reached.`),
        );
      }
      // Their flood counts go back: a recipient's hour is used only by messages that went.
      await uncount(toSend);
    }
    await givenBack;
    return refused;
  }

  return { admit, screen, settings: deps.settings };
}

export type SendPolicy = ReturnType<typeof makeSendPolicy>;

/** The request field each refusal is about; the monthly cap is about the account, not a field. */
const REFUSED_FIELD: Record<RefusalReason, 'to' | 'from' | undefined> = {
  sender_not_approved: 'from',
  country_not_allowed: 'to',
  blocked: 'to',
  opted_out: 'to',
  consent_required: 'to',
  flood_limit: 'to',
  monthly_cap: undefined,
};

/** A refusal as an error whose issue points at its own field; `at` is a batch item's pointer. */
export function refusedError(r: Refusal, at = ''): SendRefusedError {
  const field = REFUSED_FIELD[r.reason];
  const issues = field ? [{ pointer: `${at}/${field}`, detail: r.detail }] : [];
  return new SendRefusedError(r.reason, r.detail, issues, r.retryAfterSeconds);
}
