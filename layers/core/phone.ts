import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type PhoneCheck =
  | { ok: true; e164: string; country: string | undefined }
  | { ok: false; reason: string };

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Checks that a recipient is a valid, dialable number in E.164 form. The `max` metadata
 * validates number ranges per region, so a well-formed but unassigned number is refused
 * here rather than by the carrier, after it has cost a send.
 */
export function checkRecipient(raw: string): PhoneCheck {
  if (!E164.test(raw)) {
    return { ok: false, reason: 'must be an E.164 number: + then 7 to 15 digits, e.g. +12025550100' };
  }
  const parsed = parsePhoneNumberFromString(raw);
  if (!parsed?.isValid()) {
    return { ok: false, reason: 'is not a valid phone number in any numbering plan' };
  }
  return { ok: true, e164: parsed.number, country: parsed.country };
}
