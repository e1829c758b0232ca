import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, keyHint, parseApiKey } from '../../layers/core/api-keys.ts';

describe('API keys', () => {
  it('are prefixed by mode, carry 256 random bits and a checksum', () => {
    const live = generateApiKey('live');
    const test = generateApiKey('test');
    expect(live).toMatch(/^sk_live_[0-9A-Za-z]{49}$/);
    expect(test).toMatch(/^sk_test_[0-9A-Za-z]{49}$/);
    expect(parseApiKey(live)).toEqual({ mode: 'live' });
    expect(parseApiKey(test)).toEqual({ mode: 'test' });
    // 43 base62 characters hold 256 bits: 62^43 > 2^256.
    expect(43 * Math.log2(62)).toBeGreaterThanOrEqual(256);
  });

  it('are all different', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey('live')));
    expect(keys.size).toBe(1000);
  });

  it('are refused when a character is mistyped, dropped or the prefix is changed', () => {
    const key = generateApiKey('live');
    const i = 20;
    const swapped = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    expect(parseApiKey(swapped)).toBeUndefined();
    expect(parseApiKey(key.slice(0, -1))).toBeUndefined();
    expect(parseApiKey(key.replace('sk_live_', 'sk_test_'))).toBeUndefined();
    expect(parseApiKey('')).toBeUndefined();
  });

  it('are stored as an HMAC under the pepper, not in clear', () => {
    const key = generateApiKey('live');
    const pepper = new Uint8Array(32).fill(7);
    const hash = hashApiKey(pepper, key);
    expect(hash).not.toContain(key.slice(8));
    expect(hash).toBe(hashApiKey(pepper, key));
    expect(hashApiKey(new Uint8Array(32).fill(8), key)).not.toBe(hash);
  });

  it('show only a hint of the prefix and the last four characters', () => {
    const key = generateApiKey('test');
    expect(keyHint(key)).toBe(`sk_test_…${key.slice(-4)}`);
  });
});
