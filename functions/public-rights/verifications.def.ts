import { defineFunction, HTTP_TIMEOUT_SECONDS, ownAndGlobalFromEu } from '#layers/declaration.ts';

/**
 * The public flows (no account): one-time codes, the block list, "who sent me this?". They read
 * and write only verification and block items (and query who sent to a pseudonym), the rate
 * buckets and the hourly budget counters of the gateway's own messages (in the region that took
 * the request), a sender's tenant profile and the SYSTEM secrets; no tenant key.
 */
export const declaration = defineFunction({
  name: 'verifications',
  description: '/public/v1/verifications',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: ['GATEWAY_ORIGINATION', 'GATEWAY_MESSAGE_BUDGET', 'GLOBAL_API_URL', 'EU_API_URL'],
  needs: {
    // The global region refuses an EU/EEA number (421 naming the EU endpoint) and touches no EU
    // table, queue or carrier; the EU region also serves other numbers, in the global region.
    ...ownAndGlobalFromEu({
      messages: {
        read: ['VERIFY#*', 'BLOCK#*'],
        // BUDGET#: the hourly counters of the gateway's own messages; RATE#: the per-number and
        // per-address rate buckets (both in its own region's table).
        write: ['VERIFY#*', 'BLOCK#*', 'BUDGET#*', 'RATE#*'],
        // A confirmed code's verification, an unblocked number's block.
        delete: ['VERIFY#*', 'BLOCK#*'],
        queryIndexes: ['byRecipient'],
      },
      sms: true,
    }),
    tenants: { read: ['ten_*', 'SYSTEM'], write: ['SYSTEM'] },
    systemKey: true,
  },
});
