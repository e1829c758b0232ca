import { present } from '../present.ts';
import type { CustomKeywords } from './keywords.ts';

/**
 * The operator's abuse controls for one tenant. API Gateway throttling is best effort, so the
 * limits that protect money and recipients are enforced by the gateway itself.
 */
export interface TenantControls {
  /** ISO 3166 alpha-2 codes the tenant may send to; empty means every country. */
  allowedCountries: string[];
  /** Messages to one recipient per clock hour: identical bodies, and in all. */
  flood: { identicalPerHour: number; perHour: number };
  /** Requests per minute, with bursts up to `burst` requests. */
  rateLimit: { perMinute: number; burst: number };
  /** Segments accepted per calendar month (UTC); 0 means no cap. */
  monthlySegmentCap: number;
  /** Case-insensitive phrases that quarantine a message, besides the known URL shorteners. */
  denyPhrases: string[];
  /** Whether links through public URL shorteners quarantine a message. */
  denyUrlShorteners: boolean;
}

export const DEFAULT_CONTROLS: TenantControls = {
  allowedCountries: [],
  flood: { identicalPerHour: 6, perHour: 20 },
  rateLimit: { perMinute: 6_000, burst: 200 },
  monthlySegmentCap: 0,
  denyPhrases: [],
  denyUrlShorteners: true,
};

/** What a tenant says to the people it texts: answers to HELP, its own keywords, reference codes. */
export interface TenantReplies {
  helpText: string;
  keywords: CustomKeywords;
  /** Append a short reference code to each message, which a recipient can give to "Who sent me this?". */
  referenceCodes: boolean;
}

export const DEFAULT_REPLIES: TenantReplies = {
  helpText: 'Reply STOP to opt out, WHO to learn who is texting you.',
  keywords: { optOut: [], optIn: [], help: [] },
  referenceCodes: false,
};

/** Public link shorteners: a shortened link hides where it leads, the classic phishing carrier. */
export const URL_SHORTENERS = [
  'bit.ly',
  'tinyurl.com',
  't.co',
  'goo.gl',
  'ow.ly',
  'is.gd',
  'buff.ly',
  'cutt.ly',
  'rebrand.ly',
  'shorturl.at',
  'rb.gy',
  't.ly',
  'tiny.cc',
  'bl.ink',
  's.id',
];

const HOSTS = /(?:https?:\/\/)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?=[/\s?#:]|$)/giu;

/**
 * Why a body must be quarantined, or undefined. Phrases are plain text, not regular
 * expressions: an operator's pattern must never be able to hang the ingress.
 */
export function contentVerdict(body: string, controls: TenantControls): string | undefined {
  const folded = body.toLowerCase();
  for (const phrase of controls.denyPhrases) {
    if (phrase.trim() !== '' && folded.includes(phrase.toLowerCase())) {
      return `The body contains the denied phrase '${phrase}'.`;
    }
  }
  if (controls.denyUrlShorteners) {
    for (const match of folded.matchAll(HOSTS)) {
      const host = present(match[1], 'the host in a link');
      if (URL_SHORTENERS.includes(host)) return `The body links through the URL shortener ${host}.`;
    }
  }
  return undefined;
}
