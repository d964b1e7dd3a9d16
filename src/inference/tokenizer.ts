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
import { FastWordPiece } from './fast-wordpiece.js';
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
    private fast: FastWordPiece | undefined,
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
    const fast = FastWordPiece.fromTokenizerJson(JSON.parse(json));
    const t = new TextTokenizer(tok, id('[CLS]'), id('[SEP]'), id('[PAD]'), fast);
    await t.checkTemplate();
    await t.checkFastPath();
    return t;
  }

  /** Whether ASCII and Latin-script texts are tokenized on the event loop (FastWordPiece) rather than by the binding. */
  get fastPath(): boolean {
    return this.fast !== undefined;
  }

  /** What the load-time check against the binding found (checkFastPath); undefined without a fast path. */
  get fastPathCheck(): FastPathCheck | undefined {
    return this.check;
  }

  private check: FastPathCheck | undefined;

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
   * Token ids only (classification needs no offsets). ASCII and Latin-script texts take the fast path on the
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
    this.check = await checkFastPath(this.fast, this.tok);
    if (this.check.mismatch !== undefined) this.fast = undefined;
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

/** What the load-time check found: the fast path is off on `mismatch`, `excluded` characters go to the binding. */
export interface FastPathCheck {
  /** The first ASCII probe on which the ids differed; the fast path is then off. */
  mismatch?: string;
  /** Characters beyond ASCII whose probe differed or that the path declined; texts holding one go to the binding. */
  excluded: number[];
}

/**
 * Compares the fast path with the binding on FastWordPiece's probeTexts (every printable ASCII
 * character alone and inside words, control characters, case, words around
 * max_input_chars_per_word, and every character of its Unicode ranges in context) and takes out
 * of it what differs. TextTokenizer runs it at load, so a tokenizer.json, or a binding version,
 * that reads some text otherwise is served slower for that text, never wrong.
 */
export async function checkFastPath(fast: FastWordPiece, binding: tokenizers.Tokenizer): Promise<FastPathCheck> {
  const probes = fast.probeTexts();
  const natives = await binding.encodeBatch(
    probes.map((p) => p.text),
    { addSpecialTokens: false },
  );
  const excluded: number[] = [];
  for (const [i, probe] of probes.entries()) {
    const mine = fast.encode(probe.text);
    const theirs = natives[i]!.getIds();
    const differs = mine !== undefined && (mine.length !== theirs.length || mine.some((v, k) => v !== theirs[k]));
    if (probe.char === undefined) {
      if (differs) return { mismatch: probe.text, excluded };
    } else if (differs || mine === undefined) {
      // A probe the path declines checked nothing: its character is taken out as well, so an
      // added token or a lowercase outside the ranges cannot hide a difference.
      fast.exclude(probe.char);
      excluded.push(probe.char);
    }
  }
  return { excluded };
}
