import type { WebhookAttempt } from '#layers/ports/index.ts';
import type { WebhookDelivery, WebhookEndpoint, WebhookSecret } from './model.ts';

/** Tenants' webhook endpoints, their secrets sealed under the tenant's key. */
export interface WebhookStore {
  put(endpoint: WebhookEndpoint, secrets: WebhookSecret[]): Promise<void>;
  get(
    tenantId: string,
    id: string,
  ): Promise<{ endpoint: WebhookEndpoint; secrets: WebhookSecret[] } | undefined>;
  list(tenantId: string): Promise<WebhookEndpoint[]>;
  remove(tenantId: string, id: string): Promise<boolean>;
}

/** Each attempt's outcome, per endpoint, in the jurisdiction that delivered it. */
export interface WebhookHistory {
  /** False when the tenant's keyring in this jurisdiction is closed: nothing is written. */
  record(attempt: WebhookAttempt, expiresAt: number): Promise<boolean>;
  list(
    tenantId: string,
    endpointId: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ items: WebhookAttempt[]; nextCursor?: string | undefined }>;
}

export interface WebhookQueue {
  enqueue(deliveries: WebhookDelivery[]): Promise<void>;
}

/** One POST to a receiver; resolves with its status, rejects with a reason it could not be made. */
export interface WebhookTransport {
  post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number }>;
}
