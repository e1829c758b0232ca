import { tenantRateKey } from '#functions/messages/use-cases/send-policy.ts';
import type { TenantCrypto } from '#layers/core/crypto.ts';
import { NotFoundError } from '#layers/core/errors.ts';
import type { Jurisdiction } from '#layers/core/model.ts';
import type {
  Clock,
  KeyringStore,
  KeyService,
  MessageStore,
  TenantStore,
  UsageLedger,
} from '#layers/ports/index.ts';
import type { TenantSweep } from '../ports.ts';

const BOTH: readonly Jurisdiction[] = ['global', 'eu'];

export interface CloseAccountDeps {
  /** Its removeTenant sweeps the tenants table's items of the tenant, profile and erasure records apart. */
  tenants: TenantStore & TenantSweep;
  messages: Record<Jurisdiction, MessageStore>;
  /** The tenant's Idempotency-Key claims (tenants table). */
  idempotencyScope: TenantSweep;
  /** Its request-rate bucket. */
  counters: { removeBucket(key: string): Promise<void> };
  /** Each jurisdiction's webhook delivery history. */
  webhookHistory: Record<Jurisdiction, TenantSweep>;
  keyrings: Record<Jurisdiction, KeyringStore>;
  /**
   * Each jurisdiction's usage counters: the tenant's own (billing) stay; its id leaves the
   * gateway-wide analytics cells, whose anonymous counts stay.
   */
  usage: Record<Jurisdiction, Pick<UsageLedger, 'forgetTenant'>>;
  keys: Record<Jurisdiction, KeyService>;
  crypto: Record<Jurisdiction, TenantCrypto>;
  clock: Clock;
  /** KMS waiting period before a scheduled key is destroyed (7-30 days). */
  keyDeletionDays: number;
  /** Point-in-time recovery window of the tables, in days. */
  backupWindowDays: number;
  /** How long billing totals and the audit trail are kept after closure (the law's period). */
  recordsRetentionDays: number;
  /**
   * The jurisdictions whose items and key this endpoint closes (both when unset): each region's
   * admin endpoint closes its own, so no region's role reaches the other's data.
   */
  jurisdictions?: readonly Jurisdiction[];
  /** Each jurisdiction's admin endpoint, named for the half of the closure left to it. */
  endpoints?: Partial<Record<Jurisdiction, string>>;
}

const DAY_MS = 86_400_000;

/**
 * Closes an account, at one region's admin endpoint: sending stops and every API key is revoked at once, the tenant's KMS
 * keys in both jurisdictions are scheduled for deletion (crypto-shredding: every copy of its
 * data, backups included, becomes unreadable when KMS destroys them), and every item of the
 * tenant in every table of both regions is removed: messages, bodies, replies, lists, API keys
 * and their look-ups, sender IDs and identity details, webhook endpoints and deliveries,
 * counters, rate bucket, Idempotency-Key records; and its id leaves the gateway-wide analytics
 * cells (their anonymous counts stay). What is kept, for the stated period, holds no
 * content and no number: the tenant record, its billing totals (the usage ledger), its audit
 * trail with the records of subject erasures, and each region's keyring record (which key, and
 * when KMS destroys it). The tenants table's part is done at either endpoint (again at the
 * second, harmlessly); the messages table, rate bucket and key of a jurisdiction only at its own
 * endpoint: the answer names the endpoints where the closure is still to be done (`closeAlsoAt`).
 */
export function makeCloseAccount(deps: CloseAccountDeps) {
  return async (tenantId: string) => {
    const tenant = await deps.tenants.getTenant(tenantId);
    if (!tenant) throw new NotFoundError('tenant', tenantId);
    const now = deps.clock.now();
    const recordsKeptUntil = new Date(now.getTime() + deps.recordsRetentionDays * DAY_MS);
    await deps.tenants.closeTenant(tenantId, now, recordsKeptUntil);
    const keys = await deps.tenants.listApiKeys(tenantId);
    // Removing a key and its look-up item revokes it, as expiring it did: an answer the
    // authorizer cached before stays good for its cache time, and meanwhile the closed keyrings
    // refuse every use of the tenant's data.
    const tenantItemsRemoved =
      (await deps.tenants.removeTenant(tenantId)) + (await deps.idempotencyScope.removeTenant(tenantId));
    await deps.counters.removeBucket(tenantRateKey(tenantId));
    const jurisdictions = [];
    const here = deps.jurisdictions ?? BOTH;
    for (const j of here) {
      const keyring = await deps.keyrings[j].get(tenantId);
      deps.crypto[j].forget(tenantId);
      // The keyring is closed before the sweep: a write racing the closure (a webhook attempt
      // in flight records its history only while the keyring is open) lands before the sweep,
      // which removes it, or is refused.
      const deletionDate = !keyring
        ? undefined
        : keyring.deletionDate
          ? new Date(keyring.deletionDate)
          : await deps.keys[j].scheduleKeyDeletion(keyring.keyId, deps.keyDeletionDays);
      if (keyring && deletionDate) await deps.keyrings[j].markClosed(tenantId, now, deletionDate);
      const itemsRemoved =
        (await deps.messages[j].removeTenant(tenantId)) +
        (await deps.webhookHistory[j].removeTenant(tenantId));
      // The analytics cells keep who added to them only for their anonymity threshold: the id
      // goes, the counts stay. After the sweep: the tenant's messages, which workers count, are gone.
      const analyticsCellsScrubbed = await deps.usage[j].forgetTenant(
        tenantId,
        now.toISOString().slice(0, 10),
      );
      jurisdictions.push({
        jurisdiction: j,
        keyId: keyring?.keyId ?? null,
        keyDeletionDate: deletionDate?.toISOString() ?? null,
        itemsRemoved,
        analyticsCellsScrubbed,
      });
    }
    return {
      tenantId,
      status: 'closed' as const,
      closedAt: now.toISOString(),
      apiKeysRevoked: keys.filter((k) => k.notAfter === undefined || new Date(k.notAfter) > now).length,
      tenantItemsRemoved,
      jurisdictions,
      closeAlsoAt: BOTH.filter((j) => !here.includes(j)).map((j) => ({
        jurisdiction: j,
        endpoint: deps.endpoints?.[j] ?? null,
      })),
      backups: {
        what: 'point-in-time recovery backups: unreadable from each key deletion date, gone by',
        until: new Date(now.getTime() + deps.backupWindowDays * DAY_MS).toISOString(),
      },
      recordsKept: {
        what: "the tenant record, its billing totals, its audit trail (with the records of subject erasures) and each region's keyring record (no content, no numbers)",
        until: recordsKeptUntil.toISOString(),
      },
    };
  };
}
