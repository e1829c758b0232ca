import type { Route } from '#layers/http/route.ts';

/** The api capability's routes. */
export const apiRoutes = [
  {
    method: 'GET',
    path: '/openapi.json',
    function: 'get-openapi',
    auth: 'public',
    operationId: 'getOpenApi',
    summary: 'This document',
    tags: ['Meta'],
    responses: { 200: { description: 'OpenAPI 3.1 document' } },
  },
] as const satisfies readonly Route[];
