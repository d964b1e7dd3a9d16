"""Loss computations of one training step for each stage (pure functions of models and a batch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F

from . import losses
from .features import Batch
from .modeling import BertForDistillation, ModelOutputs


def task_loss(model: BertForDistillation, out: ModelOutputs, batch: Batch) -> torch.Tensor:
    """Supervised loss of the task head (teacher fine-tuning)."""
    if model.task == "classification":
        assert out.logits is not None and batch.labels is not None
        return F.cross_entropy(out.logits.float(), batch.labels)
    assert out.start_logits is not None and out.end_logits is not None
    start = F.cross_entropy(out.start_logits.float(), batch.start_positions)
    end = F.cross_entropy(out.end_logits.float(), batch.end_positions)
    return (start + end) / 2


def prediction_loss(student: ModelOutputs, teacher: ModelOutputs, batch: Batch, temperature: float) -> torch.Tensor:
    """Soft cross-entropy on the logits; for QA over real tokens only, start and end averaged."""
    if student.logits is not None:
        assert teacher.logits is not None
        return losses.soft_cross_entropy(student.logits, teacher.logits, temperature)
    assert student.start_logits is not None and teacher.start_logits is not None
    mask = batch.attention_mask
    start = losses.soft_cross_entropy(student.start_logits, teacher.start_logits, temperature, mask)
    end = losses.soft_cross_entropy(student.end_logits, teacher.end_logits, temperature, mask)
    return (start + end) / 2


@dataclass
class IntermediateLossSetup:
    projections: losses.DistillProjections
    mapping: List[int]
    attention_kind: str


def intermediate_losses(
    student: ModelOutputs, teacher: ModelOutputs, batch: Batch, setup: IntermediateLossSetup
) -> Dict[str, torch.Tensor]:
    mask = batch.attention_mask
    assert student.embedding_output is not None and teacher.embedding_output is not None
    return {
        "embed": losses.embedding_loss(student.embedding_output, teacher.embedding_output, setup.projections, mask),
        "attention": losses.attention_loss(student.attention_scores, teacher.attention_scores, mask, setup.mapping, setup.attention_kind),
        "hidden": losses.hidden_loss(student.hidden_states, teacher.hidden_states, setup.projections, mask, setup.mapping),
    }


def weighted_sum(terms: Dict[str, torch.Tensor], weights: Dict[str, float]) -> Tuple[torch.Tensor, Dict[str, float]]:
    total = sum(weights[k] * v for k, v in terms.items())
    assert isinstance(total, torch.Tensor)
    return total, {k: float(v.detach()) for k, v in terms.items()}
