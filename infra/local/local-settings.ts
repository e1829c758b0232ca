/**
 * The settings only the local runtime gives a function, on top of its template's: they have no
 * meaning in AWS. Kept here in one place until the function declarations list them.
 * - SANDBOX_LEDGER_TABLE: the sandbox carrier's "handsets" (a local-only table).
 * - WEBHOOK_ALLOW_LOOPBACK: lets webhooks reach receivers on this machine (tests, trying them out).
 * - POWERTOOLS_METRICS_DISABLED: EMF metrics would print a JSON line per request on the console.
 */
export const LOCAL_ONLY_SETTINGS = [
  'SANDBOX_LEDGER_TABLE',
  'WEBHOOK_ALLOW_LOOPBACK',
  'POWERTOOLS_METRICS_DISABLED',
] as const;

/**
 * Settings a test may set on functions whose templates lack them today (the declarations work
 * adds them to the templates): while no function declares one, it goes to every function.
 */
export const TRANSITIONAL_SETTINGS = [
  'WEBHOOK_RETRY_SCHEDULE_SECONDS',
  'DISPATCH_CARRIER_TIMEOUT_SECONDS',
  'TENANT_SETTINGS_CACHE_SECONDS',
] as const;
