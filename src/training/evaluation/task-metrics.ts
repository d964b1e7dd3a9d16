/**
 * Quality metrics computed from predictions: accuracy and macro-F1 for classification, exact
 * match and F1 under the SQuAD evaluation rules for QA (v2.0: an unanswerable question scores 1
 * only for an empty prediction).
 */
import { normalizeAnswer, tokenF1 } from '../../inference/tasks/answer-text.js';

export { normalizeAnswer };

export interface ClassificationScores {
  accuracy: number;
  macro_f1: number;
}

export function classificationScores(gold: readonly string[], predicted: readonly string[]): ClassificationScores {
  if (gold.length !== predicted.length) throw new Error('gold and predicted lengths differ');
  if (gold.length === 0) return { accuracy: 0, macro_f1: 0 };
  let correct = 0;
  const labels = new Set<string>(gold);
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string): void => {
    m.set(k, (m.get(k) ?? 0) + 1);
  };
  gold.forEach((g, i) => {
    const p = predicted[i] as string;
    if (p === g) {
      correct += 1;
      inc(tp, g);
    } else {
      inc(fp, p);
      inc(fn, g);
    }
  });
  // Macro-F1 over the labels present in the gold set: a label the model invents but nobody asked
  // for still costs precision of the true labels through fn, not a class of its own.
  let f1Sum = 0;
  for (const label of labels) {
    const t = tp.get(label) ?? 0;
    const precision = t + (fp.get(label) ?? 0) === 0 ? 0 : t / (t + (fp.get(label) ?? 0));
    const recall = t + (fn.get(label) ?? 0) === 0 ? 0 : t / (t + (fn.get(label) ?? 0));
    f1Sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  }
  return { accuracy: correct / gold.length, macro_f1: f1Sum / labels.size };
}

export interface QaScores {
  exact_match: number;
  f1: number;
}

/** `golds[i]` is the list of acceptable answers (empty: unanswerable); `predictions[i]` '' = no answer. */
export function squadScores(golds: readonly (readonly string[])[], predictions: readonly string[]): QaScores {
  if (golds.length !== predictions.length) throw new Error('gold and predicted lengths differ');
  if (golds.length === 0) return { exact_match: 0, f1: 0 };
  let em = 0;
  let f1 = 0;
  golds.forEach((answers, i) => {
    const prediction = predictions[i] as string;
    const candidates = answers.length === 0 ? [''] : answers;
    em += Math.max(...candidates.map((a) => (normalizeAnswer(a) === normalizeAnswer(prediction) ? 1 : 0)));
    f1 += Math.max(...candidates.map((a) => tokenF1(prediction, a)));
  });
  return { exact_match: em / golds.length, f1: f1 / golds.length };
}
