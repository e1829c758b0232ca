import { randomInt, timingSafeEqual } from 'node:crypto';
import {
  MisdirectedError,
  RateLimitedError,
  ValidationError,
  VerificationFailedError,
} from '#layers/core/errors.ts';
import type { GatewayBudget } from '#layers/core/gateway-budget.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import { checkRecipient } from '#layers/core/phone.ts';
import type { RecipientPseudonyms } from '#layers/core/recipient-pseudonym.ts';
import { classifyRecipient } from '#layers/core/residency.ts';
import type {
  BlockList,
  Clock,
  Counters,
  IdGenerator,
  MessageStore,
  SentTrace,
  SystemSms,
  TenantStore,
} from '#layers/ports/index.ts';
import type { Verification, VerificationPurpose, VerificationStore } from '../ports.ts';

export interface PublicRightsDeps {
  verifications: Record<Jurisdiction, VerificationStore>;
  blockList: Record<Jurisdiction, BlockList>;
  messages: Record<Jurisdiction, MessageStore>;
  tenants: Pick<TenantStore, 'getTenant'>;
  pseudonyms: RecipientPseudonyms;
  counters: Counters;
  /** Sends the codes from the gateway's own identity for the number's country (GATEWAY_ORIGINATION). */
  systemSms: SystemSms;
  ids: IdGenerator;
  clock: Clock;
  /** This hour's budgets of the gateway's own messages (per country and gateway-wide). */
  gatewayBudget: GatewayBudget;
  /**
   * The jurisdiction of the region taking the requests. The global region holds nothing of the
   * EU's: an EU/EEA number's code is refused there (421, naming the EU endpoint), and a code is
   * looked for in its own table only. The EU region serves any number (storing a non-EU one's
   * verification in the global region moves no EU subject's data out).
   */
  here: Jurisdiction;
  /** Each jurisdiction's public endpoint, named in 421 answers. */
  endpoints: Partial<Record<Jurisdiction, string>>;
}

export const VERIFICATION_TTL_SECONDS = 600;
export const MAX_ATTEMPTS = 5;
/** Per number: 3 codes an hour. Per IP address: 20 requests a minute. */
export const NUMBER_RATE = { perMinute: 3 / 60, burst: 3 };
export const IP_RATE = { perMinute: 20, burst: 20 };
const SENT_AT_TOLERANCE_MS = 60 * 60_000;

export interface StartInput {
  phone: string;
  purpose: VerificationPurpose;
  reference?: string | undefined;
  sentAt?: string | undefined;
  senderId?: string | undefined;
}

/** "Who sent me this?" needs what to look for: the message's reference code, or when and from whom. */
export const IDENTIFY_NEEDS =
  "is needed to identify a message (its 'Ref:' code), or both 'sentAt' and 'senderId'";
export const identifiesAMessage = (input: Omit<StartInput, 'phone'>) =>
  input.purpose !== 'identify' || Boolean(input.reference || (input.sentAt && input.senderId));

const PURPOSE_TEXT: Record<VerificationPurpose, string> = {
  block: 'to block every message sent to this number through the gateway',
  unblock: 'to let messages sent through the gateway reach this number again',
  identify: 'to learn who sent a message to this number',
};

/**
 * The public flows a person uses without an account: block every message, and "who sent me
 * this?". Both verify the number with a one-time code sent to it. Until the code is given
 * every answer is the same whether the number is known, blocked or neither; after it, the
 * person learns only what concerns their own number (never message content).
 */
export function makePublicRights(deps: PublicRightsDeps) {
  /** A code is kept only as a keyed digest: six digits under a plain hash are found by guessing. */
  const digest = async (id: string, code: string) =>
    Buffer.from(await deps.pseudonyms.keyedDigest('verification-code', `${id}\0${code}`), 'base64url');

  async function limit(key: string, rate: { perMinute: number; burst: number }) {
    const out = await deps.counters.admit(key, rate.perMinute, rate.burst, deps.clock.now());
    if (!out.ok) throw new RateLimitedError(out.retryAfterSeconds);
  }

  async function start(input: StartInput, ip: string) {
    await limit(`ip#${ip}`, IP_RATE);
    const phone = checkRecipient(input.phone);
    if (!phone.ok) throw new ValidationError([{ pointer: '/phone', detail: `'phone' ${phone.reason}` }]);
    if (!identifiesAMessage(input)) {
      throw new ValidationError([{ pointer: '/reference', detail: `'reference' ${IDENTIFY_NEEDS}` }]);
    }
    const j = classifyRecipient(phone.e164).jurisdiction;
    // Not relayed: the EU endpoint's per-IP limit must count the person's own address, which a
    // relayed request would not carry (every relayed start would share the global region's).
    if (deps.here === 'global' && j === 'eu') {
      throw new MisdirectedError(
        'eu',
        deps.endpoints.eu,
        "An EU/EEA number's one-time code is sent by the EU region: ask the EU endpoint.",
        [{ pointer: '/phone', detail: "'phone' is an EU/EEA number: ask the EU endpoint (421)" }],
      );
    }
    const pseudonym = await deps.pseudonyms.of(phone.e164);
    await limit(`number#${pseudonym}`, NUMBER_RATE);
    await deps.gatewayBudget(phone.country);
    const now = deps.clock.now();
    const id = deps.ids.next('vrf');
    const code = String(randomInt(1_000_000)).padStart(6, '0');
    const verification: Verification = {
      id,
      purpose: input.purpose,
      recipientPseudonym: pseudonym,
      codeDigest: (await digest(id, code)).toString('base64url'),
      attempts: 0,
      expiresAt: Math.floor(now.getTime() / 1000) + VERIFICATION_TTL_SECONDS,
      ...(input.purpose === 'identify'
        ? {
            query: {
              refCode: input.reference?.toUpperCase(),
              sentAt: input.sentAt,
              senderId: input.senderId,
            },
          }
        : {}),
    };
    await deps.verifications[j].put(verification);
    await deps.systemSms(
      j,
      phone.e164,
      undefined,
      `Your code is ${code}. Someone asked ${PURPOSE_TEXT[input.purpose]}. If it was not you, ignore this message.`,
      `sys_${id.slice(4)}`,
    );
    return {
      verificationId: id,
      expiresAt: new Date(verification.expiresAt * 1000).toISOString(),
    };
  }

  function matches(trace: SentTrace, query: NonNullable<Verification['query']>): boolean {
    if (query.refCode) return trace.refCode === query.refCode;
    if (!query.sentAt || !query.senderId) return false;
    return (
      trace.from.toLowerCase() === query.senderId.toLowerCase() &&
      Math.abs(Date.parse(trace.createdAt) - Date.parse(query.sentAt)) <= SENT_AT_TOLERANCE_MS
    );
  }

  async function confirm(id: string, code: string, ip: string) {
    await limit(`ip#${ip}`, IP_RATE);
    const now = deps.clock.now();
    // The try is counted before the code is compared, in one conditional write: 20 concurrent
    // tries compare at most MAX_ATTEMPTS codes, and the verification is forgotten after them.
    let found: { v: Verification; j: Jurisdiction } | undefined;
    for (const j of deps.here === 'global' ? (['global'] as const) : (['eu', 'global'] as const)) {
      const v = await deps.verifications[j].claimAttempt(id, MAX_ATTEMPTS, now);
      if (v) {
        found = { v, j };
        break;
      }
    }
    if (!found) throw new VerificationFailedError();
    const { v, j } = found;
    const expected = Buffer.from(v.codeDigest, 'base64url');
    if (!/^\d{6}$/.test(code) || !timingSafeEqual(expected, await digest(id, code))) {
      throw new VerificationFailedError();
    }
    await deps.verifications[j].remove(id);
    if (v.purpose === 'block') {
      await deps.blockList[j].block(v.recipientPseudonym, now, 'verified_request');
      return {
        purpose: 'block' as const,
        blocked: true as const,
        detail: 'No message sent through this gateway will reach this number any more.',
      };
    }
    if (v.purpose === 'unblock') {
      await deps.blockList[j].unblock(v.recipientPseudonym);
      return {
        purpose: 'unblock' as const,
        blocked: false as const,
        detail: 'Messages sent through this gateway can reach this number again.',
      };
    }
    const traces = await deps.messages[j].sentTo(v.recipientPseudonym, now, 500);
    const hits = traces.filter((t) => matches(t, v.query ?? {}));
    // Each tenant's last message taken for the person (the traces come the last taken first).
    const lastOf = new Map<string, (typeof hits)[number]>();
    for (const t of hits) if (!lastOf.has(t.tenantId)) lastOf.set(t.tenantId, t);
    const senders = [];
    for (const [tenantId, last] of lastOf) {
      const tenant = await deps.tenants.getTenant(tenantId);
      if (!tenant) continue;
      senders.push({
        legalName: tenant.legalName,
        contactEmail: tenant.contactEmail,
        senderId: last.from,
        sentAt: last.createdAt,
      });
    }
    return { purpose: 'identify' as const, senders };
  }

  return { start, confirm };
}
