import './xray-mode.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { RefusalReason } from './core/errors.ts';

/**
 * Powertools for AWS Lambda: structured JSON logs (service, cold start, request id and, on tenant
 * routes, tenant id on every line) and CloudWatch metrics in embedded metric format. What may go
 * in them: ids, names of errors, counts and durations. Never a body, a phone number or a key:
 * `test/support/log-guard.ts` fails the end-to-end tests if one appears.
 */
export const logger = new Logger({ serviceName: 'sms-gateway' });

/** Dimensions are the service and jurisdiction only: tenant ids are never metric dimensions. */
export const metrics = new Metrics({ namespace: 'SmsGateway', serviceName: 'sms-gateway' });
const jurisdiction = process.env.JURISDICTION;
if (jurisdiction) metrics.setDefaultDimensions({ jurisdiction });

/**
 * X-Ray traces: a segment per invocation and a subsegment per AWS call (clients wrapped in
 * wiring.ts) and per outgoing HTTPS request (webhooks). Off outside Lambda. Responses and
 * error details are never attached (POWERTOOLS_TRACER_CAPTURE_RESPONSE / _ERROR are false in the
 * stack): they can carry numbers.
 */
export const tracer = new Tracer({ serviceName: 'sms-gateway' });
export const tracing = () => captureLambdaHandler(tracer, { captureResponse: false });

/** A plain handler (workers, the authorizer) with its invocation traced. */
export function traced<E, R>(handler: (event: E) => Promise<R>) {
  return middy<E, R>().use(tracing()).handler(handler);
}

export type MessageEvent = 'Accepted' | 'Quarantined' | 'Sent' | 'Delivered' | 'Failed' | 'Deferred';

export function countMessages(event: MessageEvent, n = 1) {
  if (n > 0) metrics.addMetric(`Messages${event}`, MetricUnit.Count, n);
}

/** A refusal, by reason (a separate metric with its own dimension, emitted at once). */
export function countRefusal(reason: RefusalReason | 'validation' | 'residency' | 'rate_limited') {
  metrics.singleMetric().addDimension('reason', reason).addMetric('MessagesRefused', MetricUnit.Count, 1);
}

export function recordLatency(name: 'AcceptLatency' | 'DeliveryLatency', ms: number) {
  metrics.addMetric(name, MetricUnit.Milliseconds, ms);
}

/** Flushes what a request or batch recorded; nothing is written when nothing was recorded. */
export function flushMetrics() {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/**
 * A failed KMS call: alarms when keys become unusable. Not counted: a lost alias race, and the
 * look-up of a tenant's key in a jurisdiction it has not used yet (DescribeKey by alias answers
 * NotFoundException, then the key is made): every new tenant's first message would alarm.
 */
export function countKmsError(errorName: string, commandName?: string) {
  if (errorName === 'AlreadyExistsException') return;
  if (errorName === 'NotFoundException' && commandName === 'DescribeKeyCommand') return;
  metrics.addMetric('KmsErrors', MetricUnit.Count, 1);
}

/** A request with a missing, malformed, unknown or revoked API key (the authorizer's answers are cached per header for 60 s). */
export function countAuthFailure() {
  metrics.addMetric('AuthFailures', MetricUnit.Count, 1);
}

/** A message on the gateway's own behalf refused: this hour's budget (a country's or the whole gateway's) is spent (alarmed). */
export function countGatewayBudgetSpent(scope: 'country' | 'gateway') {
  logger.warn('gateway message budget spent', { scope });
  metrics.singleMetric().addMetric('GatewayBudgetSpent', MetricUnit.Count, 1);
}

/** An audit entry that could not be handed to the audit queue (alarmed: the trail has a hole). */
export function countAuditFailure() {
  metrics.addMetric('AuditFailures', MetricUnit.Count, 1);
}

/** Status changes whose usage counts or webhooks could not be recorded (alarmed). */
export function countStatusEventFailure(what: 'usage' | 'webhooks') {
  metrics.addMetric(what === 'usage' ? 'UsageCountFailures' : 'WebhookEnqueueFailures', MetricUnit.Count, 1);
}

/** Webhook attempts by outcome (no tenant, no endpoint). */
export function countWebhook(outcome: 'delivered' | 'retry' | 'dead' | 'dropped') {
  const names = {
    delivered: 'WebhooksDelivered',
    retry: 'WebhookRetries',
    dead: 'WebhooksDeadLettered',
    dropped: 'WebhooksDropped',
  } as const;
  metrics.addMetric(names[outcome], MetricUnit.Count, 1);
}
