"""In-training evaluation: accuracy/macro-F1, and token-level span EM/F1 for QA.

The final SQuAD-rule metrics (answer strings, normalization, several windows) are the
TypeScript side's job; here a QA feature's predicted token span is compared with its gold span.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

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


def best_span(start: torch.Tensor, end: torch.Tensor, offset: int, count: int) -> Tuple[int, int]:
    """Best (start, end) among [CLS] (0, 0) and context spans of at most MAX_ANSWER_TOKENS."""
    best = (0, 0)
    best_score = float(start[0] + end[0])
    if count > 0:
        s = start[offset : offset + count].float()
        e = end[offset : offset + count].float()
        scores = s[:, None] + e[None, :]
        i = torch.arange(count)
        valid = (i[None, :] >= i[:, None]) & (i[None, :] - i[:, None] < MAX_ANSWER_TOKENS)
        scores = scores.masked_fill(~valid, float("-inf"))
        flat = int(torch.argmax(scores))
        si, ei = divmod(flat, count)
        if float(scores[si, ei]) > best_score:
            best = (si + offset, ei + offset)
    return best


def span_metrics(predicted: List[Tuple[int, int]], gold: List[Tuple[int, int]]) -> Dict[str, float]:
    if not gold:
        return {"exact_match": 0.0, "f1": 0.0}
    em = f1 = 0.0
    for (ps, pe), (gs, ge) in zip(predicted, gold):
        if (ps, pe) == (gs, ge):
            em += 1
            f1 += 1
            continue
        if gs == ge == 0 or ps == pe == 0:
            continue  # one says "no answer", the other does not
        overlap = max(0, min(pe, ge) - max(ps, gs) + 1)
        if overlap:
            precision = overlap / (pe - ps + 1)
            recall = overlap / (ge - gs + 1)
            f1 += 2 * precision * recall / (precision + recall)
    return {"exact_match": em / len(gold), "f1": f1 / len(gold)}
