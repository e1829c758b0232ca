import type { AuditEvent, AuditHead } from '#layers/core/audit.ts';

export interface AuditFilter {
  action?: string | undefined;
  keyId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** A tenant's hash-chained audit trail in one jurisdiction. */
export interface AuditStore {
  head(tenantId: string): Promise<AuditHead | undefined>;
  /**
   * Stores events and moves the head in one transaction, only if the head is still at
   * `expectedSeq` (0: no head yet); false when another writer moved it first.
   */
  append(
    tenantId: string,
    events: AuditEvent[],
    head: AuditHead,
    expectedSeq: number,
    expiresAt: number,
  ): Promise<boolean>;
  /** Newest first. */
  list(
    tenantId: string,
    filter: AuditFilter,
    page: { limit: number; cursor?: string | undefined },
    now: Date,
  ): Promise<{ items: AuditEvent[]; nextCursor?: string | undefined }>;
  /** Every kept event in ascending order (for verification and export). */
  all(tenantId: string, now: Date): Promise<AuditEvent[]>;
}
