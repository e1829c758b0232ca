import { describe, expect, it } from 'vitest';
import type { FieldIssue } from '../../layers/core/errors.ts';
import { ValidationError } from '../../layers/core/errors.ts';
import { idempotencyKeyFrom, parseWith } from '../../layers/http/handler.ts';
import { AuditQuery, ListMessagesQuery, UsageQuery } from '../../layers/http/schemas.ts';
import { parseSendRequest } from '../../layers/http/send-request.ts';

/** The field-level reasons a 422 would carry for this input. */
function issues(run: () => unknown): FieldIssue[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

const send = (body: unknown) => {
  const parsed = parseSendRequest(body);
  if (parsed.ok) throw new Error('expected the request to be refused');
  return parsed.issues;
};
const query = (schema: Parameters<typeof parseWith>[0], q: Record<string, string>) =>
  issues(() => parseWith(schema, q, 'parameter'));

describe('a 422 for a message body', () => {
  it('lists every invalid field at once, the unknown key by its own name', () => {
    const found = send({ to: '12345', from: '!!!!!!!!!!!!!!!', body: 123, extra: 1 });
    expect(found.map((i) => i.pointer).sort()).toEqual(['/body', '/extra', '/from', '/to']);
    expect(found.find((i) => i.pointer === '/extra')!.detail).toBe("'extra' is not a field of this request");
  });

  it('refuses a body with a lone surrogate (it would be stored and sent as U+FFFD)', () => {
    const body = JSON.parse('{"to":"+12025550100","from":"Acme","body":"hi \\ud83d there"}');
    expect(send(body)).toEqual([{ pointer: '/body', detail: expect.stringContaining('surrogate') }]);
    // A whole pair (an emoji) is fine.
    expect(parseSendRequest({ to: '+12025550100', from: 'Acme', body: 'hi 😀' }).ok).toBe(true);
  });

  it('points at the whole document, not at a member named "", when the body is not an object', () => {
    expect(send('a string').map((i) => i.pointer)).toEqual(['']);
  });
});

describe('a 422 for a query parameter or header', () => {
  it.each([
    [ListMessagesQuery, { limit: 'abc' }, 'limit: a whole number from 1 to 100'],
    [ListMessagesQuery, { limit: '1000' }, 'limit: a whole number from 1 to 100'],
    [ListMessagesQuery, { limit: '2.5' }, 'limit: a whole number from 1 to 100'],
    [
      ListMessagesQuery,
      { status: 'lost' },
      'status: one of queued, sent, delivered, failed, undeliverable, quarantined',
    ],
    [ListMessagesQuery, { jurisdiction: 'mars' }, 'jurisdiction: one of global, eu'],
    [AuditQuery, { from: 'yesterday' }, 'from: a date and time in ISO 8601, such as 2026-11-01T00:00:00Z'],
    [UsageQuery, { from: '1 Nov' }, 'from: a date in ISO 8601, such as 2026-11-01'],
    [AuditQuery, { limit: '0' }, 'limit: a whole number from 1 to 1000'],
  ] as const)('names the parameter and what it expects: %#', (schema, q, detail) => {
    const [issue, ...rest] = query(schema, q);
    expect(rest).toEqual([]);
    expect(issue).toEqual({ parameter: Object.keys(q)[0], detail });
  });

  it('names an unknown parameter, never "(query)"', () => {
    expect(query(ListMessagesQuery, { colour: 'red' })).toEqual([
      {
        parameter: 'colour',
        detail: 'colour: not a parameter of this route (status, jurisdiction, limit, cursor)',
      },
    ]);
  });

  it('says what Idempotency-Key expects', () => {
    const found = issues(() => idempotencyKeyFrom({ headers: { 'idempotency-key': 'with space' } } as never));
    expect(found).toEqual([
      { header: 'Idempotency-Key', detail: 'Idempotency-Key: 1 to 255 visible ASCII characters' },
    ]);
  });
});
