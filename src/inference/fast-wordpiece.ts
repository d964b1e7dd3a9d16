/**
 * BERT WordPiece for ASCII and Latin-script text, on the event loop, without the native binding.
 *
 * Why: a chatbot's messages are short, and for them the native `tokenizers` binding costs far more
 * per call (creating its encoding objects, the round trip to its thread pool) than the tokenizing
 * itself: 150-240 µs of process CPU per message one call at a time, 57-73 with 64 calls in flight,
 * against about 5 µs here (`npm run bench:tokenizer`). Hugging Face's pure-JavaScript tokenizers
 * (@huggingface/tokenizers 0.2.0) cost 34-39 µs and give other ids than the Rust tokenizer the
 * models were trained with for words holding a character outside the vocabulary (it splits them
 * where Rust makes the word one [UNK]), so they cannot stand in for it.
 *
 * The fast path takes a text only where its result is the native tokenizer's, and hands every
 * other text back (`encode` returns undefined): text holding a character outside the ranges below
 * (CJK, Greek, Cyrillic, emoji, ...), text holding the first character of an added token such as
 * `[MASK]` (matched in the raw text), and long text (kept off the event loop). It is built only
 * from a tokenizer.json of exactly the BERT pipeline (BertNormalizer with clean_text,
 * BertPreTokenizer, WordPiece) whose added tokens are all normalized: false; TextTokenizer checks
 * it against the binding at load, every ASCII character and every character of the ranges below
 * (`probeTexts`), and takes out of the ranges each character on which the two differ.
 *
 * The steps as Hugging Face tokenizers define them (normalizers/bert.rs, pre_tokenizers/bert.rs,
 * models/wordpiece): clean_text deletes NUL, U+FFFD and the "other" characters (Unicode categories
 * Cc, Cf, Cn, Co) except tab, newline and carriage return, so they join their neighbours, and maps
 * every White_Space character to a space; Chinese characters are outside the ranges, so
 * handle_chinese_chars changes nothing here; strip_accents (null: as lowercase) is NFD, then
 * removing nonspacing marks (Mn); lowercase; split on whitespace and around each punctuation
 * character (ASCII punctuation, i.e. every printable non-alphanumeric ASCII character, or Unicode
 * category P); WordPiece greedy longest match, `##` before a piece that continues a word, the
 * whole word one [UNK] if any position matches nothing or the word is longer than
 * max_input_chars_per_word characters. Plain ASCII text takes a shorter loop: none of the
 * Unicode steps changes an ASCII character other than by lowercasing.
 */

/**
 * Longest text (UTF-16 units) tokenized on the event loop: about 0.26 ms for 2000 characters of
 * help-center prose (750 tokens) on the AVX2 EPYC. Longer texts go to the binding's threads.
 */
export const MAX_FAST_CHARS = 2000;

/**
 * Code points besides ASCII the fast path takes (inclusive ranges, all in the BMP, so UTF-16
 * units are characters): Latin-1 Supplement, Latin Extended-A and -B, IPA Extensions and Spacing
 * Modifier Letters (where some Latin capitals lowercase to), combining diacritical marks, Latin
 * Extended Additional, General Punctuation, Currency Symbols and Latin Extended-C. That is the
 * accents, quotes, dashes, currency signs and spaces of text in Latin-script languages. Their Unicode
 * categories are decades old, so JavaScript's tables and the Rust crates' agree on them; the
 * load-time check confirms it per character.
 */
export const FAST_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x0080, 0x036f],
  [0x1e00, 0x1eff],
  [0x2000, 0x206f],
  [0x20a0, 0x20c0],
  [0x2c60, 0x2c7f],
];

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const DEL = 127;

/** What BERT's normaliser and pre-tokenizer do with a character; OUTSIDE: not this path's. */
const OUTSIDE = 0;
const WORD = 1;
const WHITESPACE = 2;
const PUNCTUATION = 3;
const DELETED = 4;

const OTHER_CATEGORY = /[\p{Cc}\p{Cf}\p{Cn}\p{Co}]/u;
const WHITE_SPACE = /\p{White_Space}/u;
const PUNCTUATION_CATEGORY = /\p{P}/u;
const NONSPACING_MARKS = /\p{Mn}/gu;

function isAsciiPunctuation(c: number): boolean {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/** The class of one BMP code point, as normalizers/bert.rs and pre_tokenizers/bert.rs treat it. */
function classify(c: number): number {
  if (c === TAB || c === LF || c === CR) return WHITESPACE;
  const ch = String.fromCharCode(c);
  // clean_text filters before it maps whitespace: U+0085 is both Cc and White_Space, and deleted.
  if (c === 0 || c === 0xfffd || OTHER_CATEGORY.test(ch)) return DELETED;
  if (WHITE_SPACE.test(ch)) return WHITESPACE;
  if (isAsciiPunctuation(c) || PUNCTUATION_CATEGORY.test(ch)) return PUNCTUATION;
  return WORD;
}

/** Classes of ASCII and FAST_RANGES, indexed by UTF-16 unit (about 1,300 characters to classify). */
function charClasses(): Uint8Array {
  const classes = new Uint8Array(0x10000);
  for (let c = 0; c < 128; c++) classes[c] = classify(c);
  for (const [from, to] of FAST_RANGES) for (let c = from; c <= to; c++) classes[c] = classify(c);
  return classes;
}

/** `word` without the ASCII control characters clean_text deletes (tab, LF and CR end words before). */
function withoutControls(word: string): string {
  let kept = '';
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c > SPACE && c !== DEL) kept += word[i];
  }
  return kept;
}

/** The parts of a Hugging Face tokenizer.json the fast path reads. */
interface TokenizerJson {
  normalizer?: { type?: unknown; clean_text?: unknown; lowercase?: unknown; strip_accents?: unknown } | null;
  pre_tokenizer?: { type?: unknown } | null;
  model?: { type?: unknown; vocab?: unknown; unk_token?: unknown; continuing_subword_prefix?: unknown; max_input_chars_per_word?: unknown };
  added_tokens?: Array<{ content?: unknown; normalized?: unknown }>;
}

export class FastWordPiece {
  /** This tokenizer's classes: the load-time check takes characters out of them. */
  private readonly classes = charClasses();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly unkId: number,
    private readonly prefix: string,
    private readonly maxWordChars: number,
    private readonly maxPieceChars: number,
    private readonly lowercase: boolean,
    private readonly stripAccents: boolean,
    /** First characters of the added tokens: a text holding one goes to the binding. */
    private readonly addedStarts: ReadonlySet<number>,
  ) {}

  /**
   * The fast path for a parsed tokenizer.json, or undefined where its pipeline is not exactly
   * BERT's (another normalizer, pre-tokenizer or model, or settings this path does not follow).
   */
  static fromTokenizerJson(json: unknown): FastWordPiece | undefined {
    const t = json as TokenizerJson;
    const n = t?.normalizer;
    const m = t?.model;
    if (n?.type !== 'BertNormalizer' || n.clean_text !== true || typeof n.lowercase !== 'boolean') return undefined;
    // strip_accents: null (or absent) follows lowercase, as the binding reads it.
    if (n.strip_accents !== undefined && n.strip_accents !== null && typeof n.strip_accents !== 'boolean') return undefined;
    if (t.pre_tokenizer?.type !== 'BertPreTokenizer') return undefined;
    if (m?.type !== 'WordPiece' || typeof m.unk_token !== 'string' || typeof m.continuing_subword_prefix !== 'string') return undefined;
    if (typeof m.max_input_chars_per_word !== 'number' || typeof m.vocab !== 'object' || m.vocab === null) return undefined;
    const vocab = new Map<string, number>();
    let maxPieceChars = 0;
    for (const [piece, id] of Object.entries(m.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number') return undefined;
      vocab.set(piece, id);
      maxPieceChars = Math.max(maxPieceChars, piece.length);
    }
    const unkId = vocab.get(m.unk_token);
    if (unkId === undefined) return undefined;
    const addedStarts = new Set<number>();
    for (const added of t.added_tokens ?? []) {
      // A normalized added token (tokenizers' addTokens writes normalized: true) is matched in the
      // normalised text: "PayPal" matches "paypal", "pay\u0001pal", inside "xpaypalx". Telling
      // which texts could hold one would mean copying the normaliser, so such a file gets no fast
      // path. BERT's special tokens are normalized: false, matched in the raw text.
      if (typeof added.content !== 'string' || added.content.length === 0 || added.normalized !== false) return undefined;
      addedStarts.add(added.content.charCodeAt(0));
    }
    const stripAccents = typeof n.strip_accents === 'boolean' ? n.strip_accents : n.lowercase;
    return new FastWordPiece(vocab, unkId, m.continuing_subword_prefix, m.max_input_chars_per_word, maxPieceChars, n.lowercase, stripAccents, addedStarts);
  }

  /**
   * Texts on which the load-time check compares this path with the binding: for each character
   * it takes, the character alone, inside a word, doubled and around punctuation. ASCII probes
   * come first; a difference there turns the path off, one on another character takes only that
   * character out (`exclude`), and so does a character probe this path declines (checkFastPath),
   * so that nothing goes unchecked. The texts around each character leave out the first
   * characters of added tokens, which would make this path decline the probe whatever it holds.
   */
  probeTexts(): Array<{ text: string; char?: number }> {
    const free = (text: string): string => [...text].filter((ch) => !this.addedStarts.has(ch.charCodeAt(0))).join('');
    const probes: Array<{ text: string; char?: number }> = [
      'hello world',
      'Where is my ORDER #123?',
      "don't-stop",
      'a\tb\nc\r\nd',
      'x\u0001y \u007fz\u000bw\u000c',
      '   ',
      '',
    ].map((text) => ({ text: free(text) }));
    for (let c = 33; c < 127; c++) {
      const ch = String.fromCharCode(c);
      probes.push({ text: ch }, { text: `${free('ab')}${ch}${free('cd refund')}${ch}${ch}${free('s ')}${ch}${free('tokenization')}` });
    }
    for (const n of [99, 100, 101]) probes.push({ text: free('ab'.repeat(n)).slice(0, n) }, { text: `${free('go ')}${free('z').repeat(n)}${free('!')}` });
    for (const [from, to] of FAST_RANGES) {
      for (let c = from; c <= to; c++) {
        const ch = String.fromCharCode(c);
        probes.push({ text: `${ch}${free(' Ab')}${ch}${free('cd ')}${ch}${ch}${free('s, ')}${ch}${free('Strasse. x')}${ch}${free('!')}`, char: c });
      }
    }
    return probes;
  }

  /**
   * Take a character beyond ASCII out of the fast path: texts holding it go to the binding. ASCII
   * characters cannot be taken out one by one (the ASCII loop does not read the classes): a
   * difference on one turns the whole path off instead (checkFastPath).
   */
  exclude(char: number): void {
    if (char >= 128) this.classes[char] = OUTSIDE;
  }

  /**
   * Token ids of `text` without special tokens, the native tokenizer's exactly; undefined where
   * the text is not this path's to take (a character outside its ranges, a possible added token,
   * over MAX_FAST_CHARS).
   */
  encode(text: string): number[] | undefined {
    if (text.length > MAX_FAST_CHARS) return undefined;
    // Lower-cased once; indexes stay those of `text` up to its first non-ASCII character, where
    // the loop hands over to encodeUnicode.
    const lowered = this.lowercase ? text.toLowerCase() : text;
    const ids: number[] = [];
    let wordStart = -1;
    let deleted = false;
    const endWord = (end: number): void => {
      if (wordStart < 0) return;
      const word = lowered.slice(wordStart, end);
      this.wordPiece(deleted ? withoutControls(word) : word, ids);
      wordStart = -1;
      deleted = false;
    };
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > DEL) return this.encodeUnicode(text);
      if (this.addedStarts.has(c)) return undefined;
      if (c === SPACE || c === TAB || c === LF || c === CR) {
        endWord(i);
      } else if (c < SPACE || c === DEL) {
        // clean_text deletes it: the characters either side stay one word.
        if (wordStart >= 0) deleted = true;
      } else if (isAsciiPunctuation(c)) {
        endWord(i);
        this.wordPiece(lowered[i]!, ids);
      } else if (wordStart < 0) {
        wordStart = i;
      }
    }
    endWord(text.length);
    return ids;
  }

  /** The whole pipeline for a text with a character beyond ASCII (see the module's comment). */
  private encodeUnicode(text: string): number[] | undefined {
    const classes = this.classes;
    let cleaned = '';
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const cls = classes[c]!;
      if (cls === OUTSIDE || this.addedStarts.has(c)) return undefined;
      if (cls === DELETED) continue;
      cleaned += cls === WHITESPACE ? ' ' : text[i];
    }
    let normalized = this.stripAccents ? cleaned.normalize('NFD').replace(NONSPACING_MARKS, '') : cleaned;
    if (this.lowercase) normalized = normalized.toLowerCase();
    const ids: number[] = [];
    let wordStart = -1;
    for (let i = 0; i <= normalized.length; i++) {
      // A character normalisation produced that the ranges lack (U+2C63 lowercases to U+1D7D) goes to the binding.
      const cls = i === normalized.length ? WHITESPACE : classes[normalized.charCodeAt(i)]!;
      if (cls === OUTSIDE || cls === DELETED) return undefined;
      if (cls === WORD) {
        if (wordStart < 0) wordStart = i;
        continue;
      }
      if (wordStart >= 0) this.wordPiece(normalized.slice(wordStart, i), ids);
      wordStart = -1;
      if (cls === PUNCTUATION) this.wordPiece(normalized[i]!, ids);
    }
    return ids;
  }

  private wordPiece(word: string, ids: number[]): void {
    if (word.length > this.maxWordChars) {
      ids.push(this.unkId);
      return;
    }
    const first = ids.length;
    let start = 0;
    while (start < word.length) {
      let id: number | undefined;
      let end = Math.min(word.length, start + this.maxPieceChars);
      for (; end > start; end--) {
        const piece = start === 0 ? word.slice(0, end) : this.prefix + word.slice(start, end);
        id = this.vocab.get(piece);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        ids.length = first;
        ids.push(this.unkId);
        return;
      }
      ids.push(id);
      start = end;
    }
  }
}
