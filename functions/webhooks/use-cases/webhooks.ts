import type { TenantCrypto } from '#layers/core/crypto.ts';
import { ConflictError, NotFoundError, ValidationError } from '#layers/core/errors.ts';
import type { Jurisdiction, WebhookEventType } from '#layers/core/model.ts';
import type { StatusChange } from '#layers/core/usage.ts';
import type { Clock, IdGenerator } from '#layers/ports/index.ts';
import {
  generateWebhookSecret,
  liveSecrets,
  signWebhook,
  type WebhookDelivery,
  type WebhookEndpoint,
  WebhookTargetBlockedError,
  webhookUrlProblem,
} from '../model.ts';
import type { WebhookHistory, WebhookQueue, WebhookStore, WebhookTransport } from '../ports.ts';

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
  /** Seals a reply's content for the queue, in the reply's jurisdiction. */
  crypto: (j: Jurisdiction) => Pick<TenantCrypto, 'seal'>;
  ids: IdGenerator;
  clock: Clock;
}) {
  type Event = Pick<WebhookDelivery, 'data' | 'sealed'>;
  const fanOut = async (
    j: Jurisdiction,
    tenantId: string,
    type: WebhookEventType,
    events: Event[],
    endpoints: WebhookEndpoint[],
  ) => {
    const createdAt = deps.clock.now().toISOString();
    const deliveries: WebhookDelivery[] = endpoints.flatMap((e) =>
      events.map((event) => ({
        id: deps.ids.next('wev'),
        tenantId,
        endpointId: e.id,
        type,
        createdAt,
        ...event,
      })),
    );
    await deps.queue(j).enqueue(deliveries);
  };
  const subscribed = async (tenantId: string, type: WebhookEventType) =>
    (await deps.endpointsOf(tenantId)).filter((e) => e.events.includes(type));
  return {
    async statusChanged(changes: StatusChange[]) {
      const groups = new Map<
        string,
        { tenantId: string; jurisdiction: Jurisdiction; group: StatusChange[] }
      >();
      for (const c of changes) {
        const key = `${c.jurisdiction}|${c.tenantId}`;
        const found = groups.get(key);
        if (found) found.group.push(c);
        else groups.set(key, { tenantId: c.tenantId, jurisdiction: c.jurisdiction, group: [c] });
      }
      await Promise.all(
        [...groups.values()].map(async ({ tenantId, jurisdiction, group }) => {
          const endpoints = await subscribed(tenantId, 'message.status');
          if (endpoints.length === 0) return;
          await fanOut(
            jurisdiction,
            tenantId,
            'message.status',
            group.map((c) => ({
              data: {
                id: c.messageId,
                status: c.status,
                at: c.at,
                jurisdiction: c.jurisdiction,
                mode: c.mode,
                error: c.error ?? null,
              },
            })),
            endpoints,
          );
        }),
      );
    },
    async inbound(notice: InboundNotice) {
      const { tenantId, jurisdiction, id, ...content } = notice;
      const endpoints = await subscribed(tenantId, 'message.inbound');
      if (endpoints.length === 0) return;
      const sealed = await deps.crypto(jurisdiction).seal(tenantId, 'webhook', id, JSON.stringify(content));
      await fanOut(
        jurisdiction,
        tenantId,
        'message.inbound',
        [
          {
            data: { id, jurisdiction },
            sealed: {
              dataKey: Buffer.from(sealed.dataKey).toString('base64'),
              blob: Buffer.from(sealed.blob).toString('base64'),
            },
          },
        ],
        endpoints,
      );
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
  /** The queue's jurisdiction's tenant crypto: opens a reply's sealed content. */
  crypto: Pick<TenantCrypto, 'open'>;
  /** Whether a reply is still kept (erased or expired replies are not delivered). */
  replies: { hasInbound(tenantId: string, id: string, now: Date): Promise<boolean> };
  transport: WebhookTransport;
  clock: Clock;
  schedule: number[];
  historyDays: number;
}) {
  async function eventData(d: WebhookDelivery): Promise<Record<string, unknown> | undefined> {
    if (!d.sealed) return d.data;
    const id = String(d.data.id);
    if (!(await deps.replies.hasInbound(d.tenantId, id, deps.clock.now()))) return undefined;
    const content = await deps.crypto.open(d.tenantId, 'webhook', id, {
      dataKey: Buffer.from(d.sealed.dataKey, 'base64'),
      blob: Buffer.from(d.sealed.blob, 'base64'),
    });
    return { id, ...JSON.parse(content.toString('utf8')), jurisdiction: d.data.jurisdiction };
  }

  return async (d: WebhookDelivery, attempt: number): Promise<DeliveryOutcome> => {
    const found = await deps.store.get(d.tenantId, d.endpointId);
    // Removed, or no longer subscribed: nothing to deliver to.
    if (!found?.endpoint.events.includes(d.type)) return { outcome: 'dropped' };
    const data = await eventData(d);
    // A reply erased (or expired) since: its delivery goes with it.
    if (!data) return { outcome: 'dropped' };
    const now = deps.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    const body = JSON.stringify({ type: d.type, timestamp: d.createdAt, data });
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
    // Attempt n (from 1) failing waits schedule[n-1]; past the schedule's end there is no next one.
    const delaySeconds = deps.schedule[attempt - 1];
    const outcome: DeliveryOutcome =
      error === undefined
        ? { outcome: 'delivered' }
        : blocked
          ? { outcome: 'dead', reason: error }
          : delaySeconds === undefined
            ? { outcome: 'dead', reason: `${error} Gave up after ${attempt} attempts.` }
            : { outcome: 'retry', delaySeconds };
    const recorded = await deps.history.record(
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
    // The account closed while this attempt was on its way: nothing more of it is kept or tried.
    return recorded ? outcome : { outcome: 'dropped' };
  };
}
