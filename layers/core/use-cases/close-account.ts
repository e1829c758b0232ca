import type { Clock, KeyringStore, KeyService, MessageStore, TenantStore } from '../../ports/index.ts';
import type { TenantCrypto } from '../crypto.ts';
import { NotFoundError } from '../errors.ts';
import type { Jurisdiction } from '../model.ts';

export interface CloseAccountDeps {
  tenants: TenantStore;
  messages: Record<Jurisdiction, MessageStore>;
  keyrings: Record<Jurisdiction, KeyringStore>;
  keys: Record<Jurisdiction, KeyService>;
  crypto: Record<Jurisdiction, TenantCrypto>;
  clock: Clock;
  /** KMS waiting period before a scheduled key is destroyed (7-30 days). */
  keyDeletionDays: number;
  /** Point-in-time recovery window of the tables, in days. */
  backupWindowDays: number;
  /** How long billing totals and the audit trail are kept after closure (the law's period). */
  recordsRetentionDays: number;
}

const DAY_MS = 86_400_000;

/**
 * Closes an account: sending stops and every API key is revoked at once, the tenant's KMS
 * keys in both jurisdictions are scheduled for deletion (crypto-shredding: every copy of its
 * data, backups included, becomes unreadable when KMS destroys them), its items are removed,
 * and only the tenant record (for billing totals and the audit trail: no content, no numbers)
 * is kept, for the stated period.
 */
export function makeCloseAccount(deps: CloseAccountDeps) {
  return async (tenantId: string) => {
    const tenant = await deps.tenants.getTenant(tenantId);
    if (!tenant) throw new NotFoundError('tenant', tenantId);
    const now = deps.clock.now();
    const recordsKeptUntil = new Date(now.getTime() + deps.recordsRetentionDays * DAY_MS);
    await deps.tenants.closeTenant(tenantId, now, recordsKeptUntil);
    const keys = await deps.tenants.listApiKeys(tenantId);
    for (const k of keys) {
      if (k.notAfter === undefined || new Date(k.notAfter) > now) {
        await deps.tenants.expireApiKey(tenantId, k.id, now);
      }
    }
    const jurisdictions = [];
    for (const j of ['global', 'eu'] as const) {
      const keyring = await deps.keyrings[j].get(tenantId);
      deps.crypto[j].forget(tenantId);
      const itemsRemoved = await deps.messages[j].removeTenant(tenantId);
      if (!keyring) {
        jurisdictions.push({ jurisdiction: j, keyId: null, keyDeletionDate: null, itemsRemoved });
        continue;
      }
      const deletionDate = keyring.deletionDate
        ? new Date(keyring.deletionDate)
        : await deps.keys[j].scheduleKeyDeletion(keyring.keyId, deps.keyDeletionDays);
      await deps.keyrings[j].markClosed(tenantId, now, deletionDate);
      jurisdictions.push({
        jurisdiction: j,
        keyId: keyring.keyId,
        keyDeletionDate: deletionDate.toISOString(),
        itemsRemoved,
      });
    }
    return {
      tenantId,
      status: 'closed' as const,
      closedAt: now.toISOString(),
      apiKeysRevoked: keys.length,
      jurisdictions,
      backups: {
        what: 'point-in-time recovery backups: unreadable from each key deletion date, gone by',
        until: new Date(now.getTime() + deps.backupWindowDays * DAY_MS).toISOString(),
      },
      recordsKept: {
        what: 'the tenant record for billing totals and the audit trail (no content, no numbers)',
        until: recordsKeptUntil.toISOString(),
      },
    };
  };
}
