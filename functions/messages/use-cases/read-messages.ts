import { MisdirectedError, NotFoundError, UnreadableError } from '#layers/core/errors.ts';
import {
  isUnreadable,
  type Jurisdiction,
  type MessageStatus,
  type TenantContext,
} from '#layers/core/model.ts';
import type { Clock, MessageStore } from '#layers/ports/index.ts';
import { messageView } from '../model.ts';

export interface ReadDeps {
  messages: Record<Jurisdiction, MessageStore>;
  clock: Clock;
  endpoints: Partial<Record<Jurisdiction, string>>;
  /**
   * The global endpoint relays a forward tenant's reads of EU data to the EU API (the caller
   * does, on a NotFoundError that names the EU as not searched), so it reads its own region only.
   */
  relaysToEu?: boolean | undefined;
}

const other = (j: Jurisdiction): Jurisdiction => (j === 'eu' ? 'global' : 'eu');

/**
 * The jurisdictions an endpoint may read for a tenant, its own first. A strict tenant's EU
 * data never passes through the global region.
 */
export function readableFrom(ctx: TenantContext, endpoint: Jurisdiction, relaysToEu = false): Jurisdiction[] {
  return (ctx.residency === 'strict' || relaysToEu) && endpoint === 'global'
    ? ['global']
    : [endpoint, other(endpoint)];
}

export function requireReadable(
  deps: Pick<ReadDeps, 'endpoints'>,
  ctx: TenantContext,
  endpoint: Jurisdiction,
  wanted: Jurisdiction,
) {
  if (!readableFrom(ctx, endpoint).includes(wanted)) {
    throw new MisdirectedError(
      wanted,
      deps.endpoints[wanted],
      "This tenant's residency is strict: EU data is read through the EU endpoint only.",
    );
  }
}

async function find(deps: ReadDeps, ctx: TenantContext, id: string, endpoint: Jurisdiction) {
  const readable = readableFrom(ctx, endpoint, deps.relaysToEu);
  for (const j of readable) {
    const message = await deps.messages[j].get(ctx.tenantId, id, deps.clock.now());
    if (message) return message;
  }
  // Another tenant's id and an unknown id answer alike, so ids reveal nothing across tenants.
  // An id this endpoint may not look for in the other jurisdiction may be that jurisdiction's.
  throw new NotFoundError('message', id, readable.includes(other(endpoint)) ? undefined : other(endpoint));
}

/**
 * One message. A message whose sealed content does not open is that message's problem only:
 * its read answers `message-unreadable`, while lists and exports carry on and mark it.
 */
export function makeGetMessage(deps: ReadDeps) {
  return async (ctx: TenantContext, id: string, endpoint: Jurisdiction) => {
    const message = await find(deps, ctx, id, endpoint);
    if (isUnreadable(message)) throw new UnreadableError('message', id);
    return messageView(message);
  };
}

export function makeListMessages(deps: ReadDeps) {
  return async (
    ctx: TenantContext,
    query: {
      status?: MessageStatus | undefined;
      limit: number;
      cursor?: string | undefined;
      jurisdiction?: Jurisdiction | undefined;
    },
    endpoint: Jurisdiction,
  ) => {
    const jurisdiction = query.jurisdiction ?? endpoint;
    requireReadable(deps, ctx, endpoint, jurisdiction);
    const page = await deps.messages[jurisdiction].list(ctx.tenantId, query, deps.clock.now());
    return {
      data: page.items.map((m) => messageView(m)),
      nextCursor: page.nextCursor ?? null,
      jurisdiction,
    };
  };
}

/**
 * Removes a message's body now (the message and its status stay until their own expiry); an
 * unreadable message's body goes too, and the answer is its marked view.
 */
export function makeRedactBody(deps: ReadDeps) {
  return async (ctx: TenantContext, id: string, endpoint: Jurisdiction) => {
    const message = await find(deps, ctx, id, endpoint);
    await deps.messages[message.jurisdiction].removeBody(ctx.tenantId, id, deps.clock.now());
    return messageView(isUnreadable(message) ? message : { ...message, body: undefined });
  };
}
