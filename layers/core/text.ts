/** A UTF-16 surrogate without its other half: no character, stored and sent as U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether a string is well-formed Unicode (`String.prototype.isWellFormed` is ES2024, Node 20+). */
export const isWellFormed = (text: string) => !LONE_SURROGATE.test(text);

export const LONE_SURROGATE_REASON =
  'contains a lone UTF-16 surrogate (half of a character such as an emoji): send well-formed Unicode';
