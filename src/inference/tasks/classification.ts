/**
 * Text classification: `[CLS] text [SEP]` or `[CLS] text [SEP] pair [SEP]`, truncated to the
 * model's max_length the way Hugging Face's longest_first does (drop the last token of the longer
 * segment, the pair on ties), then softmax over the logits and the top-k labels by score.
 */
import { unreadableTextError } from '../errors.js';
import type { RowInput, TextTokenizer } from '../tokenizer.js';

export type ClassifyInput = string | { text: string; text_pair?: string };

export interface LabelScore {
  label: string;
  score: number;
}

/** Segment lengths after longest-first truncation to `budget` tokens in total. */
export function longestFirst(a: number, b: number, budget: number): [number, number] {
  let x = a;
  let y = b;
  while (x + y > budget && x + y > 0) {
    if (x > y) x--;
    else y--;
  }
  return [x, y];
}

/**
 * Rows for classification inputs, truncated longest-first to `maxLength` tokens with specials.
 * An input (or text_pair) the tokenizer keeps nothing of is refused (InvalidInputError) unless
 * `allowEmptyText`, when it runs as [CLS] [SEP].
 */
export async function buildClassificationRows(
  tok: TextTokenizer,
  inputs: readonly ClassifyInput[],
  opts: { maxLength: number; allowEmptyText?: boolean },
): Promise<RowInput[]> {
  const { maxLength } = opts;
  const texts: string[] = [];
  const pairAt: Array<number | undefined> = [];
  for (const input of inputs) {
    const { text, text_pair } = typeof input === 'string' ? { text: input, text_pair: undefined } : input;
    texts.push(text);
    if (text_pair !== undefined) {
      pairAt.push(texts.length);
      texts.push(text_pair);
    } else {
      pairAt.push(undefined);
    }
  }
  const ids = await tok.encodeIds(texts);
  let cursor = 0;
  return pairAt.map((pi, i) => {
    const a = ids[cursor++]!;
    const b = pi === undefined ? undefined : ids[cursor++]!;
    if (!opts.allowEmptyText && a.length === 0) throw unreadableTextError(`input ${i}`);
    if (!opts.allowEmptyText && b?.length === 0) throw unreadableTextError(`the text_pair of input ${i}`);
    const specials = b ? 3 : 2;
    const [na, nb] = longestFirst(a.length, b?.length ?? 0, Math.max(0, maxLength - specials));
    return tok.assemble(a.slice(0, na), b?.slice(0, nb));
  });
}

/** Numerically stable softmax (float64). */
export function softmax(values: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += out[i] = Math.exp(values[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

export function topLabels(logits: ArrayLike<number>, labels: readonly string[], topK: number): LabelScore[] {
  if (logits.length !== labels.length) {
    throw new Error(`model returned ${logits.length} logits for ${labels.length} labels`);
  }
  const p = softmax(logits);
  return labels
    .map((label, i) => ({ label, score: p[i]! }))
    .sort((x, y) => y.score - x.score)
    .slice(0, Math.max(1, Math.min(topK, labels.length)));
}
