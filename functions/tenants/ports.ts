/**
 * The tenant-wide scope of Idempotency-Keys: one place, looked up from both jurisdictions, where
 * a key names only a keyed fingerprint of the request it was first used for (no number, no body),
 * so a key reused with a recipient in the other jurisdiction is refused too.
 */
/** A store's share of account closure: removes every item it holds for a tenant, returns how many. */
export interface TenantSweep {
  removeTenant(tenantId: string): Promise<number>;
}
