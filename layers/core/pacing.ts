import * as z from 'zod';
import type { Clock } from '../ports/index.ts';

/**
 * The send rates the carrier allows, in message parts per second (End User Messaging measures its
 * throughput in MPS: a US toll-free number 3, a 10DLC number 1 by default, a US short code 100):
 * `account` for all of an account's sending in a region, `default` for an origination identity
 * not named, and one entry per origination identity (an E.164 number or a sender ID). A key left
 * out is not paced.
 */
export const SendRates = z
  .record(z.string().min(1), z.number().positive().max(100_000, 'at most 100,000 message parts per second'))
  .describe('message parts per second by origination identity, plus "account" and "default"');
export type SendRates = z.infer<typeof SendRates>;

export type PaceOutcome = { ok: true } | { ok: false; retryInMs: number };

export interface Pacer {
  /**
   * Waits for this identity's next turn to send `parts` message parts (and the account's), or
   * answers how long to come back in when that turn is more than `maxWaitMs` away.
   */
  take(identity: string, parts: number, maxWaitMs: number): Promise<PaceOutcome>;
  /** The carrier said this identity sent too fast: nothing more goes from it for `ms`. */
  holdOff(identity: string, ms: number): void;
}

interface Lane {
  intervalMs: number;
  /** When the next reservation may start (reservations are handed out in order). */
  next: number;
  /** The earliest time the next hand-over may happen, from the previous one's real time. */
  earliest: number;
  /** Settles when the previous reservation has been handed over. */
  tail: Promise<void>;
}

/**
 * Paces one dispatch instance: a virtual schedule (GCRA with no burst) per origination identity
 * and one for the account, at `share` of each configured rate, so `share = 1/N` keeps N
 * concurrent instances within the rate together with no shared state. Each turn is reserved in
 * order, and handed over only once the previous one was, at least one interval after it really
 * happened: a timer that fires late never lets the next hand-over bunch up behind it.
 */
export function makePacer(deps: {
  rates: SendRates;
  share: number;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
}): Pacer {
  const lanes = new Map<string, Lane>();
  const lane = (key: string, rate: number | undefined): Lane | undefined => {
    if (rate === undefined) return undefined;
    let l = lanes.get(key);
    if (!l) {
      l = { intervalMs: 1000 / (rate * deps.share), next: 0, earliest: 0, tail: Promise.resolve() };
      lanes.set(key, l);
    }
    return l;
  };
  const lanesOf = (identity: string) =>
    [
      lane(`id:${identity}`, deps.rates[identity] ?? deps.rates.default),
      lane('account', deps.rates.account),
    ].filter((l): l is Lane => l !== undefined);
  const now = () => deps.clock.now().getTime();

  return {
    async take(identity, parts, maxWaitMs) {
      const mine = lanesOf(identity);
      if (mine.length === 0) return { ok: true };
      const t0 = now();
      const start = Math.max(t0, ...mine.map((l) => l.next));
      if (start - t0 > maxWaitMs) return { ok: false, retryInMs: start - t0 };
      const before = mine.map((l) => l.tail);
      let handedOver!: () => void;
      const done = new Promise<void>((resolve) => {
        handedOver = resolve;
      });
      for (const l of mine) {
        l.next = start + parts * l.intervalMs;
        l.tail = done;
      }
      try {
        await Promise.all(before);
        for (;;) {
          const at = Math.max(start, ...mine.map((l) => l.earliest));
          const t = now();
          if (t >= at) break;
          await deps.sleep(at - t);
        }
        const t = now();
        for (const l of mine) l.earliest = t + parts * l.intervalMs;
      } finally {
        handedOver();
      }
      return { ok: true };
    },
    holdOff(identity, ms) {
      const until = now() + ms;
      for (const l of lanesOf(identity)) {
        l.next = Math.max(l.next, until);
        l.earliest = Math.max(l.earliest, until);
      }
    },
  };
}

/** A pacer that never waits (no rates configured). */
export const unpaced: Pacer = { take: async () => ({ ok: true }), holdOff: () => undefined };
