import { AsyncLocalStorage } from 'node:async_hooks';

/** The session tag naming the tenant a tenant-access role is assumed for. */
export const TENANT_SESSION_TAG = 'tenant';

const scope = new AsyncLocalStorage<string>();

/**
 * Runs `fn` on behalf of one tenant: every tenant-data client called inside it (however deep,
 * across awaits) uses that tenant's scoped credentials. The tenant-route middleware sets it from
 * the authorizer's tenant id, never from the request.
 */
export const inTenantScope = <T>(tenantId: string, fn: () => T): T => scope.run(tenantId, fn);

/** The tenant the current request is served for, if any. */
export const scopedTenant = (): string | undefined => scope.getStore();

/** Tenant data was touched outside a tenant's request: refused before any credentials are used. */
export class NoTenantScopeError extends Error {
  override name = 'NoTenantScopeError';
  constructor() {
    super('Tenant data can only be reached inside a tenant scope (a tenant route sets it)');
  }
}
