import { defineFunction, HTTP_TIMEOUT_SECONDS, ownAndGlobalFromEu } from '#layers/declaration.ts';

/**
 * A carrier reports a reply: the function checks the carrier token (its hash under the pepper,
 * both in the tenants table's SYSTEM item) and handles the reply at once, as the carrier events
 * worker handles the sandbox's (routed, stored sealed, keywords answered, a block-all confirmed
 * within the hourly budget of the gateway's own messages), so the reply is never queued in
 * clear. In the global region, a reply from an EU/EEA number is relayed as it came to the EU
 * region's endpoint (`relaysToEu`): no global role touches an EU subject's reply. Only the EU
 * region's function may reach the other jurisdiction (a global number's reply taken there).
 */
const replies = {
  messages: 'readWrite',
  dispatch: 'send',
  webhooks: 'send',
  tenantKeys: 'write',
  sms: true,
} as const;

export const declaration = defineFunction({
  name: 'carrier-inbound',
  description: 'POST /carrier/v1/inbound',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: ['GATEWAY_ORIGINATION', 'GATEWAY_MESSAGE_BUDGET', 'TENANT_SETTINGS_CACHE_SECONDS'],
  relaysToEu: true,
  needs: {
    ...ownAndGlobalFromEu(replies),
    // A tenant's profile, settings and webhook endpoints; the SYSTEM secrets (the pepper is
    // created on first use, hence the write on SYSTEM).
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
