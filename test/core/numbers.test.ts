import { describe, expect, it } from 'vitest';
import { checkRecipient } from '../../layers/core/phone.ts';
import { SANDBOX_NUMBERS, SANDBOX_REPLYING_NUMBER } from '../../layers/core/sandbox.ts';
import { checkSender } from '../../layers/core/sender.ts';

describe('checkRecipient', () => {
  it.each([
    ['+4915112345678', 'DE'],
    ['+33612345678', 'FR'],
    ['+12025550100', 'US'],
  ])('accepts %s as a valid number in %s', (raw, country) => {
    expect(checkRecipient(raw)).toEqual({ ok: true, e164: raw, country });
  });

  it.each([
    ['4915112345678', 'E.164'],
    ['+49 151 12345678', 'E.164'],
    ['+0123456789', 'E.164'],
    ['+4912', 'E.164'],
    ['+49151', 'E.164'],
    ['+999123456789', 'not a valid phone number'],
    ['+4400000000000', 'not a valid phone number'],
  ])('refuses %s with a reason', (raw, reason) => {
    const result = checkRecipient(raw);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('accepts every sandbox magic number, so each documented outcome can be reached', () => {
    for (const n of Object.keys(SANDBOX_NUMBERS)) expect(checkRecipient(n).ok).toBe(true);
  });

  it('keeps the replying handset apart from every outcome number, so each behaves as documented', () => {
    expect(Object.keys(SANDBOX_NUMBERS)).not.toContain(SANDBOX_REPLYING_NUMBER);
  });
});

describe('checkSender', () => {
  it.each([
    ['Acme', 'alphanumeric'],
    ['ACME Bank', 'alphanumeric'],
    ['A1-B2.C3&D', 'alphanumeric'],
    ['+12025550100', 'phone_number'],
    ['12345', 'short_code'],
  ])('accepts %s as %s', (raw, type) => {
    expect(checkSender(raw)).toMatchObject({ ok: true, type });
  });

  it.each([
    ['TwelveChars1', '1 to 11'],
    ['12345678901', 'at least one letter'],
    ['Acme!', '1 to 11'],
    [' Acme', 'space'],
    ['+12', 'E.164'],
  ])('refuses %s', (raw, reason) => {
    const result = checkSender(raw);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });
});
