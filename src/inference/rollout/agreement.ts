/**
 * How far a candidate's answers agree with the active version's on the same inputs.
 * Classification: top-1 label agreement, and the absolute difference between the score each
 * version gives the active version's top label. QA: exact match and token F1 between the top
 * answers (SQuAD normalisation), and whether both agree that there is an answer at all.
 */
import type { LabelScore } from '../tasks/classification.js';
import { normalizeAnswer, tokenF1 } from '../tasks/answer-text.js';
import type { Answer } from '../tasks/qa.js';

export { tokenF1 };

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

export function compareQa(active: readonly Answer[][], candidate: readonly Answer[][]): QaAgreement[] {
  return active.map((row, i) => {
    const a = row[0];
    const b = candidate[i]?.[0];
    if (!a || !b) return { exactMatch: !a && !b, tokenF1: !a && !b ? 1 : 0, noAnswer: !a === !b };
    const exact = normalizeAnswer(a.answer) === normalizeAnswer(b.answer);
    return { exactMatch: exact, tokenF1: tokenF1(a.answer, b.answer), noAnswer: true };
  });
}
