import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadSettings } from '#layers/declaration.ts';
import { json, problemErrors } from '#layers/http/handler.ts';
import { buildOpenApi } from '#layers/http/openapi.ts';
import { unknownRoute } from '#layers/http/unknown-route.ts';
import { tracing } from '#layers/telemetry.ts';
import { declaration } from './get-openapi.def.ts';

// This function's settings, parsed (and registered) before anything else reads one.
loadSettings(declaration);

const document = buildOpenApi();

/** The API's description, and (behind the `$default` route) the answer to a request no route takes. */
export const handler = middy<APIGatewayProxyEventV2>()
  .use(tracing())
  .use(problemErrors())
  .handler(async (event) =>
    event.routeKey === '$default'
      ? json(unknownRoute(event.requestContext.http.method, event.requestContext.http.path))
      : json({ status: 200, body: document, headers: { 'cache-control': 'public, max-age=300' } }),
  );
