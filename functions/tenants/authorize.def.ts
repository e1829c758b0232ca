import { defineFunction } from '#layers/declaration.ts';

/** The API key authorizer: looks the key's hash up in the tenants table (the pepper created on first use). */
export const declaration = defineFunction({
  name: 'authorize',
  description: 'HTTP API Lambda authorizer (simple responses, cached)',
  trigger: { kind: 'authorizer' },
  timeoutSeconds: 10,
  // Not reserved by default. A reservation is a floor and a cap at once: it would shield the
  // authorizer from a burst of other functions, but those are bounded already (every queue's
  // event source has a maximum concurrency, API Gateway throttles the stage), while a cap would
  // throttle a burst of cache misses (many keys after a deploy: 60 s cache per key) into 500s on
  // every tenant route. It also needs the account's unreserved concurrency to stay at 100 or
  // more, which new accounts' quotas may not allow. An operator who shares the account with
  // other workloads sets `-c authorizerReservedConcurrency=N`.
  reservedConcurrencyContext: 'authorizerReservedConcurrency',
  settings: [],
  // The key's look-up item, its tenant's record, and the system secrets (the pepper, made on
  // first use; in the EU region its own copy): nothing else of the tenants table.
  needs: { tenants: { read: ['KEYHASH#*', 'ten_*', 'SYSTEM'], write: ['SYSTEM'] }, systemKey: true },
});
