import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../layers/http/openapi.ts';
import { ROUTES } from '../../layers/http/routes.ts';

type Operation = {
  operationId: string;
  responses: Record<
    string,
    {
      content?: Record<string, { schema: Record<string, unknown> }>;
      headers?: Record<string, { schema: Record<string, unknown>; description: string }>;
    }
  >;
  requestBody?: unknown;
  parameters: { name: string; in: string }[];
  security: unknown[];
};

const doc = buildOpenApi();
const operation = (path: string, method: string) =>
  (doc.paths[path] as Record<string, Operation> | undefined)?.[method.toLowerCase()];

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the three security schemes', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['apiKey', 'admin', 'carrier']);
  });

  it('resolves every $ref to a component it defines', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs)
      expect(Object.keys(doc.components.schemas)).toContain(r.replace('#/components/schemas/', ''));
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('documents %s', (_, route) => {
    const op = operation(route.path, route.method);
    expect(op, `${route.method} ${route.path} is in the route table but not in the document`).toBeDefined();
    expect(op!.operationId).toBe(route.operationId);
    expect(Object.keys(op!.responses).length).toBeGreaterThan(0);
    if (route.body) expect(op!.requestBody).toBeDefined();
    for (const name of Object.keys(route.params?.shape ?? {})) {
      expect(op!.parameters).toContainEqual(expect.objectContaining({ name, in: 'path' }));
      expect(route.path).toContain(`{${name}}`);
    }
    if (route.idempotent)
      expect(op!.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key' }));
    const scheme = { tenant: 'apiKey', admin: 'admin', carrier: 'carrier', public: undefined }[route.auth];
    expect(op!.security).toEqual(scheme ? [{ [scheme]: [] }] : []);
  });

  it('documents nothing the route table lacks', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('describes errors as problem+json and the send request fields', () => {
    const send = operation('/v1/messages', 'POST')!;
    expect(send.responses['422']!.content!['application/problem+json']).toBeDefined();
    const body = (send.requestBody as { content: { 'application/json': { schema: { $ref: string } } } })
      .content['application/json'].schema;
    expect(body.$ref).toBe('#/components/schemas/SendMessageRequest');
    const schema = doc.components.schemas.SendMessageRequest as { required: string[] };
    expect(schema.required).toEqual(['to', 'from', 'body']);
  });

  it('declares the response headers the gateway sends', () => {
    const send = operation('/v1/messages', 'POST')!;
    expect(Object.keys(send.responses['202']!.headers ?? {}).sort()).toEqual([
      'Idempotent-Replayed',
      'Location',
    ]);
    expect(Object.keys(send.responses['401']!.headers ?? {})).toEqual(['WWW-Authenticate']);
    expect(Object.keys(send.responses['409']!.headers ?? {})).toEqual(['Retry-After']);
    expect(Object.keys(send.responses['429']!.headers ?? {})).toEqual(['Retry-After']);
    expect(Object.keys(send.responses['503']!.headers ?? {})).toEqual(['Retry-After']);
    expect(send.responses['503']!.headers!['Retry-After']!.schema).toEqual({ type: 'integer', minimum: 0 });
    const batch = operation('/v1/messages/batch', 'POST')!;
    expect(Object.keys(batch.responses['200']!.headers ?? {})).toEqual(['Idempotent-Replayed']);
    const audit = operation('/v1/audit-events', 'GET')!;
    expect(Object.keys(audit.responses['200']!.headers ?? {})).toEqual(['X-Next-Cursor']);
  });

  it.each(ROUTES.filter((r) => r.body).map((r) => [`${r.method} ${r.path}`, r] as const))(
    "documents API Gateway's own 413 on %s, and the 500 of a request over Lambda's invocation payload",
    (_, route) => {
      const op = operation(route.path, route.method)!;
      expect(op.responses['413']?.content).toEqual({
        'application/json': { schema: { $ref: '#/components/schemas/GatewayMessage' } },
      });
      expect((op.responses['413'] as { description: string }).description).toContain('10 MB');
      expect((op.responses['500'] as { description: string }).description).toContain('6 MB');
    },
  );

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))(
    "documents the 500 and 503 %s can answer, and the gateway's own 401 on tenant routes",
    (_, route) => {
      const op = operation(route.path, route.method)!;
      for (const code of ['500', '503']) {
        expect(op.responses[code]?.content?.['application/problem+json']).toBeDefined();
        expect(op.responses[code]?.content?.['application/json']).toBeDefined();
      }
      expect(Object.keys(op.responses['503']!.headers ?? {})).toContain('Retry-After');
      if (route.auth === 'tenant') {
        expect(op.responses['401']?.content?.['application/json']?.schema).toEqual({
          $ref: '#/components/schemas/GatewayMessage',
        });
        expect(op.responses['401']?.content?.['application/problem+json']).toBeDefined();
      }
    },
  );
});
