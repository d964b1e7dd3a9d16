/**
 * Trivial baselines on a held-out split, so a model's score has something to be compared with:
 * the majority class for classification, the first sentence of the context for QA.
 */
import { readClassificationJsonl, readSquad } from '../src/training/evaluation/eval-data.js';
import { classificationScores, squadScores } from '../src/training/evaluation/task-metrics.js';

export interface Baseline {
  name: string;
  accuracy?: number;
  macro_f1?: number;
  exact_match?: number;
  f1?: number;
}

export async function majorityClassBaseline(file: string): Promise<Baseline> {
  const examples = await readClassificationJsonl(file);
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
  return {
    name: 'majority class',
    ...classificationScores(
      examples.map((e) => e.label),
      examples.map(() => majority),
    ),
  };
}

export async function firstSentenceBaseline(file: string): Promise<Baseline> {
  const examples = await readSquad(file);
  const firstSentence = (context: string): string => context.split(/(?<=[.!?])\s+/)[0] ?? context;
  return {
    name: 'first sentence',
    ...squadScores(
      examples.map((e) => e.answers),
      examples.map((e) => firstSentence(e.context)),
    ),
  };
}
