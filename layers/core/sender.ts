import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type SenderType = 'phone_number' | 'short_code' | 'alphanumeric';
export type SenderCheck = { ok: true; value: string; type: SenderType } | { ok: false; reason: string };

const ALPHANUMERIC = /^[A-Za-z0-9 .&_-]{1,11}$/;
const SHORT_CODE = /^\d{3,8}$/;

/** Checks the format of an originator: an E.164 number, a short code, or an alphanumeric sender ID. */
export function checkSender(raw: string): SenderCheck {
  if (raw.startsWith('+')) {
    const parsed = parsePhoneNumberFromString(raw);
    if (!/^\+[1-9]\d{6,14}$/.test(raw) || !parsed?.isPossible()) {
      return {
        ok: false,
        reason: 'must be an E.164 number, a 3-8 digit short code or an alphanumeric sender ID',
      };
    }
    return { ok: true, value: parsed.number, type: 'phone_number' };
  }
  if (SHORT_CODE.test(raw)) return { ok: true, value: raw, type: 'short_code' };
  if (!ALPHANUMERIC.test(raw)) {
    return {
      ok: false,
      reason: 'an alphanumeric sender ID has 1 to 11 characters: letters, digits, space and . & _ -',
    };
  }
  if (!/[A-Za-z]/.test(raw))
    return { ok: false, reason: 'an alphanumeric sender ID needs at least one letter' };
  if (raw.trim() !== raw)
    return { ok: false, reason: 'an alphanumeric sender ID cannot start or end with a space' };
  return { ok: true, value: raw, type: 'alphanumeric' };
}
