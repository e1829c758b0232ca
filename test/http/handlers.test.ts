import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { UpdateRepliesRequest } from '../../functions/recipients/schemas.ts';
import { lambdaContext } from '../../infra/local/http-gateway.ts';
import { ServiceUnavailableError } from '../../layers/core/errors.ts';
import { parseJsonBody, parseWith, type TenantEvent, tenantRoute } from '../../layers/http/handler.ts';
import { apiEvent } from '../support/api-event.ts';

/** An API Gateway v2 event as the authorizer leaves it (event factory). */
function event(
  authorizer: Record<string, unknown> | undefined,
  overrides: Partial<APIGatewayProxyEventV2> = {},
): TenantEvent {
  return {
    ...apiEvent({
      routeKey: 'GET /v1/messages',
      authorizer,
      sourceIp: '1.2.3.4',
      userAgent: 'test',
      requestId: 'req-1',
    }),
    ...overrides,
  } as TenantEvent;
}

/** A read route's answer to a request with the authorizer's context `authorizer`, and whether its use case ran. */
async function answerTo(authorizer: Record<string, unknown>) {
  let ran = false;
  const handler = tenantRoute('read', async () => {
    ran = true;
    return { status: 200 };
  });
  const res = await handler(event(authorizer), lambdaContext('t', 1000));
  return { res, ran };
}

const ok = {
  authenticated: true,
  tenantId: 'ten_A',
  keyId: 'key_1',
  mode: 'live',
  scopes: 'read',
  bodyRetentionDays: 0,
  metadataRetentionDays: 30,
  residency: 'strict',
};

describe('tenant route handlers', () => {
  it('take the tenant from the authorizer context only', async () => {
    const handler = tenantRoute('read', async (_e, tenant) => ({ status: 200, body: tenant }));
    const res = await handler(
      event(ok, { queryStringParameters: { tenantId: 'ten_B' } }),
      lambdaContext('t', 1000),
    );
    expect(JSON.parse(res.body!)).toEqual({
      tenantId: 'ten_A',
      keyId: 'key_1',
      mode: 'live',
      scopes: ['read'],
      retention: { bodyDays: 0, metadataDays: 30 },
      residency: 'strict',
    });
  });

  it('answer 401 problem+json when the authorizer marked the key bad, without running the use case', async () => {
    const { res, ran } = await answerTo({
      authenticated: false,
      reason: 'The API key is unknown or revoked.',
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body!).detail).toBe('The API key is unknown or revoked.');
    expect(ran).toBe(false);
  });

  it('answer 503 problem+json with Retry-After when the authorizer could not look the key up', async () => {
    const { res, ran } = await answerTo({
      authenticated: false,
      unavailable: true,
      reason: 'A storage or key service is not answering; retry after the time given.',
      retryAfterSeconds: 2,
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(res.headers?.['retry-after']).toBe('2');
    expect(JSON.parse(res.body!).type).toBe('https://sms-gateway.dev/problems/service-unavailable');
    expect(ran).toBe(false);
  });

  it('answer a failing dependency with 503 and Retry-After, carrying nothing from the error', async () => {
    const handler = tenantRoute('read', async () => {
      throw new DynamoDBServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: {},
        message: 'table arn:aws:dynamodb:eu-central-1:123:table/Messages secret detail',
      });
    });
    const res = await handler(event(ok), lambdaContext('t', 1000));
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('2');
    expect(res.body).not.toMatch(/arn:|Messages|secret|stack|DynamoDB/);
    expect(JSON.parse(res.body!)).toMatchObject({
      type: 'https://sms-gateway.dev/problems/service-unavailable',
      status: 503,
    });
  });

  it('answer a 500 that carries nothing from the error when our own code fails', async () => {
    const handler = tenantRoute('read', async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secret detail')");
    });
    const res = await handler(event(ok), lambdaContext('t', 1000));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/secret|stack|TypeError|undefined/);
    expect(JSON.parse(res.body!)).toEqual({
      type: 'https://sms-gateway.dev/problems/internal-error',
      title: 'Something went wrong on our side.',
      status: 500,
    });
  });

  it('answer 503 with Retry-After when a dependency is unavailable', async () => {
    const handler = tenantRoute('read', async () => {
      throw new ServiceUnavailableError('queue down', 2);
    });
    const res = await handler(event(ok), lambdaContext('t', 1000));
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toBe('2');
  });
});

describe('reply settings', () => {
  it('refuse a keyword that would give a built-in word another meaning, naming the field', async () => {
    // What PUT /v1/settings/replies does with its body (functions/recipients/settings.ts).
    const handler = tenantRoute('read', async (e) => ({
      status: 200,
      body: parseWith(UpdateRepliesRequest, parseJsonBody(e), 'pointer'),
    }));
    const put = (keywords: object) =>
      handler(
        event(ok, {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ keywords }),
        }),
        lambdaContext('t', 1000),
      );
    const res = await put({ optOut: ['ARRET'], optIn: ['ALTA', 'ＳＴＯＰ'], help: [' ｂｌｏｃｋ '] });
    expect(res.statusCode).toBe(422);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body!)).toMatchObject({
      type: 'https://sms-gateway.dev/problems/validation-error',
      errors: [
        { pointer: '/keywords/optIn/1', detail: expect.stringContaining('STOP') },
        { pointer: '/keywords/help/0', detail: expect.stringContaining('BLOCK') },
      ],
    });
    // Words of their own, or a built-in word for its own meaning, are fine.
    expect((await put({ optOut: ['ARRET', 'stop'], optIn: ['ALTA'], help: ['AIDE'] })).statusCode).toBe(200);
  });
});
