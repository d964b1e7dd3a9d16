/**
 * How far a candidate's answers agree with the active version's on the same inputs.
 * Classification: top-1 label agreement, and the absolute difference between the score each
 * version gives the active version's top label. QA: exact match and token F1 between the top
 * answers (SQuAD normalisation), and whether both agree that there is an answer at all.
 */
import type { LabelScore } from '../tasks/classification.js';
import type { Answer } from '../tasks/qa.js';

export interface ClassificationAgreement {
  top1: boolean;
  /** |active's score of its top label - candidate's score of that label| (0 when the candidate does not list it and its score is also 0). */
  scoreDiff: number;
}

export interface QaAgreement {
  exactMatch: boolean;
  tokenF1: number;
  noAnswer: boolean;
}

export function compareClassification(active: readonly LabelScore[][], candidate: readonly LabelScore[][]): ClassificationAgreement[] {
  return active.map((row, i) => {
    const top = row[0];
    const other = candidate[i] ?? [];
    if (!top) return { top1: other.length === 0, scoreDiff: 0 };
    const same = other.find((s) => s.label === top.label);
    return { top1: other[0]?.label === top.label, scoreDiff: Math.abs(top.score - (same?.score ?? 0)) };
  });
}

/** SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces. */
function normalise(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

export function tokenF1(a: string, b: string): number {
  const x = normalise(a);
  const y = normalise(b);
  if (x.length === 0 || y.length === 0) return x.length === y.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of x) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of y) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / y.length;
  const recall = common / x.length;
  return (2 * precision * recall) / (precision + recall);
}

export function compareQa(active: readonly Answer[][], candidate: readonly Answer[][]): QaAgreement[] {
  return active.map((row, i) => {
    const a = row[0];
    const b = candidate[i]?.[0];
    if (!a || !b) return { exactMatch: !a && !b, tokenF1: !a && !b ? 1 : 0, noAnswer: !a === !b };
    const exact = normalise(a.answer).join(' ') === normalise(b.answer).join(' ');
    return { exactMatch: exact, tokenF1: tokenF1(a.answer, b.answer), noAnswer: true };
  });
}
