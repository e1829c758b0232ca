import {
  defineFunction,
  type FunctionDeclaration,
  HTTP_TIMEOUT_SECONDS,
  ownAndGlobalFromEu,
} from '#layers/declaration.ts';

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

/**
 * What a function that takes a carrier's replies where they arrive needs (this one, and End User
 * Messaging's subscriber): each region's own tables, keys, queues and carrier (the EU region's also
 * the global ones); a tenant's profile, settings and webhook endpoints and the SYSTEM secrets (the
 * pepper is created on first use, hence the write on SYSTEM). A reply is handled on its routed
 * tenant's behalf (its tenant-access role, which alone reads the tenant's items in the tenants
 * table); the execution role keeps what is no tenant's: reply routing's byRecipient look-up (a
 * person's pseudonym), the block list, the gateway's budgets of its own messages, the
 * gateway-wide usage counters and the SYSTEM secrets.
 */
export const TAKES_REPLIES = {
  needs: {
    ...ownAndGlobalFromEu(replies),
    tenants: 'read',
    systemKey: true,
  },
  tenantScoped: true,
  gatewayWide: {
    messages: {
      read: ['BLOCK#*'],
      write: ['BLOCK#*', 'BUDGET#*', 'usage#*'],
      queryIndexes: ['byRecipient'],
    },
    tenants: { read: ['SYSTEM'], write: ['SYSTEM'] },
  },
} satisfies Pick<FunctionDeclaration, 'needs' | 'tenantScoped' | 'gatewayWide'>;

export const declaration = defineFunction({
  name: 'carrier-inbound',
  description: 'POST /carrier/v1/inbound',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: ['GATEWAY_ORIGINATION', 'GATEWAY_MESSAGE_BUDGET', 'TENANT_SETTINGS_CACHE_SECONDS'],
  relaysToEu: true,
  ...TAKES_REPLIES,
});
