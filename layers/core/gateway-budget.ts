import * as z from 'zod';
import type { BudgetCounters, Clock } from '../ports/index.ts';
import { RateLimitedError } from './errors.ts';

/**
 * Hourly budgets of the messages the gateway sends on its own behalf (one-time codes, block-all
 * confirmations): those go to any number anyone types into a public form, which makes them the
 * target of SMS pumping (toll fraud on premium ranges). `perHour` bounds them gateway-wide in a
 * region, `perCountryPerHour` per recipient country (ISO code, or `*` for every other one).
 */
export const GatewayMessageBudget = z.object({
  perHour: z.number().int().positive(),
  perCountryPerHour: z
    .record(
      z.string().regex(/^([A-Z]{2}|\*)$/, 'keys are ISO country codes or "*"'),
      z.number().int().nonnegative(),
    )
    .refine((m): m is Record<string, number> & { '*': number } => '*' in m, {
      message: 'needs a "*" budget for the other countries',
    }),
});
export type GatewayMessageBudget = z.infer<typeof GatewayMessageBudget>;

/** The gateway's own messages were refused: this hour's budget (a country's or the whole gateway's) is spent. */
export class GatewayBudgetSpentError extends RateLimitedError {
  constructor(
    readonly scope: 'country' | 'gateway',
    retryAfterSeconds: number,
  ) {
    super(
      retryAfterSeconds,
      `The gateway sends no more codes ${scope === 'country' ? 'to this country ' : ''}this hour; retry after ${retryAfterSeconds} s.`,
    );
    this.name = 'GatewayBudgetSpentError';
  }
}

const HOUR_MS = 3_600_000;

/**
 * Takes one message from this hour's budgets for a recipient country, or throws
 * GatewayBudgetSpentError (429, Retry-After: the start of the next hour). The country's budget is
 * taken first: a refusal there leaves the gateway-wide budget to the other countries.
 */
export function makeGatewayBudget(deps: {
  counters: BudgetCounters;
  budget: GatewayMessageBudget;
  clock: Clock;
  /** Told when a budget is spent (a metric, alarmed). */
  spent?: (scope: 'country' | 'gateway') => void;
}) {
  return async (country: string | undefined): Promise<void> => {
    const now = deps.clock.now().getTime();
    const hour = Math.floor(now / HOUR_MS);
    const nextHour = (hour + 1) * HOUR_MS;
    const retryAfter = Math.max(1, Math.ceil((nextHour - now) / 1000));
    // Counters outlive their hour by one, then DynamoDB's TTL removes them.
    const expiresAt = nextHour / 1000 + 3600;
    const cc = country ?? 'ZZ';
    const { perHour, perCountryPerHour } = deps.budget;
    const countryLimit = perCountryPerHour[cc] ?? perCountryPerHour['*'];
    const refuse = (scope: 'country' | 'gateway') => {
      deps.spent?.(scope);
      return new GatewayBudgetSpentError(scope, retryAfter);
    };
    if (!(await deps.counters.take(`${hour}#${cc}`, countryLimit, expiresAt))) throw refuse('country');
    if (!(await deps.counters.take(`${hour}#*`, perHour, expiresAt))) throw refuse('gateway');
  };
}
export type GatewayBudget = ReturnType<typeof makeGatewayBudget>;
