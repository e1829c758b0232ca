import { loadConfig, registerDeclaredSettings } from './config.ts';
import type { Jurisdiction } from './core/model.ts';
import {
  envPrefix,
  type QueueName,
  SETTINGS,
  type SettingName,
  type SettingValue,
  settingSpec,
} from './settings.ts';

/**
 * A function's one declaration: its trigger, size, the settings it reads and what it needs in
 * each jurisdiction. The CDK app builds the function, its environment, its grants and its trigger
 * from it; the handler parses exactly these settings at cold start. It lives beside the handler
 * (`functions/<name>.def.ts`) and imports no runtime code, so the CDK app can read it.
 */
export interface FunctionDeclaration<N extends string = string> {
  name: N;
  description: string;
  trigger: Trigger;
  timeoutSeconds: number;
  /** 512 MB when unset. */
  memoryMB?: number;
  /** A CDK context key whose value, when given, reserves that much concurrency (its floor and its cap). */
  reservedConcurrencyContext?: string;
  /** Settings read besides those its needs bring (table names, queue URLs, keys, carrier). */
  settings: readonly SettingName[];
  needs: Needs;
  /**
   * In the global region, relays a forward tenant's requests for EU/EEA subjects and EU data to
   * the EU region's API (`EU_RELAY_URL`), instead of touching EU tables, queues or keys.
   */
  relaysToEu?: true;
  /**
   * Its messages tables and tenant keys are reached only through a tenant-access role assumed per
   * tenant (session tag `tenant`), limited to that tenant's items and encryption context; its
   * execution role keeps none of that access (`TENANT_ACCESS_ROLE_ARN`, `layers/tenant-scope.ts`).
   */
  tenantScoped?: true;
  /**
   * What a tenant-scoped function still reaches with its execution role: gateway-wide items of
   * the messages tables it uses (no tenant's), by partition-key pattern, e.g. the block list
   * (`{ messages: { read: ['BLOCK#*'] } }`). A pattern must start with a fixed upper- or
   * lower-case word and `#`, so that no tenant's partition (`ten_...`) can ever match it.
   * `tenants`: the execution role's patterns in the tenants table (e.g. the rate buckets, `RATE#*`,
   * and the system secrets, `SYSTEM`); a tenant-scoped function reaches the tenant's own items
   * there (its profile, API key records, sender IDs, webhook endpoints, monthly counters,
   * Idempotency-Key claims) through its tenant-access role only (`needs.tenants`).
   */
  gatewayWide?: { messages?: KeyPatternAccess; tenants?: KeyPatternAccess };
}

/** Access to the items whose partition key matches one of the patterns (`dynamodb:LeadingKeys`). */
export type KeyPatternAccess = Exclude<TableAccess, string>;

export type Trigger =
  /** Its routes are those of `layers/http/routes.ts` naming it. */
  | { kind: 'http' }
  | { kind: 'authorizer' }
  /**
   * End User Messaging's carrier events topic (its two-way replies and delivery events), invoked
   * by SNS (asynchronously). Deployed only with `CARRIER=eum`, the one carrier that publishes there.
   */
  | { kind: 'sns'; topic: 'carrierEvents' }
  | {
      kind: 'queue';
      /** Its own region's queue. */
      queue: QueueName;
      batchSize: number;
      maxBatchingWindowSeconds: number;
      partialBatchResponses: boolean;
      /** The event source mapping's MaximumConcurrency (2 to 1,000). */
      maxConcurrency: number;
      /** A CDK context key that overrides `maxConcurrency`. */
      maxConcurrencyContext?: string;
    };

export type QueueAccess = 'send' | 'consume' | 'consume+send';
/**
 * Whole-table access, or access limited to items whose partition key matches one of the patterns
 * (`dynamodb:LeadingKeys`), plus queries of named indexes.
 */
export type TableAccess =
  | 'read'
  | 'readWrite'
  | {
      read?: readonly string[];
      /** PutItem and UpdateItem. */
      write?: readonly string[];
      delete?: readonly string[];
      queryIndexes?: readonly string[];
    };

/** What a function touches in one jurisdiction (its table, queues, keys, carrier). */
export interface JurisdictionNeeds {
  messages?: TableAccess;
  dispatch?: QueueAccess;
  carrierEvents?: QueueAccess;
  webhooks?: QueueAccess;
  audit?: QueueAccess;
  webhookDlq?: 'send';
  /** read: unwrap data keys; write: also create keys and wrap; admin: also schedule their deletion. */
  tenantKeys?: 'read' | 'write' | 'admin';
  /** Sends SMS through the carrier in that jurisdiction's region (the sandbox reports on its carrier events queue). */
  sms?: true;
}

export interface Needs {
  /** The function's own region's jurisdiction. */
  own?: JurisdictionNeeds;
  /** The other jurisdiction. */
  other?: JurisdictionNeeds;
  /**
   * The other jurisdiction only where the function runs in the EU region (there, the global
   * one's resources): that direction moves no EU subject's data out of the EU. A global-region
   * function relays what concerns the EU instead (`relaysToEu`).
   */
  otherFromEu?: JurisdictionNeeds;
  /**
   * The own jurisdiction where the function runs in the EU region only (webhook secrets' EU
   * copies: sealed there, never in the global region).
   */
  ownInEu?: JurisdictionNeeds;
  /** A fixed jurisdiction whichever the region (webhook secrets are sealed under the global key). */
  global?: JurisdictionNeeds;
  /**
   * The tenants table: a global table, used through the replica in the function's own region. In
   * a tenant-scoped function, its tenant-access role's access to the session tenant's items
   * (`read` or `readWrite`); its execution role keeps `gatewayWide.tenants` alone.
   */
  tenants?: TableAccess;
  /** The tenants table where the function runs in the EU region only, added to `tenants` (webhook secrets' EU copies). */
  tenantsInEu?: TableAccess;
  /** The system key (GenerateDataKey and Decrypt): the pepper and the recipient pseudonym secret. */
  systemKey?: true;
}

export const JURISDICTIONS: readonly Jurisdiction[] = ['global', 'eu'];

const TABLE_RANK = { read: 1, readWrite: 2 } as const;
const KEY_RANK = { read: 1, write: 2, admin: 3 } as const;

function mergeTable(a: TableAccess, b: TableAccess | undefined): TableAccess;
function mergeTable(a: TableAccess | undefined, b: TableAccess | undefined): TableAccess | undefined;
function mergeTable(a: TableAccess | undefined, b: TableAccess | undefined): TableAccess | undefined {
  if (!a || !b) return a ?? b;
  if (typeof a === 'string' && typeof b === 'string') return TABLE_RANK[a] >= TABLE_RANK[b] ? a : b;
  if (typeof b === 'string') return mergeTable(b, a);
  if (typeof a === 'string') return a === 'readWrite' || !(b.write || b.delete) ? a : 'readWrite';
  const union = (x?: readonly string[], y?: readonly string[]) =>
    x || y ? [...new Set([...(x ?? []), ...(y ?? [])])] : undefined;
  const read = union(a.read, b.read);
  const write = union(a.write, b.write);
  const remove = union(a.delete, b.delete);
  const queryIndexes = union(a.queryIndexes, b.queryIndexes);
  return {
    ...(read ? { read } : {}),
    ...(write ? { write } : {}),
    ...(remove ? { delete: remove } : {}),
    ...(queryIndexes ? { queryIndexes } : {}),
  };
}
function mergeQueue(a?: QueueAccess, b?: QueueAccess): QueueAccess | undefined {
  if (!a || !b || a === b) return a ?? b;
  return 'consume+send';
}
function merge(a: JurisdictionNeeds, b: JurisdictionNeeds | undefined): JurisdictionNeeds {
  if (!b) return a;
  const out: JurisdictionNeeds = { ...a, ...b };
  const messages = mergeTable(a.messages, b.messages);
  if (messages) out.messages = messages;
  for (const q of ['dispatch', 'carrierEvents', 'webhooks', 'audit'] as const) {
    const access = mergeQueue(a[q], b[q]);
    if (access) out[q] = access;
  }
  if (a.tenantKeys && b.tenantKeys) {
    out.tenantKeys = KEY_RANK[a.tenantKeys] >= KEY_RANK[b.tenantKeys] ? a.tenantKeys : b.tenantKeys;
  }
  return out;
}

/** A declaration's needs in each jurisdiction, for the region of jurisdiction `own`. */
export function needsIn(d: FunctionDeclaration, own: Jurisdiction): Record<Jurisdiction, JurisdictionNeeds> {
  const of = (j: Jurisdiction) => {
    let n = merge({}, j === own ? d.needs.own : d.needs.other);
    if (j !== own && own === 'eu') n = merge(n, d.needs.otherFromEu);
    if (j === own && own === 'eu') n = merge(n, d.needs.ownInEu);
    if (j === 'global') n = merge(n, d.needs.global);
    // The sandbox carrier (every deployment's test-mode traffic) reports on the carrier events queue.
    if (n.sms) n = merge(n, { carrierEvents: 'send' });
    return n;
  };
  return { global: of('global'), eu: of('eu') };
}

const sends = (a?: QueueAccess) => a === 'send' || a === 'consume+send';

/** A declaration's access to the tenants table in the region of jurisdiction `own`. */
export const tenantsNeedIn = (d: FunctionDeclaration, own: Jurisdiction): TableAccess | undefined =>
  own === 'eu' ? mergeTable(d.needs.tenants, d.needs.tenantsInEu) : d.needs.tenants;

/** Every setting the function reads in the region of jurisdiction `own` (JURISDICTION first). */
export function settingsOf(d: FunctionDeclaration, own: Jurisdiction): SettingName[] {
  const out = new Set<SettingName>(['JURISDICTION', ...d.settings]);
  const needs = needsIn(d, own);
  for (const j of JURISDICTIONS) {
    const n = needs[j];
    const p = envPrefix(j);
    if (Object.keys(n).length === 0) continue;
    out.add(`${p}_REGION`);
    if (n.messages) out.add(`${p}_MESSAGES_TABLE`);
    if (sends(n.dispatch)) out.add(`${p}_DISPATCH_QUEUE_URL`);
    if (sends(n.carrierEvents)) out.add(`${p}_CARRIER_EVENTS_QUEUE_URL`);
    // The webhook worker also finds its own queue (a record's source) by URL to retry on it.
    if (n.webhooks) out.add(`${p}_WEBHOOK_QUEUE_URL`);
    if (sends(n.audit)) out.add(`${p}_AUDIT_QUEUE_URL`);
    if (n.webhookDlq) out.add(`${p}_WEBHOOK_DLQ_URL`);
    if (n.tenantKeys) out.add('ACCOUNT_ID');
    if (n.sms) {
      for (const s of ['CARRIER', 'EUM_CONFIGURATION_SET', 'EUM_MAX_PRICE', 'EUM_TTL_SECONDS'] as const)
        out.add(s);
      out.add('SANDBOX_LEDGER_TABLE');
      out.add('SANDBOX_CARRIER_MPS');
    }
  }
  if (d.needs.tenants || d.needs.systemKey) {
    out.add('TENANTS_TABLE');
    out.add('TENANTS_REGION');
    out.add('TENANTS_REPLICA_REGIONS');
  }
  if (d.needs.systemKey) out.add('SYSTEM_KEY_ID');
  if (d.needs.systemKey && own === 'eu') out.add('SYSTEM_SECRETS_SOURCE_KEY_ARN');
  if (d.relaysToEu && own === 'global') out.add('EU_RELAY_URL');
  if (d.tenantScoped) out.add('TENANT_ACCESS_ROLE_ARN');
  return [...out];
}

/**
 * A gateway-wide partition: a word of letters, alone (`SYSTEM`) or followed by `#` before any
 * wildcard (a tenant id, `ten_...`, is neither).
 */
const GATEWAY_WIDE_KEY = /^[A-Za-z]+(#[^*?]*\*?)?$/;

/**
 * Indexes whose partition is no tenant's: `byRecipient` (a person's gateway-wide pseudonym, reply
 * routing, projecting ids, sender and time only). `bySubject`'s partition is `<tenant>#...`.
 */
const GATEWAY_WIDE_INDEXES: readonly string[] = ['byRecipient'];

/** Checks a declaration where it is written (a mistake fails the build, not a deploy). */
export function defineFunction<const N extends string>(d: FunctionDeclaration<N>): FunctionDeclaration<N> {
  if (d.needs.systemKey && !d.needs.tenants) {
    throw new Error(`${d.name}: the system key's secrets live in the tenants table; declare needs.tenants`);
  }
  for (const side of ['other', 'otherFromEu', 'global'] as const) {
    const n = d.needs[side];
    if (n && Object.values({ ...n }).some((a) => a === 'consume' || a === 'consume+send')) {
      throw new Error(`${d.name}: a function consumes only its own region's queues`);
    }
  }
  if (d.trigger.kind === 'queue') {
    const own = d.needs.own?.[d.trigger.queue];
    if (own !== 'consume' && own !== 'consume+send') {
      throw new Error(
        `${d.name}: its trigger consumes the ${d.trigger.queue} queue; declare needs.own.${d.trigger.queue}`,
      );
    }
    if (d.trigger.maxConcurrency < 2 || d.trigger.maxConcurrency > 1000) {
      throw new Error(`${d.name}: an SQS event source's maximum concurrency is 2 to 1,000`);
    }
  }
  for (const s of d.settings) {
    if (!(s in SETTINGS)) throw new Error(`${d.name}: unknown setting ${s}`);
  }
  if (d.gatewayWide && !d.tenantScoped) {
    throw new Error(
      `${d.name}: gatewayWide narrows a tenant-scoped function's execution role; declare tenantScoped`,
    );
  }
  for (const tenants of [d.needs.tenants, d.needs.tenantsInEu]) {
    if (d.tenantScoped && tenants !== undefined && typeof tenants !== 'string') {
      throw new Error(
        `${d.name}: a tenant-scoped function reaches the tenants table's tenant items through its tenant role (needs.tenants: read or readWrite); gateway-wide items by pattern in gatewayWide.tenants`,
      );
    }
  }
  for (const access of [d.gatewayWide?.messages, d.gatewayWide?.tenants]) {
    const { queryIndexes, ...patterns } = access ?? {};
    if (queryIndexes?.some((i) => !GATEWAY_WIDE_INDEXES.includes(i))) {
      throw new Error(
        `${d.name}: gateway-wide access queries no index but ${GATEWAY_WIDE_INDEXES.join(', ')}`,
      );
    }
    for (const pattern of Object.values(patterns).flat()) {
      if (!GATEWAY_WIDE_KEY.test(pattern)) {
        throw new Error(`${d.name}: gateway-wide key pattern ${pattern} could match a tenant's partition`);
      }
    }
  }
  return d;
}

let tenantsTableScoped = false;
/**
 * Whether the running function (its declaration, registered by `loadSettings`) reaches the
 * tenants table's tenant items through its tenant-access role: every tenant-scoped one.
 */
export const reachesTenantsTableAsTenant = (): boolean => tenantsTableScoped;

/** A function's parsed settings; reading one it did not declare throws. */
export type Settings = { readonly [K in SettingName]: SettingValue<K> };

/**
 * Parses the function's declared settings at cold start and registers them, so a later read of
 * any other setting (through `loadConfig`) fails. A missing or malformed one stops the function:
 * `Invalid configuration: NAME: ... (function x)`.
 */
export function loadSettings(d: FunctionDeclaration): Settings {
  tenantsTableScoped = d.tenantScoped === true && d.needs.tenants !== undefined;
  const { JURISDICTION } = loadConfig({ JURISDICTION: SETTINGS.JURISDICTION.schema }, d.name);
  const names = settingsOf(d, JURISDICTION);
  registerDeclaredSettings(d.name, names);
  const parsed = loadConfig(
    Object.fromEntries(names.map((n) => [n, settingSpec(n).schema])),
    d.name,
  ) as Record<string, unknown>;
  for (const n of names) {
    const when = settingSpec(n).requiredWhen;
    if (when && parsed[n] === undefined && parsed[when.setting] === when.equals) {
      throw new Error(
        `Invalid configuration: ${n}: required when ${when.setting}=${when.equals} (function ${d.name})`,
      );
    }
  }
  return new Proxy(parsed, {
    get(target, key) {
      if (typeof key === 'string' && !names.includes(key as SettingName)) {
        throw new Error(`function ${d.name} reads setting ${key}, which its declaration does not list`);
      }
      return target[key as string];
    },
  }) as Settings;
}

/** The same needs in both jurisdictions (a message goes to its recipient's, whichever region took it). */
export const bothJurisdictions = (n: JurisdictionNeeds): Pick<Needs, 'own' | 'other'> => ({
  own: n,
  other: n,
});

/**
 * The same needs in the own jurisdiction and, in the EU region only, in the global one: the
 * global region's function relays a forward tenant's EU subjects to the EU API instead.
 */
export const ownAndGlobalFromEu = (n: JurisdictionNeeds): Pick<Needs, 'own' | 'otherFromEu'> => ({
  own: n,
  otherFromEu: n,
});

/** What a tenant route's execution role keeps in the tenants table: the rate buckets and the system secrets. */
const ROUTE_GATEWAY_WIDE_TENANTS: KeyPatternAccess = {
  read: ['RATE#*', 'SYSTEM'],
  write: ['RATE#*', 'SYSTEM'],
};

/** HTTP functions answer within API Gateway's 29-second integration limit. */
export const HTTP_TIMEOUT_SECONDS = 29;

/**
 * What every tenant route's guards use besides its own work: the rate limit and the send policy
 * (the messages tables' block and opt-out lists, the tenants table's counters and settings, the
 * recipient pseudonym under the system key) and the audit trail (the audit queues): in its own
 * region's jurisdiction and, in the EU region only, the global one. No tenant route in the global
 * region holds an EU grant: `needs.other` is for gateway-wide functions only.
 *
 * The tenants table: the tenant's own items, read (`needs.tenants: 'readWrite'` for a route that
 * writes them), through a tenant-scoped route's tenant-access role; its execution role keeps the
 * rate buckets (`RATE#*`) and the system secrets (`SYSTEM`, made on first use).
 */
export function tenantRoute(
  d: Omit<FunctionDeclaration, 'trigger' | 'timeoutSeconds' | 'needs'> & { needs: Needs },
): FunctionDeclaration {
  const guards: JurisdictionNeeds = { messages: 'read', audit: 'send' };
  if (d.needs.other) {
    throw new Error(
      `${d.name}: a tenant route reaches the other jurisdiction from the EU region only (needs.otherFromEu); the global region relays it`,
    );
  }
  const gatewayWide: FunctionDeclaration['gatewayWide'] = d.tenantScoped
    ? {
        ...d.gatewayWide,
        tenants: mergeTable(ROUTE_GATEWAY_WIDE_TENANTS, d.gatewayWide?.tenants) as KeyPatternAccess,
      }
    : d.gatewayWide;
  return {
    ...d,
    ...(gatewayWide ? { gatewayWide } : {}),
    trigger: { kind: 'http' },
    timeoutSeconds: HTTP_TIMEOUT_SECONDS,
    settings: [...new Set<SettingName>(['TENANT_SETTINGS_CACHE_SECONDS', ...d.settings])],
    needs: {
      ...d.needs,
      own: merge(guards, d.needs.own),
      // A global-region instance screens and audits its own region only (the EU's work is the
      // EU API's, relayed or answered 421): the other jurisdiction's guards only from the EU region.
      otherFromEu: merge(guards, d.needs.otherFromEu),
      tenants: mergeTable('read', d.needs.tenants),
      systemKey: true,
    },
  };
}

/**
 * A tenant route of the relayed kind (messages, opt-outs, consents): tenant-scoped, in both
 * regions with the same needs of its own jurisdiction's data (and the global one's from the EU
 * region), the global region relaying what concerns the EU to the EU API.
 */
export function relayedTenantRoute<const N extends string>(
  name: N,
  description: string,
  needs: JurisdictionNeeds,
): FunctionDeclaration<N> {
  return defineFunction({
    ...tenantRoute({
      name,
      relaysToEu: true,
      tenantScoped: true,
      description,
      settings: ['GLOBAL_API_URL', 'EU_API_URL'],
      needs: ownAndGlobalFromEu(needs),
    }),
    name,
  });
}
