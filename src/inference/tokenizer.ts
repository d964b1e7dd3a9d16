/**
 * The serving tokenizer: a Hugging Face tokenizer.json (BERT WordPiece) run by the native
 * `tokenizers` binding, off the event loop and batched.
 *
 * We encode segments (a text, a pair, a question, a context) WITHOUT special tokens and assemble
 * `[CLS] a [SEP] b [SEP]` ourselves: the binding's encodeBatch takes no pairs, and QA windows over
 * a long context must be cut by us anyway. At load we check that our assembly equals the
 * tokenizer's own post-processor, so a non-BERT template is refused rather than served wrong.
 */
import { readFile } from 'node:fs/promises';
import tokenizers from 'tokenizers';
import { AsciiWordPiece } from './ascii-wordpiece.js';
import { codePointToUtf16Map, toUtf16Offsets } from './unicode.js';

/** One encoded segment: token ids and [start, end) offsets into the original text, in UTF-16. */
export interface Segment {
  ids: number[];
  offsets: Array<[number, number]>;
}

/** Model input for one row: ids and token type ids, special tokens included (mask is implied). */
export interface RowInput {
  inputIds: number[];
  typeIds: number[];
}

export class TextTokenizer {
  private constructor(
    private readonly tok: tokenizers.Tokenizer,
    readonly clsId: number,
    readonly sepId: number,
    readonly padId: number,
    private fast: AsciiWordPiece | undefined,
  ) {}

  static async load(file: string): Promise<TextTokenizer> {
    // Read once: the binding and the fast path both build from the same text.
    const json = await readFile(file, 'utf8');
    const tok = tokenizers.Tokenizer.fromString(json);
    // Truncation or padding baked into tokenizer.json would silently change our rows.
    tok.disableTruncation();
    tok.disablePadding();
    const id = (t: string): number => {
      const v = tok.tokenToId(t);
      if (v === null || v === undefined) throw new Error(`tokenizer has no ${t} token`);
      return v;
    };
    const fast = AsciiWordPiece.fromTokenizerJson(JSON.parse(json));
    const t = new TextTokenizer(tok, id('[CLS]'), id('[SEP]'), id('[PAD]'), fast);
    await t.checkTemplate();
    await t.checkFastPath();
    return t;
  }

  /** Whether plain ASCII texts are tokenized on the event loop (AsciiWordPiece) rather than by the binding. */
  get fastPath(): boolean {
    return this.fast !== undefined;
  }

  /** The probe text on which the fast path disagreed with the binding at load (it is then off). */
  get fastPathMismatch(): string | undefined {
    return this.mismatch;
  }

  private mismatch: string | undefined;

  get vocabSize(): number {
    return this.tok.getVocabSize(true);
  }

  /** Encode many texts at once (one native call, run on the binding's thread pool). */
  async encodeSegments(texts: readonly string[]): Promise<Segment[]> {
    if (texts.length === 0) return [];
    const encodings = await this.tok.encodeBatch([...texts], { addSpecialTokens: false });
    return encodings.map((enc, i) => ({
      ids: enc.getIds(),
      offsets: toUtf16Offsets(enc.getOffsets(), codePointToUtf16Map(texts[i]!)),
    }));
  }

  /**
   * Token ids only (classification needs no offsets). Plain ASCII texts take the fast path on the
   * event loop; the rest go to the binding in one call. Ids are the binding's either way.
   */
  async encodeIds(texts: readonly string[]): Promise<number[][]> {
    const ids: number[][] = new Array(texts.length);
    const rest: number[] = [];
    texts.forEach((text, i) => {
      const fast = this.fast?.encode(text);
      if (fast) ids[i] = fast;
      else rest.push(i);
    });
    if (rest.length > 0) {
      const encodings = await this.tok.encodeBatch(
        rest.map((i) => texts[i]!),
        { addSpecialTokens: false },
      );
      rest.forEach((i, k) => {
        ids[i] = encodings[k]!.getIds();
      });
    }
    return ids;
  }

  /** `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` with BERT token type ids. */
  assemble(a: readonly number[], b?: readonly number[]): RowInput {
    const inputIds = [this.clsId, ...a, this.sepId];
    const typeIds = new Array<number>(inputIds.length).fill(0);
    if (b) {
      inputIds.push(...b, this.sepId);
      for (let i = 0; i <= b.length; i++) typeIds.push(1);
    }
    return { inputIds, typeIds };
  }

  private async checkFastPath(): Promise<void> {
    if (!this.fast) return;
    this.mismatch = await fastPathMismatch(this.fast, this.tok);
    if (this.mismatch !== undefined) this.fast = undefined;
  }

  private async checkTemplate(): Promise<void> {
    const [a, b] = await this.encodeSegments(['hello world', 'again']);
    const mine = this.assemble(a!.ids, b!.ids);
    const theirs = await this.tok.encode('hello world', 'again');
    const same = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
    if (!same(mine.inputIds, theirs.getIds()) || !same(mine.typeIds, theirs.getTypeIds())) {
      throw new Error('tokenizer post-processor is not the BERT template [CLS] A [SEP] B [SEP]');
    }
  }
}

/**
 * The first probe text on which the fast path's ids differ from the binding's, or undefined where
 * they agree on all: every printable ASCII character alone and inside words, control characters,
 * case, and words around max_input_chars_per_word. TextTokenizer runs it at load and switches the
 * fast path off on a difference, so a tokenizer.json it reads otherwise than the binding is served
 * slower, never wrong.
 */
export async function fastPathMismatch(fast: AsciiWordPiece, binding: tokenizers.Tokenizer): Promise<string | undefined> {
  const probes = ['hello world', 'Where is my ORDER #123?', "don't-stop", 'a\tb\nc\r\nd', 'x\u0001y \u007fz\u000bw\u000c', '   ', ''];
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    probes.push(ch, `ab${ch}cd refund${ch}${ch}s ${ch}tokenization`);
  }
  for (const n of [99, 100, 101]) probes.push('ab'.repeat(n).slice(0, n), `go ${'z'.repeat(n)}!`);
  const natives = await binding.encodeBatch(probes, { addSpecialTokens: false });
  return probes.find((text, i) => {
    const mine = fast.encode(text);
    const theirs = natives[i]!.getIds();
    return mine !== undefined && (mine.length !== theirs.length || mine.some((v, k) => v !== theirs[k]));
  });
}
