import { describe, expect, it } from 'vitest';
import { conformsToDocument } from '../support/http.ts';

/* The end-to-end client checks every answer against the document: it must catch what a user would. */

const message = {
  id: 'msg_01M85ZWWMPGX6VT348ZP3J8NST',
  status: 'queued',
  to: '+12025550100',
  from: 'Acme',
  body: 'Your code is 123456',
  reference: null,
  category: 'transactional',
  encoding: 'GSM-7',
  characters: 19,
  segments: 1,
  jurisdiction: 'global',
  mode: 'live',
  createdAt: '2026-11-30T12:00:00.000Z',
  sentAt: null,
  deliveredAt: null,
  failedAt: null,
  error: null,
};

describe('the end-to-end client', () => {
  it('takes a sent message as documented', () => {
    expect(() => conformsToDocument('POST', '/v1/messages', 202, { message })).not.toThrow();
    expect(() => conformsToDocument('GET', `/v1/messages/${message.id}`, 200, message)).not.toThrow();
  });

  it("checks a sent message's answer, whose only member is called message like API Gateway's own", () => {
    const { to: _, ...withoutRecipient } = message;
    expect(() => conformsToDocument('POST', '/v1/messages', 202, { message: withoutRecipient })).toThrow(
      /does not match its schema/,
    );
  });

  it('fails on a field the schema does not name, at any depth', () => {
    expect(() =>
      conformsToDocument('POST', '/v1/messages', 202, { message: { ...message, recipientPseudonym: 'x' } }),
    ).toThrow(/does not match its schema/);
    expect(() =>
      conformsToDocument('GET', `/v1/messages/${message.id}`, 200, { ...message, tenantId: 'ten_x' }),
    ).toThrow(/does not match its schema/);
  });

  it("skips API Gateway's own answers, and fails on a body on a 204", () => {
    expect(() => conformsToDocument('POST', '/v1/messages', 401, { message: 'Unauthorized' })).not.toThrow();
    expect(() =>
      conformsToDocument('DELETE', '/v1/webhooks/whk_01M85ZWWMPGX6VT348ZP3J8NST', 204, { removed: true }),
    ).toThrow(/has a body, which a 204 does not carry/);
    expect(() =>
      conformsToDocument('DELETE', '/v1/webhooks/whk_01M85ZWWMPGX6VT348ZP3J8NST', 204, undefined),
    ).not.toThrow();
  });
});
