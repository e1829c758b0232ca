import type {
  Clock,
  IdGenerator,
  StatusChange,
  WebhookHistory,
  WebhookQueue,
  WebhookStore,
  WebhookTransport,
} from '../../ports/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Jurisdiction } from '../model.ts';
import {
  generateWebhookSecret,
  liveSecrets,
  signWebhook,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEventType,
  WebhookTargetBlockedError,
  webhookUrlProblem,
} from '../webhooks.ts';

const DAY_MS = 86_400_000;
export const MAX_ENDPOINTS = 10;

const view = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  description: e.description ?? null,
  createdAt: e.createdAt,
});

/** A tenant's endpoints: registration (the secret shown once), rotation, removal, history. */
export function makeWebhookEndpoints(deps: {
  store: WebhookStore;
  history: Record<Jurisdiction, WebhookHistory>;
  clock: Clock;
  ids: IdGenerator;
  allowLoopback: boolean;
}) {
  const find = async (tenantId: string, id: string) => {
    const found = await deps.store.get(tenantId, id);
    if (!found) throw new NotFoundError('webhook endpoint', id);
    return found;
  };
  return {
    async create(
      tenantId: string,
      input: { url: string; events: WebhookEventType[]; description?: string | undefined },
    ) {
      const problem = webhookUrlProblem(input.url, { allowLoopback: deps.allowLoopback });
      if (problem) throw new ValidationError([{ pointer: '/url', detail: `'url' ${problem}` }]);
      if ((await deps.store.list(tenantId)).length >= MAX_ENDPOINTS) {
        throw new ConflictError(
          'webhook-limit',
          `An account has at most ${MAX_ENDPOINTS} webhook endpoints.`,
        );
      }
      const now = deps.clock.now().toISOString();
      const endpoint: WebhookEndpoint = {
        tenantId,
        id: deps.ids.next('whk'),
        url: input.url,
        events: [...new Set(input.events)],
        description: input.description,
        createdAt: now,
      };
      const secret = generateWebhookSecret();
      await deps.store.put(endpoint, [{ value: secret, createdAt: now }]);
      return { ...view(endpoint), secret };
    },
    async list(tenantId: string) {
      return { data: (await deps.store.list(tenantId)).map(view) };
    },
    async get(tenantId: string, id: string) {
      return view((await find(tenantId, id)).endpoint);
    },
    async remove(tenantId: string, id: string) {
      if (!(await deps.store.remove(tenantId, id))) throw new NotFoundError('webhook endpoint', id);
    },
    /**
     * A new secret; the current one keeps signing (beside the new) for `graceSeconds`, so
     * receivers can switch without missing a delivery.
     */
    async rotateSecret(tenantId: string, id: string, graceSeconds: number) {
      const { endpoint, secrets } = await find(tenantId, id);
      const now = deps.clock.now();
      const until = new Date(now.getTime() + graceSeconds * 1000).toISOString();
      const kept = liveSecrets(secrets, now).map((s) => ({
        ...s,
        expiresAt: s.expiresAt !== undefined && s.expiresAt < until ? s.expiresAt : until,
      }));
      const secret = generateWebhookSecret();
      await deps.store.put(endpoint, [{ value: secret, createdAt: now.toISOString() }, ...kept]);
      return { ...view(endpoint), secret, previousSecretsValidUntil: until };
    },
    async deliveries(
      tenantId: string,
      id: string,
      query: { jurisdiction: Jurisdiction; limit: number; cursor?: string | undefined },
    ) {
      await find(tenantId, id);
      const page = await deps.history[query.jurisdiction].list(tenantId, id, query);
      return {
        data: page.items.map(({ tenantId: _t, endpointId: _e, ...a }) => a),
        nextCursor: page.nextCursor ?? null,
        jurisdiction: query.jurisdiction,
      };
    },
  };
}

/** Inbound replies as webhooks carry the person's number and words: only to the tenant's own endpoint. */
export interface InboundNotice {
  tenantId: string;
  jurisdiction: Jurisdiction;
  id: string;
  from: string;
  to: string;
  body: string;
  keyword: string | null;
  action: string | null;
  receivedAt: string;
}

/** Turns status changes and replies into deliveries, one per subscribed endpoint, on the jurisdiction's queue. */
export function makeWebhookFanout(deps: {
  endpointsOf: (tenantId: string) => Promise<WebhookEndpoint[]>;
  queue: (j: Jurisdiction) => WebhookQueue;
  ids: IdGenerator;
  clock: Clock;
}) {
  const fanOut = async (
    j: Jurisdiction,
    tenantId: string,
    type: WebhookEventType,
    events: Record<string, unknown>[],
  ) => {
    const endpoints = (await deps.endpointsOf(tenantId)).filter((e) => e.events.includes(type));
    if (endpoints.length === 0) return;
    const createdAt = deps.clock.now().toISOString();
    const deliveries: WebhookDelivery[] = endpoints.flatMap((e) =>
      events.map((data) => ({ id: deps.ids.next('wev'), tenantId, endpointId: e.id, type, createdAt, data })),
    );
    await deps.queue(j).enqueue(deliveries);
  };
  return {
    async statusChanged(changes: StatusChange[]) {
      const groups = new Map<string, StatusChange[]>();
      for (const c of changes) {
        const key = `${c.jurisdiction}|${c.tenantId}`;
        groups.set(key, [...(groups.get(key) ?? []), c]);
      }
      await Promise.all(
        [...groups.values()].map((group) =>
          fanOut(
            group[0]!.jurisdiction,
            group[0]!.tenantId,
            'message.status',
            group.map((c) => ({
              id: c.messageId,
              status: c.status,
              at: c.at,
              jurisdiction: c.jurisdiction,
              mode: c.mode,
              error: c.error ?? null,
            })),
          ),
        ),
      );
    },
    async inbound(notice: InboundNotice) {
      const { tenantId, jurisdiction, ...data } = notice;
      await fanOut(jurisdiction, tenantId, 'message.inbound', [{ ...data, jurisdiction }]);
    },
  };
}

export type DeliveryOutcome =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; delaySeconds: number }
  | { outcome: 'dead'; reason: string }
  | { outcome: 'dropped' };

/**
 * One attempt at a delivery: signed (Standard Webhooks) with every live secret, POSTed once
 * (no redirects), its outcome recorded. Attempt n failing waits `schedule[n-1]`; after the
 * last, or at once for an address no webhook may reach, the delivery is dead with its reason.
 */
export function makeDeliverWebhook(deps: {
  store: WebhookStore;
  history: WebhookHistory;
  transport: WebhookTransport;
  clock: Clock;
  schedule: number[];
  historyDays: number;
}) {
  return async (d: WebhookDelivery, attempt: number): Promise<DeliveryOutcome> => {
    const found = await deps.store.get(d.tenantId, d.endpointId);
    // Removed, or no longer subscribed: nothing to deliver to.
    if (!found?.endpoint.events.includes(d.type)) return { outcome: 'dropped' };
    const now = deps.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    const body = JSON.stringify({ type: d.type, timestamp: d.createdAt, data: d.data });
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'sms-gateway-webhooks/1',
      'webhook-id': d.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(
        liveSecrets(found.secrets, now).map((s) => s.value),
        d.id,
        timestamp,
        body,
      ),
    };
    let status: number | undefined;
    let error: string | undefined;
    let blocked = false;
    try {
      status = (await deps.transport.post(found.endpoint.url, headers, body)).status;
      if (status < 200 || status > 299) error = `The endpoint answered HTTP ${status}.`;
    } catch (e) {
      blocked = e instanceof WebhookTargetBlockedError;
      error = e instanceof Error ? e.message : 'The request failed.';
    }
    const outcome: DeliveryOutcome =
      error === undefined
        ? { outcome: 'delivered' }
        : blocked
          ? { outcome: 'dead', reason: error }
          : attempt > deps.schedule.length
            ? { outcome: 'dead', reason: `${error} Gave up after ${attempt} attempts.` }
            : { outcome: 'retry', delaySeconds: deps.schedule[attempt - 1]! };
    await deps.history.record(
      {
        deliveryId: d.id,
        endpointId: d.endpointId,
        tenantId: d.tenantId,
        type: d.type,
        createdAt: d.createdAt,
        status:
          outcome.outcome === 'delivered' ? 'delivered' : outcome.outcome === 'dead' ? 'dead' : 'retrying',
        attempts: attempt,
        lastAttemptAt: now.toISOString(),
        lastStatusCode: status,
        lastError: outcome.outcome === 'dead' ? outcome.reason : error,
        nextAttemptAt:
          outcome.outcome === 'retry'
            ? new Date(now.getTime() + outcome.delaySeconds * 1000).toISOString()
            : undefined,
      },
      Math.floor((now.getTime() + deps.historyDays * DAY_MS) / 1000),
    );
    return outcome;
  };
}
