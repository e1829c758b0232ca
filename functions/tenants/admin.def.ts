import { defineFunction, HTTP_TIMEOUT_SECONDS, ownAndGlobalFromEu } from '#layers/declaration.ts';

/**
 * Operator routes (IAM-authorised). The only function that may schedule a tenant key's deletion:
 * closing an account crypto-shreds its data, each region's admin endpoint in its own jurisdiction.
 * In the global region it touches the global jurisdiction only (the EU half of an operator action
 * is the EU endpoint's, which it names); in the EU region also the global one, which moves no EU
 * data out of the EU. Its whole-table access to its messages tables covers the closure's scrub of
 * the gateway-wide analytics cells (`usage#<day>`: Query, and UpdateItem to take the tenant's id
 * out); a non-tenant-scoped function declares no `gatewayWide` patterns.
 */
export const declaration = defineFunction({
  name: 'admin',
  description: '/admin/*',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: [
    'BACKUP_WINDOW_DAYS',
    'CLOSED_RECORDS_DAYS',
    'KEY_DELETION_DAYS',
    'SENDER_IDENTITY_DAYS',
    'USAGE_RETENTION_DAYS',
    'ANALYTICS_RETENTION_DAYS',
    'SMS_PRICES_USD',
    'GLOBAL_API_URL',
    'EU_API_URL',
  ],
  needs: {
    ...ownAndGlobalFromEu({ messages: 'readWrite', audit: 'send', tenantKeys: 'admin' }),
    tenants: 'readWrite',
    systemKey: true,
  },
});
