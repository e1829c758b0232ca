/**
 * The settings only the local runtime gives a function, on top of its template's: the catalogue
 * marks them local-only (layers/settings.ts), and a function gets one only if it declares it.
 * - SANDBOX_LEDGER_TABLE: the sandbox carrier's "handsets" (a local-only table).
 * - WEBHOOK_ALLOW_LOOPBACK: lets webhooks reach receivers on this machine (tests, trying them out).
 * - POWERTOOLS_METRICS_DISABLED: EMF metrics would print a JSON line per request on the console.
 * The AWS_ENDPOINT_URL_* settings, also local-only, point the SDK at the IAM proxies.
 */
export { LOCAL_ONLY_SETTINGS } from '../../layers/settings.ts';

/** Settings the CDK app never sets but a test may give a function that declares them (tuning). */
export const TUNING_SETTINGS = [
  'WEBHOOK_RETRY_SCHEDULE_SECONDS',
  'DISPATCH_CARRIER_TIMEOUT_SECONDS',
  'DISPATCH_SEND_RATES',
  'TENANT_SETTINGS_CACHE_SECONDS',
] as const;
