import { defineFunction } from '#layers/declaration.ts';
import { TAKES_REPLIES } from './carrier-inbound.def.ts';

/**
 * End User Messaging publishes to its topic a person's two-way SMS reply (their number and words)
 * and the delivery events of the configuration set (the recipient's number beside the ids). SNS
 * hands them to this function, never to a queue: a reply is handled at once as the carrier webhook
 * handles one (routed, stored sealed, keywords answered, a block-all confirmed within the hourly
 * budget of the gateway's own messages); a delivery event moves its message to its final status.
 * In the global region, a reply from an EU/EEA number is relayed to the EU region's carrier
 * webhook (`relaysToEu`): no global role touches an EU subject's reply. Only the EU region's
 * function may reach the other jurisdiction (a global number's reply to an EU number).
 */
export const declaration = defineFunction({
  name: 'receive-eum-events',
  description: "End User Messaging's replies and delivery events (SNS)",
  trigger: { kind: 'sns', topic: 'carrierEvents' },
  // The relay waits at most RELAY_TIMEOUT_MS for the EU endpoint.
  timeoutSeconds: 30,
  settings: ['GATEWAY_ORIGINATION', 'GATEWAY_MESSAGE_BUDGET', 'TENANT_SETTINGS_CACHE_SECONDS'],
  relaysToEu: true,
  // As the carrier webhook (the relay token derives from the pepper, created on first use).
  ...TAKES_REPLIES,
});
