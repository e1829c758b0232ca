import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  type Metric,
  Metric as MetricOf,
  SearchExpression,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Jurisdiction } from '../../layers/core/model.ts';
import { present } from '../../layers/present.ts';
import type { GatewayFunction } from './gateway-function.ts';

export type ObservedQueue = {
  name: string;
  dlq: IQueue;
  /** What a record in the dead-letter queue means, for the alarm (default: consumer failures). */
  deadLetters?: string;
} & (
  | {
      queue: IQueue;
      /** Alarm when the oldest message has waited this long. */
      maxAgeSeconds: number;
    }
  /** A dead-letter queue alone: an SNS subscription's, whose source is a topic. */
  | { queue?: undefined }
);

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms to one SNS topic (subscribe your on-call to it) and one dashboard per jurisdiction that
 * follows a message end to end: API requests, the queues and their dead-letter queues, the
 * functions between them, and the gateway's own metrics (layers/telemetry.ts).
 */
export function observe(
  scope: Construct,
  props: {
    jurisdiction: Jurisdiction;
    api: HttpApi;
    functions: Record<string, GatewayFunction>;
    queues: ObservedQueue[];
  },
) {
  const topic = new Topic(scope, 'Alarms', {
    displayName: `SMS gateway alarms (${props.jurisdiction})`,
    enforceSSL: true,
  });
  Validations.of(topic).acknowledge({
    id: 'AwsSolutions-SNS2',
    reason:
      'Alarm notifications carry alarm names, metrics and thresholds only, no personal data; CloudWatch cannot publish to a topic under an AWS managed key.',
  });
  // The TLS-only policy replaces SNS's default one, so CloudWatch must be let in by name: only
  // for this account's alarms in this region (no other account's alarm can use the topic). The
  // topic is not KMS-encrypted, so CloudWatch needs no use of a key.
  const stack = Stack.of(scope);
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        ArnLike: {
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
        StringEquals: { 'aws:SourceAccount': stack.account },
      },
    }),
  );
  const action = new SnsAction(topic);
  const alarm = (id: string, metric: Metric | MathExpression, threshold: number, description: string) => {
    const a = new Alarm(scope, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    a.addAlarmAction(action);
    return a;
  };

  for (const q of props.queues) {
    alarm(
      `${q.name}DlqNotEmpty`,
      q.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      1,
      q.deadLetters ??
        `Records reached the ${q.name} dead-letter queue: inspect them, fix the cause, redrive.`,
    );
    if (!q.queue) continue;
    alarm(
      `${q.name}OldestMessage`,
      q.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      q.maxAgeSeconds,
      `The oldest ${q.name} record has waited ${q.maxAgeSeconds} s: the consumer is failing or too slow.`,
    );
  }
  const requests = props.api.metricCount({ period: FIVE_MINUTES });
  const serverErrors = props.api.metricServerError({ period: FIVE_MINUTES });
  alarm(
    'Api5xxRate',
    new MathExpression({
      expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period: FIVE_MINUTES,
      label: '5xx %',
    }),
    1,
    'More than 1% of API requests (of at least 20 in 5 minutes) answered 5xx.',
  );
  // The gateway's own metrics (layers/telemetry.ts): namespace SmsGateway, dimensions service and jurisdiction.
  const own = (metricName: string, period = FIVE_MINUTES, statistic = 'Sum', label?: string) =>
    new MetricOf({
      namespace: 'SmsGateway',
      metricName,
      dimensionsMap: { service: 'sms-gateway', jurisdiction: props.jurisdiction },
      statistic,
      period,
      ...(label ? { label } : {}),
    });
  alarm(
    'AuthFailures',
    own('AuthFailures'),
    100,
    '100 or more requests with a bad or revoked API key in 5 minutes: key guessing, or a client still using an old key.',
  );
  alarm(
    'AuditFailures',
    own('AuditFailures'),
    1,
    'An audit entry could not be queued: the audit trail of some calls is missing (see the function logs).',
  );
  alarm(
    'UsageCountFailures',
    own('UsageCountFailures'),
    1,
    'Usage counters could not be written: usage reports and analytics under-count (see the worker logs).',
  );
  alarm(
    'WebhookEnqueueFailures',
    own('WebhookEnqueueFailures'),
    1,
    'Webhook deliveries could not be queued: some tenants miss status or reply events.',
  );
  alarm(
    'KmsErrors',
    own('KmsErrors'),
    5,
    'KMS calls are failing (5 or more in 5 minutes): tenant data cannot be sealed or opened.',
  );
  alarm(
    'GatewayMessageBudgetSpent',
    own('GatewayBudgetSpent'),
    1,
    "The hourly budget of the gateway's own messages (one-time codes, confirmations), a country's or the whole region's, is spent: codes are refused (429) until the next hour. SMS pumping through the public routes, or a budget too small (-c gatewayMessageBudget).",
  );
  const fifteen = Duration.minutes(15);
  alarm(
    'CarrierFailureRate',
    new MathExpression({
      expression: 'IF(sent >= 20, 100 * failed / sent, 0)',
      usingMetrics: { sent: own('MessagesSent', fifteen), failed: own('MessagesFailed', fifteen) },
      period: fifteen,
      label: 'carrier failures %',
    }),
    20,
    'A fifth or more of the messages handed to the carrier (of at least 20 in 15 minutes) failed.',
  );
  for (const [name, f] of Object.entries(props.functions)) {
    alarm(
      `${name}Throttles`,
      f.fn.metricThrottles({ period: FIVE_MINUTES }),
      1,
      `Lambda throttled ${name}: raise its concurrency or the account limit.`,
    );
  }

  const dashboard = new Dashboard(scope, 'Dashboard', {
    dashboardName: `sms-gateway-${props.jurisdiction}-${Stack.of(scope).region}`,
  });
  const fn = (name: string) => present(props.functions[name], `the function ${name}`).fn;
  /** A graph of the gateway's own counts, summed over five minutes: one line per [metric, label]. */
  const counts = (title: string, width: number, lines: [metric: string, label: string][]) =>
    new GraphWidget({ title, left: lines.map(([m, label]) => own(m, FIVE_MINUTES, 'Sum', label)), width });
  dashboard.addWidgets(
    new TextWidget({
      markdown: `# SMS gateway (${props.jurisdiction}): a message from request to carrier receipt`,
      width: 24,
      height: 1,
    }),
  );
  dashboard.addWidgets(
    new GraphWidget({
      title: '1. API: requests, 4xx, 5xx',
      left: [requests, props.api.metricClientError({ period: FIVE_MINUTES }), serverErrors],
      width: 8,
    }),
    new GraphWidget({
      title: '1. API latency (p50, p99)',
      left: [props.api.metricLatency({ statistic: 'p50' }), props.api.metricLatency({ statistic: 'p99' })],
      width: 8,
    }),
    new GraphWidget({
      title: '2. Send: invocations, errors',
      left: [
        fn('send-message').metricInvocations(),
        fn('send-batch').metricInvocations(),
        fn('send-message').metricErrors(),
      ],
      width: 8,
    }),
  );
  dashboard.addWidgets(
    ...props.queues.map((q) =>
      q.queue
        ? new GraphWidget({
            title: `3. ${q.name} queue: waiting, oldest (s), dead-lettered`,
            left: [
              q.queue.metricApproximateNumberOfMessagesVisible(),
              q.dlq.metricApproximateNumberOfMessagesVisible(),
            ],
            right: [q.queue.metricApproximateAgeOfOldestMessage()],
            width: 8,
          })
        : new GraphWidget({
            title: `3. ${q.name}: dead-lettered`,
            left: [q.dlq.metricApproximateNumberOfMessagesVisible()],
            width: 8,
          }),
    ),
    new GraphWidget({
      title: '4. Dispatch and carrier events: invocations, errors, duration',
      left: [
        fn('dispatch-messages').metricInvocations(),
        fn('dispatch-messages').metricErrors(),
        fn('apply-carrier-events').metricErrors(),
      ],
      right: [fn('dispatch-messages').metricDuration({ statistic: 'p99' })],
      width: 8,
    }),
  );
  // What the gateway itself counts: the fate of messages, refusals by reason, webhooks, and the
  // failures the alarms above watch.
  dashboard.addWidgets(
    counts('5. Messages: accepted, quarantined, sent, delivered, failed', 8, [
      ['MessagesAccepted', 'accepted'],
      ['MessagesQuarantined', 'quarantined'],
      ['MessagesSent', 'sent'],
      ['MessagesDelivered', 'delivered'],
      ['MessagesFailed', 'failed'],
    ]),
    new GraphWidget({
      title: '5. Requests refused, by reason',
      // Each refusal carries its reason as an extra dimension: one line per reason seen.
      left: [
        new SearchExpression({
          expression: `SEARCH('{SmsGateway,jurisdiction,reason,service} MetricName="MessagesRefused" jurisdiction="${props.jurisdiction}"', 'Sum', 300)`,
          label: '',
        }),
      ],
      width: 8,
    }),
    new GraphWidget({
      title: '5. Accept latency, ms (p50, p99)',
      left: [
        own('AcceptLatency', FIVE_MINUTES, 'p50', 'p50'),
        own('AcceptLatency', FIVE_MINUTES, 'p99', 'p99'),
      ],
      width: 8,
    }),
  );
  dashboard.addWidgets(
    counts('6. Webhooks: delivered, retried, dead-lettered, dropped', 12, [
      ['WebhooksDelivered', 'delivered'],
      ['WebhookRetries', 'retried'],
      ['WebhooksDeadLettered', 'dead-lettered'],
      ['WebhooksDropped', 'dropped'],
    ]),
    counts('6. Failures: bad API keys, KMS, audit, usage counts, webhook queueing', 12, [
      ['AuthFailures', 'bad API keys'],
      ['KmsErrors', 'KMS errors'],
      ['AuditFailures', 'audit entries lost'],
      ['UsageCountFailures', 'usage counts lost'],
      ['WebhookEnqueueFailures', 'webhooks not queued'],
      ['GatewayBudgetSpent', 'own messages refused (budget spent)'],
    ]),
  );
  return { topic, dashboard };
}
