import { bothJurisdictions, defineFunction, HTTP_TIMEOUT_SECONDS } from '#layers/declaration.ts';

/**
 * Operator routes (IAM-authorised). The only function that may schedule a tenant key's deletion:
 * closing an account crypto-shreds its data in both jurisdictions.
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
    ...bothJurisdictions({ messages: 'readWrite', audit: 'send', tenantKeys: 'admin' }),
    tenants: 'readWrite',
    systemKey: true,
  },
});
