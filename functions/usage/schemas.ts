import * as z from 'zod';
import { Day, Jurisdiction, UsageStatus, withinDays } from '#layers/http/schemas.ts';
import { MAX_REPORT_DAYS } from './use-cases/usage-reports.ts';

export const UsageQuery = z
  .strictObject({
    from: Day.optional().meta({
      description: 'First day (UTC), inclusive; defaults to the first of this month.',
    }),
    to: Day.optional().meta({
      description: 'Last day (UTC), inclusive; defaults to today. At most 366 days.',
    }),
    groupBy: z
      .string()
      .regex(/^((day|country)(,(day|country))?)?$/, "'day', 'country', 'day,country' or empty")
      .default('day,country')
      .transform((v) => (v === '' ? [] : [...new Set(v.split(','))]) as ('day' | 'country')[])
      .meta({
        description: 'Rows are always per key mode and status; add day, country, both (default) or neither.',
      }),
    mode: z.enum(['live', 'test']).optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .check(withinDays(MAX_REPORT_DAYS.tenant));

const StatusTotal = z.strictObject({ messages: z.int(), segments: z.int() });

export const UsageReport = z
  .strictObject({
    from: z.iso.date(),
    to: z.iso.date(),
    groupBy: z.array(z.enum(['day', 'country'])),
    jurisdictions: z.array(Jurisdiction).meta({
      description:
        "The regions' counters the report covers: both, but for a strict-residency tenant at the global endpoint, which counts the global region only (it may not read the EU's; the EU endpoint reports both).",
    }),
    currency: z.literal('USD'),
    data: z.array(
      z.strictObject({
        day: z.iso.date().optional(),
        country: z.string().optional().meta({ description: 'ISO 3166 alpha-2; ZZ when unknown.' }),
        mode: z.enum(['live', 'test']),
        status: UsageStatus.meta({
          description:
            'Messages that reached this status in the period: sent (handed to the carrier), then delivered or undeliverable; failed; quarantined.',
        }),
        messages: z.int(),
        segments: z.int(),
        estimatedCostUsd: z.number().meta({
          description:
            'Segments handed to the carrier on live keys times the list price of the country; an estimate.',
        }),
      }),
    ),
    totals: z.strictObject({
      estimatedCostUsd: z.number(),
      sent: StatusTotal,
      delivered: StatusTotal,
      undeliverable: StatusTotal,
      failed: StatusTotal,
      quarantined: StatusTotal,
    }),
  })
  .meta({ id: 'UsageReport' });
