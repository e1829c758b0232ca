import * as z from 'zod';
import { AUTHORIZER_CACHE_SECONDS, QUEUES, RECORDS, visibilityTimeoutSeconds } from '../infra/resources.ts';
import { GatewayMessageBudget } from './core/gateway-budget.ts';
import type { Jurisdiction } from './core/model.ts';
import { GatewayOrigination } from './core/origination.ts';
import { SendRates } from './core/pacing.ts';

/**
 * The one catalogue of the gateway's settings: each environment variable a function may read,
 * with its schema (parsed at cold start), what it means, and how the CDK app derives its value.
 * A function's declaration (`functions/<name>.def.ts`) names the settings it reads; the CDK app
 * sets exactly those, and `loadConfig` refuses a read of any other.
 */

/** What the CDK app knows when it sets a function's environment (tokens are plain strings). */
export interface DeployContext {
  jurisdiction: Jurisdiction;
  regions: Record<Jurisdiction, string>;
  account: string;
  apiUrls: Partial<Record<Jurisdiction, string>>;
  carrier:
    | { kind: 'sandbox' }
    | {
        kind: 'eum';
        configurationSet: string;
        maxPrice?: string | undefined;
        ttlSeconds?: number | undefined;
      };
  /** GATEWAY_ORIGINATION, already validated. */
  origination: string;
  /** GATEWAY_MESSAGE_BUDGET, already validated. */
  gatewayMessageBudget: string;
  /** DISPATCH_SEND_RATES (`-c sendRates`), already validated; none: dispatch is not paced. */
  sendRates?: string | undefined;
  /** The dispatch event source's MaximumConcurrency (`-c dispatchMaxConcurrency`). */
  dispatchMaxConcurrency: number;
  smsPricesUsd?: string | undefined;
  resources: {
    messagesTable(j: Jurisdiction): string;
    queueUrl(j: Jurisdiction, queue: QueueName | 'webhookDlq'): string;
    tenantsTable: string;
    systemKeyId: string;
    /** The global region's system key (the source of the system secrets). */
    globalSystemKeyArn: string;
  };
}

export type QueueName = keyof typeof QUEUES;

export interface SettingSpec {
  schema: z.ZodType;
  doc: string;
  /** The CDK app's value; undefined: not set (the setting is then optional). */
  value?: (ctx: DeployContext) => string | undefined;
  /** Only the local runtime sets it; the CDK app never does. */
  localOnly?: true;
  /** The stack sets it beside the resource it names, once that exists (not from the deploy context). */
  setByStack?: true;
  /** Needed only when another setting has a value, e.g. EUM_CONFIGURATION_SET when CARRIER=eum. */
  requiredWhen?: { setting: string; equals: string };
}

const name = z.string().min(1);
const url = z.url();
const positiveInt = z.coerce.number().int().positive();
/** A catalogue entry that keeps its schema's type (so a parsed setting has its value's type). */
type Spec<T extends z.ZodType> = SettingSpec & { schema: T };
const days = (doc: string, value: number): Spec<typeof positiveInt> => ({
  schema: positiveInt,
  doc,
  value: () => String(value),
});
const json = <T extends z.ZodType>(schema: T, what: string) =>
  z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${what} must be JSON` });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** EUM's SendTextMessage MaxPrice: `[0-9]{0,2}\.[0-9]{1,5}`, 2 to 8 characters (API reference). */
export const EUM_MAX_PRICE_PATTERN = /^[0-9]{0,2}\.[0-9]{1,5}$/;
/** EUM's SendTextMessage TimeToLive: 5 to 259,200 seconds (72 hours) (API reference). */
export const EUM_TTL_RANGE = { min: 5, max: 259_200 } as const;

const perJurisdiction = <S extends string, T extends z.ZodType>(
  suffix: S,
  spec: (j: Jurisdiction) => Spec<T>,
) =>
  ({ [`GLOBAL_${suffix}`]: spec('global'), [`EU_${suffix}`]: spec('eu') }) as Record<
    `GLOBAL_${S}` | `EU_${S}`,
    Spec<T>
  >;
const queueUrl = <S extends string>(suffix: S, queue: QueueName | 'webhookDlq', doc: string) =>
  perJurisdiction(suffix, (j) => ({
    schema: url,
    doc: `${doc} (${j})`,
    value: (ctx) => ctx.resources.queueUrl(j, queue),
  }));

export const SETTINGS = {
  JURISDICTION: {
    schema: z.enum(['global', 'eu']),
    doc: "The region's own jurisdiction (an API stage variable `jurisdiction` overrides it per request).",
    value: (ctx) => ctx.jurisdiction,
  },
  ...perJurisdiction('REGION', (j) => ({
    schema: name,
    doc: `The ${j} jurisdiction's region.`,
    value: (ctx) => ctx.regions[j],
  })),
  ...perJurisdiction('MESSAGES_TABLE', (j) => ({
    schema: name,
    doc: `The ${j} jurisdiction's messages table.`,
    value: (ctx) => ctx.resources.messagesTable(j),
  })),
  ...queueUrl('DISPATCH_QUEUE_URL', 'dispatch', 'The dispatch queue'),
  ...queueUrl('CARRIER_EVENTS_QUEUE_URL', 'carrierEvents', 'The carrier events queue'),
  ...queueUrl('WEBHOOK_QUEUE_URL', 'webhooks', 'The webhook deliveries queue'),
  ...queueUrl('WEBHOOK_DLQ_URL', 'webhookDlq', "The webhook queue's dead-letter queue"),
  ...queueUrl('AUDIT_QUEUE_URL', 'audit', 'The FIFO audit queue'),
  ...perJurisdiction('API_URL', (j) => ({
    schema: url.optional(),
    doc: `The ${j} public endpoint named in 421 answers (custom domain; optional).`,
    value: (ctx) => ctx.apiUrls[j],
  })),
  EU_RELAY_URL: {
    schema: url,
    doc: "Global region, forward residency: the EU region's API, to which a forward tenant's requests for EU/EEA subjects and EU data are relayed as they came (`-c euApiUrl`; required).",
    value: (ctx) => ctx.apiUrls.eu,
  },
  TENANTS_TABLE: {
    schema: name,
    doc: "The tenants table: a global table, read and written in the function's own region.",
    value: (ctx) => ctx.resources.tenantsTable,
  },
  TENANTS_REGION: {
    schema: name,
    doc: 'The region of the tenants table replica and the system key the function uses: its own.',
    value: (ctx) => ctx.regions[ctx.jurisdiction],
  },
  TENANTS_REPLICA_REGIONS: {
    schema: z
      .string()
      .transform((v) => v.split(','))
      .pipe(z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region')).min(1)),
    doc: "The tenants table's replica regions, the global one first: each region writes its own counter items (rate limit, monthly cap) and reads the others' for the total.",
    value: (ctx) => `${ctx.regions.global},${ctx.regions.eu}`,
  },
  SYSTEM_KEY_ID: {
    schema: name,
    doc: "The own region's KMS key that wraps the API key pepper and the recipient pseudonym secret.",
    value: (ctx) => ctx.resources.systemKeyId,
  },
  SYSTEM_SECRETS_SOURCE_KEY_ARN: {
    schema: z
      .string()
      .regex(/^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, 'a KMS key or alias ARN'),
    doc: "EU region: the global region's system key, which made the system secrets; used once per region to unwrap them and keep this region's copy.",
    value: (ctx) => ctx.resources.globalSystemKeyArn,
  },
  ACCOUNT_ID: {
    schema: z.string().regex(/^\d{12}$/, 'an AWS account id'),
    doc: 'The account named in tenant key policies.',
    value: (ctx) => ctx.account,
  },
  TENANT_ACCESS_ROLE_ARN: {
    schema: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN'),
    doc: "The function's tenant-access role, assumed per tenant with the session tag `tenant` for every access to tenant data.",
    setByStack: true,
  },
  TENANT_SETTINGS_CACHE_SECONDS: {
    schema: z.coerce.number().int().nonnegative(),
    doc: "Seconds an instance caches a tenant's controls, replies and webhook endpoints (the authorizer's cache).",
    value: () => String(AUTHORIZER_CACHE_SECONDS),
  },
  BACKUP_WINDOW_DAYS: days(
    'Point-in-time recovery window, stated by erasure and closure.',
    RECORDS.backupWindowDays,
  ),
  ERASURE_RECORD_DAYS: days("Days a subject erasure's record is kept.", RECORDS.erasureRecordDays),
  CLOSED_RECORDS_DAYS: days(
    'Days billing and audit records outlive a closed account.',
    RECORDS.closedAccountRecordsDays,
  ),
  KEY_DELETION_DAYS: days(
    "KMS's waiting period before a closed account's keys are destroyed.",
    RECORDS.keyDeletionDays,
  ),
  SENDER_IDENTITY_DAYS: days(
    "Days a sender ID application's identity details are kept.",
    RECORDS.senderIdentityDays,
  ),
  AUDIT_RETENTION_DAYS: days('Days an audit entry is kept.', RECORDS.auditTrailDays),
  USAGE_RETENTION_DAYS: days("Days a tenant's usage counters are kept.", RECORDS.usageRecordDays),
  ANALYTICS_RETENTION_DAYS: days('Days the anonymised counters are kept.', RECORDS.analyticsDays),
  WEBHOOK_HISTORY_DAYS: days("Days a webhook delivery's history entry is kept.", RECORDS.webhookHistoryDays),
  WEBHOOK_TIMEOUT_MS: {
    schema: positiveInt.optional(),
    doc: 'Milliseconds a webhook receiver has to answer (10,000 when unset).',
  },
  WEBHOOK_RETRY_SCHEDULE_SECONDS: {
    schema: z
      .string()
      .regex(/^\d+(,\d+)*$/)
      .optional(),
    doc: 'Webhook retry delays in seconds, comma-separated (the default schedule when unset).',
  },
  DISPATCH_LEASE_SECONDS: {
    schema: positiveInt,
    doc: "The dispatch claim lease: the dispatch queue's visibility timeout.",
    value: () => String(visibilityTimeoutSeconds(QUEUES.dispatch)),
  },
  DISPATCH_MAX_RECEIVE_COUNT: {
    schema: positiveInt,
    doc: "The dispatch queue's maxReceiveCount.",
    value: () => String(QUEUES.dispatch.maxReceiveCount),
  },
  DISPATCH_CARRIER_TIMEOUT_SECONDS: {
    schema: positiveInt.optional(),
    doc: "Seconds the dispatch worker waits for the carrier's answer (10 when unset).",
  },
  DISPATCH_SEND_RATES: {
    schema: json(SendRates, 'DISPATCH_SEND_RATES').optional(),
    doc: 'JSON {"account":n,"default":n,"<origination identity>":n}: message parts per second the carrier allows, for the whole account in the region, for an identity not named, and per identity (`-c sendRates`). Each dispatch instance paces at its share (rate / DISPATCH_MAX_CONCURRENCY). Not set: not paced.',
    value: (ctx) => ctx.sendRates,
  },
  DISPATCH_MAX_CONCURRENCY: {
    schema: positiveInt,
    doc: "The dispatch event source's MaximumConcurrency: how many instances share the send rates.",
    value: (ctx) => String(ctx.dispatchMaxConcurrency),
  },
  SANDBOX_CARRIER_MPS: {
    schema: z.coerce.number().int().positive().optional(),
    doc: 'The sandbox carrier throttles an origination identity past this many messages in a second, as End User Messaging does (local runs; not set: never).',
    localOnly: true,
  },
  CARRIER: {
    schema: z.enum(['sandbox', 'eum']),
    doc: '`sandbox`, or `eum` for AWS End User Messaging SMS (test-mode keys always use the sandbox).',
    value: (ctx) => ctx.carrier.kind,
  },
  EUM_CONFIGURATION_SET: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_:/-]{1,256}$/)
      .optional(),
    doc: 'The EUM configuration set (its event destination publishes to the carrier events queue).',
    value: (ctx) => (ctx.carrier.kind === 'eum' ? ctx.carrier.configurationSet : undefined),
    requiredWhen: { setting: 'CARRIER', equals: 'eum' },
  },
  EUM_MAX_PRICE: {
    schema: z.string().regex(EUM_MAX_PRICE_PATTERN, 'must match [0-9]{0,2}.[0-9]{1,5}, e.g. 0.05').optional(),
    doc: 'The most to pay per message part, in USD (`-c eumMaxPrice`).',
    value: (ctx) => (ctx.carrier.kind === 'eum' ? ctx.carrier.maxPrice : undefined),
  },
  EUM_TTL_SECONDS: {
    schema: z.coerce.number().int().min(EUM_TTL_RANGE.min).max(EUM_TTL_RANGE.max).optional(),
    doc: 'How long EUM keeps trying to hand a message off, 5 to 259,200 s (`-c eumTtlSeconds`; 72 hours when unset).',
    value: (ctx) =>
      ctx.carrier.kind === 'eum' && ctx.carrier.ttlSeconds !== undefined
        ? String(ctx.carrier.ttlSeconds)
        : undefined,
  },
  GATEWAY_ORIGINATION: {
    schema: json(GatewayOrigination, 'GATEWAY_ORIGINATION'),
    doc: 'JSON {"global":{...},"eu":{...}}: per jurisdiction, country code (or "default") to the identity one-time codes and block-all confirmations go out from (`-c gatewayOrigination`).',
    value: (ctx) => ctx.origination,
  },
  GATEWAY_MESSAGE_BUDGET: {
    schema: json(GatewayMessageBudget, 'GATEWAY_MESSAGE_BUDGET'),
    doc: 'JSON {"perHour":n,"perCountryPerHour":{"*":n,"US":n}}: how many one-time codes and confirmations the gateway sends on its own behalf per hour, in all and per recipient country, counted in the region that took the request (`-c gatewayMessageBudget`; 1,000 and 100 when not given).',
    value: (ctx) => ctx.gatewayMessageBudget,
  },
  SMS_PRICES_USD: {
    schema: json(
      z.record(z.string().regex(/^([A-Z]{2}|\*)$/), z.number().nonnegative()),
      'SMS_PRICES_USD',
    ).optional(),
    doc: 'JSON list prices per segment by country (`*`: the rest) for the usage estimate (`-c smsPricesUsd`).',
    value: (ctx) => ctx.smsPricesUsd,
  },
  SANDBOX_LEDGER_TABLE: {
    schema: name.optional(),
    doc: 'Where the sandbox carrier records what "handsets" received.',
    localOnly: true,
  },
  WEBHOOK_ALLOW_LOOPBACK: {
    schema: z
      .enum(['true', 'false'])
      .optional()
      .transform((v) => v === 'true'),
    doc: '`true` lets webhooks reach this machine (tests, trying webhooks locally).',
    localOnly: true,
  },
  POWERTOOLS_METRICS_DISABLED: {
    schema: z.enum(['true', 'false']).optional(),
    doc: 'Read by Powertools: silences EMF metric lines on a developer console.',
    localOnly: true,
  },
  AWS_ENDPOINT_URL_DYNAMODB: {
    schema: url.optional(),
    doc: 'Read by the SDK: DynamoDB Local.',
    localOnly: true,
  },
  AWS_ENDPOINT_URL_SQS: { schema: url.optional(), doc: 'Read by the SDK: the local SQS.', localOnly: true },
  AWS_ENDPOINT_URL_KMS: {
    schema: url.optional(),
    doc: 'Read by the SDK: the KMS stand-in.',
    localOnly: true,
  },
  AWS_ENDPOINT_URL_STS: {
    schema: url.optional(),
    doc: 'Read by the SDK: the STS stand-in (tenant-access roles).',
    localOnly: true,
  },
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
export type SettingValue<N extends SettingName> = z.infer<(typeof SETTINGS)[N]['schema']>;

export const settingSpec = (n: SettingName): SettingSpec => SETTINGS[n];

/** Settings only the local runtime sets (it may add exactly these to a function's environment). */
export const LOCAL_ONLY_SETTINGS = (Object.keys(SETTINGS) as SettingName[]).filter(
  (n) => settingSpec(n).localOnly,
);

/** A setting whose value may be absent (optional schema, or the CDK app has none to give). */
export const isOptional = (n: SettingName) => settingSpec(n).schema.safeParse(undefined).success;

/** The prefix of a jurisdiction's own settings (`GLOBAL_MESSAGES_TABLE`, `EU_DISPATCH_QUEUE_URL`, ...). */
export const envPrefix = (j: Jurisdiction) => (j === 'eu' ? 'EU' : 'GLOBAL');
