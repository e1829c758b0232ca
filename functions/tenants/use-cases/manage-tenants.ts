import { settingsOf } from '#functions/messages/use-cases/send-policy.ts';
import { generateApiKey, hashApiKey, type KeyMode, keyHint, type Scope } from '#layers/core/api-keys.ts';
import type { TenantControls, TenantReplies } from '#layers/core/controls.ts';
import { ConflictError, NotFoundError, ValidationError } from '#layers/core/errors.ts';
import {
  type ApiKeyRecord,
  DEFAULT_RETENTION,
  type Jurisdiction,
  type ResidencyMode,
  type RetentionPolicy,
  type Tenant,
} from '#layers/core/model.ts';
import type { Clock, IdGenerator, TenantStore } from '#layers/ports/index.ts';

export interface TenantAdminDeps {
  tenants: TenantStore;
  ids: IdGenerator;
  clock: Clock;
  pepper: () => Promise<Uint8Array>;
  /** Creates the tenant's KMS key (and pseudonym secret) in a jurisdiction. */
  createTenantKey: (tenantId: string, jurisdiction: Jurisdiction) => Promise<void>;
}

export interface NewTenant {
  displayName: string;
  legalName: string;
  contactEmail: string;
  homeJurisdiction: Jurisdiction;
  retention?: Partial<RetentionPolicy> | undefined;
  residency?: ResidencyMode | undefined;
}

export interface NewKey {
  name: string;
  mode: KeyMode;
  scopes: Scope[];
}

/** What may be shown of a key record: never its hash. */
export function apiKeyView(k: ApiKeyRecord, now: Date) {
  const revoked = k.notAfter !== undefined && new Date(k.notAfter) <= now;
  return {
    id: k.id,
    name: k.name,
    mode: k.mode,
    scopes: k.scopes,
    hint: k.hint,
    status: revoked ? ('revoked' as const) : ('active' as const),
    createdAt: k.createdAt,
    notAfter: k.notAfter ?? null,
    replacedBy: k.replacedBy ?? null,
  };
}

export function makeTenantAdmin(deps: TenantAdminDeps) {
  async function requireTenant(id: string): Promise<Tenant> {
    const tenant = await deps.tenants.getTenant(id);
    if (!tenant) throw new NotFoundError('tenant', id);
    return tenant;
  }

  /** A tenant whose settings and keys may still change: a closed account's may not (409). */
  async function requireOpenTenant(id: string): Promise<Tenant> {
    const tenant = await requireTenant(id);
    if (tenant.status === 'closed') {
      throw new ConflictError(
        'tenant-closed',
        `Tenant ${id} was closed${tenant.closedAt ? ` on ${tenant.closedAt}` : ''}; its settings and keys can no longer be changed.`,
      );
    }
    return tenant;
  }

  async function issueKey(tenantId: string, input: NewKey) {
    await requireOpenTenant(tenantId);
    const secret = generateApiKey(input.mode);
    const record: ApiKeyRecord = {
      tenantId,
      id: deps.ids.next('key'),
      name: input.name,
      mode: input.mode,
      scopes: [...new Set(input.scopes)],
      hint: keyHint(secret),
      hash: hashApiKey(await deps.pepper(), secret),
      createdAt: deps.clock.now().toISOString(),
    };
    await deps.tenants.putApiKey(record);
    // The only time the secret leaves the gateway: it is not stored and cannot be shown again.
    return { ...apiKeyView(record, deps.clock.now()), secret };
  }

  async function requireKey(tenantId: string, keyId: string) {
    const key = await deps.tenants.getApiKey(tenantId, keyId);
    if (!key) throw new NotFoundError('API key', keyId);
    return key;
  }

  return {
    async createTenant(input: NewTenant) {
      const { retention, residency, ...identity } = input;
      const tenant: Tenant = {
        id: deps.ids.next('ten'),
        ...identity,
        status: 'active',
        createdAt: deps.clock.now().toISOString(),
        retention: { ...DEFAULT_RETENTION, ...retention },
        residency: residency ?? 'strict',
      };
      // The home jurisdiction's key exists from the start; the other is made on first use.
      await deps.createTenantKey(tenant.id, tenant.homeJurisdiction);
      await deps.tenants.createTenant(tenant);
      return tenant;
    },
    /** The tenant with its controls and replies, defaults filled in. */
    async getTenant(id: string) {
      const tenant = await requireTenant(id);
      return { ...tenant, ...settingsOf(tenant) };
    },
    /**
     * Changes the retention policy or residency mode. New messages follow it within the
     * authorizer cache time; messages already accepted keep the expiry they were given.
     */
    async updatePolicy(
      tenantId: string,
      input: { retention?: Partial<RetentionPolicy> | undefined; residency?: ResidencyMode | undefined },
    ) {
      const tenant = await requireOpenTenant(tenantId);
      const retention = { ...tenant.retention, ...input.retention };
      if (retention.bodyDays > retention.metadataDays) {
        throw new ValidationError([
          { pointer: '/retention/bodyDays', detail: "'retention.bodyDays' must not exceed metadataDays" },
        ]);
      }
      const policy = { retention, residency: input.residency ?? tenant.residency };
      await deps.tenants.updatePolicy(tenantId, policy);
      return { ...tenant, ...policy };
    },
    /** The operator's abuse controls; unnamed fields keep their value. */
    async updateControls(tenantId: string, input: Partial<TenantControls>) {
      const tenant = await requireOpenTenant(tenantId);
      const controls = { ...settingsOf(tenant).controls, ...input };
      await deps.tenants.updateSettings(tenantId, { controls });
      return { ...tenant, controls };
    },
    /** What the tenant answers to HELP, its own keywords, reference codes. */
    async updateReplies(tenantId: string, input: Partial<TenantReplies>) {
      const tenant = await requireTenant(tenantId);
      const replies = { ...settingsOf(tenant).replies, ...input };
      await deps.tenants.updateSettings(tenantId, { replies });
      return replies;
    },
    async replies(tenantId: string) {
      return settingsOf(await requireTenant(tenantId)).replies;
    },
    listTenants: () => deps.tenants.listTenants(),
    issueKey,
    async listKeys(tenantId: string) {
      await requireTenant(tenantId);
      const now = deps.clock.now();
      return (await deps.tenants.listApiKeys(tenantId)).map((k) => apiKeyView(k, now));
    },
    async revokeKey(tenantId: string, keyId: string) {
      await requireKey(tenantId, keyId);
      await deps.tenants.expireApiKey(tenantId, keyId, deps.clock.now());
      return apiKeyView(await requireKey(tenantId, keyId), deps.clock.now());
    },
    /** Issues a successor with the same name, mode and scopes; the old key keeps working for `graceSeconds`. */
    async rotateKey(tenantId: string, keyId: string, graceSeconds: number) {
      const old = await requireKey(tenantId, keyId);
      const successor = await issueKey(tenantId, { name: old.name, mode: old.mode, scopes: old.scopes });
      const notAfter = new Date(deps.clock.now().getTime() + graceSeconds * 1000);
      await deps.tenants.expireApiKey(tenantId, keyId, notAfter, successor.id);
      return { previous: apiKeyView(await requireKey(tenantId, keyId), deps.clock.now()), key: successor };
    },
  };
}

export type TenantAdmin = ReturnType<typeof makeTenantAdmin>;
