import type { Clock, MessageStore } from '../../ports/index.ts';
import { NotFoundError } from '../errors.ts';
import { messageView } from '../messages.ts';
import type { MessageStatus, TenantContext } from '../model.ts';

export function makeGetMessage(deps: { messages: MessageStore; clock: Clock }) {
  return async (ctx: TenantContext, id: string) => {
    const message = await deps.messages.get(ctx.tenantId, id, deps.clock.now());
    // Another tenant's id and an unknown id answer alike, so ids reveal nothing across tenants.
    if (!message) throw new NotFoundError('message', id);
    return messageView(message);
  };
}

export function makeListMessages(deps: { messages: MessageStore; clock: Clock }) {
  return async (
    ctx: TenantContext,
    query: { status?: MessageStatus | undefined; limit: number; cursor?: string | undefined },
  ) => {
    const page = await deps.messages.list(ctx.tenantId, query, deps.clock.now());
    return { data: page.items.map(messageView), nextCursor: page.nextCursor ?? null };
  };
}
