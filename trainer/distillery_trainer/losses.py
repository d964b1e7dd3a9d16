"""The four TinyBERT distillation losses.

Every loss takes the attention mask and ignores padded positions entirely: a padded token's
embedding, hidden state, attention row (query) and attention column (key) contribute nothing,
whatever values they hold.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import nn

from .errors import InvalidInputError

# How per-layer hidden and attention losses combine over the mapped layers. The published TinyBERT
# code (TinyBERT/task_distill.py) sums them; "mean" divides by the student's layer count, which
# makes the method's 0.1 weights M times weaker for an M-layer student.
LAYER_REDUCTIONS = ("sum", "mean")


def layer_mapping(student_layers: int, teacher_layers: int) -> List[int]:
    """g(m) = m * N / M for student layers m = 1..M (1-based teacher layer numbers).

    N not a multiple of M rounds down, which keeps the mapping uniform and increasing."""
    if student_layers <= 0 or teacher_layers <= 0:
        raise InvalidInputError("layer counts must be positive")
    if student_layers > teacher_layers:
        raise InvalidInputError(
            f"student has {student_layers} layers but the teacher only {teacher_layers}: no layer mapping"
        )
    return [m * teacher_layers // student_layers for m in range(1, student_layers + 1)]


def check_head_grouping(student_heads: int, teacher_heads: int) -> int:
    """Teacher heads per student head; bad input unless the teacher's count is a multiple."""
    if student_heads > teacher_heads:
        raise InvalidInputError(f"student has {student_heads} attention heads, more than the teacher's {teacher_heads}")
    if teacher_heads % student_heads:
        raise InvalidInputError(
            f"teacher heads ({teacher_heads}) must be a multiple of student heads ({student_heads}) to group them"
        )
    return teacher_heads // student_heads


def group_heads(teacher: torch.Tensor, student_heads: int) -> torch.Tensor:
    """[B, Ht, S, S] -> [B, Hs, S, S], averaging each run of Ht / Hs consecutive teacher heads."""
    b, ht, s, s2 = teacher.shape
    group = check_head_grouping(student_heads, ht)
    if group == 1:
        return teacher
    return teacher.reshape(b, student_heads, group, s, s2).mean(dim=2)


class DistillProjections(nn.Module):
    """Learned maps from student width to teacher width (W_e, W_h).

    shared=True (the published code's choice) uses one matrix for embeddings and all hidden
    layers; shared=False learns one for the embeddings and one per student layer."""

    def __init__(self, student_hidden: int, teacher_hidden: int, student_layers: int, shared: bool = True) -> None:
        super().__init__()
        self.shared = shared
        count = 1 if shared else student_layers + 1
        self.maps = nn.ModuleList([nn.Linear(student_hidden, teacher_hidden) for _ in range(count)])

    def embedding(self) -> nn.Module:
        return self.maps[0]

    def layer(self, m: int) -> nn.Module:
        return self.maps[0] if self.shared else self.maps[m]


def _token_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.to(like.dtype).unsqueeze(-1)  # [B, S, 1]


def masked_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over real tokens only ([B, S, H] inputs, [B, S] mask)."""
    student, teacher = student.float(), teacher.float()
    m = _token_mask(mask, student)
    sq = (student - teacher) ** 2 * m
    denom = m.sum() * student.shape[-1]
    return sq.sum() / denom.clamp_min(1.0)


def embedding_loss(student_emb: torch.Tensor, teacher_emb: torch.Tensor, projection: nn.Module, mask: torch.Tensor) -> torch.Tensor:
    proj = projection.embedding() if isinstance(projection, DistillProjections) else projection
    return masked_mse(proj(student_emb), teacher_emb, mask)


def reduce_layers(total: torch.Tensor, layers: int, reduction: str) -> torch.Tensor:
    """The sum of `layers` per-layer losses, as a sum or divided by `layers` (LAYER_REDUCTIONS)."""
    if reduction not in LAYER_REDUCTIONS:
        raise InvalidInputError(f"layer_reduction must be 'sum' or 'mean', got {reduction!r}")
    return total / layers if reduction == "mean" else total


def hidden_loss(
    student_hidden: Sequence[torch.Tensor],
    teacher_hidden: Sequence[torch.Tensor],
    projection: nn.Module,
    mask: torch.Tensor,
    mapping: Sequence[int],
    *,
    reduction: str,
) -> torch.Tensor:
    """Student layer m (hidden_states[m]) against teacher layer g(m), summed (or averaged) over layers.

    projection: one module for every layer, or DistillProjections (its per-layer maps).
    reduction: "sum" (the published code) or "mean" over the len(mapping) layers."""
    total = student_hidden[0].new_zeros((), dtype=torch.float32)
    for m, g in enumerate(mapping, start=1):
        proj = projection.layer(m) if isinstance(projection, DistillProjections) else projection
        total = total + masked_mse(proj(student_hidden[m]), teacher_hidden[g], mask)
    return reduce_layers(total, len(mapping), reduction)


def _pair_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    m = mask.to(dtype)
    return m[:, None, :, None] * m[:, None, None, :]  # [B, 1, S(query), S(key)]


def attention_mse(student_scores: torch.Tensor, teacher_scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of pre-softmax scores over (real query, real key) pairs - the published code's loss."""
    s = student_scores.float()
    t = group_heads(teacher_scores.float(), s.shape[1])
    valid = _pair_mask(mask, s.dtype)
    sq = (s - t) ** 2 * valid
    denom = valid.sum() * s.shape[1]
    return sq.sum() / denom.clamp_min(1.0)


def attention_kl(student_scores: torch.Tensor, teacher_scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) between attention distributions over real keys, per real query.

    Grouped teacher heads are averaged as distributions (after softmax), so each group is
    still a distribution. Padded keys are re-masked here rather than trusting the scores'
    additive mask, so their values cannot leak into the softmax."""
    s = student_scores.float()
    key_valid = mask.to(torch.bool)[:, None, None, :]
    neg = torch.finfo(torch.float32).min
    t_probs = torch.softmax(teacher_scores.float().masked_fill(~key_valid, neg), dim=-1)
    t_probs = group_heads(t_probs, s.shape[1])
    s_logp = torch.log_softmax(s.masked_fill(~key_valid, neg), dim=-1)
    t_logp = torch.log(t_probs.clamp_min(1e-12))
    kl = torch.where(key_valid & (t_probs > 0), t_probs * (t_logp - s_logp), torch.zeros_like(s))
    per_query = kl.sum(dim=-1)  # [B, H, S]
    q_valid = mask.to(s.dtype)[:, None, :]
    denom = q_valid.sum() * s.shape[1]
    return (per_query * q_valid).sum() / denom.clamp_min(1.0)


def attention_loss(
    student_scores: Sequence[torch.Tensor],
    teacher_scores: Sequence[torch.Tensor],
    mask: torch.Tensor,
    mapping: Sequence[int],
    kind: str = "mse",
    *,
    reduction: str,
) -> torch.Tensor:
    """Student layer m's attention against teacher layer g(m), summed (or averaged) over layers.

    reduction: "sum" (the published code) or "mean" over the len(mapping) layers."""
    fn = {"mse": attention_mse, "kl": attention_kl}.get(kind)
    if fn is None:
        raise InvalidInputError(f"attention_loss must be 'mse' or 'kl', got {kind!r}")
    total = student_scores[0].new_zeros((), dtype=torch.float32)
    for m, g in enumerate(mapping, start=1):
        total = total + fn(student_scores[m - 1], teacher_scores[g - 1], mask)
    return reduce_layers(total, len(mapping), reduction)


def soft_cross_entropy(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float = 1.0,
    mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """-sum softmax(t / T) * log_softmax(s / T), averaged over rows (no T^2 factor, as published).

    mask ([B, C], QA logits over tokens): masked classes are removed from both distributions."""
    s = student_logits.float() / temperature
    t = teacher_logits.float() / temperature
    if mask is not None:
        neg = torch.finfo(torch.float32).min
        keep = mask.to(torch.bool)
        s = s.masked_fill(~keep, neg)
        t = t.masked_fill(~keep, neg)
    t_probs = torch.softmax(t, dim=-1)
    s_logp = torch.log_softmax(s, dim=-1)
    terms = t_probs * s_logp
    if mask is not None:
        terms = torch.where(mask.to(torch.bool), terms, torch.zeros_like(terms))
    return -terms.sum(dim=-1).mean()


def dynamic_weights(epoch: int, epochs: int, hidden_weight: float, attention_weight: float) -> dict:
    """The source's schedule on a 10-epoch scale: e = 10 * epoch / epochs (epoch 1-based)."""
    e = 10.0 * epoch / max(epochs, 1)
    return {
        "pred": min(0.8 * e / 10.0, 0.8),
        "embed": max(0.1 * (1.0 - e / 10.0), 0.0),
        "hidden": hidden_weight,
        "attention": attention_weight,
    }
