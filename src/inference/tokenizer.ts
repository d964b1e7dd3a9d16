/**
 * The serving tokenizer: a Hugging Face tokenizer.json (BERT WordPiece) run by the native
 * `tokenizers` binding, off the event loop and batched.
 *
 * We encode segments (a text, a pair, a question, a context) WITHOUT special tokens and assemble
 * `[CLS] a [SEP] b [SEP]` ourselves: the binding's encodeBatch takes no pairs, and QA windows over
 * a long context must be cut by us anyway. At load we check that our assembly equals the
 * tokenizer's own post-processor, so a non-BERT template is refused rather than served wrong.
 */
import tokenizers from 'tokenizers';
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
  ) {}

  static async load(file: string): Promise<TextTokenizer> {
    const tok = tokenizers.Tokenizer.fromFile(file);
    // Truncation or padding baked into tokenizer.json would silently change our rows.
    tok.disableTruncation();
    tok.disablePadding();
    const id = (t: string): number => {
      const v = tok.tokenToId(t);
      if (v === null || v === undefined) throw new Error(`tokenizer has no ${t} token`);
      return v;
    };
    const t = new TextTokenizer(tok, id('[CLS]'), id('[SEP]'), id('[PAD]'));
    await t.checkTemplate();
    return t;
  }

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

  /** Token ids only (classification needs no offsets: skips mapping them to UTF-16). */
  async encodeIds(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const encodings = await this.tok.encodeBatch([...texts], { addSpecialTokens: false });
    return encodings.map((enc) => enc.getIds());
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
