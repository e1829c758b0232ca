import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID (48-bit millisecond time, 80 random bits) behind a type prefix. Time-ordered ids
 * let a tenant's messages be listed newest first straight from the sort key.
 */
export function newUlid(nowMs: number): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/**
 * A monotonic ULID source (the ULID spec's monotonicity): within one millisecond, and when the
 * clock steps back, each id is the previous one's random part plus one, so ids made in one
 * process sort in the order they were made (a batch's 1,000 messages share a millisecond).
 */
export function monotonicUlids(): (nowMs: number) => string {
  let lastTime = -1;
  let last = '';
  return (nowMs) => {
    if (nowMs > lastTime) {
      lastTime = nowMs;
      last = newUlid(nowMs);
      return last;
    }
    // Increment the 16-character random part in base 32 (80 bits: it does not overflow in practice).
    const chars = last.split('');
    for (let i = chars.length - 1; i >= 10; i--) {
      const digit = CROCKFORD.indexOf(last.charAt(i));
      if (digit < 31) {
        chars[i] = CROCKFORD.charAt(digit + 1);
        break;
      }
      chars[i] = '0';
    }
    last = chars.join('');
    return last;
  };
}

/** When a prefixed ULID (`msg_01J...`) was made, in milliseconds; undefined for anything else. */
export function ulidTime(id: string): number | undefined {
  const ulid = id.slice(id.indexOf('_') + 1);
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(ulid)) return undefined;
  let t = 0;
  for (const c of ulid.slice(0, 10)) t = t * 32 + CROCKFORD.indexOf(c);
  return t;
}

export const ID_PATTERN = {
  message: /^msg_[0-9A-HJKMNP-TV-Z]{26}$/,
  tenant: /^ten_[0-9A-HJKMNP-TV-Z]{26}$/,
  apiKey: /^key_[0-9A-HJKMNP-TV-Z]{26}$/,
  webhook: /^whk_[0-9A-HJKMNP-TV-Z]{26}$/,
  webhookDelivery: /^wev_[0-9A-HJKMNP-TV-Z]{26}$/,
};

/**
 * A ULID whose random part comes from a seed: the same carrier event always yields the same
 * ids, so a redelivered event rewrites the same items instead of adding new ones.
 */
export function seededUlid(nowMs: number, seed: string): string {
  const time = newUlid(nowMs).slice(0, 10);
  const digest = createHash('sha256').update(seed).digest();
  let rand = '';
  for (const byte of digest.subarray(0, 16)) rand += CROCKFORD.charAt(byte % 32);
  return time + rand;
}
