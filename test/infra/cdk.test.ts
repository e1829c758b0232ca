import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../../functions/webhooks/model.ts';
import { buildApp } from '../../infra/cdk/app.ts';
import { SESSION_TENANT } from '../../infra/cdk/tenant-access.ts';
import { QUEUES } from '../../infra/resources.ts';
import { HTTP_FUNCTIONS, OTHER_FUNCTIONS } from '../../layers/http/route.ts';
import { ROUTES } from '../../layers/http/routes.ts';

/** The EU API the global stack relays forward tenants' EU requests to (a required context value). */
const EU_API = 'https://eu.sms.example';

/** With End User Messaging, the gateway's own codes to the US and Canada must come from numbers. */
const EUM_ORIGINATION = JSON.stringify({ default: 'Verify', US: '+12025550100', CA: '+14165550100' });

/** The output folders made here: each holds every function's bundle (over 100 MB), removed at the end. */
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** An app to synthesize, with these context values (`-c`), in a fresh output folder. */
const appWith = (context: Record<string, unknown>) => {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-'));
  outdirs.push(outdir);
  return new App({ outdir, context });
};

let stateful: Template;
let stateless: Template;
let statelessJson: Record<string, unknown>;

beforeAll(() => {
  const { stateful: a, stateless: b } = buildApp(appWith({ euApiUrl: EU_API }));
  stateful = Template.fromStack(a);
  stateless = Template.fromStack(b);
  statelessJson = stateless.toJSON();
}, 120_000);

type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (t: Template, type: string) =>
  Object.entries(t.toJSON().Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);

describe('stateful stack', () => {
  it('keeps tables with point-in-time recovery, a TTL on expiresAt, and protection from deletion', () => {
    const tables = resources(stateful, 'AWS::DynamoDB::GlobalTable');
    expect(tables).toHaveLength(2);
    for (const [, t] of tables) {
      expect(t.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      });
      for (const replica of t.Properties.Replicas as unknown[]) {
        expect(replica).toMatchObject({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        });
      }
    }
    stateful.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'bySubject', Projection: { ProjectionType: 'KEYS_ONLY' } }),
        // No content projected: sender, time and reference code only.
        Match.objectLike({
          IndexName: 'byRecipient',
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['tenantId', 'id', 'from', 'createdAt', 'refCode', 'expiresAt'],
          },
        }),
      ],
    });
  });

  it('gives each queue a DLQ after 5 receives, a visibility timeout six times its consumer timeout, encryption and TLS only', () => {
    stateful.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: QUEUES.dispatch.consumerTimeoutSeconds * 6,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
      SqsManagedSseEnabled: true,
    });
    const queues = resources(stateful, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(8);
    // The audit queue and its DLQ are FIFO: a tenant's entries reach the recorder in order.
    stateful.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'sms-gateway-global-audit.fifo',
      FifoQueue: true,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
    });
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    // Webhook retries span about a day: the queue keeps a delivery for two.
    stateful.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'sms-gateway-global-webhooks',
      MessageRetentionPeriod: 2 * 86_400,
      RedrivePolicy: { maxReceiveCount: 12, deadLetterTargetArn: Match.anyValue() },
    });
    const policies = resources(stateful, 'AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(8);
    for (const [, p] of policies) {
      expect(JSON.stringify(p.Properties)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('creates the system key with rotation behind its alias', () => {
    stateful.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    stateful.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/sms-gateway/system' });
  });
});

describe('stateless stack', () => {
  it('creates a route for every entry of the route table, with its authorization', () => {
    const routes = resources(stateless, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(
      [...ROUTES.map((r) => `${r.method} ${r.path}`), '$default'].sort(),
    );
    // Requests no route takes get problem details (404, 405) from a function, not API Gateway's own 404.
    const fallback = routes.find((r) => r.RouteKey === '$default')!;
    expect(fallback.AuthorizationType ?? 'NONE').toBe('NONE');
    expect(JSON.stringify(fallback.Target)).toMatch(/getopenapiintegration/i);
    for (const route of ROUTES) {
      const deployed = routes.find((r) => r.RouteKey === `${route.method} ${route.path}`)!;
      const expected = { tenant: 'CUSTOM', admin: 'AWS_IAM', carrier: 'NONE', public: 'NONE' }[route.auth];
      expect(deployed.AuthorizationType ?? 'NONE', `${route.method} ${route.path}`).toBe(expected);
    }
  });

  it('authorizes tenant routes with a cached Lambda authorizer using simple responses', () => {
    stateless.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 60,
    });
  });

  it('runs every function on Node.js 22, arm64, with tracing (no responses in traces) and JSON logs in a retained log group', () => {
    const fns = resources(stateless, 'AWS::Lambda::Function');
    expect(fns).toHaveLength(HTTP_FUNCTIONS.length + OTHER_FUNCTIONS.length);
    for (const [, f] of fns) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
        // Powertools Tracer segments carry ids and timings, never responses or error details.
        Environment: {
          Variables: expect.objectContaining({
            POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
            POWERTOOLS_TRACER_CAPTURE_ERROR: 'false',
          }),
        },
      });
    }
    // Function logs 30 days; the API's access logs (one group) 90.
    const retentions = resources(stateless, 'AWS::Logs::LogGroup').map(
      ([, g]) => g.Properties.RetentionInDays,
    );
    expect(retentions.filter((r) => r === 30)).toHaveLength(fns.length);
    expect(retentions.filter((r) => r !== 30)).toEqual([90]);
  });

  it('feeds the workers from SQS with partial batch failure reporting', () => {
    const mappings = resources(stateless, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(4);
    // The audit recorder takes its FIFO batch whole (a failure retries it in order).
    const [audit, workers] = [
      mappings.filter(([id]) => id.startsWith('recordauditevents')),
      mappings.filter(([id]) => !id.startsWith('recordauditevents')),
    ];
    expect(audit).toHaveLength(1);
    expect(audit[0]![1].Properties.FunctionResponseTypes).toBeUndefined();
    for (const [, m] of workers) {
      expect(m.Properties).toMatchObject({
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('gives read-only functions no write permission on the messages table', () => {
    const policies = resources(stateless, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('getmessage'));
    expect(policies.length).toBeGreaterThan(0);
    type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
    const statements = policies.flatMap(
      ([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    // The messages tables (both jurisdictions): read only. (It writes the tenants table's rate counters.)
    const onMessages = statements.filter((st) => /Messages|messages/.test(JSON.stringify(st.Resource)));
    const text = JSON.stringify(onMessages);
    expect(text).toContain('dynamodb:GetItem');
    expect(text).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/);
    // Tenant keys: it may unwrap data keys, nothing more.
    const tenantKeyActions = statements
      .filter((st) => JSON.stringify(st.Condition ?? {}).includes('kms:EncryptionContext:tenant'))
      .flatMap((st) => st.Action);
    expect(tenantKeyActions.length).toBeGreaterThan(0);
    expect([...new Set(tenantKeyActions.filter((a) => a.startsWith('kms:')))]).toEqual(['kms:Decrypt']);
  });

  it('gives the public flows no use of any tenant key, and the carrier webhook only what the carrier events worker has', () => {
    const policiesOf = (prefix: string) =>
      resources(stateless, 'AWS::IAM::Policy').filter(([id]) => id.startsWith(prefix));
    const policies = policiesOf('verifications');
    expect(policies.length).toBeGreaterThan(0);
    expect(JSON.stringify(policies)).not.toContain('alias/sms-gateway/tenant');
    expect(JSON.stringify(policies)).not.toContain('kms:EncryptionContext:tenant');
    // The webhook handles a reply where it is taken (nothing of it is queued in clear): it seals the
    // reply under the tenant's key, with the same statements as the carrier events worker.
    type Statement = { Action: string | string[]; Condition?: unknown };
    const tenantKeyStatements = (prefix: string) =>
      policiesOf(prefix)
        .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
        .filter((st) => JSON.stringify(st.Condition ?? {}).includes('kms:EncryptionContext:tenant'));
    // Both hold them through their tenant-access roles, for the session's tenant only.
    expect(tenantKeyStatements('carrierinbound').length).toBeGreaterThan(0);
    expect(JSON.stringify(tenantKeyStatements('carrierinbound'))).toContain(SESSION_TENANT);
    expect(tenantKeyStatements('carrierinbound')).toEqual(tenantKeyStatements('applycarrierevents'));
  });

  it('sets every configuration variable the functions read', () => {
    const envs = resources(stateless, 'AWS::Lambda::Function').map(([id, f]) => [
      id,
      (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    ]);
    const send = envs.find(([id]) => String(id).startsWith('sendmessage'))![1] as Record<string, unknown>;
    expect(Object.keys(send)).toEqual(
      expect.arrayContaining([
        'GLOBAL_MESSAGES_TABLE',
        'GLOBAL_DISPATCH_QUEUE_URL',
        'GLOBAL_REGION',
        'JURISDICTION',
        'EU_RELAY_URL',
      ]),
    );
    // The global region relays an EU subject's message to the EU API: it knows no EU table or queue.
    expect(Object.keys(send)).not.toContain('EU_MESSAGES_TABLE');
    expect(Object.keys(send)).not.toContain('EU_DISPATCH_QUEUE_URL');
    expect(send.EU_RELAY_URL).toBe(EU_API);
    const dispatch = envs.find(([id]) => String(id).startsWith('dispatchmessages'))![1] as Record<
      string,
      unknown
    >;
    expect(dispatch).toMatchObject({
      CARRIER: 'sandbox',
      DISPATCH_MAX_RECEIVE_COUNT: '5',
      DISPATCH_LEASE_SECONDS: '180',
    });
  });

  it('synthesizes the same template twice (deterministic)', () => {
    const again = Template.fromStack(buildApp(appWith({ euApiUrl: EU_API })).stateless);
    expect(again.toJSON()).toEqual(statelessJson);
  }, 120_000);
});

describe('one regional deployment per jurisdiction', () => {
  const built = buildApp(appWith({ euRegion: 'eu-west-1', euApiUrl: EU_API }));

  it('puts the EU stacks in the configured EU region, with their own table and queues and no tenants table', () => {
    expect(built.eu.stateful.region).toBe('eu-west-1');
    expect(built.eu.stateless.region).toBe('eu-west-1');
    const eu = Template.fromStack(built.eu.stateful);
    eu.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    eu.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: 'sms-gateway-eu-messages' });
    eu.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'sms-gateway-eu-dispatch' });
    // Its own system key, for its copy of the system secrets (the global one stays in its region).
    eu.resourceCountIs('AWS::KMS::Key', 1);
    eu.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/sms-gateway/system' });
    // The EU region's worker consumes the EU queue, and its functions say they are EU.
    const euStateless = Template.fromStack(built.eu.stateless);
    const fns = resources(euStateless, 'AWS::Lambda::Function');
    for (const [, f] of fns) {
      expect(
        (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.JURISDICTION,
      ).toBe('eu');
    }
  });

  it('makes the tenants table a global table with a replica in the EU region, and keeps messages in their own region', () => {
    const global = Template.fromStack(built.global.stateful);
    const table = (name: string) =>
      resources(global, 'AWS::DynamoDB::GlobalTable').find(([, r]) => r.Properties.TableName === name)![1]
        .Properties;
    const regionsOf = (p: Record<string, unknown>) =>
      (p.Replicas as { Region: string }[]).map((r) => r.Region).sort();
    expect(regionsOf(table('sms-gateway-tenants'))).toEqual(['eu-west-1', 'us-east-1']);
    expect(table('sms-gateway-tenants').StreamSpecification).toEqual({
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    // Residency: a messages table is never replicated out of its region.
    expect(regionsOf(table('sms-gateway-global-messages'))).toEqual(['us-east-1']);
    const eu = Template.fromStack(built.eu.stateful);
    const euMessages = resources(eu, 'AWS::DynamoDB::GlobalTable')[0]![1].Properties;
    expect(regionsOf(euMessages)).toEqual(['eu-west-1']);
  });

  it("has the EU functions read and write the tenants table's EU replica only, and their own system key", () => {
    const template = Template.fromStack(built.eu.stateless);
    const tenantArns = new Set<string>();
    const text = JSON.stringify(template.toJSON());
    for (const m of text.matchAll(
      /arn:aws:dynamodb:([a-z0-9-]+):(?:(?!arn:).){0,80}?table\/sms-gateway-tenants/g,
    ))
      tenantArns.add(m[1]!);
    expect([...tenantArns]).toEqual(['eu-west-1']);
    const fns = resources(template, 'AWS::Lambda::Function');
    const withTenants = fns.filter(
      ([, f]) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.TENANTS_TABLE,
    );
    expect(withTenants.length).toBeGreaterThan(5);
    for (const [, f] of withTenants) {
      const vars = (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars.TENANTS_REGION).toBe('eu-west-1');
      if (vars.SYSTEM_KEY_ID) {
        // This region's key (a reference to the EU stateful stack's), and the global one named as the source.
        expect(JSON.stringify(vars.SYSTEM_KEY_ID)).not.toContain('us-east-1');
        const source = JSON.stringify(vars.SYSTEM_SECRETS_SOURCE_KEY_ARN);
        expect(source).toContain('arn:aws:kms:us-east-1:');
        expect(source).toContain(':alias/sms-gateway/system');
      }
    }
  });

  it('lets functions use tenant keys only through tenant aliases, from roles tagged as the gateway', () => {
    const template = Template.fromStack(built.global.stateless);
    const policies = (prefix: string) =>
      JSON.stringify(
        resources(template, 'AWS::IAM::Policy')
          .filter(([id]) => id.startsWith(prefix))
          .map(([, p]) => p.Properties),
      );
    // The one function that acts for any tenant (the operator's): any tenant's aliases.
    const admin = policies('admin');
    expect(admin).toContain('alias/sms-gateway/tenant/*');
    expect(admin).toContain('kms:GenerateDataKey');
    // A tenant-scoped one (the send route): through its tenant-access role, its tenant's aliases only.
    const send = policies('sendmessage');
    expect(send).toContain(`alias/sms-gateway/tenant/${SESSION_TENANT}/*`);
    expect(send).not.toContain('alias/sms-gateway/tenant/*');
    expect(send).toContain('kms:GenerateDataKey');
    expect(send).not.toContain('kms:ScheduleKeyDeletion"],"Condition":{"ForAnyValue');
    template.hasResourceProperties('AWS::IAM::Role', {
      Tags: Match.arrayWith([{ Key: 'sms-gateway-role', Value: 'tenant-key-user' }]),
    });
  });
});

describe('the carrier choice', () => {
  const policiesOf = (t: Template, prefix: string) =>
    JSON.stringify(resources(t, 'AWS::IAM::Policy').filter(([id]) => id.startsWith(prefix)));

  it('gives no function the right to send SMS through End User Messaging with the sandbox', () => {
    expect(JSON.stringify(statelessJson)).not.toContain('sms-voice:SendTextMessage');
  });

  it('with -c carrier=eum, configures and allows End User Messaging for the functions that send', () => {
    const app = appWith({
      euApiUrl: EU_API,
      carrier: 'eum',
      eumConfigurationSet: 'sms-gateway',
      eumMaxPrice: '0.05',
      gatewayOrigination: '{"default":"Verify","US":"+12025550100","CA":"+14165550100"}',
    });
    const built = buildApp(app);
    const t = Template.fromStack(built.stateless);
    const data = Template.fromStack(built.stateful);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CARRIER: 'eum',
          EUM_CONFIGURATION_SET: 'sms-gateway',
          EUM_MAX_PRICE: '0.05',
        }),
      },
    });
    for (const sender of ['dispatchmessages', 'verifications', 'applycarrierevents', 'carrierinbound']) {
      expect(policiesOf(t, sender), sender).toContain('sms-voice:SendTextMessage');
    }
    expect(policiesOf(t, 'getmessage')).not.toContain('sms-voice');
    // Its delivery events reach the carrier events queue through the configuration set's SNS destination.
    t.hasResourceProperties('AWS::SMSVOICE::ConfigurationSet', {
      ConfigurationSetName: 'sms-gateway',
      EventDestinations: [
        Match.objectLike({
          Enabled: true,
          // Some countries report delivery as TEXT_SUCCESSFUL instead of TEXT_DELIVERED.
          MatchingEventTypes: Match.arrayWith(['TEXT_DELIVERED', 'TEXT_SUCCESSFUL', 'TEXT_TTL_EXPIRED']),
          SnsDestination: { TopicArn: Match.anyValue() },
        }),
      ],
    });
    // The topic's one subscriber is a function, never a queue: its replies carry numbers and words.
    expect(resources(data, 'AWS::SNS::Subscription')).toEqual([]);
    const subscriptions = resources(t, 'AWS::SNS::Subscription');
    expect(subscriptions.map(([, r]) => r.Properties.Protocol)).toEqual(['lambda']);
    const [[, subscription]] = subscriptions as [[string, Resource]];
    expect(JSON.stringify(subscription.Properties.Endpoint)).toContain('receiveeumevents');
    // What SNS cannot hand over, and what the function fails three times, lands in one dead-letter
    // queue (encrypted, TLS only, kept 4 days: it holds what was published, in clear) that only
    // this topic may write to, instead of being dropped.
    const dlqImport = JSON.stringify(
      (subscription.Properties.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn,
    );
    const [[, invokeConfig]] = resources(t, 'AWS::Lambda::EventInvokeConfig') as [[string, Resource]];
    expect(invokeConfig.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
    });
    expect(
      JSON.stringify((invokeConfig.Properties.DestinationConfig as { OnFailure: unknown }).OnFailure),
    ).toBe(JSON.stringify({ Destination: JSON.parse(dlqImport) }));
    const [[dlqId, dlq]] = resources(data, 'AWS::SQS::Queue').filter(([id]) =>
      id.startsWith('CarrierEventsTopicDlq'),
    ) as [[string, Resource]];
    expect(dlqImport).toContain(dlqId);
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 4 * 86_400 });
    const dlqStatements = resources(data, 'AWS::SQS::QueuePolicy')
      .filter(([, p]) => JSON.stringify(p.Properties.Queues).includes(dlqId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
    expect(dlqStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(dlqStatements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: expect.stringMatching(/^CarrierEventsTopic/) } } },
      }),
    );
    data.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'sms-voice.amazonaws.com' }, Action: 'sns:Publish' }),
        ]),
      }),
    });
  }, 120_000);

  it('refuses carrier=eum without a configuration set', () => {
    const app = appWith({ carrier: 'eum' });
    expect(() => buildApp(app)).toThrow(/eumConfigurationSet/);
  });
});

describe('the HTTP API stage', () => {
  it('keeps JSON access logs that name the route template, never the raw path (paths carry phone numbers), and throttles', () => {
    const [, stage] = resources(stateless, 'AWS::ApiGatewayV2::Stage')[0]!;
    const settings = stage.Properties as {
      AccessLogSettings: { Format: string; DestinationArn: unknown };
      DefaultRouteSettings: { ThrottlingRateLimit: number; ThrottlingBurstLimit: number };
    };
    const format = JSON.parse(settings.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      route: '$context.routeKey',
      status: '$context.status',
      ip: '$context.identity.sourceIp',
    });
    expect(settings.AccessLogSettings.Format).not.toMatch(
      /\$context\.(path|resourcePath)|rawPath|querystring/i,
    );
    expect(settings.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 });
    stateless.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });
});

describe('alarms and the dashboard', () => {
  it('alarm to one topic on dead letters, old messages, the 5xx rate and throttles, and draw the flow per jurisdiction', () => {
    const alarms = resources(stateless, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const topics = resources(stateless, 'AWS::SNS::Topic').map(([id]) => id);
    expect(topics).toHaveLength(1);
    for (const a of alarms) expect(JSON.stringify(a.AlarmActions)).toContain(topics[0]!);
    const byMetric = (name: string) => alarms.filter((a) => JSON.stringify(a).includes(name));
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(4);
    expect(
      byMetric('ApproximateAgeOfOldestMessage')
        .map((a) => a.Threshold as number)
        .sort((a, b) => a - b),
    ).toEqual([300, 300, 900, 11 * 3600]);
    expect(byMetric('5xx')).toHaveLength(1);
    expect(byMetric('Throttles')).toHaveLength(HTTP_FUNCTIONS.length + OTHER_FUNCTIONS.length);
    // From the gateway's own metrics, by jurisdiction, never by tenant.
    expect(byMetric('KmsErrors')).toHaveLength(1);
    expect(byMetric('AuthFailures')).toHaveLength(1);
    expect(byMetric('AuditFailures')).toHaveLength(1);
    expect(byMetric('UsageCountFailures')).toHaveLength(1);
    expect(byMetric('WebhookEnqueueFailures')).toHaveLength(1);
    const carrier = byMetric('MessagesFailed');
    expect(carrier).toHaveLength(1);
    expect(JSON.stringify(carrier)).toContain('"Name":"jurisdiction","Value":"global"');
    stateless.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'sms-gateway-global-us-east-1',
    });
  });

  it("alarm when the hourly budget of the gateway's own messages is spent, and give the public routes that budget", () => {
    const alarms = resources(stateless, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const spent = alarms.filter((a) => a.MetricName === 'GatewayBudgetSpent');
    expect(spent).toEqual([
      expect.objectContaining({
        Namespace: 'SmsGateway',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    ]);
    expect(JSON.stringify(spent[0]!.Dimensions)).toContain('"Name":"jurisdiction","Value":"global"');
    // The functions that send the gateway's own messages: one-time codes, block-all confirmations.
    const budgetOf = (t: Template) =>
      Object.fromEntries(
        resources(t, 'AWS::Lambda::Function').flatMap(([id, f]) => {
          const v = (f.Properties.Environment as { Variables?: Record<string, string> } | undefined)
            ?.Variables;
          const fn = /^(verifications|applycarrierevents|carrierinbound)Function/.exec(id)?.[1] ?? id;
          return v?.GATEWAY_MESSAGE_BUDGET ? [[fn, JSON.parse(v.GATEWAY_MESSAGE_BUDGET) as unknown]] : [];
        }),
      );
    const defaults = { perHour: 1000, perCountryPerHour: { '*': 100 } };
    expect(budgetOf(stateless)).toEqual({
      verifications: defaults,
      applycarrierevents: defaults,
      carrierinbound: defaults,
    });
    const custom = buildApp(
      appWith({
        euApiUrl: EU_API,
        gatewayMessageBudget: '{"perHour":50,"perCountryPerHour":{"*":5,"US":20}}',
      }),
    );
    const custom50 = { perHour: 50, perCountryPerHour: { '*': 5, US: 20 } };
    expect(budgetOf(Template.fromStack(custom.stateless))).toEqual({
      verifications: custom50,
      applycarrierevents: custom50,
      carrierinbound: custom50,
    });
    expect(() =>
      buildApp(
        appWith({ euApiUrl: EU_API, gatewayMessageBudget: '{"perHour":50,"perCountryPerHour":{"US":20}}' }),
      ),
    ).toThrow(/gatewayMessageBudget/);
  }, 120_000);

  it("let CloudWatch publish to the alarm topic, for this account's alarms only, and keep TLS only", () => {
    const [[topicId, topic]] = resources(stateless, 'AWS::SNS::Topic') as [[string, Resource]];
    // Not KMS-encrypted, so CloudWatch needs no key policy (with a customer managed key it would
    // need kms:Decrypt and kms:GenerateDataKey* in the key's policy).
    expect(topic.Properties.KmsMasterKeyId).toBeUndefined();
    const statements = resources(stateless, 'AWS::SNS::TopicPolicy').flatMap(
      ([, p]) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements.filter((st) => st.Effect === 'Allow')).toEqual([
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: {
          // arn:<partition>:cloudwatch:<this region>:<this account>:alarm:*
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudwatch:us-east-1:',
                  { Ref: 'AWS::AccountId' },
                  ':alarm:*',
                ],
              ],
            },
          },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      }),
    ]);
  });

  it('watch the webhook queue: dead letters, and a delivery older than the longest retry wait', () => {
    const byId = (prefix: string) =>
      resources(stateless, 'AWS::CloudWatch::Alarm')
        .filter(([id]) => id.startsWith(prefix))
        .map(([, a]) => a.Properties);
    const [age] = byId('WebhooksOldestMessage');
    // A retry waits in the queue for its scheduled delay: that alone must not page anyone.
    expect(age!.Threshold).toBeGreaterThan(Math.max(...DEFAULT_RETRY_SCHEDULE_SECONDS));
    expect(byId('WebhooksDlqNotEmpty')).toEqual([expect.objectContaining({ Threshold: 1 })]);
  });

  it("draw the gateway's own metrics and every queue on the dashboard", () => {
    const [[, dashboard]] = resources(stateless, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const join = dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    type Widget = { properties: { title?: string; metrics?: unknown[][] } };
    const { widgets } = JSON.parse(
      join['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(''),
    ) as { widgets: Widget[] };
    const charted = widgets
      .flatMap((w) => w.properties.metrics ?? [])
      .filter((m) => m[0] === 'SmsGateway')
      .map((m) => m.slice(1, 6));
    // Every metric layers/telemetry.ts records, for this jurisdiction (DeliveryLatency is declared
    // there but never recorded).
    for (const name of [
      'MessagesAccepted',
      'MessagesQuarantined',
      'MessagesSent',
      'MessagesDelivered',
      'MessagesFailed',
      'AcceptLatency',
      'WebhooksDelivered',
      'WebhookRetries',
      'WebhooksDeadLettered',
      'WebhooksDropped',
      'AuthFailures',
      'KmsErrors',
      'AuditFailures',
      'UsageCountFailures',
      'WebhookEnqueueFailures',
    ]) {
      expect(charted, name).toContainEqual([name, 'jurisdiction', 'global', 'service', 'sms-gateway']);
    }
    // Refusals carry their reason as a dimension: one line per reason, found by a search.
    expect(JSON.stringify(widgets)).toContain(
      String.raw`SEARCH('{SmsGateway,jurisdiction,reason,service} MetricName=\"MessagesRefused\" jurisdiction=\"global\"', 'Sum', 300)`,
    );
    const titles = widgets.map((w) => w.properties.title);
    for (const q of ['Dispatch', 'CarrierEvents', 'Audit', 'Webhooks']) {
      expect(titles).toContain(`3. ${q} queue: waiting, oldest (s), dead-lettered`);
    }
  });

  it("with -c carrier=eum, alarm on the carrier events topic's dead-letter queue", () => {
    const built = buildApp(
      appWith({
        euApiUrl: EU_API,
        carrier: 'eum',
        eumConfigurationSet: 'gw',
        gatewayOrigination: EUM_ORIGINATION,
        'aws:cdk:bundling-stacks': [],
      }),
    );
    const alarms = resources(Template.fromStack(built.stateless), 'AWS::CloudWatch::Alarm').filter(([id]) =>
      id.startsWith('CarrierEventsTopicDlqNotEmpty'),
    );
    expect(alarms).toHaveLength(1);
    expect(JSON.stringify(alarms[0]![1].Properties.Dimensions)).toContain('CarrierEventsTopicDlq');
  });
});

describe('grants on the messages tables', () => {
  it('lets every role that may query a messages table query its indexes too (erasure, export and reply routing use them)', () => {
    type Statement = { Action: string | string[]; Resource: unknown };
    const statements = resources(stateless, 'AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement.map((s) => ({ id, s })),
    );
    const queries = (s: Statement) => [s.Action].flat().includes('dynamodb:Query');
    const tablesOf = (r: unknown) =>
      [r]
        .flat()
        .map((x) => JSON.stringify(x).match(/table\/(sms-gateway-[a-z]+-messages)(\/index\/[A-Za-z*]+)?/));
    let checked = 0;
    // A tenant-access role reads its own tenant's partition only (dynamodb:LeadingKeys): an index
    // is keyed by something else, so such a role never queries one (its functions do not).
    // Nor does a gateway-wide grant by key pattern (its own partitions, e.g. `operator#audit`).
    for (const { id, s } of statements.filter(
      ({ id, s }) =>
        queries(s) && !id.includes('TenantAccessRole') && !JSON.stringify(s).includes('dynamodb:LeadingKeys'),
    )) {
      for (const m of tablesOf(s.Resource)) {
        if (!m || m[2]) continue;
        checked++;
        const indexed = statements.some(
          (o) => o.id === id && queries(o.s) && tablesOf(o.s.Resource).some((x) => x?.[1] === m[1] && x?.[2]),
        );
        expect(indexed, `${id} queries ${m[1]} but not its indexes`).toBe(true);
      }
    }
    // Fewer as functions become tenant-scoped (what is left: the operator's admin function).
    expect(checked).toBeGreaterThanOrEqual(1);
  });
});
