import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/cdk/app.ts';
import { SESSION_TENANT, SESSION_TENANT_RECORDS } from '../../infra/cdk/tenant-access.ts';
import { DECLARATIONS, type FunctionName } from '../../infra/declarations.ts';
import { functionFile } from '../../infra/function-files.ts';
import { clearDeclaredSettings, loadConfig, registerDeclaredSettings, setting } from '../../layers/config.ts';
import { originationFor } from '../../layers/core/origination.ts';
import { settingsOf } from '../../layers/declaration.ts';
import { present } from '../../layers/present.ts';
import { isOptional, type SettingName, settingSpec } from '../../layers/settings.ts';
import { policyOf, roleIds } from '../support/role-templates.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NAMES = Object.keys(DECLARATIONS) as FunctionName[];
/** A sandbox deployment has no End User Messaging topic, so no subscriber of it. */
const SANDBOX_NAMES = NAMES.filter((name) => DECLARATIONS[name].trigger.kind !== 'sns');
const EUM = {
  carrier: 'eum',
  eumConfigurationSet: 'gw',
  gatewayOrigination: '{"default":"Verify","US":"+12025550100","CA":"+14165550100"}',
};

/** Both regions' stateless templates, without bundling (the rules read the templates only). */
function synth(context: Record<string, unknown> = {}) {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'decl-')),
    context: { euApiUrl: 'https://eu.sms.example', 'aws:cdk:bundling-stacks': [], ...context },
  });
  const built = buildApp(app);
  return { global: Template.fromStack(built.global.stateless), eu: Template.fromStack(built.eu.stateless) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (t: Template, type: string) =>
  Object.entries(t.toJSON().Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);
const logicalPrefix = (name: string) => name.replace(/-/g, '');
const envOf = (t: Template, name: FunctionName) => {
  const [, fn] = resources(t, 'AWS::Lambda::Function').find(([id]) =>
    id.startsWith(`${logicalPrefix(name)}Function`),
  )!;
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
};
type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };
const statementsOf = (t: Template, name: string) =>
  resources(t, 'AWS::IAM::Policy')
    .filter(([id]) => id.startsWith(logicalPrefix(name)))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
const actions = (s: Statement) => [s.Action].flat();

/** A template value with its CloudFormation references replaced by a dummy of the right shape. */
function dummy(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (name === 'ACCOUNT_ID') return '123456789012';
  if (name.endsWith('_URL')) return `https://sqs.us-east-1.amazonaws.com/123456789012/${name.toLowerCase()}`;
  if (name === 'SYSTEM_KEY_ID' || name === 'SYSTEM_SECRETS_SOURCE_KEY_ARN')
    return 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  if (name.endsWith('_TABLE')) return `sms-gateway-${name.toLowerCase()}`;
  if (name === 'TENANT_ACCESS_ROLE_ARN') return 'arn:aws:iam::123456789012:role/tenant-access';
  throw new Error(`no dummy for ${name}`);
}

/** Imports a handler in a fresh Node process with exactly `env` (and PATH). */
function importIn(name: string, env: Record<string, string>): Promise<{ ok: boolean; stderr: string }> {
  const url = pathToFileURL(functionFile(name)).href;
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(url)});`],
      { cwd: ROOT, env: { ...env, PATH: process.env.PATH ?? '' } },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ ok: code === 0, stderr }));
  });
}

/** Runs the jobs two at a time (the machine is shared). */
async function twoAtATime<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

const sandbox = synth();
const eum = synth({ ...EUM, eumMaxPrice: '0.05', eumTtlSeconds: 600 });
const JURISDICTION_OF = { global: 'global', eu: 'eu' } as const;

describe('each function is built from its declaration', () => {
  it('sets exactly the declared settings (and NODE_OPTIONS, POWERTOOLS_*), in both regions, with either carrier', () => {
    for (const [variant, templates] of [
      ['sandbox', sandbox],
      ['eum', eum],
    ] as const) {
      for (const region of ['global', 'eu'] as const) {
        for (const name of variant === 'eum' ? NAMES : SANDBOX_NAMES) {
          const keys = Object.keys(envOf(templates[region], name)).filter(
            (k) => k !== 'NODE_OPTIONS' && !k.startsWith('POWERTOOLS_'),
          );
          const declared = settingsOf(DECLARATIONS[name], JURISDICTION_OF[region]).filter(
            (s) => !settingSpec(s).localOnly,
          );
          const where = `${name} (${region}, ${variant})`;
          // Nothing undeclared, every required one, and the optional ones this app has values for.
          expect(
            keys.filter((k) => !declared.includes(k as SettingName)),
            where,
          ).toEqual([]);
          const expected = declared.filter(
            (s) =>
              !isOptional(s) ||
              // -c euApiUrl is required (the relay), so 421 answers name the EU endpoint too.
              s === 'EU_API_URL' ||
              (variant === 'eum' &&
                ['EUM_CONFIGURATION_SET', 'EUM_MAX_PRICE', 'EUM_TTL_SECONDS'].includes(s)),
          );
          expect(keys.sort(), where).toEqual(expected.sort());
        }
      }
    }
  });

  it('starts every function with exactly its template environment, and refuses to start without a required setting', async () => {
    const cases: { name: FunctionName; region: string; env: Record<string, string>; missing?: string }[] = [];
    for (const region of ['global', 'eu'] as const) {
      for (const name of SANDBOX_NAMES) {
        const env = Object.fromEntries(
          Object.entries(envOf(sandbox[region], name)).map(([k, v]) => [k, dummy(k, v)]),
        );
        cases.push({ name, region, env });
        if (region === 'global' || name === 'record-audit-events' || name === 'deliver-webhooks') {
          const required = settingsOf(DECLARATIONS[name], JURISDICTION_OF[region]).filter(
            (s) => s !== 'JURISDICTION' && !isOptional(s) && s in env,
          );
          const missing = required.at(-1);
          if (missing) {
            const { [missing]: _gone, ...without } = env;
            cases.push({ name, region, env: without, missing });
          }
        }
      }
    }
    for (const name of [
      'dispatch-messages',
      'verifications',
      'apply-carrier-events',
      'receive-eum-events',
    ] as const) {
      const env = Object.fromEntries(
        Object.entries(envOf(eum.global, name)).map(([k, v]) => [k, dummy(k, v)]),
      );
      cases.push({ name, region: 'global (eum)', env });
      // A price the API would refuse stops the function at cold start, not at the first send.
      cases.push({
        name,
        region: 'global (eum)',
        env: { ...env, EUM_MAX_PRICE: '5' },
        missing: 'EUM_MAX_PRICE',
      });
    }
    const results = await twoAtATime(cases.map((c) => () => importIn(c.name, c.env)));
    const failures = cases.flatMap((c, i) => {
      const r = results[i]!;
      const where = `${c.name} (${c.region})${c.missing ? ` without ${c.missing}` : ''}`;
      if (!c.missing) return r.ok ? [] : [`${where}: ${r.stderr.split('\n').find((l) => /Error/.test(l))}`];
      return !r.ok && r.stderr.includes(`Invalid configuration: ${c.missing}:`) && r.stderr.includes(c.name)
        ? []
        : [`${where}: started, or failed without naming it: ${r.stderr.slice(0, 300)}`];
    });
    expect(failures).toEqual([]);
  }, 300_000);
});

describe('a read its declaration does not list', () => {
  it('fails with the function and the setting named', () => {
    registerDeclaredSettings('record-audit-events', ['JURISDICTION', 'GLOBAL_MESSAGES_TABLE']);
    try {
      expect(() => loadConfig({ EU_MESSAGES_TABLE: setting.name })).toThrow(
        'function record-audit-events reads setting EU_MESSAGES_TABLE, which its declaration does not list',
      );
    } finally {
      clearDeclaredSettings();
    }
  });
});

/**
 * What a global-region role may do to EU resources: each statement of its policies that names
 * the EU region or an EU table or queue, as "action(s) on resource(s)".
 */
function euGrantsOf(t: Template, name: FunctionName): string[] {
  return statementsOf(t, name)
    .filter((s) => /eu-central-1|sms-gateway-eu-/.test(JSON.stringify([s.Resource, s.Condition ?? null])))
    .map((s) => `${actions(s).join(',')} on ${JSON.stringify(s.Resource)}`);
}

/** Every tenant route relays the EU's work from the global region (or answers it 421). */
const RELAYING_TENANT_ROUTES = [
  'send-message',
  'send-batch',
  'list-messages',
  'get-message',
  'delete-message-body',
  'subjects',
  'opt-outs',
  'consents',
  'inbound',
  'sender-ids',
  'audit-events',
  'webhooks',
  'usage',
] as const satisfies readonly FunctionName[];
/** Tenant routes that touch no EU data at all: they screen and audit their own region only. */
const OWN_REGION_TENANT_ROUTES = ['settings'] as const satisfies readonly FunctionName[];

describe('the global region and EU data', () => {
  it('gives no global-region role a grant on an EU table, queue or key, whichever the carrier', () => {
    for (const t of [sandbox.global, eum.global]) {
      expect(NAMES.filter((name) => euGrantsOf(t, name).length > 0)).toEqual([]);
    }
    // The operator's admin function does the global jurisdiction's half of each action; the EU
    // half is the EU region's admin endpoint's, which the global one names (EU_API_URL).
    expect(Object.keys(envOf(sandbox.global, 'admin')).filter((k) => k.startsWith('EU_'))).toEqual([
      'EU_API_URL',
    ]);
    // The tenant routes relay, or touch no EU data: none of theirs names the EU region, its
    // tables, queues or keys, whichever the carrier.
    for (const name of [...RELAYING_TENANT_ROUTES, ...OWN_REGION_TENANT_ROUTES]) {
      expect(euGrantsOf(sandbox.global, name), name).toEqual([]);
      expect(euGrantsOf(eum.global, name), `${name} (eum)`).toEqual([]);
    }
    for (const name of RELAYING_TENANT_ROUTES) {
      expect(envOf(sandbox.global, name).EU_RELAY_URL, name).toBe('https://eu.sms.example');
      // Usage answers no 421 (a strict tenant's report counts the global region), so names no endpoint.
      expect(Object.keys(envOf(sandbox.global, name)).filter((k) => k.startsWith('EU_'))).toEqual(
        name === 'usage' ? ['EU_RELAY_URL'] : ['EU_API_URL', 'EU_RELAY_URL'],
      );
    }
    for (const name of OWN_REGION_TENANT_ROUTES) {
      expect(
        Object.keys(envOf(sandbox.global, name)).filter((k) => k.startsWith('EU_')),
        name,
      ).toEqual([]);
    }
    // Gateway-wide work: a reply from an EU/EEA number is relayed to the EU endpoint, each
    // region's carrier events worker handles its own queue, and an EU/EEA number's one-time code
    // is refused (421) at the global endpoint.
    for (const name of ['carrier-inbound', 'apply-carrier-events', 'verifications'] as const) {
      expect(euGrantsOf(sandbox.global, name), name).toEqual([]);
      expect(euGrantsOf(eum.global, name), `${name} (eum)`).toEqual([]);
    }
    expect(envOf(sandbox.global, 'carrier-inbound').EU_RELAY_URL).toBe('https://eu.sms.example');
  });

  it("handles End User Messaging's replies in a function SNS invokes, which relays an EU/EEA number's reply from the global region and holds no EU grant there", () => {
    // Its role in the global region names no EU table, queue or key; it relays to the EU endpoint.
    expect(statementsOf(eum.global, 'receive-eum-events')).not.toEqual([]);
    expect(euGrantsOf(eum.global, 'receive-eum-events')).toEqual([]);
    expect(envOf(eum.global, 'receive-eum-events').EU_RELAY_URL).toBe('https://eu.sms.example');
    // The EU region's may reach the global jurisdiction (a global number's reply taken there).
    expect(JSON.stringify(statementsOf(eum.eu, 'receive-eum-events'))).toContain(
      'sms-gateway-global-messages',
    );
    expect(envOf(eum.eu, 'receive-eum-events').EU_RELAY_URL).toBeUndefined();
    // SNS invokes it (asynchronously): no queue stands between the topic and it, in either region.
    for (const t of [eum.global, eum.eu]) {
      expect(resources(t, 'AWS::SNS::Subscription').map(([, r]) => r.Properties.Protocol)).toEqual([
        'lambda',
      ]);
      expect(
        resources(t, 'AWS::Lambda::Permission').some(
          ([id, r]) => id.startsWith('receiveeumevents') && r.Properties.Principal === 'sns.amazonaws.com',
        ),
      ).toBe(true);
    }
    // A sandbox deployment has no topic, and no subscriber of it.
    expect(
      resources(sandbox.global, 'AWS::Lambda::Function').some(([id]) => id.startsWith('receiveeumevents')),
    ).toBe(false);
  });

  it("lets the EU region's send functions reach the global region (that moves no EU subject's data out), and relay nothing", () => {
    for (const name of ['send-message', 'send-batch'] as const) {
      const grants = JSON.stringify(statementsOf(sandbox.eu, name).map((s) => s.Resource));
      expect(grants, name).toContain('sms-gateway-global-messages');
      expect(envOf(sandbox.eu, name).EU_RELAY_URL, name).toBeUndefined();
    }
  });

  it('refuses to synthesize without the EU API the global region relays to, saying what to pass', () => {
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'decl-')),
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    expect(() => buildApp(app)).toThrow(/-c euApiUrl=/);
  });
});

describe('the defects the declarations fix', () => {
  it('lets the webhook worker re-send a delivery to its own queue (its retries), and send to its DLQ', () => {
    for (const region of ['global', 'eu'] as const) {
      const sends = statementsOf(sandbox[region], 'deliver-webhooks').filter((s) =>
        actions(s).includes('sqs:SendMessage'),
      );
      const targets = JSON.stringify(sends.map((s) => s.Resource));
      expect(targets, region).toMatch(/WebhooksQueue(?!Dlq)|webhooks"/i);
      expect(sends.length, region).toBe(2);
    }
  });

  it('caps every SQS event source (dispatch from -c dispatchMaxConcurrency) and leaves the authorizer unreserved unless asked', () => {
    for (const region of ['global', 'eu'] as const) {
      const mappings = resources(sandbox[region], 'AWS::Lambda::EventSourceMapping');
      expect(mappings).toHaveLength(4);
      for (const [id, m] of mappings) {
        const max = (m.Properties.ScalingConfig as { MaximumConcurrency?: number } | undefined)
          ?.MaximumConcurrency;
        expect(max, id).toBeGreaterThanOrEqual(2);
      }
    }
    const tuned = synth({ dispatchMaxConcurrency: 20, authorizerReservedConcurrency: 50 }).global;
    const dispatch = resources(tuned, 'AWS::Lambda::EventSourceMapping').find(([id]) =>
      id.startsWith('dispatchmessages'),
    )!;
    expect(dispatch[1].Properties.ScalingConfig).toEqual({ MaximumConcurrency: 20 });
    const reserved = (t: Template) =>
      resources(t, 'AWS::Lambda::Function')
        .filter(([, f]) => f.Properties.ReservedConcurrentExecutions !== undefined)
        .map(([id, f]) => [id.replace(/Function.*/, ''), f.Properties.ReservedConcurrentExecutions]);
    expect(reserved(sandbox.global)).toEqual([]);
    expect(reserved(tuned)).toEqual([['authorize', 50]]);
    expect(() => synth({ dispatchMaxConcurrency: 1 })).toThrow(/2 to 1,000/);
  });

  it('gives dispatch the send rates of -c sendRates and the instances that share them, and lets it requeue on its own queue', () => {
    const paced = synth({
      sendRates: '{"account":20,"default":1,"+18005550100":3}',
      dispatchMaxConcurrency: 4,
    });
    for (const region of ['global', 'eu'] as const) {
      const env = envOf(paced[region], 'dispatch-messages');
      expect(JSON.parse(String(env.DISPATCH_SEND_RATES)), region).toEqual({
        account: 20,
        default: 1,
        '+18005550100': 3,
      });
      expect(env.DISPATCH_MAX_CONCURRENCY, region).toBe('4');
      const sends = statementsOf(paced[region], 'dispatch-messages').filter((s) =>
        actions(s).includes('sqs:SendMessage'),
      );
      expect(JSON.stringify(sends.map((s) => s.Resource)), region).toMatch(/DispatchQueue/);
    }
    // Without -c sendRates dispatch is not paced; the concurrency is the declaration's.
    expect(envOf(sandbox.global, 'dispatch-messages').DISPATCH_SEND_RATES).toBeUndefined();
    expect(envOf(sandbox.global, 'dispatch-messages').DISPATCH_MAX_CONCURRENCY).toBe('2');
    expect(() => synth({ sendRates: '{"account":0}' })).toThrow(/sendRates: account/);
    expect(() => synth({ sendRates: 'fast' })).toThrow(/sendRates must be JSON/);
  });

  it('lets only the admin function schedule a key deletion, and uses KMS in the two regions only', () => {
    for (const region of ['global', 'eu'] as const) {
      const schedulers = resources(sandbox[region], 'AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties).includes('kms:ScheduleKeyDeletion'))
        .map(([id]) => id.replace(/Function.*/, ''));
      expect(new Set(schedulers), region).toEqual(new Set(['admin']));
      expect(JSON.stringify(sandbox[region].toJSON()), region).not.toMatch(/arn:aws:kms:\*:/);
    }
  });

  it('gives the carrier webhook and the public flows only what their code uses', () => {
    const t = sandbox.global;
    const tenantsTable = (s: Statement) => JSON.stringify(s.Resource).includes('Tenants');
    const messagesTable = (s: Statement) => /messages/.test(JSON.stringify(s.Resource));
    // The carrier webhook handles a reply where it is taken (it is never queued in clear): its own
    // region's messages table, and of the tenants table only the routed tenant's items, read (its
    // tenant role), and the SYSTEM item (token hash, pepper; its execution role).
    const inbound = statementsOf(t, 'carrier-inbound');
    expect(JSON.stringify(inbound.filter(messagesTable))).toContain('sms-gateway-global-messages');
    expect(JSON.stringify(inbound.filter(messagesTable))).not.toContain('sms-gateway-eu-messages');
    for (const s of inbound.filter(tenantsTable)) {
      expect(actions(s)).not.toContain('dynamodb:Scan');
      expect(actions(s)).not.toContain('dynamodb:DeleteItem');
      const writes = actions(s).some((a) => /PutItem|UpdateItem|BatchWriteItem/.test(a));
      const tenantRole = JSON.stringify(s.Condition).includes('PrincipalTag');
      expect(writes && tenantRole, JSON.stringify(s)).toBe(false);
      expect(s.Condition, JSON.stringify(s)).toEqual({
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': tenantRole ? SESSION_TENANT_RECORDS : ['SYSTEM'],
        },
      });
    }
    // The public flows: verification and block items, the rate counters, the tenant a sender
    // belongs to; never a scan, never an unconditioned write.
    const verifications = statementsOf(t, 'verifications');
    for (const s of verifications.filter((x) => tenantsTable(x) || messagesTable(x))) {
      expect(actions(s), JSON.stringify(s)).not.toContain('dynamodb:Scan');
      const writes = actions(s).some((a) => /PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(a));
      if (writes) expect(JSON.stringify(s.Condition)).toContain('dynamodb:LeadingKeys');
    }
    expect(JSON.stringify(verifications)).not.toContain('alias/sms-gateway/tenant');
  });

  it('lets the authorizer read only key look-ups, tenant records and the system secrets of the tenants table, and write only the system secrets', () => {
    for (const region of ['global', 'eu'] as const) {
      const onTenants = statementsOf(sandbox[region], 'authorize').filter((s) =>
        /-tenants|Tenants/.test(JSON.stringify(s.Resource)),
      );
      expect(onTenants.length).toBeGreaterThan(0);
      for (const s of onTenants) {
        const keys = (s.Condition?.['ForAllValues:StringLike'] as Record<string, string[]> | undefined)?.[
          'dynamodb:LeadingKeys'
        ];
        const writes = actions(s).some((a) => /PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(a));
        expect(keys, JSON.stringify(s)).toEqual(writes ? ['SYSTEM'] : ['KEYHASH#*', 'ten_*', 'SYSTEM']);
        expect(actions(s)).not.toContain('dynamodb:Scan');
      }
    }
  });

  it('refuses at synth a carrier=eum app whose one-time codes would reach the US or Canada from a sender ID', () => {
    expect(() => synth({ carrier: 'eum', eumConfigurationSet: 'gw' })).toThrow(/US does not support/);
    expect(() => synth({ ...EUM, gatewayOrigination: '{"default":"Verify","US":"+12025550100"}' })).toThrow(
      /CA does not support/,
    );
    const env = envOf(eum.global, 'verifications');
    const map = JSON.parse(String(env.GATEWAY_ORIGINATION));
    expect(originationFor(map, 'global', '+12025550123')).toBe('+12025550100');
    expect(originationFor(map, 'global', '+14165550123')).toBe('+14165550100');
    expect(originationFor(map, 'eu', '+33612345678')).toBe('Verify');
  });

  it('validates -c eumMaxPrice and -c eumTtlSeconds at synth and sets them', () => {
    expect(() => synth({ ...EUM, eumMaxPrice: '5' })).toThrow(/eumMaxPrice/);
    expect(() => synth({ ...EUM, eumMaxPrice: '0.123456' })).toThrow(/eumMaxPrice/);
    expect(() => synth({ ...EUM, eumTtlSeconds: 4 })).toThrow(/eumTtlSeconds/);
    expect(() => synth({ ...EUM, eumTtlSeconds: 259_201 })).toThrow(/eumTtlSeconds/);
    expect(envOf(eum.global, 'dispatch-messages')).toMatchObject({
      EUM_MAX_PRICE: '0.05',
      EUM_TTL_SECONDS: '600',
    });
  });
});

describe("the tenants table's tenant items in tenant-scoped functions (issue 14, item 2)", () => {
  const SCOPED = NAMES.filter((n) => DECLARATIONS[n].tenantScoped && DECLARATIONS[n].needs.tenants);
  const onTenants = (s: Statement) => /-tenants|Tenants/.test(JSON.stringify(s.Resource));
  /** IAM's StringLike: `*` any run of characters, `?` one; the rest literal. */
  const like = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/#]/g, '\\$&')))
        .join('')}$`,
    ).test(value);
  const leadingKeys = (s: Statement) =>
    (s.Condition?.['ForAllValues:StringLike'] as Record<string, string[]> | undefined)?.[
      'dynamodb:LeadingKeys'
    ];
  // A tenant's partitions in the tenants table: its profile, API key records, sender IDs,
  // webhook endpoints and their EU copies, monthly counters (`<tenant>`), and its
  // Idempotency-Key claims (`IDEMKEY#<tenant>`).
  const TENANT_PARTITIONS = ['ten_A', 'ten_A#x', 'IDEMKEY#ten_A'];

  it('covers the tenant routes and the workers that reach the tenants table', () => {
    expect(SCOPED).toEqual(
      expect.arrayContaining([
        'send-message',
        'send-batch',
        'sender-ids',
        'webhooks',
        'usage',
        'settings',
        'subjects',
        'dispatch-messages',
        'apply-carrier-events',
        'carrier-inbound',
        'receive-eum-events',
        'deliver-webhooks',
      ]),
    );
  });

  it("lets the webhook worker write the tenants table (an endpoint's EU copy of its secrets) in the EU region only", () => {
    const writesTenants = (region: 'global' | 'eu') => {
      const { execution, tenant } = roleIds(sandbox[region], 'deliver-webhooks');
      return [execution, present(tenant, 'its tenant role')]
        .flatMap((role) => policyOf<Statement>(sandbox[region], role))
        .filter(onTenants)
        .some((s) => actions(s).some((a) => /PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(a)));
    };
    expect(writesTenants('global')).toBe(false);
    expect(writesTenants('eu')).toBe(true);
  });

  for (const [variant, templates] of [
    ['sandbox', sandbox],
    ['eum', eum],
  ] as const) {
    for (const region of ['global', 'eu'] as const) {
      const t = templates[region];
      for (const name of SCOPED) {
        if (variant === 'sandbox' && DECLARATIONS[name].trigger.kind === 'sns') continue;
        it(`${variant} ${region} ${name}: the execution role reaches no tenant's partition nor the whole table; the tenant role only the session tenant's`, () => {
          const { execution, tenant } = roleIds(t, name);
          for (const s of policyOf<Statement>(t, execution).filter(onTenants)) {
            const keys = leadingKeys(s);
            expect(keys, JSON.stringify(s)).toBeDefined();
            for (const pk of TENANT_PARTITIONS) {
              expect(
                [keys ?? []].flat().filter((p) => like(p, pk)),
                `${JSON.stringify(s)} ${pk}`,
              ).toEqual([]);
            }
          }
          const scoped = policyOf<Statement>(t, present(tenant, `${name}'s tenant role`)).filter(onTenants);
          expect(scoped.length).toBeGreaterThan(0);
          for (const s of scoped) {
            const keys = [leadingKeys(s) ?? []].flat();
            expect(keys.length, JSON.stringify(s)).toBeGreaterThan(0);
            for (const p of keys) expect(p).toContain(SESSION_TENANT);
          }
        });
      }
    }
  }
});
