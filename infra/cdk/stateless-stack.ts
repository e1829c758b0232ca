import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  type HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpIamAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type ITableV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnConfigurationSet } from 'aws-cdk-lib/aws-smsvoice';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { EUM_FINAL_EVENT_TYPES } from '../../layers/adapters/eum-events.ts';
import type { GatewayMessageBudget } from '../../layers/core/gateway-budget.ts';
import type { Jurisdiction } from '../../layers/core/model.ts';
import type { GatewayOrigination } from '../../layers/core/origination.ts';
import type { SendRates } from '../../layers/core/pacing.ts';
import { type FunctionDeclaration, needsIn, tenantsNeedIn } from '../../layers/declaration.ts';
import { type HttpFunction, UNKNOWN_ROUTE_FUNCTION } from '../../layers/http/route.ts';
import { ROUTES } from '../../layers/http/routes.ts';
import { present } from '../../layers/present.ts';
import type { DeployContext, QueueName } from '../../layers/settings.ts';
import { DECLARATIONS, type FunctionName } from '../declarations.ts';
import { AUTHORIZER_CACHE_SECONDS, SYSTEM_KEY_ALIAS } from '../resources.ts';
import {
  DEFAULT_GATEWAY_MESSAGE_BUDGET,
  DEFAULT_ORIGINATION,
  environmentOf,
  POWERTOOLS_ENV,
} from './environment.ts';
import { GatewayFunction } from './gateway-function.ts';
import { physicalNames, TENANTS_TABLE_NAME } from './names.ts';
import { observe } from './observability.ts';
import type { StatefulStack } from './stateful-stack.ts';
import { TenantAccessRole } from './tenant-access.ts';

export interface StatelessStackProps extends StackProps {
  stateful: StatefulStack;
  jurisdiction: Jurisdiction;
  /** The region of each jurisdiction: every function can reach both. */
  regions: Record<Jurisdiction, string>;
  /** Public endpoints, when known (custom domains), named in 421 answers. */
  apiUrls?: Partial<Record<Jurisdiction, string>>;
  /** The carrier for live traffic (test keys always use the sandbox). */
  carrier?: DeployContext['carrier'];
  /** The gateway's own origination identities per jurisdiction (`-c gatewayOrigination`). */
  origination?: GatewayOrigination;
  /** Hourly budgets of the gateway's own messages (`-c gatewayMessageBudget`). */
  gatewayMessageBudget?: GatewayMessageBudget;
  /** List prices for the usage estimate (`-c smsPricesUsd`, JSON). */
  smsPricesUsd?: string | undefined;
  /** Message parts per second per origination identity and per account (`-c sendRates`). */
  sendRates?: SendRates | undefined;
}

const JURISDICTIONS: Jurisdiction[] = ['global', 'eu'];

/** Why each wildcard resource a function's policy may hold is there. */
function wildcardReason(resource: string): string {
  if (resource === '*') {
    return 'X-Ray trace segments and sms-voice:SendTextMessage accept no narrower resource (EUM identities are registered outside the stack).';
  }
  if (resource.includes('PrincipalTag'))
    return "A tenant-access session's own tenant's aliases only (the session tag names the tenant).";
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
    // An imported table's grants cover its indexes only when told so: without it, every query of
    // bySubject (erasure, export) and byRecipient (reply routing, "who sent me this?") is refused
    // in AWS (the local IAM enforcement found it).
    const messagesTableByArn = (id: string, tableArn: string) =>
      TableV2.fromTableAttributes(this, id, { tableArn, grantIndexPermissions: true });
    const otherMessages = messagesTableByArn(
      `${otherJ}Messages`,
      otherArn('dynamodb', `table/${physicalNames(otherJ).messagesTable}`),
    );
    const otherQueue = (
      id: string,
      queue: 'dispatchQueue' | 'auditQueue' | 'webhookQueue' | 'carrierEventsQueue',
    ) => Queue.fromQueueArn(this, `${otherJ}${id}`, otherArn('sqs', physicalNames(otherJ)[queue]));
    const otherDispatch = otherQueue('Dispatch', 'dispatchQueue');
    const otherAudit = otherQueue('Audit', 'auditQueue');
    const otherWebhooks = otherQueue('Webhooks', 'webhookQueue');
    const otherEvents = otherQueue('CarrierEvents', 'carrierEventsQueue');
    // This region's messages table by ARN too: grants then name it literally (not through a
    // cross-stack export), which gives stable cdk-nag finding ids; the dependency stays explicit.
    const tableArn = (j: Jurisdiction) =>
      `arn:aws:dynamodb:${regions[j]}:${account}:table/${physicalNames(j).messagesTable}`;
    const ownMessages = messagesTableByArn('OwnMessages', tableArn(jurisdiction));
    this.addStackDependency(stateful);
    const messages = (j: Jurisdiction): ITableV2 => (other(j) ? otherMessages : ownMessages);
    const dispatchQueue = (j: Jurisdiction): IQueue => (other(j) ? otherDispatch : stateful.dispatchQueue);
    const eventsQueue = (j: Jurisdiction): IQueue => (other(j) ? otherEvents : stateful.carrierEventsQueue);
    const webhookQueue = (j: Jurisdiction): IQueue => (other(j) ? otherWebhooks : stateful.webhookQueue);
    const auditQueue = (j: Jurisdiction): IQueue => (other(j) ? otherAudit : stateful.auditQueue);
    // The tenants table's replica in this region (a global table: the EU region's functions are
    // granted its EU replica only, and read and write it without calling the global region).
    const tenantsTable: ITableV2 =
      stateful.tenants ??
      TableV2.fromTableArn(
        this,
        'Tenants',
        `arn:aws:dynamodb:${regions[jurisdiction]}:${account}:table/${TENANTS_TABLE_NAME}`,
      );
    // This region's system key; the global one made the system secrets (the EU copies them once).
    const globalSystemKeyArn = `arn:aws:kms:${regions.global}:${account}:${SYSTEM_KEY_ALIAS}`;
    const systemKeyArn = stateful.systemKey?.keyArn ?? globalSystemKeyArn;

    const queueOf = (j: Jurisdiction, q: QueueName): IQueue =>
      ({ dispatch: dispatchQueue, carrierEvents: eventsQueue, webhooks: webhookQueue, audit: auditQueue })[q](
        j,
      );
    /** A queue trigger's MaximumConcurrency: its declaration's, or the context's override. */
    const queueMaxConcurrency = (d: FunctionDeclaration): number => {
      const t = d.trigger;
      if (t.kind !== 'queue') throw new Error(`${d.name} has no queue trigger`);
      const maxConcurrency = Number(
        (t.maxConcurrencyContext && this.node.tryGetContext(t.maxConcurrencyContext)) ?? t.maxConcurrency,
      );
      if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
        throw new Error(
          `${t.maxConcurrencyContext ?? d.name}: an SQS event source's maximum concurrency is 2 to 1,000`,
        );
      }
      return maxConcurrency;
    };
    const deploy: DeployContext = {
      jurisdiction,
      regions,
      account,
      apiUrls: props.apiUrls ?? {},
      carrier: props.carrier ?? { kind: 'sandbox' },
      origination: JSON.stringify(props.origination ?? DEFAULT_ORIGINATION),
      gatewayMessageBudget: JSON.stringify(props.gatewayMessageBudget ?? DEFAULT_GATEWAY_MESSAGE_BUDGET),
      smsPricesUsd: props.smsPricesUsd,
      ...(props.sendRates ? { sendRates: JSON.stringify(props.sendRates) } : {}),
      dispatchMaxConcurrency: queueMaxConcurrency(DECLARATIONS['dispatch-messages']),
      resources: {
        messagesTable: (j) => physicalNames(j).messagesTable,
        queueUrl: (j, q) =>
          q === 'webhookDlq'
            ? other(j)
              ? noOtherDlq()
              : dlqOf(stateful.webhookQueue).queueUrl
            : queueOf(j, q).queueUrl,
        tenantsTable: tenantsTable.tableName,
        systemKeyId: systemKeyArn,
        globalSystemKeyArn,
      },
    };

    const dlqOf = (q: IQueue) => present((q as Queue).deadLetterQueue, `${q.node.id}'s DLQ`).queue;
    const noOtherDlq = (): never => {
      throw new Error("A webhook DLQ is its own region's worker's only");
    };
    /** Builds one function from its declaration: environment, grants and trigger. */
    const build = (d: FunctionDeclaration): GatewayFunction => {
      const reserved = d.reservedConcurrencyContext
        ? this.node.tryGetContext(d.reservedConcurrencyContext)
        : undefined;
      const f = new GatewayFunction(this, d.name, {
        entry: d.name,
        timeout: Duration.seconds(d.timeoutSeconds),
        ...(d.memoryMB ? { memorySize: d.memoryMB } : {}),
        environment: { ...environmentOf(d, deploy), ...POWERTOOLS_ENV },
        ...(reserved !== undefined ? { reservedConcurrentExecutions: Number(reserved) } : {}),
      });
      const needs = needsIn(d, jurisdiction);
      // A tenant-scoped function reaches tenant data only through its tenant-access role.
      const tenantAccess = d.tenantScoped ? new TenantAccessRole(f, 'TenantAccess', f.fn) : undefined;
      if (tenantAccess) f.fn.addEnvironment('TENANT_ACCESS_ROLE_ARN', tenantAccess.role.roleArn);
      const tenantKeys = new Map<'read' | 'write' | 'admin', string[]>();
      const sms: string[] = [];
      for (const j of JURISDICTIONS) {
        const n = needs[j];
        if (n.messages && tenantAccess) {
          tenantAccess.grantTable(messages(j).tableArn, n.messages);
          // Gateway-wide items only (by key pattern): the execution role reads no tenant's.
          if (d.gatewayWide?.messages) f.grantTable(messages(j), d.gatewayWide.messages);
        } else if (n.messages) f.grantTable(messages(j), n.messages);
        for (const q of ['dispatch', 'carrierEvents', 'webhooks', 'audit'] as const) {
          if (n[q] === 'send' || n[q] === 'consume+send') f.grantSend(queueOf(j, q));
        }
        if (n.webhookDlq) f.grantSend(other(j) ? noOtherDlq() : dlqOf(stateful.webhookQueue));
        if (n.tenantKeys) tenantKeys.set(n.tenantKeys, [...(tenantKeys.get(n.tenantKeys) ?? []), regions[j]]);
        if (n.sms) sms.push(regions[j]);
      }
      // The tenant-key grants in one call per access level, narrowed to the regions touched.
      for (const [access, inRegions] of tenantKeys) {
        if (tenantAccess) tenantAccess.useTenantKeys(account, access, inRegions);
        else f.useTenantKeys(account, access, inRegions);
      }
      if (sms.length && props.carrier?.kind === 'eum') f.sendsSms(sms);
      const tenants = tenantsNeedIn(d, jurisdiction);
      if (tenants && tenantAccess) {
        // The tenant's own items through its tenant-access role; gateway-wide ones by key pattern.
        tenantAccess.grantTenantsTable(tenantsTable.tableArn, tenants);
        if (d.gatewayWide?.tenants) f.grantTable(tenantsTable, d.gatewayWide.tenants);
      } else if (tenants) f.grantTable(tenantsTable, tenants);
      if (d.needs.systemKey && jurisdiction === 'global') {
        f.useKeyArn(systemKeyArn, ['kms:GenerateDataKey', 'kms:Decrypt']);
      } else if (d.needs.systemKey) {
        // This region's copy of the system secrets: unwrapped here, made once from the global key's.
        f.useKeyArn(systemKeyArn, ['kms:Decrypt', 'kms:Encrypt']);
        f.useKeyArn(globalSystemKeyArn, ['kms:GenerateDataKey', 'kms:Decrypt']);
      }
      const t = d.trigger;
      if (t.kind === 'queue') {
        const maxConcurrency = queueMaxConcurrency(d);
        f.fn.addEventSource(
          new SqsEventSource(queueOf(jurisdiction, t.queue), {
            batchSize: t.batchSize,
            ...(t.maxBatchingWindowSeconds > 0
              ? { maxBatchingWindow: Duration.seconds(t.maxBatchingWindowSeconds) }
              : {}),
            reportBatchItemFailures: t.partialBatchResponses,
            maxConcurrency,
          }),
        );
      }
      if (t.kind === 'sns') {
        // End User Messaging's replies (number and words) and delivery events reach the function
        // from SNS directly, never a queue. What SNS cannot hand over, and what the function still
        // fails after Lambda's two retries, waits in the topic's dead-letter queue as published.
        const { carrierEventsTopic: topic, carrierEventsTopicDlq: dlq } = stateful;
        if (!topic || !dlq) throw new Error(`${d.name}: its topic exists only with carrier=eum`);
        topic.addSubscription(new LambdaSubscription(f.fn, { deadLetterQueue: dlq }));
        f.fn.configureAsyncInvoke({
          onFailure: new SqsDestination(dlq),
          retryAttempts: 2,
          maxEventAge: Duration.hours(6),
        });
      }
      return f;
    };
    // A topic's subscriber exists only where the topic does (End User Messaging as the carrier).
    const built = Object.fromEntries(
      Object.entries(DECLARATIONS)
        .filter(([, d]) => d.trigger.kind !== 'sns' || stateful.carrierEventsTopic)
        .map(([name, d]) => [name, build(d)]),
    ) as Record<FunctionName, GatewayFunction>;
    const functions: Record<HttpFunction, GatewayFunction> = Object.fromEntries(
      Object.entries(built).filter(
        ([, f]) => DECLARATIONS[f.node.id as FunctionName].trigger.kind === 'http',
      ),
    ) as Record<HttpFunction, GatewayFunction>;
    const authorizerFn = built.authorize;

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
        Validations.of(present(added, `the route ${route.method} ${route.path}`)).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            route.auth === 'public'
              ? 'Public by design (the API document, and the rate-limited one-time-code flows for people without an account).'
              : 'Carriers cannot sign with IAM or hold a tenant key: the function checks the carrier token (HMAC under the pepper, constant-time).',
        });
      }
    }
    // Every other request (an unknown path, or a known one with another method) gets problem
    // details instead of API Gateway's bare {"message":"Not Found"}: 404, or 405 with Allow.
    const unknown = new HttpRoute(this, 'UnknownRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: present(integrations.get(UNKNOWN_ROUTE_FUNCTION), 'the unknown-route integration'),
    });
    Validations.of(unknown).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'The $default route only answers 404 or 405 problem details for requests no other route takes.',
    });
    this.hardenStage();
    observe(this, {
      jurisdiction,
      api: this.api,
      functions: built,
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
                  "End User Messaging's replies or delivery events could not be handled (SNS could not invoke receive-eum-events, or it failed three times): fix the cause and publish them to the topic again, or their replies are lost and their messages stay sent. They hold numbers and words in clear: delete them once handled.",
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
      ...JURISDICTIONS.flatMap((j) => [
        `arn:aws:kms:${regions[j]}:${accountId}:alias/sms-gateway/tenant/*`,
        // A tenant-access session's own aliases (one per jurisdiction), named by its session tag.
        `arn:aws:kms:${regions[j]}:${accountId}:alias/sms-gateway/tenant/<aws:PrincipalTag/tenant>/*`,
        `arn:aws:kms:${regions[j]}:${accountId}:key/*`,
        `${tableArn(j).replace(account, accountId)}/index/*`,
      ]),
    ];
    for (const f of Object.values(built)) {
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
    const stage = present(this.api.defaultStage, "the HTTP API's default stage").node
      .defaultChild as CfnStage;
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
   * whose subscriber (receive-eum-events) applies them.
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
