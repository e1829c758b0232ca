import { defineFunction, HTTP_TIMEOUT_SECONDS } from '#layers/declaration.ts';

/**
 * The OpenAPI document, built from the route table, and the `$default` route's 404 and 405
 * problem details for requests no route takes: it touches no data.
 */
export const declaration = defineFunction({
  name: 'get-openapi',
  description: 'GET /openapi.json, and $default (404 or 405 for requests no route takes)',
  trigger: { kind: 'http' },
  timeoutSeconds: HTTP_TIMEOUT_SECONDS,
  settings: [],
  needs: {},
});
