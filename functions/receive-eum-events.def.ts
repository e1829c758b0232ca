import { defineFunction, ownAndGlobalFromEu } from '#layers/declaration.ts';

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
const replies = {
  messages: 'readWrite',
  dispatch: 'send',
  webhooks: 'send',
  tenantKeys: 'write',
  sms: true,
} as const;

export const declaration = defineFunction({
  name: 'receive-eum-events',
  description: "End User Messaging's replies and delivery events (SNS)",
  trigger: { kind: 'sns', topic: 'carrierEvents' },
  // The relay waits at most RELAY_TIMEOUT_MS for the EU endpoint.
  timeoutSeconds: 30,
  settings: ['GATEWAY_ORIGINATION', 'GATEWAY_MESSAGE_BUDGET', 'TENANT_SETTINGS_CACHE_SECONDS'],
  relaysToEu: true,
  needs: {
    ...ownAndGlobalFromEu(replies),
    // A tenant's profile, settings and webhook endpoints; the SYSTEM secrets (the pepper, which the
    // relay token derives from, is created on first use, hence the write on SYSTEM).
    tenants: { read: ['ten_*', 'SYSTEM'], write: ['SYSTEM'] },
    systemKey: true,
  },
  // A reply on its routed tenant's behalf (its tenant-access role). The execution role keeps what
  // is no tenant's: reply routing's byRecipient look-up (a person's pseudonym), the block list, the
  // gateway's budgets of its own messages and the gateway-wide usage counters.
  tenantScoped: true,
  gatewayWide: {
    messages: {
      read: ['BLOCK#*'],
      write: ['BLOCK#*', 'BUDGET#*', 'usage#*'],
      queryIndexes: ['byRecipient'],
    },
  },
});
