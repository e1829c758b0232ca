import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbSandboxLedger, SandboxCarrier } from '../../layers/adapters/sandbox-carrier.ts';
import { SqsDispatchQueue } from '../../layers/adapters/sqs-dispatch-queue.ts';
import type { DispatchRef, Jurisdiction } from '../../layers/core/model.ts';
import { settingsOf } from '../../layers/declaration.ts';
import { present } from '../../layers/present.ts';
import { DECLARATIONS } from '../declarations.ts';
import { cachedAssembly, LOCAL_API_URL_PLACEHOLDERS } from './assembly.ts';
import { SqsEventSource, type SqsHandler } from './event-source.ts';
import { type LocalAuthorizer, LocalHttpGateway, type LocalRoute } from './http-gateway.ts';
import type { PolicyDocument } from './iam/policy.ts';
import { type Denial as IamDenial, type LocalIdentity, startIamProxy } from './iam/proxy.ts';
import { LocalFunction, type OutgoingCall } from './lambda.ts';
import { TUNING_SETTINGS } from './local-settings.ts';
import {
  ensureTable,
  provisionKey,
  provisionQueue,
  provisionTable,
  type QueueProperties,
  SANDBOX_LEDGER_TABLE,
  type TableProperties,
} from './provision.ts';
import { startReplicator } from './replicator.ts';
import {
  assertPortFree,
  freePort,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
  startKms,
  startSqs,
} from './services.ts';
import { type LocalRole, startStsStandIn } from './sts-stand-in.ts';
import {
  type CfnResource,
  constructPath,
  LOCAL_ACCOUNT,
  readAssembly,
  type StackTemplate,
  TemplateResolver,
} from './template.ts';

const JURISDICTIONS: Jurisdiction[] = ['global', 'eu'];

export interface GatewayOptions {
  /** HTTP port of the global region's API; 0 picks a free one. */
  port: number;
  /** HTTP port of the EU region's API; 0 picks a free one (default: port + 1, or 0). */
  euPort?: number;
  /** Where tables, keys and the admin token persist; undefined runs everything in memory. */
  dataDir?: string | undefined;
  /** Embedded services on these ports, or endpoints of services already running. */
  services:
    | { kind: 'embedded'; dynamodbPort: number; sqsPort: number; kmsPort: number }
    | { kind: 'external'; dynamodb: string; sqs: string; kms: string };
  /**
   * Prefix of every table and queue name (`${prefix}-${name in the template}`), so several
   * gateways can share services (tests). None by default.
   */
  prefix?: string | undefined;
  /** The regions the two jurisdictions run in (DynamoDB Local keeps each in its own database). */
  regions?: { global: string; eu: string };
  /** A cloud assembly folder (cdk.out) to run instead of synthesizing the CDK app. */
  assembly?: string;
  /** Checks every AWS call of a function against its role's policies (default on). */
  enforceIam?: boolean;
  /** Each IAM denial as it happens (they are also kept in `iamDenials`). */
  onIamDenied?: (denial: IamDenial) => void;
  /** Overrides the authorizers' AuthorizerResultTtlInSeconds. */
  authorizerCacheSeconds?: number | undefined;
  /** How long a function instance keeps a tenant's controls and replies (TENANT_SETTINGS_CACHE_SECONDS). */
  settingsCacheSeconds?: number;
  /**
   * Overrides for tests, applied to the templates before use: shorter visibility timeouts
   * (dispatch and carrier events queues, and the dispatch lease) and fewer receives make
   * redelivery and redrive observable in seconds.
   */
  dispatch?: {
    visibilityTimeoutSeconds?: number | undefined;
    maxReceiveCount?: number | undefined;
    concurrency?: number;
    /** How long the worker waits for the carrier's answer (DISPATCH_CARRIER_TIMEOUT_SECONDS). */
    carrierTimeoutSeconds?: number;
    /** Message parts per second per origination identity and account (DISPATCH_SEND_RATES). */
    sendRates?: Record<string, number>;
    /** The sandbox carrier throttles an identity past this many messages a second (SANDBOX_CARRIER_MPS). */
    sandboxMps?: number;
  };
  /** Lets webhooks reach receivers on this machine (loopback, http allowed); never in AWS. */
  allowLoopbackWebhooks?: boolean;
  /** Webhook retry delays in seconds (WEBHOOK_RETRY_SCHEDULE_SECONDS), for tests. */
  webhookRetrySeconds?: number[];
  log?: (line: string) => void;
  /** Sees every HTTP call each function makes, timed (the bench counts a request's round trips). */
  onCall?: (call: OutgoingCall) => void;
}

export interface RegionQueues {
  dispatch: string;
  dispatchDlq: string;
  carrierEvents: string;
  carrierEventsDlq: string;
  audit: string;
  auditDlq: string;
  webhooks: string;
  webhooksDlq: string;
}

export interface RunningGateway {
  /** The global region's API. */
  url: string;
  /** The EU region's API. */
  euUrl: string;
  adminToken: string;
  regions: { global: string; eu: string };
  /** The services the gateway's resources live on (not the IAM proxies in front of them). */
  services: { dynamodb: string; sqs: string; kms: string };
  /** The global region's queues (kept at the top level for existing callers) and each region's. */
  queues: RegionQueues & { byJurisdiction: Record<Jurisdiction, RegionQueues> };
  /**
   * Table names: the tenants table (a global table: the same name in both regions, replicated), the
   * global region's messages table, and each region's.
   */
  tables: {
    tenants: string;
    messages: string;
    messagesByJurisdiction: Record<Jurisdiction, string>;
    sandboxLedger: string;
  };
  /** The functions the templates declare, by local name, each with the stack's jurisdiction. */
  functions: Map<string, { jurisdiction: Jurisdiction; path: string; fn: LocalFunction }>;
  /** Every AWS call a function's role was refused, so far. */
  iamDenials: IamDenial[];
  /** Whether IAM is enforced (unless `enforceIam: false`). */
  iamEnforced: boolean;
  /** Requests the KMS stand-in served, per operation (embedded services only). */
  kmsCalls?: Record<string, number>;
  stop(): Promise<void>;
}

function adminTokenFor(dataDir: string | undefined): string {
  const fresh = () => `adm_${randomBytes(24).toString('base64url')}`;
  if (!dataDir) return fresh();
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = fresh();
  writeFileSync(file, token, { mode: 0o600 });
  return token;
}

const props = (r: CfnResource) => (r.Properties ?? {}) as Record<string, unknown>;
const resourcesOf = (stack: StackTemplate, type: string) =>
  Object.entries(stack.template.Resources).filter(([, r]) => r.Type === type);
/** The logical id a `{Ref}` or `{Fn::GetAtt}` names. */
const referenced = (value: unknown): string | undefined => {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  return v?.Ref ?? v?.['Fn::GetAtt']?.[0];
};
/** The declaration of the function a template resource belongs to (its construct path names it). */
const declaredSettings = (stack: StackTemplate, id: string): readonly string[] => {
  const segments = constructPath(stack, id).split('/');
  const d = Object.values(DECLARATIONS).find((x) => segments.includes(x.name));
  // The app names each jurisdiction's stacks SmsGateway-Global-* and SmsGateway-EU-*.
  return d ? settingsOf(d, stack.name.includes('-EU-') ? 'eu' : 'global') : [];
};
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Template edits the test options ask for (the runtime then runs the edited templates). */
function applyOverrides(stacks: StackTemplate[], options: GatewayOptions) {
  const functions = stacks.flatMap((s) =>
    resourcesOf(s, 'AWS::Lambda::Function').map(([id, r]) => ({ stack: s, id, r })),
  );
  const envOf = (r: CfnResource) => {
    const p = props(r) as { Environment?: { Variables?: Record<string, unknown> } };
    p.Environment ??= {};
    p.Environment.Variables ??= {};
    r.Properties = p;
    return p.Environment.Variables;
  };
  /**
   * Sets a function setting where the template has it; a tuning setting the CDK app never sets
   * goes to the functions whose declarations list it (as a deployer's template edit would).
   */
  const setEnv = (key: string, value: string) => {
    const tuning = (TUNING_SETTINGS as readonly string[]).includes(key);
    const targets = functions.filter((f) =>
      tuning ? declaredSettings(f.stack, f.id).includes(key) : key in envOf(f.r),
    );
    if (targets.length === 0) throw new Error(`No function's template has the setting ${key} to override`);
    for (const f of targets) envOf(f.r)[key] = value;
  };
  const queues = (name: string) =>
    stacks.flatMap((s) =>
      resourcesOf(s, 'AWS::SQS::Queue')
        .filter(([id]) => constructPath(s, id).split('/').includes(name) || id.startsWith(name))
        .map(([, r]) => props(r)),
    );
  const d = options.dispatch ?? {};
  if (d.visibilityTimeoutSeconds !== undefined) {
    for (const q of [...queues('DispatchQueue'), ...queues('CarrierEventsQueue')])
      q.VisibilityTimeout = d.visibilityTimeoutSeconds;
    // Lambda refuses an SQS event source whose function's timeout passes the queue's visibility
    // timeout: the consumers' timeouts come down with it, so no invocation outlives its records'
    // invisibility (or the dispatch lease) here either.
    for (const s of stacks) {
      for (const [id, f] of resourcesOf(s, 'AWS::Lambda::Function')) {
        const path = constructPath(s, id).split('/');
        if (!path.includes('dispatch-messages') && !path.includes('apply-carrier-events')) continue;
        const p = props(f) as { Timeout?: number };
        p.Timeout = Math.min(p.Timeout ?? 3, d.visibilityTimeoutSeconds);
      }
    }
    setEnv('DISPATCH_LEASE_SECONDS', String(d.visibilityTimeoutSeconds));
  }
  if (d.maxReceiveCount !== undefined) {
    for (const q of queues('DispatchQueue'))
      (q.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount = d.maxReceiveCount;
    setEnv('DISPATCH_MAX_RECEIVE_COUNT', String(d.maxReceiveCount));
  }
  if (d.concurrency !== undefined) {
    for (const s of stacks) {
      for (const [, m] of resourcesOf(s, 'AWS::Lambda::EventSourceMapping')) {
        const fn = referenced(props(m).FunctionName);
        if (fn && constructPath(s, fn).split('/').includes('dispatch-messages'))
          props(m).ScalingConfig = { MaximumConcurrency: d.concurrency };
      }
    }
    setEnv('DISPATCH_MAX_CONCURRENCY', String(d.concurrency));
  }
  if (d.sendRates !== undefined) setEnv('DISPATCH_SEND_RATES', JSON.stringify(d.sendRates));
  if (d.carrierTimeoutSeconds !== undefined)
    setEnv('DISPATCH_CARRIER_TIMEOUT_SECONDS', String(d.carrierTimeoutSeconds));
  if (options.webhookRetrySeconds)
    setEnv('WEBHOOK_RETRY_SCHEDULE_SECONDS', options.webhookRetrySeconds.join(','));
  if (options.settingsCacheSeconds !== undefined)
    setEnv('TENANT_SETTINGS_CACHE_SECONDS', String(options.settingsCacheSeconds));
  if (options.authorizerCacheSeconds !== undefined) {
    for (const s of stacks)
      for (const [, a] of resourcesOf(s, 'AWS::ApiGatewayV2::Authorizer'))
        props(a).AuthorizerResultTtlInSeconds = options.authorizerCacheSeconds;
  }
}

/** An access key id that names a role (what the IAM proxy looks the caller up by). */
const accessKeyFor = (roleArn: string) =>
  `ASIA${createHash('sha256').update(roleArn).digest('hex').slice(0, 16).toUpperCase()}`;

/**
 * Starts the whole gateway on this machine from the synthesized CDK templates: DynamoDB Local,
 * the local SQS and the KMS stand-in (unless given external ones); the tables, queues and system
 * key each stateful template declares; each function of the stateless templates in a worker
 * thread of its own with exactly its template's settings (plus what Lambda itself provides and
 * the local emulation), its AWS calls checked against its role's policies by the IAM proxies;
 * each template's SQS event sources and HTTP API routes.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? (() => undefined);
  const regions = options.regions ?? { global: 'us-east-1', eu: 'eu-central-1' };
  const prefix = options.prefix ?? '';
  const localName = (name: string) => (prefix ? `${prefix}-${name}` : name);
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    await assertPortFree('the HTTP API', options.port, '--port');
    const euPort = options.euPort ?? (options.port === 0 ? 0 : options.port + 1);
    await assertPortFree("the EU region's HTTP API", euPort, '--eu-port');
    const assemblyDir =
      options.assembly ?? (await cachedAssembly({ region: regions.global, euRegion: regions.eu }, log));
    const stacks = readAssembly(assemblyDir);
    applyOverrides(stacks, options);
    const jurisdictionOf = (stack: StackTemplate): Jurisdiction => {
      if (stack.region === regions.eu) return 'eu';
      if (stack.region === regions.global) return 'global';
      throw new Error(`Stack ${stack.name} is in ${stack.region}, neither region of this gateway`);
    };

    let kmsCalls: Record<string, number> | undefined;
    let endpoints: { dynamodb: string; sqs: string; kms: string };
    if (options.services.kind === 'embedded') {
      const s = options.services;
      await assertPortFree('DynamoDB Local', s.dynamodbPort, '--dynamodb-port');
      await assertPortFree('the local SQS', s.sqsPort, '--sqs-port');
      await assertPortFree('the KMS stand-in', s.kmsPort, '--kms-port');
      log('starting DynamoDB Local, the local SQS and the KMS stand-in ...');
      const [dynamodb, sqs, kms] = await Promise.all([
        (async () =>
          startDynamoDbLocal({
            port: s.dynamodbPort === 0 ? await freePort() : s.dynamodbPort,
            dataDir: options.dataDir && join(options.dataDir, 'dynamodb'),
          }))(),
        startSqs({ port: s.sqsPort }),
        startKms({
          port: s.kmsPort,
          region: regions.global,
          file: options.dataDir && join(options.dataDir, 'kms.json'),
        }),
      ]);
      started.push(dynamodb, sqs, kms);
      kmsCalls = kms.calls;
      endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, kms: kms.endpoint };
    } else {
      endpoints = options.services;
    }

    // The runtime's own clients (provisioning, polling for the event sources, recovery).
    const clients = (region: string) => {
      const config = { region, credentials: LOCAL_CREDENTIALS };
      return {
        ddb: new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb }),
        sqs: new SQSClient({ ...config, endpoint: endpoints.sqs }),
        kms: new KMSClient({ ...config, endpoint: endpoints.kms }),
      };
    };
    const byRegion = new Map<string, ReturnType<typeof clients>>();
    const clientsIn = (region: string) => {
      const c = byRegion.get(region) ?? clients(region);
      byRegion.set(region, c);
      return c;
    };
    started.push({
      stop: async () => {
        for (const c of byRegion.values()) for (const client of Object.values(c)) client.destroy();
      },
    });

    // IAM: one proxy per service in front of the services; identities are filled in below.
    const identities = new Map<string, LocalIdentity>();
    const ledgerTable = localName(SANDBOX_LEDGER_TABLE.id);
    const enforceIam = options.enforceIam !== false;
    const proxies: Awaited<ReturnType<typeof startIamProxy>>[] = [];
    const facing = { ...endpoints };
    if (enforceIam) {
      for (const service of ['dynamodb', 'sqs', 'kms'] as const) {
        const proxy = await startIamProxy({
          service,
          target: endpoints[service],
          account: LOCAL_ACCOUNT,
          identityOf: (accessKeyId) => identities.get(accessKeyId),
          upstreamCredentials: LOCAL_CREDENTIALS,
          // The sandbox ledger stands in for handsets: no role in AWS ever touches it.
          exempt: ({ resource }) => resource.endsWith(`:table/${ledgerTable}`),
          ...(options.onIamDenied ? { onDenied: options.onIamDenied } : {}),
        });
        proxies.push(proxy);
        started.push({ stop: () => proxy.close() });
        facing[service] = proxy.endpoint;
      }
    }

    // STS: tenant-scoped functions assume their tenant-access role per tenant; the sessions it
    // hands out are authorized by the proxies as that role with the session's tags.
    const roles = new Map<string, LocalRole>();
    const sts = await startStsStandIn({
      account: LOCAL_ACCOUNT,
      identityOf: (accessKeyId) => identities.get(accessKeyId),
      roleOf: (arn) => roles.get(arn),
      register: (session) => identities.set(session.accessKeyId, session),
      ...(enforceIam ? {} : { unchecked: LOCAL_CREDENTIALS }),
    });
    started.push({ stop: () => sts.close() });

    const httpPorts: Record<Jurisdiction, number> = {
      global: options.port === 0 ? await freePort() : options.port,
      eu: euPort === 0 ? await freePort() : euPort,
    };
    const apiUrl = (j: Jurisdiction) => `http://127.0.0.1:${httpPorts[j]}`;

    // Local names: `${prefix}-${template name}`; a resource the template leaves unnamed gets
    // its stack and logical id (CloudFormation would add a random suffix).
    const physicalName = new Map<string, string>(); // `${stack}/${logicalId}` -> local name
    const templateNames = new Map<string, string>(); // name written in a template -> local name
    const queueUrlsByName = new Map<string, string>(); // local queue name -> URL the functions use
    for (const stack of stacks) {
      for (const [id, r] of resourcesOf(stack, 'AWS::DynamoDB::GlobalTable')) {
        const named = props(r).TableName;
        const name = typeof named === 'string' ? named : `${stack.name}-${id}`;
        if (typeof named === 'string') templateNames.set(named, localName(named));
        physicalName.set(`${stack.name}/${id}`, localName(name));
      }
      for (const [id, r] of resourcesOf(stack, 'AWS::SQS::Queue')) {
        const named = props(r).QueueName;
        const fifo = props(r).FifoQueue === true || props(r).FifoQueue === 'true';
        const name = typeof named === 'string' ? named : `${stack.name}-${id}${fifo ? '.fifo' : ''}`;
        if (typeof named === 'string') templateNames.set(named, localName(name));
        physicalName.set(`${stack.name}/${id}`, localName(name));
        queueUrlsByName.set(localName(name), `${facing.sqs}/${LOCAL_ACCOUNT}/${localName(name)}`);
      }
    }
    const keys = new Map<string, { keyId: string; arn: string }>(); // `${stack}/${logicalId}`
    const functionName = (stack: StackTemplate, id: string) => `${stack.name}-${id}`.slice(0, 64);
    const roleName = (stack: StackTemplate, id: string) => `${stack.name}-${id}`.slice(0, 64);
    const arn = (service: string, region: string, resource: string) =>
      `arn:aws:${service}:${region}:${LOCAL_ACCOUNT}:${resource}`;

    const resolver = new TemplateResolver(
      stacks,
      (stack, id, attribute) => {
        const r = stack.template.Resources[id];
        if (!r) return undefined;
        const key = `${stack.name}/${id}`;
        const name = physicalName.get(key);
        switch (r.Type) {
          case 'AWS::DynamoDB::GlobalTable':
          case 'AWS::DynamoDB::Table':
            if (!attribute || attribute === 'TableName') return name;
            if (attribute === 'Arn') return arn('dynamodb', stack.region, `table/${name}`);
            if (attribute === 'StreamArn') return arn('dynamodb', stack.region, `table/${name}/stream/local`);
            return undefined;
          case 'AWS::SQS::Queue': {
            // Every queue of the templates was named above.
            const queue = present(name, `the local name of queue ${key}`);
            if (!attribute || attribute === 'QueueUrl') return queueUrlsByName.get(queue);
            if (attribute === 'Arn') return arn('sqs', stack.region, queue);
            if (attribute === 'QueueName') return queue;
            return undefined;
          }
          case 'AWS::KMS::Key': {
            const k = keys.get(key);
            if (!k) return undefined;
            return attribute === 'Arn' ? k.arn : attribute ? undefined : k.keyId;
          }
          case 'AWS::KMS::Alias':
            return attribute ? undefined : String(props(r).AliasName);
          case 'AWS::IAM::Role': {
            const n = roleName(stack, id);
            return attribute === 'Arn'
              ? `arn:aws:iam::${LOCAL_ACCOUNT}:role/${n}`
              : attribute
                ? undefined
                : n;
          }
          case 'AWS::Lambda::Function': {
            const n = functionName(stack, id);
            return attribute === 'Arn'
              ? arn('lambda', stack.region, `function:${n}`)
              : attribute
                ? undefined
                : n;
          }
          case 'AWS::Logs::LogGroup': {
            const n = String(props(r).LogGroupName ?? `/local/${stack.name}/${id}`);
            return attribute === 'Arn'
              ? arn('logs', stack.region, `log-group:${n}:*`)
              : attribute
                ? undefined
                : n;
          }
          case 'AWS::SNS::Topic':
            return attribute ? undefined : arn('sns', stack.region, `${stack.name}-${id}`);
          case 'AWS::ApiGatewayV2::Api':
            if (attribute === 'ApiEndpoint') return apiUrl(jurisdictionOf(stack));
            return attribute ? undefined : `local-${jurisdictionOf(stack)}`;
          default:
            return attribute ? undefined : id;
        }
      },
      (() => {
        const names = [...templateNames.keys()].sort((a, b) => b.length - a.length);
        const nameRe = names.length
          ? new RegExp(`(?<![\\w.-])(${names.map(escapeRegExp).join('|')})(?![\\w.-])`, 'g')
          : undefined;
        const sqsUrl = /https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com\/\d{12}\/([\w.-]+)/g;
        return (value: string) => {
          let v = value.replace(sqsUrl, (whole, name: string) => {
            const local = templateNames.get(name);
            return local ? present(queueUrlsByName.get(local), `the local URL of queue ${name}`) : whole;
          });
          for (const j of JURISDICTIONS) v = v.replaceAll(LOCAL_API_URL_PLACEHOLDERS[j], apiUrl(j));
          // The pattern matches only the names it was built from.
          return nameRe
            ? v.replace(nameRe, (n) => present(templateNames.get(n), `the local name of ${n}`))
            : v;
        };
      })(),
    );

    // Stateful resources, as each template declares them.
    log('provisioning tables, queues and keys from the templates ...');
    const replicator = startReplicator({ endpoint: endpoints.dynamodb, log });
    started.push(replicator);
    const queueInfo = new Map<
      string,
      { url: string; arn: string; localArn: string; region: string; fifo: boolean; visibilitySeconds: number }
    >();
    for (const stack of stacks) {
      const c = clientsIn(stack.region);
      for (const [id, r] of resourcesOf(stack, 'AWS::DynamoDB::GlobalTable')) {
        const p = resolver.resolve(stack, props(r)) as TableProperties;
        const name = present(physicalName.get(`${stack.name}/${id}`), `the local name of table ${id}`);
        // A global table: one table in each replica's region, kept alike by the local replication.
        const inRegions = [...new Set([stack.region, ...(p.Replicas ?? []).map((x) => x.Region)])];
        const replicated = inRegions.length > 1;
        for (const region of inRegions)
          await provisionTable(clientsIn(region).ddb, name, p, { stream: replicated });
        if (replicated) await replicator.add(name, inRegions);
      }
      // Dead-letter queues first: a redrive policy names its target by ARN.
      const queues = resourcesOf(stack, 'AWS::SQS::Queue').sort(
        ([, a], [, b]) => Number('RedrivePolicy' in props(a)) - Number('RedrivePolicy' in props(b)),
      );
      for (const [id, r] of queues) {
        const p = resolver.resolve(stack, props(r)) as QueueProperties & { QueueName?: string };
        const name = present(physicalName.get(`${stack.name}/${id}`), `the local name of queue ${id}`);
        const { QueueName: _name, ...attributes } = p;
        const redrive = attributes.RedrivePolicy;
        if (redrive) {
          const target = [...queueInfo.values()].find((q) => q.localArn === redrive.deadLetterTargetArn);
          if (!target) throw new Error(`${name}: its dead-letter queue is not in the templates`);
          attributes.RedrivePolicy = {
            deadLetterTargetArn: target.arn,
            maxReceiveCount: Number(redrive.maxReceiveCount),
          };
        }
        const q = await provisionQueue(c.sqs, name, attributes);
        queueInfo.set(`${stack.name}/${id}`, {
          ...q,
          localArn: arn('sqs', stack.region, name),
          region: stack.region,
          fifo: p.FifoQueue === true,
          // SQS's default when the template sets none.
          visibilitySeconds: Number(p.VisibilityTimeout ?? 30),
        });
      }
      for (const [id, r] of resourcesOf(stack, 'AWS::KMS::Key')) {
        const alias = resourcesOf(stack, 'AWS::KMS::Alias').find(
          ([, a]) => referenced(props(a).TargetKeyId) === id,
        );
        if (!alias)
          throw new Error(`${stack.name}/${id}: a key without an alias cannot be found again locally`);
        keys.set(
          `${stack.name}/${id}`,
          await provisionKey(c.kms, {
            alias: String(props(alias[1]).AliasName),
            description: String(props(r).Description ?? ''),
            policy: resolver.resolve(stack, props(r).KeyPolicy),
          }),
        );
      }
    }
    // The sandbox's "handsets" hold numbers and bodies in clear: each region keeps its own.
    for (const j of JURISDICTIONS)
      await ensureTable(clientsIn(regions[j]).ddb, ledgerTable, SANDBOX_LEDGER_TABLE);

    // Functions, each with its role's identity.
    const localSettings: Record<string, string> = {
      SANDBOX_LEDGER_TABLE: ledgerTable,
      WEBHOOK_ALLOW_LOOPBACK: String(options.allowLoopbackWebhooks ?? false),
      ...(options.dispatch?.sandboxMps ? { SANDBOX_CARRIER_MPS: String(options.dispatch.sandboxMps) } : {}),
      POWERTOOLS_METRICS_DISABLED: process.env.SMS_GATEWAY_LOCAL_METRICS === 'true' ? 'false' : 'true',
    };
    const functions = new Map<string, { jurisdiction: Jurisdiction; path: string; fn: LocalFunction }>();
    const byLogicalId = new Map<string, LocalFunction>(); // `${stack}/${logicalId}`
    const credentialsOf = new Map<string, { accessKeyId: string; secretAccessKey: string }>();
    const byArn = new Map<string, LocalFunction>();
    const roleCredentials = new Map<string, { accessKeyId: string; secretAccessKey: string }>();
    for (const stack of stacks) {
      for (const [roleId, role] of resourcesOf(stack, 'AWS::IAM::Role')) {
        const roleArn = resolver.string(stack, { 'Fn::GetAtt': [roleId, 'Arn'] }, 'a role ARN');
        const policies: PolicyDocument[] = [
          ...((props(role).Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map(
            (p) => resolver.resolve(stack, p.PolicyDocument) as PolicyDocument,
          ),
          ...resourcesOf(stack, 'AWS::IAM::Policy')
            .filter(([, p]) => ((props(p).Roles as unknown[]) ?? []).some((r) => referenced(r) === roleId))
            .map(([, p]) => resolver.resolve(stack, props(p).PolicyDocument) as PolicyDocument),
        ];
        const tags = Object.fromEntries(
          (
            (resolver.resolve(stack, props(role).Tags) as { Key: string; Value: string }[] | undefined) ?? []
          ).map((t) => [t.Key, t.Value]),
        );
        const accessKeyId = accessKeyFor(roleArn);
        const identity: LocalIdentity = {
          accessKeyId,
          roleArn,
          roleName: roleName(stack, roleId),
          policies,
          tags,
        };
        identities.set(accessKeyId, identity);
        roles.set(roleArn, {
          identity,
          trust: resolver.resolve(stack, props(role).AssumeRolePolicyDocument) as PolicyDocument,
        });
        roleCredentials.set(`${stack.name}/${roleId}`, {
          accessKeyId,
          secretAccessKey: randomBytes(20).toString('base64'),
        });
      }
      for (const [id, r] of resourcesOf(stack, 'AWS::Lambda::Function')) {
        const p = props(r) as {
          Handler?: string;
          Timeout?: number;
          MemorySize?: number;
          Role?: unknown;
          Code?: { S3Key?: string };
          Environment?: { Variables?: Record<string, unknown> };
          LoggingConfig?: { LogFormat?: string };
        };
        const name = functionName(stack, id);
        const assetPath =
          (r.Metadata?.['aws:asset:path'] as string | undefined) ??
          stack.assets?.files?.[String(p.Code?.S3Key).replace(/\.zip$/, '')]?.source.path;
        if (!assetPath) throw new Error(`${stack.name}/${id}: no bundle for this function in the assembly`);
        const roleId = referenced(p.Role);
        const credentials = (roleId && roleCredentials.get(`${stack.name}/${roleId}`)) || undefined;
        const variables = Object.fromEntries(
          Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => [
            k,
            resolver.string(stack, v, `${name}'s setting ${k}`),
          ]),
        );
        const memorySize = p.MemorySize ?? 128;
        const fn = new LocalFunction({
          name,
          region: stack.region,
          codeDir: join(assemblyDir, assetPath),
          handler: p.Handler ?? 'index.handler',
          timeoutSeconds: p.Timeout ?? 3,
          memorySize,
          ...(options.onCall ? { onCall: options.onCall } : {}),
          env: {
            ...variables,
            // What Lambda itself sets in every function's environment.
            AWS_REGION: stack.region,
            AWS_DEFAULT_REGION: stack.region,
            AWS_LAMBDA_FUNCTION_NAME: name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
            AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
            AWS_LAMBDA_LOG_STREAM_NAME: 'local',
            ...(p.LoggingConfig?.LogFormat ? { AWS_LAMBDA_LOG_FORMAT: p.LoggingConfig.LogFormat } : {}),
            _HANDLER: p.Handler ?? 'index.handler',
            TZ: ':UTC',
            // The local emulation: the IAM proxies (or the services) and the role's credentials.
            AWS_ENDPOINT_URL_DYNAMODB: facing.dynamodb,
            AWS_ENDPOINT_URL_SQS: facing.sqs,
            AWS_ENDPOINT_URL_KMS: facing.kms,
            AWS_ENDPOINT_URL_STS: sts.endpoint,
            // Lambda runs Node.js 22; the SDK's notice that this machine's Node 20 will soon be
            // unsupported would print once per function.
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            ...(enforceIam && credentials
              ? {
                  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
                }
              : {
                  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
                  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
                }),
            // Local-only settings go to the functions that declare them (POWERTOOLS_ ones to all:
            // Powertools reads them, not the function).
            ...Object.fromEntries(
              Object.entries(localSettings).filter(
                ([k]) => k.startsWith('POWERTOOLS_') || declaredSettings(stack, id).includes(k),
              ),
            ),
          },
        });
        started.push(fn);
        functions.set(name, { jurisdiction: jurisdictionOf(stack), path: constructPath(stack, id), fn });
        byLogicalId.set(`${stack.name}/${id}`, fn);
        if (credentials) credentialsOf.set(`${stack.name}/${id}`, credentials);
        byArn.set(resolver.string(stack, { 'Fn::GetAtt': [id, 'Arn'] }, 'a function ARN'), fn);
      }
    }

    // Event sources.
    const sources: SqsEventSource[] = [];
    for (const stack of stacks) {
      for (const [id, m] of resourcesOf(stack, 'AWS::Lambda::EventSourceMapping')) {
        const p = props(m) as {
          EventSourceArn: unknown;
          FunctionName: unknown;
          BatchSize?: number;
          FunctionResponseTypes?: string[];
          ScalingConfig?: { MaximumConcurrency?: number };
          Enabled?: boolean;
        };
        if (p.Enabled === false) continue;
        const sourceArn = resolver.string(stack, p.EventSourceArn, `${id}'s EventSourceArn`);
        const queue = [...queueInfo.values()].find((q) => q.localArn === sourceArn);
        if (!queue)
          throw new Error(`${stack.name}/${id}: its source ${sourceArn} is not a queue of the templates`);
        const fnId = referenced(p.FunctionName);
        const fn = fnId && byLogicalId.get(`${stack.name}/${fnId}`);
        if (!fn) throw new Error(`${stack.name}/${id}: its function is not in ${stack.name}`);
        // As Lambda validates when it creates the mapping.
        if (fn.spec.timeoutSeconds > queue.visibilitySeconds) {
          throw new Error(
            `${stack.name}/${id}: Queue visibility timeout: ${queue.visibilitySeconds} seconds is less than Function timeout: ${fn.spec.timeoutSeconds} seconds`,
          );
        }
        // Lambda's event source mapping polls with the function's execution role: so does this
        // one, so a role that may not receive from or delete on its queue fails here as there.
        const pollerCredentials = enforceIam ? credentialsOf.get(`${stack.name}/${fnId}`) : undefined;
        const pollerSqs = pollerCredentials
          ? new SQSClient({ region: queue.region, endpoint: facing.sqs, credentials: pollerCredentials })
          : clientsIn(queue.region).sqs;
        if (pollerCredentials) started.push({ stop: async () => pollerSqs.destroy() });
        sources.push(
          new SqsEventSource({
            name: fn.spec.name,
            sqs: pollerSqs,
            queueUrl: queue.url,
            queueArn: queue.localArn,
            region: queue.region,
            batchSize: p.BatchSize ?? 10,
            reportBatchItemFailures: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
            // Without a MaximumConcurrency Lambda scales out; two pollers locally (one for FIFO).
            concurrency: p.ScalingConfig?.MaximumConcurrency ?? (queue.fifo ? 1 : 2),
            timeoutMs: fn.spec.timeoutSeconds * 1000 + 1000,
            handler: ((event) => fn.invoke(event)) as SqsHandler,
          }),
        );
      }
    }

    // HTTP APIs: one per stateless template, on the jurisdiction's port.
    const adminToken = adminTokenFor(options.dataDir);
    const apis: { jurisdiction: Jurisdiction; api: LocalHttpGateway }[] = [];
    const functionFromUri = (uri: string) => {
      const fnArn = /functions\/(arn:aws:lambda:[^/]+)\/invocations$/.exec(uri)?.[1] ?? uri;
      const fn = byArn.get(fnArn);
      if (!fn) throw new Error(`No local function for ${uri}`);
      return fn;
    };
    for (const stack of stacks) {
      const routes = resourcesOf(stack, 'AWS::ApiGatewayV2::Route');
      if (routes.length === 0) continue;
      const authorizers = new Map<string, LocalAuthorizer>();
      for (const [id, a] of resourcesOf(stack, 'AWS::ApiGatewayV2::Authorizer')) {
        const p = props(a);
        const fn = functionFromUri(resolver.string(stack, p.AuthorizerUri, `${id}'s AuthorizerUri`));
        authorizers.set(id, {
          id,
          invoke: (event) => fn.invoke(event),
          identitySource: (resolver.resolve(stack, p.IdentitySource) as string[] | undefined) ?? [],
          resultTtlSeconds: Number(p.AuthorizerResultTtlInSeconds ?? 300),
          simpleResponses: p.EnableSimpleResponses === true,
        });
      }
      const local: LocalRoute[] = routes.map(([id, r]) => {
        const p = props(r);
        const target = resolver.string(stack, p.Target, `${id}'s Target`);
        const integration = stack.template.Resources[target.replace(/^integrations\//, '')];
        if (!integration) throw new Error(`${stack.name}/${id}: no integration ${target}`);
        const fn = functionFromUri(
          resolver.string(stack, props(integration).IntegrationUri, `${target}'s IntegrationUri`),
        );
        const authorizerId = referenced(p.AuthorizerId);
        const authorizer = authorizerId ? authorizers.get(authorizerId) : undefined;
        return {
          routeKey: String(p.RouteKey),
          authorizationType: (p.AuthorizationType ?? 'NONE') as LocalRoute['authorizationType'],
          ...(authorizer ? { authorizer } : {}),
          invoke: (event) => fn.invoke<APIGatewayProxyStructuredResultV2>(event),
        };
      });
      apis.push({
        jurisdiction: jurisdictionOf(stack),
        api: new LocalHttpGateway({ routes: local, adminToken, region: stack.region }),
      });
    }

    // What the tests and tools read: each jurisdiction's tables and queues.
    const statefulOf = (j: Jurisdiction) =>
      stacks.filter((s) => jurisdictionOf(s) === j && resourcesOf(s, 'AWS::SQS::Queue').length > 0);
    const findByPath = (j: Jurisdiction, type: string, segment: string) => {
      for (const s of statefulOf(j)) {
        const found = resourcesOf(s, type).find(([id]) => constructPath(s, id).split('/').includes(segment));
        if (found) return { stack: s, id: found[0], r: found[1] };
      }
      throw new Error(`No ${segment} in the ${j} templates`);
    };
    const queuePair = (j: Jurisdiction, segment: string) => {
      const q = findByPath(j, 'AWS::SQS::Queue', segment);
      const main = present(queueInfo.get(`${q.stack.name}/${q.id}`), `the queue ${segment}`);
      const dlqId = referenced(
        (props(q.r).RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn,
      );
      const dlq = present(queueInfo.get(`${q.stack.name}/${dlqId}`), `the dead-letter queue of ${segment}`);
      return { url: main.url, dlqUrl: dlq.url };
    };
    const regionQueues = (j: Jurisdiction): RegionQueues => {
      const dispatch = queuePair(j, 'DispatchQueue');
      const events = queuePair(j, 'CarrierEventsQueue');
      const audit = queuePair(j, 'AuditQueue');
      const webhooks = queuePair(j, 'WebhooksQueue');
      return {
        dispatch: dispatch.url,
        dispatchDlq: dispatch.dlqUrl,
        carrierEvents: events.url,
        carrierEventsDlq: events.dlqUrl,
        audit: audit.url,
        auditDlq: audit.dlqUrl,
        webhooks: webhooks.url,
        webhooksDlq: webhooks.dlqUrl,
      };
    };
    const tableName = (j: Jurisdiction, segment: string) => {
      const t = findByPath(j, 'AWS::DynamoDB::GlobalTable', segment);
      return present(physicalName.get(`${t.stack.name}/${t.id}`), `the local name of table ${segment}`);
    };
    const queues = { global: regionQueues('global'), eu: regionQueues('eu') };
    const messagesByJurisdiction = {
      global: tableName('global', 'Messages'),
      eu: tableName('eu', 'Messages'),
    };

    // The local SQS keeps no state across restarts: what was in its queues is rebuilt from the tables.
    for (const j of JURISDICTIONS) {
      const c = clientsIn(regions[j]);
      const unfinished = await unfinishedMessages(c.ddb, messagesByJurisdiction[j]);
      if (unfinished.queued.length > 0) {
        await new SqsDispatchQueue(c.sqs, queues[j].dispatch).enqueue(unfinished.queued);
        log(`re-enqueued ${unfinished.queued.length} unfinished ${j} message(s)`);
      }
      // Sent but not final: the sandbox carrier reports again the receipts it sent for them.
      const sandbox = new SandboxCarrier({
        sqs: c.sqs,
        eventsQueueUrl: queues[j].carrierEvents,
        jurisdiction: j,
        ledger: new DynamoDbSandboxLedger(c.ddb, ledgerTable),
      });
      const reported = await sandbox.reportAgain(unfinished.sent.map((r) => r.messageId));
      if (reported > 0) log(`the sandbox carrier reported ${reported} ${j} receipt(s) again`);
    }

    for (const { jurisdiction, api } of apis) {
      await api.listen(httpPorts[jurisdiction]);
      started.push({ stop: () => api.close() });
    }
    for (const s of sources) {
      s.start();
      started.push({ stop: () => s.stop() });
    }
    return {
      url: apiUrl('global'),
      euUrl: apiUrl('eu'),
      adminToken,
      regions,
      services: endpoints,
      queues: { ...queues.global, byJurisdiction: queues },
      tables: {
        tenants: tableName('global', 'Tenants'),
        messages: messagesByJurisdiction.global,
        messagesByJurisdiction,
        sandboxLedger: ledgerTable,
      },
      functions,
      get iamDenials() {
        return proxies.flatMap((p) => p.denials);
      },
      iamEnforced: proxies.length > 0,
      ...(kmsCalls ? { kmsCalls } : {}),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * The messages whose queue records may have been lost at a restart (the local SQS lives in
 * memory): queued ones (their dispatch records), to enqueue again, and sent ones (their
 * receipts), to report again. Dispatch and receipts are idempotent per message, so a record
 * that did survive costs nothing but a skipped delivery or an ignored receipt.
 */
async function unfinishedMessages(
  ddb: DynamoDBClient,
  table: string,
): Promise<{ queued: DispatchRef[]; sent: DispatchRef[] }> {
  const found = { queued: [] as DispatchRef[], sent: [] as DispatchRef[] };
  let start: Record<string, never> | undefined;
  do {
    const out = await ddb.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: '#s IN (:queued, :sent) AND begins_with(sk, :msg)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':queued': { S: 'queued' },
          ':sent': { S: 'sent' },
          ':msg': { S: 'MSG#' },
        },
        ProjectionExpression: 'tenantId, id, jurisdiction, #s',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const m = unmarshall(item);
      found[m.status as 'queued' | 'sent'].push({
        tenantId: m.tenantId,
        messageId: m.id,
        jurisdiction: m.jurisdiction,
      });
    }
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return found;
}
