import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { NoTenantScopeError, scopedTenant, TENANT_SESSION_TAG } from '../tenant-scope.ts';

/** Renewed this long before they expire (the SDK's own margin for temporary credentials). */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** Tenants whose credentials and clients an instance keeps (least recently used go first). */
const MAX_TENANTS = 100;

export interface TenantCredentialsOptions {
  /** The function's tenant-access role. */
  roleArn: string;
  /** STS, called with the execution role's credentials. */
  sts: STSClient;
  durationSeconds?: number;
  clock?: () => number;
}

/** Least-recently-used map: a hit moves to the back, the front is evicted past `max`. */
function lru<V>(max: number, evicted: (v: V) => void = () => {}) {
  const items = new Map<string, V>();
  return (key: string, make: () => V): V => {
    const hit = items.get(key);
    if (hit !== undefined) {
      items.delete(key);
      items.set(key, hit);
      return hit;
    }
    const value = make();
    items.set(key, value);
    if (items.size > max) {
      const [oldest, old] = items.entries().next().value as [string, V];
      items.delete(oldest);
      evicted(old);
    }
    return value;
  };
}

/**
 * One tenant's credentials: the tenant-access role assumed with the session tag `tenant`, kept
 * per tenant per instance until shortly before they expire, shared by all of that tenant's
 * clients (DynamoDB and KMS, both regions): one AssumeRole per tenant per hour, not per call.
 */
export function tenantCredentials(
  o: TenantCredentialsOptions,
): (tenantId: string) => AwsCredentialIdentityProvider {
  const now = o.clock ?? Date.now;
  const assume = async (tenantId: string): Promise<AwsCredentialIdentity> => {
    const out = await o.sts.send(
      new AssumeRoleCommand({
        RoleArn: o.roleArn,
        // Session names appear in CloudTrail: the tenant id only (no personal data), 64 characters at most.
        RoleSessionName: tenantId.slice(0, 64),
        Tags: [{ Key: TENANT_SESSION_TAG, Value: tenantId }],
        DurationSeconds: o.durationSeconds ?? 3600,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS AssumeRole returned no credentials');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  };
  const perTenant = lru<{ pending?: Promise<AwsCredentialIdentity>; expiresAt?: number }>(MAX_TENANTS);
  return (tenantId) => {
    const slot = perTenant(tenantId, () => ({}));
    return () => {
      // While an AssumeRole is under way (no expiry known yet) its callers share it.
      const stale = slot.expiresAt !== undefined && slot.expiresAt - now() <= REFRESH_MARGIN_MS;
      if (!slot.pending || stale) {
        delete slot.expiresAt;
        const next = assume(tenantId).then((c) => {
          slot.expiresAt = c.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
          return c;
        });
        slot.pending = next;
        // A failed call is not kept: the next one tries again.
        next.catch(() => {
          if (slot.pending === next) delete slot.pending;
        });
      }
      return slot.pending;
    };
  };
}

type Client = { send(...args: never[]): Promise<unknown>; destroy(): void };

/**
 * A client that sends each call with the credentials of the tenant whose request is running
 * (`inTenantScope`): one client per tenant, built with `make`, kept per instance. A call outside
 * any tenant scope is refused before it leaves, rather than made with the execution role's
 * credentials. The use cases and adapters see an ordinary client.
 */
export function perTenantClient<C extends Client>(
  make: (credentials: AwsCredentialIdentityProvider) => C,
  credentialsOf: (tenantId: string) => AwsCredentialIdentityProvider,
): C {
  const all = new Set<C>();
  const clientOf = lru<C>(MAX_TENANTS, (c) => {
    all.delete(c);
    c.destroy();
  });
  const template = make(() => Promise.reject(new NoTenantScopeError()));
  return new Proxy(template, {
    get(target, key, receiver) {
      if (key === 'send') {
        return (...args: never[]) => {
          const tenantId = scopedTenant();
          if (tenantId === undefined) return Promise.reject(new NoTenantScopeError());
          const client = clientOf(tenantId, () => {
            const c = make(credentialsOf(tenantId));
            all.add(c);
            return c;
          });
          return client.send(...args);
        };
      }
      if (key === 'destroy') {
        return () => {
          for (const c of all) c.destroy();
          target.destroy();
        };
      }
      return Reflect.get(target, key, receiver);
    },
  });
}

export { STSClient };
