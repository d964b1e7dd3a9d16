/**
 * Extractive QA over contexts of any length.
 *
 * Windows: the question (truncated to max_query_length tokens) is repeated in every window,
 * `[CLS] question [SEP] context[first .. first+count) [SEP]`; consecutive windows overlap by
 * doc_stride context tokens (clamped to half a window so compute stays linear in the context).
 *
 * Scores: in each window, start and end logits are softmax-normalised over [CLS] plus the
 * window's context tokens (question and separators can never be answers), and a span's score
 * is p_start(i) * p_end(j), a probability in [0, 1]. The null answer scores
 * p_start(CLS) * p_end(CLS); its smallest value over the windows is the bar every span must
 * beat, else the result is empty (SQuAD 2.0 convention), unless the caller asks for spans
 * whatever the null score (allowNoAnswer false). Spans from overlapping windows that map
 * to the same characters are merged, keeping the best score.
 *
 * Offsets: context tokens carry [start, end) offsets into the ORIGINAL context in UTF-16 units,
 * so `context.slice(start, end) === answer` holds for accents, emoji and CJK.
 */
import { InvalidInputError, unreadableTextError } from '../errors.js';
import type { RowInput, TextTokenizer } from '../tokenizer.js';
import { softmax } from './classification.js';

export interface QaInput {
  question: string;
  context: string;
}

export interface Answer {
  answer: string;
  score: number;
  start: number;
  end: number;
}

export interface QaWindowing {
  maxLength: number;
  docStride: number;
  maxQueryLength: number;
  /** More windows than this for one input is refused (InvalidInputError). */
  maxWindows: number;
  /** Run a question or context the tokenizer keeps nothing of, instead of refusing it (evaluation). */
  allowEmptyText?: boolean;
}

export interface WindowSpan {
  /** Index of the first context token in this window. */
  first: number;
  count: number;
}

export interface QaWindow extends WindowSpan {
  row: RowInput;
  /** Position of the first context token inside the row ([CLS] + question + [SEP]). */
  offset: number;
}

export interface PreparedQa {
  context: string;
  /** [start, end) of each context token in `context`, UTF-16. */
  offsets: Array<[number, number]>;
  windows: QaWindow[];
}

/** Windows over `contextTokens` tokens when the question takes `questionTokens` tokens. */
export function planWindows(questionTokens: number, contextTokens: number, opts: QaWindowing): WindowSpan[] {
  const perWindow = opts.maxLength - questionTokens - 3;
  if (perWindow < 1) throw new InvalidInputError(`the question leaves no room for context in ${opts.maxLength} tokens`);
  const overlap = Math.max(0, Math.min(opts.docStride, Math.floor(perWindow / 2)));
  const step = perWindow - overlap;
  const spans: WindowSpan[] = [];
  for (let first = 0; ; first += step) {
    spans.push({ first, count: Math.min(perWindow, Math.max(0, contextTokens - first)) });
    if (first + perWindow >= contextTokens) break;
  }
  return spans;
}

export async function prepareQa(tok: TextTokenizer, inputs: readonly QaInput[], opts: QaWindowing): Promise<PreparedQa[]> {
  const segments = await tok.encodeSegments(inputs.flatMap((i) => [i.question, i.context]));
  // Never let the question take the whole window: leave at least a quarter for context.
  const maxQuery = Math.max(1, Math.min(opts.maxQueryLength, Math.floor((opts.maxLength - 3) * 0.75)));
  return inputs.map((input, n) => {
    const q = segments[2 * n]!.ids.slice(0, maxQuery);
    const ctx = segments[2 * n + 1]!;
    if (!opts.allowEmptyText && q.length === 0) throw unreadableTextError(`question ${n}`);
    if (!opts.allowEmptyText && ctx.ids.length === 0) throw unreadableTextError(`context ${n}`);
    const spans = planWindows(q.length, ctx.ids.length, opts);
    if (spans.length > opts.maxWindows) {
      throw new InvalidInputError(
        `context ${n} needs ${spans.length} windows of ${opts.maxLength} tokens; at most ${opts.maxWindows} are allowed (MAX_QA_WINDOWS)`,
      );
    }
    const windows = spans.map((s) => ({ ...s, offset: q.length + 2, row: tok.assemble(q, ctx.ids.slice(s.first, s.first + s.count)) }));
    return { context: input.context, offsets: ctx.offsets, windows };
  });
}

export interface WindowLogits {
  start: ArrayLike<number>;
  end: ArrayLike<number>;
}

export interface AnswerOptions {
  topK: number;
  /** Longest answer in tokens. */
  maxAnswerLength: number;
  /** Best starts and ends considered per window (pairs = nBest^2); default max(20, topK). */
  nBest?: number;
  /**
   * May the result be empty ("no answer") when the null score beats every span (default true,
   * SQuAD 2.0)? false: the best spans are returned whatever the null score, as Hugging Face's
   * question-answering pipeline does unless handle_impossible_answer is set.
   */
  allowNoAnswer?: boolean;
}

/** Indices of the n largest values of `p` among `candidates`. */
function best(p: Float64Array, candidates: number, base: number, n: number): number[] {
  const idx = Array.from({ length: candidates }, (_, i) => base + i);
  return idx.sort((a, b) => p[b]! - p[a]!).slice(0, n);
}

export function findAnswers(prepared: PreparedQa, logits: readonly WindowLogits[], opts: AnswerOptions): Answer[] {
  const nBest = opts.nBest ?? Math.max(20, opts.topK);
  let nullScore = Infinity;
  const spans = new Map<string, Answer>();
  prepared.windows.forEach((w, k) => {
    const { start, end } = logits[k]!;
    // Softmax over [CLS] and the context tokens only: index 0 is CLS, 1.. the context.
    const pick = (l: ArrayLike<number>) => softmax([l[0]!, ...Array.from({ length: w.count }, (_, i) => l[w.offset + i]!)]);
    const ps = pick(start);
    const pe = pick(end);
    nullScore = Math.min(nullScore, ps[0]! * pe[0]!);
    const starts = best(ps, w.count, 1, nBest);
    const ends = best(pe, w.count, 1, nBest);
    for (const i of starts) {
      for (const j of ends) {
        if (j < i || j - i + 1 > opts.maxAnswerLength) continue;
        const score = ps[i]! * pe[j]!;
        const s = prepared.offsets[w.first + i - 1]![0];
        const e = prepared.offsets[w.first + j - 1]![1];
        const key = `${s}:${e}`;
        const seen = spans.get(key);
        if (!seen || seen.score < score) spans.set(key, { answer: prepared.context.slice(s, e), score, start: s, end: e });
      }
    }
  });
  return [...spans.values()]
    .filter((a) => opts.allowNoAnswer === false || a.score > nullScore)
    .sort((a, b) => b.score - a.score)
    .slice(0, Math.max(1, opts.topK));
}
