import * as z from 'zod';
import { RESPONSE_HEADERS, type Route, type RouteResponse } from './route.ts';
import { ROUTES } from './routes.ts';
import { GatewayMessage } from './schemas.ts';

const COMPONENTS = '#/components/schemas/';

/** Named schemas (those with a `.meta({ id })`) become components; everything else is inlined. */
function components() {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => COMPONENTS + id,
  }) as { schemas: Record<string, Record<string, unknown>> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

function ref(schema: z.ZodType): Record<string, unknown> {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: COMPONENTS + id };
  const inline = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  delete inline.$schema;
  delete inline.$defs;
  return JSON.parse(JSON.stringify(inline).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as Record<
    string,
    unknown
  >;
}

function parameters(route: Route) {
  const out: unknown[] = [];
  for (const [where, obj] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!obj) continue;
    const schema = z.toJSONSchema(obj, { io: 'input' }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (schema.required ?? []).includes(name),
        schema: prop,
      });
    }
  }
  if (route.idempotent) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Makes the write safe to retry for 24 hours: a replay returns the original response.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  return out;
}

function response(code: number, r: RouteResponse) {
  const content: Record<string, unknown> = {};
  if (r.schema) {
    content[code >= 400 ? 'application/problem+json' : 'application/json'] = { schema: ref(r.schema) };
    // Exports: the same records as text (`format=csv` or `format=ndjson`).
    for (const type of r.text ?? []) content[type] = { schema: { type: 'string' } };
  }
  // API Gateway's own answers ({"message": ...}) are plain JSON, not problem details.
  if (r.gateway) content['application/json'] = { schema: ref(GatewayMessage) };
  return {
    description: r.description,
    ...(r.headers?.length
      ? { headers: Object.fromEntries(r.headers.map((h) => [h, RESPONSE_HEADERS[h]])) }
      : {}),
    ...(Object.keys(content).length > 0 ? { content } : {}),
  };
}

/** Builds the OpenAPI 3.1 document from the route table and its zod schemas. */
export function buildOpenApi(serverUrl = '/') {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const op: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      security: { tenant: [{ apiKey: [] }], admin: [{ admin: [] }], carrier: [{ carrier: [] }], public: [] }[
        route.auth
      ],
      parameters: parameters(route),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([code, r]) => [code, response(Number(code), r)]),
      ),
    };
    if (route.scope) op['x-required-scope'] = route.scope;
    if (route.body)
      op.requestBody = { required: true, content: { 'application/json': { schema: ref(route.body) } } };
    const operations = paths[route.path] ?? {};
    operations[route.method.toLowerCase()] = op;
    paths[route.path] = operations;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'SMS gateway API',
      version: '1.0.0',
      description:
        'Send SMS through a privacy-first, multi-tenant gateway. Errors are RFC 9457 problem details; ' +
        'a path no route has is answered 404 (`not-found`), and a path called with a method it does not ' +
        'take 405 (`method-not-allowed`) with `Allow` naming those it takes. API Gateway answers a few ' +
        'cases itself with `{"message": ...}` (GatewayMessage), as each operation says.',
    },
    servers: [{ url: serverUrl }],
    components: {
      schemas: components(),
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A tenant API key: sk_live_... or sk_test_...',
        },
        admin: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Operators only: AWS IAM (SigV4) in AWS; the generated local admin token in the local runtime.',
        },
        carrier: {
          type: 'http',
          scheme: 'bearer',
          description: 'Carriers only: the token from POST /admin/carrier-token.',
        },
      },
    },
    paths,
  };
}
