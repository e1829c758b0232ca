import { bothJurisdictions, defineFunction, HTTP_TIMEOUT_SECONDS } from '#layers/declaration.ts';

/**
 * A carrier reports a reply: the function checks the carrier token (its hash under the pepper,
 * both in the tenants table's SYSTEM item) and queues the event. It reads no tenant's data.
 */
export const declaration = defineFunction({
  name: 'carrier-inbound',
  description: 'POST /carrier/v1/inbound',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: [],
  needs: {
    ...bothJurisdictions({ carrierEvents: 'send' }),
    // The pepper is created on first use, hence the write on SYSTEM.
    tenants: { read: ['SYSTEM'], write: ['SYSTEM'] },
    systemKey: true,
  },
});
