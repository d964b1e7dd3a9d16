/**
 * The chatbot-like request mix, seeded so every server (and every run) sees the same texts in the
 * same order: mostly short utterances, some paragraphs, a few long messages. Texts come from the
 * project's own support-data generator (tools/datagen), so the words are ones the model's
 * vocabulary knows and token counts look like real traffic.
 */
import { Rng, wordCount } from '../../tools/datagen/index.js';
import { DEFAULT_INTENT_OPTIONS, generateIntents } from '../../tools/datagen/intents/index.js';
import { buildClassificationRows } from '../../src/inference/tasks/classification.js';
import type { TextTokenizer } from '../../src/inference/tokenizer.js';

export type RequestKind = 'short' | 'paragraph' | 'long';
export const REQUEST_KINDS: readonly RequestKind[] = ['short', 'paragraph', 'long'];

export interface WorkloadItem {
  text: string;
  kind: RequestKind;
  /** Tokens of the whole text, [CLS] and [SEP] included. */
  tokens: number;
  /** Tokens of the row the model runs: truncated to the model's max_length. */
  rowTokens: number;
}

export interface WorkloadMix {
  /** Shares of short utterances and paragraphs; the rest are long messages. */
  short: number;
  paragraph: number;
}

export const DEFAULT_MIX: WorkloadMix = { short: 0.7, paragraph: 0.22 };

/** Word targets: a paragraph is a few messages in one, a long message rambles up to ~250 tokens. */
const PARAGRAPH_WORDS: [number, number] = [25, 60];
const LONG_WORDS: [number, number] = [105, 170];

export interface WorkloadOptions {
  seed: number;
  /** Distinct requests; clients cycle through them in order. */
  size: number;
  mix?: WorkloadMix;
}

/** Texts and kinds only (no tokenizer needed). */
export function generateTexts({ seed, size, mix = DEFAULT_MIX }: WorkloadOptions): Array<{ text: string; kind: RequestKind }> {
  const root = Rng.fromSeed(seed).fork('bench/serving');
  const utterances = generateIntents(root.fork('intents'), { ...DEFAULT_INTENT_OPTIONS, trainPerIntent: 1, testPerIntent: 80 }).test.map((e) => e.text);
  const rng = root.fork('mix');
  const joinUntil = (words: number): string => {
    const parts: string[] = [];
    let count = 0;
    while (count < words) {
      const u = rng.pick(utterances);
      parts.push(/[.!?]$/.test(u) ? u : `${u}.`);
      count += wordCount(u);
    }
    // Trim to the word target so the longest messages stay near ~250 tokens.
    return parts.join(' ').split(/\s+/).slice(0, words).join(' ');
  };
  return Array.from({ length: size }, () => {
    const r = rng.next();
    if (r < mix.short) return { text: rng.pick(utterances), kind: 'short' as const };
    if (r < mix.short + mix.paragraph) return { text: joinUntil(rng.int(...PARAGRAPH_WORDS)), kind: 'paragraph' as const };
    return { text: joinUntil(rng.int(...LONG_WORDS)), kind: 'long' as const };
  });
}

/** The workload with token counts from the served model's own tokenizer. */
export async function buildWorkload(tokenizer: TextTokenizer, maxLength: number, opts: WorkloadOptions): Promise<WorkloadItem[]> {
  const texts = generateTexts(opts);
  const segments = await tokenizer.encodeSegments(texts.map((t) => t.text));
  const rows = await buildClassificationRows(
    tokenizer,
    texts.map((t) => t.text),
    { maxLength },
  );
  return texts.map((t, i) => ({ ...t, tokens: segments[i]!.ids.length + 2, rowTokens: rows[i]!.inputIds.length }));
}

export interface KindStats {
  kind: RequestKind;
  share: number;
  minTokens: number;
  meanTokens: number;
  maxTokens: number;
  meanRowTokens: number;
}

export function describeWorkload(items: readonly WorkloadItem[]): KindStats[] {
  return REQUEST_KINDS.map((kind) => {
    const of = items.filter((i) => i.kind === kind);
    const tokens = of.map((i) => i.tokens);
    return {
      kind,
      share: of.length / items.length,
      minTokens: of.length ? Math.min(...tokens) : 0,
      meanTokens: of.length ? tokens.reduce((a, b) => a + b, 0) / of.length : 0,
      maxTokens: of.length ? Math.max(...tokens) : 0,
      meanRowTokens: of.length ? of.reduce((a, i) => a + i.rowTokens, 0) / of.length : 0,
    };
  });
}
