import { defineFunction } from '#layers/declaration.ts';

/** The API key authorizer: looks the key's hash up in the tenants table (the pepper created on first use). */
export const declaration = defineFunction({
  name: 'authorize',
  description: 'HTTP API Lambda authorizer (simple responses, cached)',
  trigger: { kind: 'authorizer' },
  timeoutSeconds: 10,
  settings: [],
  needs: { tenants: 'readWrite', systemKey: true },
});
