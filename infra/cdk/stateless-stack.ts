import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  type HttpMethod,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpIamAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type ITableV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnConfigurationSet } from 'aws-cdk-lib/aws-smsvoice';
import { type IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EUM_FINAL_EVENT_TYPES } from '../../layers/adapters/eum-events.ts';
import { envPrefix } from '../../layers/config.ts';
import type { Jurisdiction } from '../../layers/core/model.ts';
import { type HttpFunction, ROUTES } from '../../layers/http/routes.ts';
import {
  AUTHORIZER_CACHE_SECONDS,
  QUEUES,
  type QueueDefinition,
  RECORDS,
  SYSTEM_KEY_ALIAS,
  visibilityTimeoutSeconds,
} from '../resources.ts';
import { GatewayFunction } from './gateway-function.ts';
import { physicalNames, TENANTS_TABLE_NAME } from './names.ts';
import { observe } from './observability.ts';
import type { StatefulStack } from './stateful-stack.ts';

export interface StatelessStackProps extends StackProps {
  stateful: StatefulStack;
  jurisdiction: Jurisdiction;
  /** The region of each jurisdiction: every function can reach both. */
  regions: Record<Jurisdiction, string>;
  /** Public endpoints, when known (custom domains), named in 421 answers. */
  apiUrls?: Partial<Record<Jurisdiction, string>>;
  /** The carrier for live traffic (test keys always use the sandbox). */
  carrier?: { kind: 'sandbox' } | { kind: 'eum'; configurationSet: string; maxPrice?: string | undefined };
}

const JURISDICTIONS: Jurisdiction[] = ['global', 'eu'];

/** Why each wildcard resource a function's policy may hold is there. */
function wildcardReason(resource: string): string {
  if (resource === '*') {
    return 'X-Ray trace segments and sms-voice:SendTextMessage accept no narrower resource (EUM identities are registered outside the stack).';
  }
  if (resource.includes(':dynamodb:'))
    return "The messages table's own indexes (bySubject, byRecipient) only.";
  return 'KMS keys matched by alias conditions: tenant keys are created at run time (one per tenant and jurisdiction), the system key is named by its alias.';
}

/** Functions and the HTTP API of one jurisdiction's region: replaceable at will, holding no data. */
export class StatelessStack extends Stack {
  readonly api: HttpApi;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { stateful, jurisdiction, regions } = props;
    const account = Stack.of(this).account;
    // Each jurisdiction's table and queues, by their fixed names: this region's own from the
    // stateful stack, the other region's by ARN (no cross-region stack references).
    const other = (j: Jurisdiction) => j !== jurisdiction;
    // The other jurisdiction's resources, imported once each by ARN.
    const otherJ: Jurisdiction = jurisdiction === 'eu' ? 'global' : 'eu';
    const otherArn = (service: 'dynamodb' | 'sqs', resource: string) =>
      `arn:aws:${service}:${regions[otherJ]}:${account}:${resource}`;
    const otherMessages = TableV2.fromTableArn(
      this,
      `${otherJ}Messages`,
      otherArn('dynamodb', `table/${physicalNames(otherJ).messagesTable}`),
    );
    const otherDispatch = Queue.fromQueueArn(
      this,
      `${otherJ}Dispatch`,
      otherArn('sqs', physicalNames(otherJ).dispatchQueue),
    );
    const otherAudit = Queue.fromQueueArn(
      this,
      `${otherJ}Audit`,
      otherArn('sqs', physicalNames(otherJ).auditQueue),
    );
    const otherWebhooks = Queue.fromQueueArn(
      this,
      `${otherJ}Webhooks`,
      otherArn('sqs', physicalNames(otherJ).webhookQueue),
    );
    const otherEvents = Queue.fromQueueArn(
      this,
      `${otherJ}CarrierEvents`,
      otherArn('sqs', physicalNames(otherJ).carrierEventsQueue),
    );
    // This region's messages table by ARN too: grants then name it literally (not through a
    // cross-stack export), which gives stable cdk-nag finding ids; the dependency stays explicit.
    const tableArn = (j: Jurisdiction) =>
      `arn:aws:dynamodb:${regions[j]}:${account}:table/${physicalNames(j).messagesTable}`;
    const ownMessages = TableV2.fromTableArn(this, 'OwnMessages', tableArn(jurisdiction));
    this.addStackDependency(stateful);
    const messages = (j: Jurisdiction): ITableV2 => (other(j) ? otherMessages : ownMessages);
    const dispatchQueue = (j: Jurisdiction): IQueue => (other(j) ? otherDispatch : stateful.dispatchQueue);
    const eventsQueue = (j: Jurisdiction): IQueue => (other(j) ? otherEvents : stateful.carrierEventsQueue);
    const webhookQueue = (j: Jurisdiction): IQueue => (other(j) ? otherWebhooks : stateful.webhookQueue);
    const auditQueue = (j: Jurisdiction): IQueue => (other(j) ? otherAudit : stateful.auditQueue);
    const tenantsTable: ITableV2 =
      stateful.tenants ??
      TableV2.fromTableArn(
        this,
        'Tenants',
        `arn:aws:dynamodb:${regions.global}:${account}:table/${TENANTS_TABLE_NAME}`,
      );
    const systemKeyArn =
      stateful.systemKey?.keyArn ?? `arn:aws:kms:${regions.global}:${account}:${SYSTEM_KEY_ALIAS}`;

    const common: Record<string, string> = {
      JURISDICTION: jurisdiction,
      ACCOUNT_ID: account,
      TENANTS_REGION: regions.global,
      BACKUP_WINDOW_DAYS: String(RECORDS.backupWindowDays),
      ERASURE_RECORD_DAYS: String(RECORDS.erasureRecordDays),
      CLOSED_RECORDS_DAYS: String(RECORDS.closedAccountRecordsDays),
      KEY_DELETION_DAYS: String(RECORDS.keyDeletionDays),
      SENDER_IDENTITY_DAYS: String(RECORDS.senderIdentityDays),
      AUDIT_RETENTION_DAYS: String(RECORDS.auditTrailDays),
      USAGE_RETENTION_DAYS: String(RECORDS.usageRecordDays),
      ANALYTICS_RETENTION_DAYS: String(RECORDS.analyticsDays),
      GATEWAY_SENDER_ID: 'Verify',
      // Traces carry ids and timings only: responses and error details can quote numbers.
      POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
      POWERTOOLS_TRACER_CAPTURE_ERROR: 'false',
      CARRIER: props.carrier?.kind ?? 'sandbox',
      ...(props.carrier?.kind === 'eum'
        ? {
            EUM_CONFIGURATION_SET: props.carrier.configurationSet,
            ...(props.carrier.maxPrice ? { EUM_MAX_PRICE: props.carrier.maxPrice } : {}),
          }
        : {}),
    };
    /** Lets a function send through End User Messaging (in its own region) when that is the carrier. */
    const sendsSms = (f: GatewayFunction) => {
      if (props.carrier?.kind === 'eum') {
        f.fn.addToRolePolicy(
          new PolicyStatement({
            actions: ['sms-voice:SendTextMessage'],
            resources: ['*'],
            conditions: { StringEquals: { 'aws:RequestedRegion': [regions.global, regions.eu] } },
          }),
        );
      }
      return f;
    };
    for (const j of JURISDICTIONS) {
      common[`${envPrefix(j)}_REGION`] = regions[j];
      const url = props.apiUrls?.[j];
      if (url) common[`${envPrefix(j)}_API_URL`] = url;
    }

    /** Binds both jurisdictions' tables (and, for writers, queues) and the tenant-key permissions. */
    const withData = (
      f: GatewayFunction,
      access: 'read' | 'readWrite',
      options: {
        dispatch?: boolean;
        events?: boolean;
        webhooks?: boolean;
        closeAccounts?: boolean;
        noTenantKeys?: boolean;
      } = {},
    ) => {
      for (const j of JURISDICTIONS) {
        f.useTable(messages(j), access, `${envPrefix(j)}_MESSAGES_TABLE`);
        if (options.dispatch) f.useQueue(dispatchQueue(j), 'send', `${envPrefix(j)}_DISPATCH_QUEUE_URL`);
        if (options.events) f.useQueue(eventsQueue(j), 'send', `${envPrefix(j)}_CARRIER_EVENTS_QUEUE_URL`);
        // Status changes and replies become webhook deliveries in their own jurisdiction.
        if (options.webhooks) f.useQueue(webhookQueue(j), 'send', `${envPrefix(j)}_WEBHOOK_QUEUE_URL`);
      }
      // The public flows and the carrier webhook touch no tenant's sealed data.
      if (!options.noTenantKeys) {
        f.useTenantKeys(account, options.closeAccounts ? 'admin' : access === 'read' ? 'read' : 'write');
      }
      return f;
    };
    const dlqOf = (q: IQueue) => (q as Queue).deadLetterQueue!.queue;
    const http = (entry: HttpFunction) =>
      new GatewayFunction(this, entry, { entry, timeout: Duration.seconds(29), environment: common });

    /**
     * The tenants table (settings, rate and usage counters, sender IDs) and the system key (the
     * recipient pseudonym secret and the pepper are created on first use, hence GenerateDataKey).
     */
    const withTenants = (f: GatewayFunction) =>
      f
        .useTable(tenantsTable, 'readWrite', 'TENANTS_TABLE')
        .useKeyArn(systemKeyArn, 'SYSTEM_KEY_ID', ['kms:GenerateDataKey', 'kms:Decrypt']);
    /** Calls are audited through the audit queue of the jurisdiction whose data they touched. */
    const tenantHttp = (entry: HttpFunction, access: 'read' | 'readWrite', options = {}) => {
      const f = withTenants(withData(http(entry), access, options));
      for (const j of JURISDICTIONS) f.useQueue(auditQueue(j), 'send', `${envPrefix(j)}_AUDIT_QUEUE_URL`);
      return f;
    };

    const functions: Record<HttpFunction, GatewayFunction> = {
      'send-message': tenantHttp('send-message', 'readWrite', { dispatch: true, webhooks: true }),
      'send-batch': tenantHttp('send-batch', 'readWrite', { dispatch: true, webhooks: true }),
      'get-message': tenantHttp('get-message', 'read'),
      'list-messages': tenantHttp('list-messages', 'read'),
      'delete-message-body': tenantHttp('delete-message-body', 'readWrite'),
      subjects: tenantHttp('subjects', 'readWrite'),
      inbound: tenantHttp('inbound', 'read'),
      'opt-outs': tenantHttp('opt-outs', 'readWrite'),
      consents: tenantHttp('consents', 'readWrite'),
      'sender-ids': tenantHttp('sender-ids', 'readWrite'),
      settings: tenantHttp('settings', 'read'),
      // The public flows send one-time codes through the carrier and write the block list.
      verifications: sendsSms(tenantHttp('verifications', 'readWrite', { events: true, noTenantKeys: true })),
      'carrier-inbound': tenantHttp('carrier-inbound', 'read', { events: true, noTenantKeys: true }),
      'audit-events': tenantHttp('audit-events', 'read', { noTenantKeys: true }),
      usage: tenantHttp('usage', 'read', { noTenantKeys: true }),
      // Seals and rotates signing secrets under the tenant's key; reads delivery history.
      webhooks: tenantHttp('webhooks', 'readWrite'),
      'get-openapi': http('get-openapi'),
      admin: tenantHttp('admin', 'readWrite', { closeAccounts: true }),
    };

    const authorizerFn = new GatewayFunction(this, 'authorize', {
      entry: 'authorize',
      timeout: Duration.seconds(10),
      environment: common,
    })
      // The authorizer also creates the pepper on first use, hence readWrite and GenerateDataKey.
      .useTable(tenantsTable, 'readWrite', 'TENANTS_TABLE')
      .useKeyArn(systemKeyArn, 'SYSTEM_KEY_ID', ['kms:GenerateDataKey', 'kms:Decrypt']);

    /** A worker fed by a standard queue, with partial batch failure reporting. */
    const consumes = (f: GatewayFunction, queue: IQueue, def: QueueDefinition) =>
      f.fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: def.batchSize,
          maxBatchingWindow: Duration.seconds(def.maxBatchingWindowSeconds),
          reportBatchItemFailures: true,
        }),
      );

    const dispatch = sendsSms(
      withTenants(
        withData(
          new GatewayFunction(this, 'dispatch-messages', {
            entry: 'dispatch-messages',
            timeout: Duration.seconds(QUEUES.dispatch.consumerTimeoutSeconds),
            environment: {
              ...common,
              DISPATCH_LEASE_SECONDS: String(visibilityTimeoutSeconds(QUEUES.dispatch)),
              DISPATCH_MAX_RECEIVE_COUNT: String(QUEUES.dispatch.maxReceiveCount),
            },
          }),
          'readWrite',
          { events: true, webhooks: true },
        ),
      ),
    );
    consumes(dispatch, stateful.dispatchQueue, QUEUES.dispatch);

    // Replies: keyword answers go through the dispatch queue; block-all answers through the carrier.
    const carrierEvents = sendsSms(
      withTenants(
        withData(
          new GatewayFunction(this, 'apply-carrier-events', {
            entry: 'apply-carrier-events',
            timeout: Duration.seconds(QUEUES.carrierEvents.consumerTimeoutSeconds),
            environment: common,
          }),
          'readWrite',
          { dispatch: true, events: true, webhooks: true },
        ),
      ),
    );
    consumes(carrierEvents, stateful.carrierEventsQueue, QUEUES.carrierEvents);

    // Chains audit entries onto each tenant's trail in this region's messages table.
    const auditRecorder = new GatewayFunction(this, 'record-audit-events', {
      entry: 'record-audit-events',
      timeout: Duration.seconds(QUEUES.audit.consumerTimeoutSeconds),
      environment: common,
    }).useTable(messages(jurisdiction), 'readWrite', `${envPrefix(jurisdiction)}_MESSAGES_TABLE`);
    auditRecorder.fn.addEventSource(
      new SqsEventSource(stateful.auditQueue, { batchSize: QUEUES.audit.batchSize }),
    );

    // Webhook deliveries from this region's queue: the endpoint and its sealed secrets from the
    // tenants table, each attempt's outcome into this region's messages table.
    const webhookWorker = withTenants(
      new GatewayFunction(this, 'deliver-webhooks', {
        entry: 'deliver-webhooks',
        timeout: Duration.seconds(QUEUES.webhooks.consumerTimeoutSeconds),
        environment: { ...common, WEBHOOK_HISTORY_DAYS: String(RECORDS.webhookHistoryDays) },
      }),
    )
      .useTable(messages(jurisdiction), 'readWrite', `${envPrefix(jurisdiction)}_MESSAGES_TABLE`)
      .useQueue(dlqOf(stateful.webhookQueue), 'send', `${envPrefix(jurisdiction)}_WEBHOOK_DLQ_URL`)
      .useTenantKeys(account, 'read');
    webhookWorker.fn.addEnvironment(
      `${envPrefix(jurisdiction)}_WEBHOOK_QUEUE_URL`,
      stateful.webhookQueue.queueUrl,
    );
    consumes(webhookWorker, stateful.webhookQueue, QUEUES.webhooks);

    const tenantAuthorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', authorizerFn.fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
    const iam = new HttpIamAuthorizer();
    const authorizers: Record<(typeof ROUTES)[number]['auth'], IHttpRouteAuthorizer | undefined> = {
      tenant: tenantAuthorizer,
      admin: iam,
      // The carrier token is checked by the function itself (a carrier cannot sign with IAM).
      carrier: undefined,
      public: undefined,
    };

    this.api = new HttpApi(this, 'HttpApi', {
      description: `SMS gateway public and admin API (${jurisdiction} jurisdiction)`,
    });
    const integrations = new Map<HttpFunction, HttpLambdaIntegration>();
    // Routes come from the one route table the local runtime also serves.
    for (const route of ROUTES) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${route.function}-integration`,
          functions[route.function].fn,
        );
        integrations.set(route.function, integration);
      }
      const [added] = this.api.addRoutes({
        path: route.path,
        methods: [route.method as HttpMethod],
        integration,
        authorizer: authorizers[route.auth],
      });
      if (route.auth === 'public' || route.auth === 'carrier') {
        Validations.of(added!).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            route.auth === 'public'
              ? 'Public by design (the API document, and the rate-limited one-time-code flows for people without an account).'
              : 'Carriers cannot sign with IAM or hold a tenant key: the function checks the carrier token (HMAC under the pepper, constant-time).',
        });
      }
    }
    this.hardenStage();
    observe(this, {
      jurisdiction,
      api: this.api,
      functions: {
        ...functions,
        authorize: authorizerFn,
        'dispatch-messages': dispatch,
        'apply-carrier-events': carrierEvents,
        'record-audit-events': auditRecorder,
        'deliver-webhooks': webhookWorker,
      },
      queues: [
        {
          name: 'Dispatch',
          queue: stateful.dispatchQueue,
          dlq: dlqOf(stateful.dispatchQueue),
          maxAgeSeconds: 300,
        },
        {
          name: 'CarrierEvents',
          queue: stateful.carrierEventsQueue,
          dlq: dlqOf(stateful.carrierEventsQueue),
          maxAgeSeconds: 900,
        },
        {
          name: 'Audit',
          queue: stateful.auditQueue,
          dlq: dlqOf(stateful.auditQueue),
          maxAgeSeconds: 300,
        },
        {
          name: 'Webhooks',
          queue: stateful.webhookQueue,
          dlq: dlqOf(stateful.webhookQueue),
          // A retry waits in the queue for up to 10 h (the longest step of
          // DEFAULT_RETRY_SCHEDULE_SECONDS): only an older delivery means a stuck worker.
          maxAgeSeconds: 11 * 3600,
          deadLetters:
            'Webhook deliveries reached the dead-letter queue: a tenant endpoint failed every retry for about a day, or the worker failed 12 times. Tell the tenant, or fix the worker and redrive.',
        },
        ...(stateful.carrierEventsTopicDlq
          ? [
              {
                name: 'CarrierEventsTopic',
                dlq: stateful.carrierEventsTopicDlq,
                deadLetters:
                  'End User Messaging events could not be delivered from the topic to the carrier events queue (check its policy): redrive them, or their messages stay sent.',
              },
            ]
          : []),
      ],
    });
    // The wildcards every function may have, by their exact cdk-nag finding ids (a new wildcard
    // is not covered and fails the nag test).
    const accountId = Token.isUnresolved(account) ? '<AWS::AccountId>' : account;
    const wildcards = [
      '*',
      `arn:aws:kms:*:${accountId}:alias/sms-gateway/tenant/*`,
      `arn:aws:kms:*:${accountId}:key/*`,
      `arn:aws:kms:${regions.global}:${accountId}:key/*`,
      ...JURISDICTIONS.map((j) => `${tableArn(j).replace(account, accountId)}/index/*`),
    ];
    for (const f of [
      ...Object.values(functions),
      authorizerFn,
      dispatch,
      carrierEvents,
      auditRecorder,
      webhookWorker,
    ]) {
      for (const w of wildcards) {
        Validations.of(f).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${w}]`,
          reason: wildcardReason(w),
        });
      }
    }
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    if (props.carrier?.kind === 'eum') {
      if (!stateful.carrierEventsTopic)
        throw new Error('carrier=eum needs the stateful stack built with eumEvents');
      this.endUserMessaging(props.carrier.configurationSet, stateful.carrierEventsTopic.topicArn);
    }
  }

  /**
   * Access logs (JSON, 90 days) and stage throttling. The log names the route template, never the
   * raw path: paths such as /v1/opt-outs/{phone} carry phone numbers. API Gateway's throttling is
   * a coarse guard only; the limits that protect money are the gateway's own (rate, cap, flood).
   */
  private hardenStage() {
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stage = this.api.defaultStage!.node.defaultChild as CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        time: '$context.requestTimeEpoch',
        ip: '$context.identity.sourceIp',
        userAgent: '$context.identity.userAgent',
        route: '$context.routeKey',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        integrationError: '$context.integrationErrorMessage',
        authorizerError: '$context.authorizer.error',
      }),
    };
    stage.defaultRouteSettings = { throttlingRateLimit: 1_000, throttlingBurstLimit: 2_000 };
  }

  /**
   * End User Messaging's half of the carrier: the configuration set the dispatch worker names,
   * whose event destination publishes the final delivery events to the stateful stack's topic,
   * which feeds the carrier events queue.
   */
  private endUserMessaging(configurationSetName: string, topicArn: string) {
    new CfnConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName,
      eventDestinations: [
        {
          eventDestinationName: 'gateway-carrier-events',
          enabled: true,
          matchingEventTypes: [...EUM_FINAL_EVENT_TYPES],
          snsDestination: { topicArn },
        },
      ],
    });
  }
}
