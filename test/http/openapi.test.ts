import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../layers/http/openapi.ts';
import { ROUTES } from '../../layers/http/routes.ts';

type Operation = {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
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
});
