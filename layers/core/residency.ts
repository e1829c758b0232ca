import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { TenantContext } from '#layers/core/model.ts';
import type { Jurisdiction } from './model.ts';
import { checkRecipient } from './phone.ts';

/**
 * Regions (ISO 3166 codes as libphonenumber-js resolves them) whose residents are EU/EEA data
 * subjects: the 27 member states, their outermost regions that have numbering codes of their
 * own (Guadeloupe, Martinique, French Guiana, Reunion, Mayotte, Saint-Martin), Aland, and the
 * EEA states Iceland, Liechtenstein and Norway.
 *
 * Deliberately absent: Svalbard and Jan Mayen (SJ, +47 79: outside the EEA Agreement), the
 * Faroe Islands and Greenland, Saint-Barthelemy (an overseas country since 2012), Saint-Pierre,
 * the Vatican (VA, +39 06 698), Gibraltar, the UK and the Crown Dependencies (+44 Jersey,
 * Guernsey, Isle of Man), and every +1 and +7 region.
 */
export const EU_REGIONS: ReadonlySet<string> = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  'GP',
  'MQ',
  'GF',
  'RE',
  'YT',
  'MF',
  'AX',
  'IS',
  'LI',
  'NO',
]);

export interface Residency {
  jurisdiction: Jurisdiction;
  /** The region the number resolved to, when libphonenumber-js could tell. */
  region: string | undefined;
}

/**
 * Classifies a recipient by the region its number belongs to (libphonenumber-js `max`
 * metadata, which resolves shared calling codes by number range), never by the calling code
 * alone. Where a range is shared between an EU region and a non-EU one, the number is EU:
 * processing a non-EU subject in the EU breaks no rule, the reverse does. The +590 mobile
 * ranges serve Guadeloupe and Saint-Martin (EU) as well as Saint-Barthelemy (not EU), so a
 * +590 mobile number is EU whichever of the three the metadata names.
 */
export function classifyRecipient(e164: string): Residency {
  const parsed = parsePhoneNumberFromString(e164);
  const region = parsed?.country;
  if (parsed && parsed.countryCallingCode === '590' && parsed.getType() !== 'FIXED_LINE') {
    return { jurisdiction: 'eu', region };
  }
  if (region === undefined) {
    // A valid number whose region cannot be resolved: only shared codes get here, and
    // ambiguity resolves to the EU.
    return { jurisdiction: parsed?.isValid() ? 'eu' : 'global', region };
  }
  return { jurisdiction: EU_REGIONS.has(region) ? 'eu' : 'global', region };
}

/**
 * Whether a person who wrote to the gateway (a reply's sender, as the carrier reports it) is an
 * EU/EEA data subject: the global region relays such a reply to the EU region instead of handling it.
 */
export function isEuSubject(from: string): boolean {
  const person = checkRecipient(from);
  return person.ok && classifyRecipient(person.e164).jurisdiction === 'eu';
}

/** Forward residency at the global endpoint: EU data is the EU API's to answer, through the relay. */
export const relaysReadToEu = (ctx: TenantContext, endpoint: Jurisdiction, wanted: Jurisdiction) =>
  ctx.residency === 'forward' && endpoint === 'global' && wanted === 'eu';
