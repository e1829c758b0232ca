import type { StatusChange } from '#layers/core/usage.ts';

/** Collects status changes during a unit of work; `flush` hands them on (usage counters, webhooks). */
export interface StatusEvents {
  changed(change: StatusChange): void;
  flush(): Promise<void>;
}

export interface IdempotencyKeyScope {
  /** Claims `key` for the request `requestHash`; false when the tenant used it for another request. */
  claim(tenantId: string, key: string, requestHash: string, now: Date): Promise<boolean>;
  /** Frees a key whose attempt stored nothing. */
  release(tenantId: string, key: string): Promise<void>;
}
