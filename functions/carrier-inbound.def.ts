import { defineFunction, HTTP_TIMEOUT_SECONDS } from '#layers/declaration.ts';

/**
 * A carrier reports a reply: the function checks the carrier token (its hash under the pepper,
 * both in the tenants table's SYSTEM item) and queues the event on its own region's carrier events
 * queue. It reads no tenant's data. In the global region, a reply from an EU/EEA number is relayed
 * as it came to the EU region's endpoint (`relaysToEu`): no global role queues an EU subject's reply.
 */
export const declaration = defineFunction({
  name: 'carrier-inbound',
  description: 'POST /carrier/v1/inbound',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: [],
  relaysToEu: true,
  needs: {
    own: { carrierEvents: 'send' },
    // The pepper is created on first use, hence the write on SYSTEM.
    tenants: { read: ['SYSTEM'], write: ['SYSTEM'] },
    systemKey: true,
  },
});
