"""Loss computations of one training step for each stage (pure functions of models and a batch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Tuple, Union

import torch
import torch.nn.functional as F

from . import losses
from .features import Batch
from .modeling import BertForDistillation, ModelOutputs
from .spec import StageSpec


def task_loss(model: BertForDistillation, out: ModelOutputs, batch: Batch) -> torch.Tensor:
    """Supervised loss of the task head (teacher fine-tuning)."""
    if model.task == "classification":
        assert out.logits is not None and batch.labels is not None
        return F.cross_entropy(out.logits.float(), batch.labels)
    assert out.start_logits is not None and out.end_logits is not None
    start = F.cross_entropy(out.start_logits.float(), batch.start_positions)
    end = F.cross_entropy(out.end_logits.float(), batch.end_positions)
    return (start + end) / 2


def prediction_loss(student: ModelOutputs, teacher: ModelOutputs, batch: Batch, temperature: float, hard_label_weight: float = 0.0) -> torch.Tensor:
    """Soft cross-entropy on the logits; for QA over real tokens only, start and end averaged.

    hard_label_weight > 0 adds that times hard_label_loss (the gold labels), as the published
    code does not but a plain fine-tuning objective would: it anchors a student to the truth
    where the teacher is wrong."""
    if student.logits is not None:
        assert teacher.logits is not None
        soft = losses.soft_cross_entropy(student.logits, teacher.logits, temperature)
    else:
        assert student.start_logits is not None and teacher.start_logits is not None
        mask = batch.attention_mask
        start = losses.soft_cross_entropy(student.start_logits, teacher.start_logits, temperature, mask)
        end = losses.soft_cross_entropy(student.end_logits, teacher.end_logits, temperature, mask)
        soft = (start + end) / 2
    if hard_label_weight <= 0:
        return soft
    return soft + hard_label_weight * hard_label_loss(student, batch)


def hard_label_loss(out: ModelOutputs, batch: Batch) -> torch.Tensor:
    """Cross-entropy against the gold labels: class ids [B], or (QA) start and end token positions
    [B] over the real tokens of each row, the two averaged. A scalar, averaged over rows."""
    if out.logits is not None:
        assert batch.labels is not None
        return F.cross_entropy(out.logits.float(), batch.labels)
    assert out.start_logits is not None and out.end_logits is not None
    # Padded positions can never be the answer: out of the softmax, as in the soft loss.
    padded = ~batch.attention_mask.to(torch.bool)
    neg = torch.finfo(torch.float32).min
    start = F.cross_entropy(out.start_logits.float().masked_fill(padded, neg), batch.start_positions)
    end = F.cross_entropy(out.end_logits.float().masked_fill(padded, neg), batch.end_positions)
    return (start + end) / 2


@dataclass
class IntermediateLossSetup:
    projections: losses.DistillProjections
    mapping: List[int]
    attention_kind: str
    # "sum" or "mean" of the per-layer hidden and attention losses (losses.LAYER_REDUCTIONS).
    layer_reduction: str


def intermediate_losses(
    student: ModelOutputs, teacher: ModelOutputs, batch: Batch, setup: IntermediateLossSetup
) -> Dict[str, torch.Tensor]:
    mask = batch.attention_mask
    assert student.embedding_output is not None and teacher.embedding_output is not None
    return {
        "embed": losses.embedding_loss(student.embedding_output, teacher.embedding_output, setup.projections, mask),
        "attention": losses.attention_loss(
            student.attention_scores, teacher.attention_scores, mask, setup.mapping, setup.attention_kind, reduction=setup.layer_reduction
        ),
        "hidden": losses.hidden_loss(
            student.hidden_states, teacher.hidden_states, setup.projections, mask, setup.mapping, reduction=setup.layer_reduction
        ),
    }


def task_distill_weights(epoch: int, epochs: float, extra: Dict[str, Any]) -> Dict[str, float]:
    """The loss weights of task distillation at 1-based `epoch` of `epochs`: the source's dynamic
    schedule (losses.dynamic_weights) or the spec's fixed {"pred", "embed", "hidden", "attention"}."""
    weights: Union[str, Dict[str, float]] = extra["weights"]
    if weights == "dynamic":
        return losses.dynamic_weights(epoch, epochs, extra["hidden_weight"], extra["attention_weight"])
    assert isinstance(weights, dict)
    return dict(weights)


def task_distill_loss(
    student: ModelOutputs, teacher: ModelOutputs, batch: Batch, setup: IntermediateLossSetup, stage: StageSpec, epoch: int
) -> Tuple[torch.Tensor, Dict[str, float]]:
    """One step's loss of task distillation: the four levels, weighted for `epoch`.

    stage: the task_distill StageSpec (temperature, epochs, extra: weights, hidden_weight,
    attention_weight, hard_label_weight). Returns the loss and each term's value."""
    terms = intermediate_losses(student, teacher, batch, setup)
    terms["pred"] = prediction_loss(student, teacher, batch, stage.temperature, stage.extra["hard_label_weight"])
    return weighted_sum(terms, task_distill_weights(epoch, stage.epochs, stage.extra))


def weighted_sum(terms: Dict[str, torch.Tensor], weights: Dict[str, float]) -> Tuple[torch.Tensor, Dict[str, float]]:
    total = sum(weights[k] * v for k, v in terms.items())
    assert isinstance(total, torch.Tensor)
    return total, {k: float(v.detach()) for k, v in terms.items()}
