"""Scoring a PyTorch model on the run's eval features (the in-training metrics of the events)."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import torch

from .context import RunContext
from .loop import iterate_batches
from .metrics import best_span, classification_metrics, span_metrics
from .modeling import BertForDistillation

EVAL_BATCH = 64


@torch.no_grad()
def evaluate(ctx: RunContext, model: BertForDistillation, role: str) -> Optional[Tuple[str, Dict[str, float]]]:
    """(role, metrics) of `model` on data.eval (accuracy / macro F1, or span F1 / exact match), or
    None without eval data. Leaves the model in eval mode; the loop puts it back to train."""
    features = ctx.data.eval_features
    if not features:
        return None
    model.eval()
    task = ctx.spec.task
    predicted, gold = [], []
    for batch in iterate_batches(features, EVAL_BATCH, ctx.tokenizer.pad_id, task):
        batch = batch.to(ctx.rt.device)
        with ctx.rt.autocast():
            out = model(*batch.model_inputs())
        if task == "classification":
            predicted += out.logits.argmax(-1).tolist()
            gold += batch.labels.tolist()
        else:
            for row, f in enumerate(batch.features):
                predicted.append(best_span(out.start_logits[row].cpu(), out.end_logits[row].cpu(), f.context_offset, f.context_count))
                gold.append((f.start_position, f.end_position))
    metrics = classification_metrics(predicted, gold) if task == "classification" else span_metrics(predicted, gold)
    return role, {k: round(v, 6) for k, v in metrics.items()}
