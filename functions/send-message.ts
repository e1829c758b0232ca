import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { loadConfig, setting } from '#layers/config.ts';
import { makeSendMessage } from '#layers/core/use-cases/send-messages.ts';
import { idempotencyKeyFrom, parseJsonBody, parseWith, tenantRoute } from '#layers/http/handler.ts';
import { SendMessageRequest } from '#layers/http/schemas.ts';
import { dispatchQueue, idempotencyStore, messageStore } from '#layers/wiring.ts';

const config = loadConfig({
  JURISDICTION: setting.jurisdiction,
  MESSAGE_RETENTION_DAYS: setting.positiveInt,
});

const sendMessage = makeSendMessage({
  messages: messageStore(),
  idempotency: idempotencyStore(),
  queue: dispatchQueue(),
  clock: systemClock,
  ids: ulidIds,
  retentionDays: config.MESSAGE_RETENTION_DAYS,
  jurisdiction: config.JURISDICTION,
});

export const handler = tenantRoute('send', async (event, tenant) => {
  const key = idempotencyKeyFrom(event);
  const input = parseWith(SendMessageRequest, parseJsonBody(event), 'pointer');
  const { result, replayed } = await sendMessage(tenant, input, key);
  return {
    status: 202,
    body: result,
    headers: {
      location: `/v1/messages/${result.message.id}`,
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
    },
  };
});
