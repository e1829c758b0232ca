import { bearerToken, hashApiKey, parseApiKey } from '#layers/core/api-keys.ts';
import { UnauthorizedError } from '#layers/core/errors.ts';
import { DEFAULT_RETENTION, type TenantContext } from '#layers/core/model.ts';
import type { Clock, TenantStore } from '#layers/ports/index.ts';

/** Resolves `Authorization: Bearer sk_...` to the tenant context, or throws UnauthorizedError. */
export function makeAuthorize(deps: {
  tenants: TenantStore;
  pepper: () => Promise<Uint8Array>;
  clock: Clock;
}) {
  return async (authorization: string | undefined): Promise<TenantContext> => {
    const raw = bearerToken(authorization);
    if (!raw) throw new UnauthorizedError('Send your API key as "Authorization: Bearer sk_...".');
    if (!parseApiKey(raw)) throw new UnauthorizedError('The API key is malformed.');
    const key = await deps.tenants.findApiKeyByHash(hashApiKey(await deps.pepper(), raw));
    const now = deps.clock.now();
    if (!key || (key.notAfter !== undefined && new Date(key.notAfter) <= now)) {
      throw new UnauthorizedError('The API key is unknown or revoked.');
    }
    const tenant = await deps.tenants.getTenant(key.tenantId);
    if (tenant?.status !== 'active') throw new UnauthorizedError('The API key is unknown or revoked.');
    return {
      tenantId: key.tenantId,
      keyId: key.id,
      mode: key.mode,
      scopes: key.scopes,
      retention: tenant.retention ?? DEFAULT_RETENTION,
      residency: tenant.residency ?? 'strict',
    };
  };
}
