import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

export type KeyMode = 'live' | 'test';
export const SCOPES = ['send', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_BYTES = 32; // 256 bits of randomness
const SECRET_CHARS = 43; // ceil(256 / log2(62))
const CHECKSUM_CHARS = 6; // a CRC-32 fits in 6 base62 digits
const KEY_PATTERN = new RegExp(
  `^sk_(live|test)_([0-9A-Za-z]{${SECRET_CHARS}})([0-9A-Za-z]{${CHECKSUM_CHARS}})$`,
);

function base62(value: bigint, width: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    out = BASE62[Number(v % 62n)] + out;
    v /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(prefixAndSecret: string): string {
  return base62(BigInt(crc32(prefixAndSecret)), CHECKSUM_CHARS);
}

/**
 * Issues a new API key: `sk_live_` or `sk_test_`, 256 random bits in base62, and a CRC-32
 * checksum so that a mistyped or truncated key is refused without a database read, and
 * secret scanners can recognise a leaked one.
 */
export function generateApiKey(mode: KeyMode): string {
  const secret = base62(BigInt(`0x${randomBytes(SECRET_BYTES).toString('hex')}`), SECRET_CHARS);
  const body = `sk_${mode}_${secret}`;
  return body + checksum(body);
}

/** Returns the key's mode if it is well-formed with a valid checksum, else undefined. */
export function parseApiKey(raw: string): { mode: KeyMode } | undefined {
  const m = KEY_PATTERN.exec(raw);
  if (!m) return undefined;
  const body = `sk_${m[1]}_${m[2]}`;
  const expected = Buffer.from(checksum(body));
  const given = Buffer.from(m[3] ?? '');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return { mode: m[1] as KeyMode };
}

/** The only form in which a key is stored: an HMAC under the gateway's pepper. */
export function hashApiKey(pepper: Uint8Array, key: string): string {
  return createHmac('sha256', pepper).update(key).digest('base64url');
}

/** What may be shown of a key after it was issued: its prefix and last four characters. */
export function keyHint(key: string): string {
  return `${key.slice(0, 8)}…${key.slice(-4)}`;
}

/**
 * The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive and may
 * be followed by more than one space (RFC 9110, section 11.1); anything else is no token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  return /^bearer +(\S+)$/i.exec(header ?? '')?.[1];
}

/** The secret-store name of the carrier webhook token's HMAC. */
export const CARRIER_TOKEN_SECRET = 'carrier-token';

/** A token carriers present to report replies; like an API key, only its HMAC is stored. */
export function generateCarrierToken(): string {
  return `ct_${randomBytes(32).toString('base64url')}`;
}

/**
 * The token the global region's End User Messaging subscriber presents when it relays an EU/EEA
 * number's reply to the EU region's carrier webhook: derived from the pepper (the same system
 * secret in both regions), so no operator step issues it and no region stores it. Domain-separated
 * from API key hashes by its label.
 */
export function relayCarrierToken(pepper: Uint8Array): string {
  return `ctr_${createHmac('sha256', pepper).update('carrier-relay/v1').digest('base64url')}`;
}
