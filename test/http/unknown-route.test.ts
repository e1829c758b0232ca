import { describe, expect, it } from 'vitest';
import { unknownRoute } from '../../layers/http/unknown-route.ts';

describe('what the $default route answers', () => {
  it('405 with every method API Gateway would route the path to, in Allow', () => {
    // /v1/messages/batch is POST's own path and also matches GET /v1/messages/{id}.
    const res = unknownRoute('PUT', '/v1/messages/batch');
    expect(res.status).toBe(405);
    expect(res.headers).toEqual({ allow: 'GET, POST' });
    expect(res.body).toMatchObject({ type: 'https://sms-gateway.dev/problems/method-not-allowed' });
  });

  it('404 for a path no route has, without echoing the path (it can hold a phone number)', () => {
    const res = unknownRoute('GET', '/v1/subjects/+4915112345678/exprt');
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toContain('4915112345678');
    expect(unknownRoute('GET', '/').status).toBe(404);
  });
});
