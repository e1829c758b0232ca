import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { json, problemErrors } from '#layers/http/handler.ts';
import { buildOpenApi } from '#layers/http/openapi.ts';
import { tracing } from '#layers/telemetry.ts';

const document = buildOpenApi();

export const handler = middy<APIGatewayProxyEventV2>()
  .use(tracing())
  .use(problemErrors())
  .handler(async () =>
    json({ status: 200, body: document, headers: { 'cache-control': 'public, max-age=300' } }),
  );
