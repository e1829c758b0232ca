import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, type HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpIamAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { type HttpFunction, ROUTES } from '../../layers/http/routes.ts';
import { AUTHORIZER_CACHE_SECONDS, QUEUES, visibilityTimeoutSeconds } from '../resources.ts';
import { GatewayFunction } from './gateway-function.ts';
import type { StatefulStack } from './stateful-stack.ts';

export interface StatelessStackProps extends StackProps {
  stateful: StatefulStack;
  jurisdiction: 'global' | 'eu';
  messageRetentionDays: number;
}

/** Functions and the HTTP API: replaceable at will, holding no data. */
export class StatelessStack extends Stack {
  readonly api: HttpApi;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { stateful } = props;
    const common = {
      JURISDICTION: props.jurisdiction,
      MESSAGE_RETENTION_DAYS: String(props.messageRetentionDays),
    };
    const http = (entry: HttpFunction) =>
      new GatewayFunction(this, entry, { entry, timeout: Duration.seconds(29), environment: common });

    const sendMessage = http('send-message')
      .useTable(stateful.messages, 'readWrite', 'MESSAGES_TABLE')
      .useQueue(stateful.dispatchQueue, 'send', 'DISPATCH_QUEUE_URL');
    const sendBatch = http('send-batch')
      .useTable(stateful.messages, 'readWrite', 'MESSAGES_TABLE')
      .useQueue(stateful.dispatchQueue, 'send', 'DISPATCH_QUEUE_URL');
    const getMessage = http('get-message').useTable(stateful.messages, 'read', 'MESSAGES_TABLE');
    const listMessages = http('list-messages').useTable(stateful.messages, 'read', 'MESSAGES_TABLE');
    const getOpenApi = http('get-openapi');
    const admin = http('admin')
      .useTable(stateful.tenants, 'readWrite', 'TENANTS_TABLE')
      .useKey(stateful.systemKey, 'SYSTEM_KEY_ID', ['kms:GenerateDataKey', 'kms:Decrypt']);
    const functions: Record<HttpFunction, GatewayFunction> = {
      'send-message': sendMessage,
      'send-batch': sendBatch,
      'get-message': getMessage,
      'list-messages': listMessages,
      'get-openapi': getOpenApi,
      admin,
      'delete-message-body': http('delete-message-body'),
      subjects: http('subjects'),
    };

    const authorizerFn = new GatewayFunction(this, 'authorize', {
      entry: 'authorize',
      timeout: Duration.seconds(10),
      environment: common,
    })
      // The authorizer also creates the pepper on first use, hence readWrite and GenerateDataKey.
      .useTable(stateful.tenants, 'readWrite', 'TENANTS_TABLE')
      .useKey(stateful.systemKey, 'SYSTEM_KEY_ID', ['kms:GenerateDataKey', 'kms:Decrypt']);

    const dispatch = new GatewayFunction(this, 'dispatch-messages', {
      entry: 'dispatch-messages',
      timeout: Duration.seconds(QUEUES.dispatch.consumerTimeoutSeconds),
      environment: {
        ...common,
        CARRIER: 'sandbox',
        DISPATCH_LEASE_SECONDS: String(visibilityTimeoutSeconds(QUEUES.dispatch)),
        DISPATCH_MAX_RECEIVE_COUNT: String(QUEUES.dispatch.maxReceiveCount),
      },
    })
      .useTable(stateful.messages, 'readWrite', 'MESSAGES_TABLE')
      .useQueue(stateful.carrierEventsQueue, 'send', 'CARRIER_EVENTS_QUEUE_URL');
    dispatch.fn.addEventSource(
      new SqsEventSource(stateful.dispatchQueue, {
        batchSize: QUEUES.dispatch.batchSize,
        maxBatchingWindow: Duration.seconds(QUEUES.dispatch.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
      }),
    );

    const carrierEvents = new GatewayFunction(this, 'apply-carrier-events', {
      entry: 'apply-carrier-events',
      timeout: Duration.seconds(QUEUES.carrierEvents.consumerTimeoutSeconds),
      environment: common,
    }).useTable(stateful.messages, 'readWrite', 'MESSAGES_TABLE');
    carrierEvents.fn.addEventSource(
      new SqsEventSource(stateful.carrierEventsQueue, {
        batchSize: QUEUES.carrierEvents.batchSize,
        maxBatchingWindow: Duration.seconds(QUEUES.carrierEvents.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
      }),
    );

    const tenantAuthorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', authorizerFn.fn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_SECONDS),
    });
    const iam = new HttpIamAuthorizer();
    const authorizers: Record<(typeof ROUTES)[number]['auth'], IHttpRouteAuthorizer | undefined> = {
      tenant: tenantAuthorizer,
      admin: iam,
      public: undefined,
    };

    this.api = new HttpApi(this, 'HttpApi', { description: 'SMS gateway public and admin API' });
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
      this.api.addRoutes({
        path: route.path,
        methods: [route.method as HttpMethod],
        integration,
        authorizer: authorizers[route.auth],
      });
    }
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
  }
}
