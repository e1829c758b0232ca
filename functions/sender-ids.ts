import { systemClock, ulidIds } from '#layers/adapters/system.ts';
import { loadConfig, setting } from '#layers/config.ts';
import { makeSenderIds } from '#layers/core/use-cases/sender-ids.ts';
import { parseJsonBody, parseWith, tenantFrom, tenantRoute } from '#layers/http/handler.ts';
import { SenderIdApplication } from '#layers/http/schemas.ts';
import { admitTenant, senderIdStore, tenantCrypto, tenantStore } from '#layers/wiring.ts';

const config = loadConfig({ SENDER_IDENTITY_DAYS: setting.positiveInt });

const senderIds = makeSenderIds({
  senderIds: senderIdStore(),
  tenants: tenantStore(),
  crypto: tenantCrypto,
  clock: systemClock,
  ids: ulidIds,
  identityRetentionDays: config.SENDER_IDENTITY_DAYS,
});

/** Sender IDs: list them (scope read), apply for one (scope admin). */
export const handler = tenantRoute(
  'read',
  async (event, tenant) => {
    if (event.routeKey === 'POST /v1/sender-ids') {
      tenantFrom(event, 'admin');
      const input = parseWith(SenderIdApplication, parseJsonBody(event), 'pointer');
      return { status: 201, body: await senderIds.apply(tenant, input) };
    }
    return { status: 200, body: await senderIds.list(tenant) };
  },
  admitTenant,
);
