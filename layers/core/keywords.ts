/** What a recipient's reply asks for. */
export type KeywordAction = 'opt_out' | 'opt_in' | 'help' | 'who' | 'block_all';

/** A tenant's keywords in other languages, added to the built-in English ones. */
export interface CustomKeywords {
  optOut: string[];
  optIn: string[];
  help: string[];
}

export const NO_CUSTOM_KEYWORDS: CustomKeywords = { optOut: [], optIn: [], help: [] };

/**
 * The keywords carriers and regulators expect (CTIA, UK PECR practice, and the revocation words
 * of the FCC's 2024 TCPA order: stop, quit, end, revoke, opt out, cancel, unsubscribe), plus WHO
 * and BLOCK. "OPT OUT" also reads "opt-out" and "Opt out please"; "STOP" also "stop all".
 */
export const BUILT_IN_KEYWORDS: Record<KeywordAction, readonly string[]> = {
  opt_out: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'OPT OUT'],
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

const BUILT_IN_TABLES = Object.entries(BUILT_IN_KEYWORDS) as [KeywordAction, readonly string[]][];

/** A text's words, folded as keywords are: "Opt-out." and "OPT OUT" both become "OPT OUT". */
function foldedWords(text: string): string {
  return foldKeyword(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .join(' ');
}

function match(
  opening: string,
  tables: readonly [KeywordAction, readonly string[]][],
): { action: KeywordAction; keyword: string } | undefined {
  for (const [action, keywords] of tables) {
    for (const raw of keywords) {
      const keyword = foldedWords(raw);
      if (keyword === '') continue;
      if (opening === keyword || opening.startsWith(`${keyword} `)) return { action, keyword };
    }
  }
  return undefined;
}

/**
 * The built-in keyword a word or phrase would be read as, if any ("ＳＴＯＰ" and " stop all "
 * are STOP): a tenant's keyword that reads as a built-in one with another action is refused.
 */
export function builtInReading(text: string): { action: KeywordAction; keyword: string } | undefined {
  const opening = foldedWords(text);
  return opening === '' ? undefined : match(opening, BUILT_IN_TABLES);
}

/**
 * The action a reply asks for, read from its first word: "Stop.", "stop please", "STOP ALL"
 * and " *STOP* " all opt out; "Stopping by later" does not. Keywords that are phrases (a
 * tenant may add "NE PLUS RECEVOIR") match the reply's opening words. The built-in keywords
 * are checked first, so no tenant setting can change what STOP or BLOCK mean.
 */
export function parseKeyword(
  text: string,
  custom: CustomKeywords = NO_CUSTOM_KEYWORDS,
): { action: KeywordAction; keyword: string } | undefined {
  const opening = foldedWords(text);
  if (opening === '') return undefined;
  return (
    match(opening, BUILT_IN_TABLES) ??
    match(opening, [
      ['opt_out', custom.optOut],
      ['opt_in', custom.optIn],
      ['help', custom.help],
    ])
  );
}
