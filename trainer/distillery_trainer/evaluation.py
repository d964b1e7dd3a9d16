"""Scoring a PyTorch model on the run's eval features (the in-training metrics of the events)."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch

from .context import RunContext
from .loop import iterate_batches
from .metrics import WindowScores, classification_metrics, example_answer, example_span_metrics, window_scores
from .modeling import BertForDistillation

EVAL_BATCH = 64


@torch.no_grad()
def evaluate(ctx: RunContext, model: BertForDistillation, role: str) -> Optional[Tuple[str, Dict[str, float]]]:
    """(role, metrics) of `model` on data.eval (accuracy / macro F1, or per-example span F1 / exact
    match with the answer chosen over all of an example's windows as serving does), or None without
    eval data. Leaves the model in eval mode; the loop puts it back to train."""
    features = ctx.data.eval_features
    if not features:
        return None
    model.eval()
    task = ctx.spec.task
    predicted, gold = [], []
    windows: Dict[int, List[WindowScores]] = {}
    gold_spans: Dict[int, Optional[Tuple[int, int]]] = {}
    for batch in iterate_batches(features, EVAL_BATCH, ctx.tokenizer.pad_id, task):
        batch = batch.to(ctx.rt.device)
        with ctx.rt.autocast():
            out = model(*batch.model_inputs())
        if task == "classification":
            predicted += out.logits.argmax(-1).tolist()
            gold += batch.labels.tolist()
            continue
        start, end = out.start_logits.float().cpu(), out.end_logits.float().cpu()
        for row, f in enumerate(batch.features):
            windows.setdefault(f.example_index, []).append(
                window_scores(start[row], end[row], f.context_offset, f.context_count, f.window_start))
            gold_spans.setdefault(f.example_index, None)
            if f.start_position != 0:
                shift = f.window_start - f.context_offset
                gold_spans[f.example_index] = (f.start_position + shift, f.end_position + shift)
    if task == "classification":
        metrics = classification_metrics(predicted, gold)
    else:
        order = sorted(windows)
        metrics = example_span_metrics([example_answer(windows[i]) for i in order], [gold_spans[i] for i in order])
    return role, {k: round(v, 6) for k, v in metrics.items()}
