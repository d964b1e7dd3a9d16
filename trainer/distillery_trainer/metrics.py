"""In-training evaluation: accuracy/macro-F1, and token-level span EM/F1 for QA.

The final SQuAD-rule metrics (answer strings, normalization) are the TypeScript side's job. Here
a QA example's answer is chosen over all its windows the way serving chooses it
(src/inference/tasks/qa.ts), and compared with the gold span in context-token positions. Scoring
each window on its own instead rewards a model that answers [CLS] everywhere: most windows of a
long context hold no answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Dict, Optional, Sequence, Tuple

import torch

MAX_ANSWER_TOKENS = 30
# The metric that picks a task's best checkpoint: the quality gate's (src/training/quality-gate.ts).
HEADLINE_METRIC = {"classification": "accuracy", "qa": "f1"}


def classification_metrics(predictions: Sequence[int], labels: Sequence[int]) -> Dict[str, float]:
    if not labels:
        return {"accuracy": 0.0, "macro_f1": 0.0}
    correct = sum(int(p == y) for p, y in zip(predictions, labels))
    classes = sorted(set(labels) | set(predictions))
    f1s = []
    for c in classes:
        tp = sum(1 for p, y in zip(predictions, labels) if p == c and y == c)
        fp = sum(1 for p, y in zip(predictions, labels) if p == c and y != c)
        fn = sum(1 for p, y in zip(predictions, labels) if p != c and y == c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"accuracy": correct / len(labels), "macro_f1": sum(f1s) / len(f1s)}


@dataclass
class WindowScores:
    """One window's answer candidates, as serving scores them: start and end logits softmax-
    normalised over [CLS] plus the window's context tokens. `null` = p_start(CLS) * p_end(CLS);
    `span` = the best (probability, first, last) with first/last in context-token positions of the
    whole context (window start added), or None for an empty window."""

    null: float
    span: Optional[Tuple[float, int, int]]


def window_scores(start: torch.Tensor, end: torch.Tensor, offset: int, count: int, window_start: int) -> WindowScores:
    ps = torch.softmax(torch.cat([start[:1], start[offset : offset + count]]).float(), 0)
    pe = torch.softmax(torch.cat([end[:1], end[offset : offset + count]]).float(), 0)
    null = float(ps[0] * pe[0])
    if count == 0:
        return WindowScores(null, None)
    scores = ps[1:, None] * pe[None, 1:]
    i = torch.arange(count)
    valid = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < MAX_ANSWER_TOKENS)
    scores = scores.masked_fill(~valid, -1.0)
    flat = int(torch.argmax(scores))
    si, ei = divmod(flat, count)
    return WindowScores(null, (float(scores[si, ei]), window_start + si, window_start + ei))


def example_answer(windows: Sequence[WindowScores]) -> Optional[Tuple[int, int]]:
    """The example's answer over its windows: the most probable span if it beats the smallest null
    score of any window (serving's bar), else None (no answer)."""
    bar = min(w.null for w in windows)
    spans = [w.span for w in windows if w.span is not None]
    if not spans:
        return None
    prob, first, last = max(spans)
    return (first, last) if prob > bar else None


def example_span_metrics(predicted: Sequence[Optional[Tuple[int, int]]], gold: Sequence[Optional[Tuple[int, int]]]) -> Dict[str, float]:
    """Exact match and token-overlap F1 per example; None is "no answer" (right only when the gold
    is None too)."""
    if not gold:
        return {"exact_match": 0.0, "f1": 0.0}
    em = f1 = 0.0
    for p, g in zip(predicted, gold):
        if p == g:
            em += 1
            f1 += 1
        elif p is not None and g is not None:
            overlap = max(0, min(p[1], g[1]) - max(p[0], g[0]) + 1)
            if overlap:
                precision, recall = overlap / (p[1] - p[0] + 1), overlap / (g[1] - g[0] + 1)
                f1 += 2 * precision * recall / (precision + recall)
    return {"exact_match": em / len(gold), "f1": f1 / len(gold)}
