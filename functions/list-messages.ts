import { systemClock } from '#layers/adapters/system.ts';
import { makeListMessages } from '#layers/core/use-cases/read-messages.ts';
import { parseWith, tenantRoute } from '#layers/http/handler.ts';
import { ListMessagesQuery } from '#layers/http/schemas.ts';
import { messageStore } from '#layers/wiring.ts';

const listMessages = makeListMessages({ messages: messageStore(), clock: systemClock });

export const handler = tenantRoute('read', async (event, tenant) => {
  const query = parseWith(ListMessagesQuery, event.queryStringParameters ?? {}, 'parameter');
  return { status: 200, body: await listMessages(tenant, query) };
});
