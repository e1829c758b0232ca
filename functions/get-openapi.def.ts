import { defineFunction, HTTP_TIMEOUT_SECONDS } from '#layers/declaration.ts';

/** The OpenAPI document, built from the route table: it touches no data. */
export const declaration = defineFunction({
  name: 'get-openapi',
  description: 'GET /openapi.json',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: [],
  needs: {},
});
