/** GSM 03.38 default alphabet (one septet each), without the escape character. */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** GSM 03.38 extension table: escape plus one septet, so two septets each. */
const GSM_EXTENDED = new Set('^{}\\[~]|€\f');

export type Encoding = 'GSM-7' | 'UCS-2';

export interface BodyAnalysis {
  encoding: Encoding;
  /** Characters as a person counts them (code points). */
  characters: number;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
}

/** The most segments one message may take; longer bodies are refused (10 GSM-7 segments are 1,530 characters). */
export const MAX_SEGMENTS = 10;

const LIMITS = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
} as const;

/**
 * Detects the cheapest encoding that can carry the body and counts the segments a carrier
 * bills. In concatenated messages a GSM-7 escape pair and a UTF-16 surrogate pair are never
 * split across segments, which is why this walks the characters instead of dividing.
 */
export function analyseBody(body: string): BodyAnalysis {
  const chars = Array.from(body);
  const gsm = chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENDED.has(c));
  const encoding: Encoding = gsm ? 'GSM-7' : 'UCS-2';
  const widths = chars.map((c) => (gsm ? (GSM_EXTENDED.has(c) ? 2 : 1) : c.length));
  const units = widths.reduce((a, b) => a + b, 0);
  const limit = LIMITS[encoding];
  if (units <= limit.single)
    return { encoding, characters: chars.length, units, segments: units === 0 ? 0 : 1 };
  let segments = 1;
  let used = 0;
  for (const w of widths) {
    if (used + w > limit.multi) {
      segments += 1;
      used = 0;
    }
    used += w;
  }
  return { encoding, characters: chars.length, units, segments };
}
