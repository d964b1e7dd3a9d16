/**
 * The tokenizers binding reports offsets in Unicode code points; JavaScript strings index UTF-16
 * code units. Characters outside the BMP (emoji, rare CJK) take two code units, so the two
 * disagree after the first such character. These helpers convert.
 */

/** True when `text` holds a surrogate pair, i.e. code points and UTF-16 indices can differ. */
export function hasSurrogates(text: string): boolean {
  return /[\uD800-\uDBFF]/.test(text);
}

/**
 * Map from code-point index to UTF-16 index for every boundary of `text` (length: code points + 1),
 * or undefined when the two coincide (no surrogates), so the common case costs nothing.
 */
export function codePointToUtf16Map(text: string): Uint32Array | undefined {
  if (!hasSurrogates(text)) return undefined;
  const map: number[] = [];
  let utf16 = 0;
  for (const ch of text) {
    map.push(utf16);
    utf16 += ch.length;
  }
  map.push(utf16);
  return Uint32Array.from(map);
}

/** Convert code-point offsets [start, end) to UTF-16 offsets with a map from codePointToUtf16Map. */
export function toUtf16Offsets(offsets: ReadonlyArray<ReadonlyArray<number>>, map: Uint32Array | undefined): Array<[number, number]> {
  return offsets.map(([s = 0, e = 0]) => (map ? [map[s] ?? map[map.length - 1]!, map[e] ?? map[map.length - 1]!] : [s, e]));
}
