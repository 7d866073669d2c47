/**
 * What the service takes as text, everywhere: any Unicode scalar values except NUL. A NUL cannot be
 * stored in PostgreSQL text or jsonb, and a lone UTF-16 surrogate is not Unicode at all (it has no
 * UTF-8 form), so both are refused with a 400 naming the field rather than silently changed: what a
 * user sent is either kept exactly or not kept at all.
 * Lengths count code points, not UTF-16 units: an emoji is one character, as users count it.
 */

// Any NUL or surrogate at all: almost all text has neither, and this test is much cheaper.
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const SUSPECT = /[\u0000\ud800-\udfff]/;
// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- as above
const NOT_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` is not acceptable text (a phrase such as "contains a NUL character"), or undefined when it is. */
export function textFault(text: string): string | undefined {
  if (!SUSPECT.test(text)) return undefined;
  const found = NOT_TEXT.exec(text);
  if (!found) return undefined;
  return found[0] === '\u0000' ? 'contains a NUL character (U+0000)' : 'contains a lone UTF-16 surrogate (not a Unicode character)';
}

/** The number of code points in `text` (a surrogate pair counts once). */
export function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if (isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1))) {
      count--;
      i++;
    }
  }
  return count;
}

/** The first `max` code points of `text`, never cutting a surrogate pair in two. */
export function firstCodePoints(text: string, max: number): string {
  if (text.length <= max) return text;
  let units = 0;
  for (let points = 0; points < max && units < text.length; points++) {
    units += isHigh(text.charCodeAt(units)) && isLow(text.charCodeAt(units + 1)) ? 2 : 1;
  }
  return text.slice(0, units);
}

const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;
