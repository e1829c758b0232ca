/** What a recipient's reply asks for. */
export type KeywordAction = 'opt_out' | 'opt_in' | 'help' | 'who' | 'block_all';

/** A tenant's keywords in other languages, added to the built-in English ones. */
export interface CustomKeywords {
  optOut: string[];
  optIn: string[];
  help: string[];
}

export const NO_CUSTOM_KEYWORDS: CustomKeywords = { optOut: [], optIn: [], help: [] };

/** The keywords carriers and regulators expect (CTIA, UK PECR practice), plus WHO and BLOCK. */
export const BUILT_IN_KEYWORDS: Record<KeywordAction, readonly string[]> = {
  opt_out: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'],
  opt_in: ['START', 'UNSTOP', 'YES'],
  help: ['HELP', 'INFO'],
  who: ['WHO'],
  // Every message from the gateway, whatever the tenant: BLOCK, BLOCKALL, "block all".
  block_all: ['BLOCK', 'BLOCKALL'],
};

/**
 * Upper case, accents and compatibility forms folded ("Arrêt" and "ARRET" match, a full-width
 * "ＳＴＯＰ" matches STOP), so a keyword in another language works however it is typed.
 */
export function foldKeyword(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toUpperCase();
}

/**
 * The action a reply asks for, read from its first word: "Stop.", "stop please", "STOP ALL"
 * and " *STOP* " all opt out; "Stopping by later" does not. Keywords that are phrases (a
 * tenant may add "NE PLUS RECEVOIR") match the reply's opening words. Custom keywords are
 * checked first, so a tenant's language can reuse a built-in word only for the same action.
 */
export function parseKeyword(
  text: string,
  custom: CustomKeywords = NO_CUSTOM_KEYWORDS,
): { action: KeywordAction; keyword: string } | undefined {
  const words = foldKeyword(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
  if (words.length === 0) return undefined;
  const opening = words.join(' ');
  const tables: [KeywordAction, readonly string[]][] = [
    ['opt_out', custom.optOut],
    ['opt_in', custom.optIn],
    ['help', custom.help],
    ...(Object.entries(BUILT_IN_KEYWORDS) as [KeywordAction, readonly string[]][]),
  ];
  for (const [action, keywords] of tables) {
    for (const raw of keywords) {
      const keyword = foldKeyword(raw)
        .split(/[^\p{L}\p{N}]+/u)
        .filter((w) => w.length > 0)
        .join(' ');
      if (keyword === '') continue;
      if (opening === keyword || opening.startsWith(`${keyword} `)) {
        return { action, keyword };
      }
    }
  }
  return undefined;
}
