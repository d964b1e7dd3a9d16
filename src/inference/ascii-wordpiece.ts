/**
 * BERT WordPiece for plain ASCII text, on the event loop, without the native binding.
 *
 * Why: a chatbot's messages are short and nearly all ASCII, and for them the native `tokenizers`
 * binding costs far more per call (creating its encoding objects, the round trip to its thread
 * pool) than the tokenizing itself: about 56 µs of process CPU per short message, against about
 * 5 µs here (`npm run bench:tokenizer`). Hugging Face's pure-JavaScript tokenizers
 * (@huggingface/tokenizers 0.2.0) cost 24-39 µs and give other ids than the Rust tokenizer the models
 * were trained with for words holding a character outside the vocabulary (it splits them where
 * Rust makes the word one [UNK]), so they cannot stand in for it.
 *
 * The fast path takes a text only where its result is the native tokenizer's by construction, and
 * hands every other text back (`encode` returns undefined): non-ASCII text (Unicode normalisation,
 * accents, CJK, Unicode whitespace and punctuation are the binding's), text holding the first
 * character of an added token such as `[MASK]` (matched in the raw text), and long text (kept off
 * the event loop). It is built only from a tokenizer.json of exactly the BERT pipeline
 * (BertNormalizer with clean_text, BertPreTokenizer, WordPiece) whose added tokens are all
 * normalized: false; TextTokenizer also checks it against the binding at load.
 *
 * The steps, restricted to ASCII, as Hugging Face tokenizers define them (normalizers/bert.rs,
 * pre_tokenizers/bert.rs, models/wordpiece): clean_text deletes control characters other than
 * tab, newline and carriage return (so they join their neighbours) and maps those three to a
 * space; lowercase where the normaliser does (strip_accents and handle_chinese_chars change no
 * ASCII character, so they are not read); split on whitespace and around each ASCII punctuation character (every
 * printable non-alphanumeric one); WordPiece greedy longest match, `##` before a piece that
 * continues a word, the whole word one [UNK] if any position matches nothing or the word is longer
 * than max_input_chars_per_word.
 */

/**
 * Longest text (UTF-16 units; all ASCII, so also characters) tokenized on the event loop: about
 * 0.26 ms for 2000 characters of help-center prose (750 tokens) on the AVX2 EPYC. Longer texts go
 * to the binding's threads.
 */
export const MAX_FAST_CHARS = 2000;

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const DEL = 127;

/** `word` without the ASCII control characters clean_text deletes (tab, LF and CR end words before). */
function withoutControls(word: string): string {
  let kept = '';
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c > SPACE && c !== DEL) kept += word[i];
  }
  return kept;
}

function isAsciiPunctuation(c: number): boolean {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/** The parts of a Hugging Face tokenizer.json the fast path reads. */
interface TokenizerJson {
  normalizer?: { type?: unknown; clean_text?: unknown; lowercase?: unknown } | null;
  pre_tokenizer?: { type?: unknown } | null;
  model?: { type?: unknown; vocab?: unknown; unk_token?: unknown; continuing_subword_prefix?: unknown; max_input_chars_per_word?: unknown };
  added_tokens?: Array<{ content?: unknown; normalized?: unknown }>;
}

export class AsciiWordPiece {
  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly unkId: number,
    private readonly prefix: string,
    private readonly maxWordChars: number,
    private readonly maxPieceChars: number,
    private readonly lowercase: boolean,
    /** First characters of the added tokens: a text holding one goes to the binding. */
    private readonly addedStarts: ReadonlySet<number>,
  ) {}

  /**
   * The fast path for a parsed tokenizer.json, or undefined where its pipeline is not exactly
   * BERT's (another normalizer, pre-tokenizer or model, or settings this path does not follow).
   */
  static fromTokenizerJson(json: unknown): AsciiWordPiece | undefined {
    const t = json as TokenizerJson;
    const n = t?.normalizer;
    const m = t?.model;
    if (n?.type !== 'BertNormalizer' || n.clean_text !== true || typeof n.lowercase !== 'boolean') return undefined;
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
    return new AsciiWordPiece(vocab, unkId, m.continuing_subword_prefix, m.max_input_chars_per_word, maxPieceChars, n.lowercase, addedStarts);
  }

  /**
   * Token ids of `text` without special tokens, the native tokenizer's exactly; undefined where
   * the text is not this path's to take (non-ASCII, a possible added token, over MAX_FAST_CHARS).
   */
  encode(text: string): number[] | undefined {
    if (text.length > MAX_FAST_CHARS) return undefined;
    // Lower-cased once; indexes stay those of `text` up to its first non-ASCII character, where
    // the scan below gives up anyway.
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
      if (c > DEL || this.addedStarts.has(c)) return undefined;
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
