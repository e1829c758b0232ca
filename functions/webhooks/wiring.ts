import { webhookHistory } from '#functions/tenants/wiring.ts';
import { HttpsWebhookTransport } from '#layers/adapters/https-webhook-transport.ts';
import { SqsWebhookRetries } from '#layers/adapters/sqs-webhook-queue.ts';
import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import {
  once,
  onDemand,
  perJurisdiction,
  readSetting,
  recipientStore,
  sqs,
  tenantCrypto,
  webhookStore,
} from '#layers/wiring.ts';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from './model.ts';
import { makeDeliverWebhook, makeWebhookEndpoints } from './use-cases/webhooks.ts';

/** Only the local runtime and tests may deliver to this machine (loopback); never set in AWS. */
const allowLoopbackWebhooks = () => readSetting('WEBHOOK_ALLOW_LOOPBACK');

export const webhookEndpoints = /* @__PURE__ */ once(() =>
  makeWebhookEndpoints({
    store: webhookStore(),
    history: onDemand(webhookHistory),
    clock: systemClock,
    ids: ulidIds,
    allowLoopback: allowLoopbackWebhooks(),
  }),
);

export const deliverWebhook = /* @__PURE__ */ perJurisdiction((j) => {
  const cfg = {
    WEBHOOK_RETRY_SCHEDULE_SECONDS: readSetting('WEBHOOK_RETRY_SCHEDULE_SECONDS'),
    WEBHOOK_HISTORY_DAYS: readSetting('WEBHOOK_HISTORY_DAYS'),
    WEBHOOK_TIMEOUT_MS: readSetting('WEBHOOK_TIMEOUT_MS'),
  };
  return makeDeliverWebhook({
    store: webhookStore(),
    history: webhookHistory(j),
    crypto: tenantCrypto(j),
    replies: recipientStore(j),
    transport: new HttpsWebhookTransport({
      timeoutMs: cfg.WEBHOOK_TIMEOUT_MS ?? 10_000,
      allowLoopback: allowLoopbackWebhooks(),
    }),
    clock: systemClock,
    schedule: cfg.WEBHOOK_RETRY_SCHEDULE_SECONDS?.split(',').map(Number) ?? DEFAULT_RETRY_SCHEDULE_SECONDS,
    historyDays: cfg.WEBHOOK_HISTORY_DAYS,
  });
});

/** The webhook worker's queue operations on the queue (and DLQ) a delivery came from. */
export const webhookRetries = (j: Jurisdiction, queueUrl: string, dlqUrl: string) =>
  new SqsWebhookRetries(sqs(j), queueUrl, dlqUrl);
