import { loadSettings } from '#layers/declaration.ts';
import { buildOpenApi } from '#layers/http/openapi.ts';
import { type Operations, operationsHandler } from '#layers/http/operations.ts';
import { unknownRoute } from '#layers/http/unknown-route.ts';
import { declaration } from './get-openapi.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const document = buildOpenApi();

export const operations = {
  getOpenApi: async () => ({
    status: 200,
    body: document,
    headers: { 'cache-control': 'public, max-age=300' },
  }),
} satisfies Operations<'get-openapi'>;

/** The API's description, and (behind the `$default` route) the answer to a request no route takes. */
export const handler = operationsHandler('get-openapi', operations, {
  unknownRoute: (event) => unknownRoute(event.requestContext.http.method, event.requestContext.http.path),
});
