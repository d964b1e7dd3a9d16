"""Quantization-aware training: INT8 fake quantization with straight-through gradients.

Weights (every nn.Linear and the embedding tables): symmetric per-channel INT8, one scale per
output channel (Linear) or per row (Embedding), scale = max|w| / 127, zero point 0, values in
[-128, 127]. Weight scales follow the weights at every forward while training and are frozen
into buffers for export.

Activations (the input of every nn.Linear): per-tensor asymmetric INT8 with a zero point, from an
observer that tracks the range (running min/max, or an exponential moving average). The
quantizer uses the range as of the last recalibration, which happens after calibration (a seeded
random sample of the training batches) and then every `recalibration_interval` optimizer steps,
so a range in use is a constant buffer - what the PyTorch 1.13 exporter needs to emit
QuantizeLinear/DequantizeLinear with constant scales. Nothing else is quantized: the attention
mask, softmax and LayerNorm stay in float.

The training forward never reads a tensor's value on the host (no .item(), float() or branch on
a tensor): scales, zero points and observer state stay on the device, so a CUDA step is not
stalled once per Linear waiting for the GPU.

Gradient (straight-through estimator), as torch's fake_quantize ops define it: d out / d x is 1
where round(x / scale) + zero_point lies inside [-128, 127] and 0 where the value was clamped.
Scales and zero points get no gradient.
"""

from __future__ import annotations

from typing import Iterable, Iterator, List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .features import Batch, Feature, collate

QMIN, QMAX = -128, 127
# A channel of zeros would give scale 0 (division by zero in QuantizeLinear); any tiny value works.
MIN_SCALE = 1e-8
OBSERVER_MODES = ("minmax", "moving_average")
# Calibration sample: 8 batches (256 rows at the default batch size), as PyTorch's and ONNX
# Runtime's static quantization examples calibrate on a few hundred rows.
CALIBRATION_BATCHES = 8
# Kept apart from the training shuffle's seeds (loop.STAGE_SEEDS), so that the sample is not
# simply the first batches the stage trains on.
CALIBRATION_SEED_SALT = 7717
# However short the QAT run, its ranges are refreshed at least this many times while it trains
# (the weights move, and with them the activations); see recalibration_interval.
MIN_RECALIBRATIONS = 4


def calibration_rows(n: int, batch_size: int, seed: int, batches: int = CALIBRATION_BATCHES) -> List[List[int]]:
    """Row indices of the calibration sample: `batches` batches of `batch_size` rows, drawn
    without replacement from a shuffle of range(n) seeded by `seed` (fewer rows when n is smaller).

    A shuffled sample rather than the file's first rows: data files are often sorted (by label,
    source or length), and ranges from one end of a sorted file miss the rest of it."""
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + CALIBRATION_SEED_SALT)
    rows = torch.randperm(n, generator=g)[: batches * batch_size].tolist()
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


def calibration_batches(
    features: Sequence[Feature], batch_size: int, pad_id: int, task: str, seed: int, batches: int = CALIBRATION_BATCHES
) -> Iterator[Batch]:
    """The calibration sample of `features` (calibration_rows), collated into CPU batches."""
    for rows in calibration_rows(len(features), batch_size, seed, batches):
        yield collate([features[i] for i in rows], pad_id, task)


def recalibration_interval(recalibrate_every: int, total_steps: int, minimum: int = MIN_RECALIBRATIONS) -> int:
    """Optimizer steps between recalibrations: `recalibrate_every`, shortened so that a run of
    `total_steps` recalibrates at least min(`minimum`, total_steps) times. The source's 1000 steps
    suit a long run; a QAT pass of a few hundred steps would otherwise train on its calibration
    ranges alone and export ranges measured before any QAT weight update."""
    if recalibrate_every <= 0:
        raise ValueError("recalibrate_every must be positive")
    return max(1, min(recalibrate_every, total_steps // max(1, minimum)))


def per_channel_scale(weight: torch.Tensor, axis: int = 0) -> torch.Tensor:
    dims = [d for d in range(weight.dim()) if d != axis]
    amax = weight.detach().abs().amax(dim=dims) if dims else weight.detach().abs()
    return (amax.float() / QMAX).clamp_min(MIN_SCALE)


def _as_float32(x: torch.Tensor) -> torch.Tensor:
    # fake_quantize kernels want float32 (autocast hands us fp16/bf16); a no-op cast would
    # otherwise be traced into the ONNX graph as a Cast node.
    return x if x.dtype == torch.float32 else x.float()


def fake_quant_per_channel(weight: torch.Tensor, scale: torch.Tensor, axis: int = 0) -> torch.Tensor:
    zero_point = torch.zeros(scale.shape, dtype=torch.int32, device=scale.device)
    return torch.fake_quantize_per_channel_affine(_as_float32(weight), scale, zero_point, axis, QMIN, QMAX)


def activation_qparams(lo: torch.Tensor, hi: torch.Tensor):
    """Asymmetric INT8 parameters for the range [lo, hi] widened to contain 0 (exact zero padding)."""
    lo = torch.minimum(lo.float(), torch.zeros_like(lo, dtype=torch.float32))
    hi = torch.maximum(hi.float(), torch.zeros_like(hi, dtype=torch.float32))
    scale = ((hi - lo) / float(QMAX - QMIN)).clamp_min(MIN_SCALE)
    zero_point = (QMIN - torch.round(lo / scale)).clamp(QMIN, QMAX).to(torch.int32)
    return scale, zero_point


class ActivationObserver(nn.Module):
    """Tracks a tensor's range and fake-quantizes it with the range frozen at the last recalibration."""

    def __init__(self, mode: str = "minmax", momentum: float = 0.01) -> None:
        super().__init__()
        if mode not in OBSERVER_MODES:
            raise ValueError(f"observer mode must be one of {OBSERVER_MODES}")
        self.mode = mode
        self.momentum = momentum
        # Python flags, not buffers: forward() must not branch on tensor values (ONNX tracing).
        self.observing = False
        self.quantizing = False
        self.register_buffer("observed_min", torch.zeros(1))
        self.register_buffer("observed_max", torch.zeros(1))
        self.register_buffer("has_observation", torch.zeros(1))
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("zero_point", torch.zeros(1, dtype=torch.int32))
        self.register_buffer("calibrated", torch.zeros(1))

    @torch.no_grad()
    def observe(self, x: torch.Tensor) -> None:
        """Folds x's min and max into the observed range. The first observation of a window is
        taken as it is, chosen with torch.where: branching on has_observation would be a host sync."""
        lo = x.detach().min().float().reshape(1)
        hi = x.detach().max().float().reshape(1)
        first = self.has_observation == 0
        if self.mode == "minmax":
            new_lo = torch.minimum(self.observed_min, lo)
            new_hi = torch.maximum(self.observed_max, hi)
        else:
            new_lo = self.observed_min + self.momentum * (lo - self.observed_min)
            new_hi = self.observed_max + self.momentum * (hi - self.observed_max)
        self.observed_min.copy_(torch.where(first, lo, new_lo))
        self.observed_max.copy_(torch.where(first, hi, new_hi))
        self.has_observation.fill_(1.0)

    @torch.no_grad()
    def recalibrate(self) -> None:
        """Moves the observed range into the quantizer (an observer that saw nothing since the last
        one keeps its range). min/max starts a fresh window afterwards. No host sync."""
        seen = self.has_observation > 0
        scale, zero_point = activation_qparams(self.observed_min, self.observed_max)
        self.scale.copy_(torch.where(seen, scale, self.scale))
        self.zero_point.copy_(torch.where(seen, zero_point, self.zero_point))
        self.calibrated.copy_(torch.where(seen, torch.ones_like(self.calibrated), self.calibrated))
        if self.mode == "minmax":
            self.has_observation.fill_(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observing:
            self.observe(x)
        if not self.quantizing:
            return x
        return torch.fake_quantize_per_tensor_affine(_as_float32(x), self.scale, self.zero_point, QMIN, QMAX)


class QuantLinear(nn.Linear):
    """nn.Linear with fake-quantized input (per tensor) and weight (per output channel)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, observer_mode: str = "minmax") -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.input_quant = ActivationObserver(observer_mode)
        self.weight_frozen = False
        self.register_buffer("weight_scale", torch.ones(out_features))

    @classmethod
    def from_linear(cls, linear: nn.Linear, observer_mode: str) -> "QuantLinear":
        q = cls(linear.in_features, linear.out_features, bias=linear.bias is not None, observer_mode=observer_mode)
        q.weight = linear.weight
        q.bias = linear.bias
        q.to(linear.weight.device)
        return q

    def quantized_weight(self) -> torch.Tensor:
        scale = self.weight_scale if self.weight_frozen else per_channel_scale(self.weight, 0)
        return fake_quant_per_channel(self.weight, scale, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        weight = self.quantized_weight() if self.input_quant.quantizing else self.weight
        return F.linear(self.input_quant(x), weight, self.bias)


class QuantEmbedding(nn.Embedding):
    """nn.Embedding whose table is fake-quantized per row, so the exported table is int8."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None) -> None:
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.quantizing = False
        self.weight_frozen = False
        self.register_buffer("weight_scale", torch.ones(num_embeddings))

    @classmethod
    def from_embedding(cls, emb: nn.Embedding) -> "QuantEmbedding":
        q = cls(emb.num_embeddings, emb.embedding_dim, padding_idx=emb.padding_idx)
        q.weight = emb.weight
        q.to(emb.weight.device)
        return q

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not self.quantizing:
            return super().forward(ids)
        scale = self.weight_scale if self.weight_frozen else per_channel_scale(self.weight, 0)
        return F.embedding(ids, fake_quant_per_channel(self.weight, scale, 0), self.padding_idx)


def prepare_qat(model: nn.Module, observer_mode: str = "minmax") -> nn.Module:
    """Swaps every Linear/Embedding for its fake-quant twin in place; parameter names are unchanged."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (QuantLinear, QuantEmbedding)):
                continue
            if isinstance(child, nn.Linear):
                setattr(parent, name, QuantLinear.from_linear(child, observer_mode))
            elif isinstance(child, nn.Embedding):
                setattr(parent, name, QuantEmbedding.from_embedding(child))
    return model


class QatController:
    """Owns the QAT modules of a model: calibration, periodic recalibration, freezing for export.

    `recalibrations` counts calibration and every periodic recalibration of the run (the stage
    history's `recalibrations`)."""

    def __init__(self, model: nn.Module, recalibrate_every: int) -> None:
        if recalibrate_every <= 0:
            raise ValueError("recalibrate_every must be positive")
        self.recalibrate_every = recalibrate_every
        # Steps between recalibrations; plan() shortens it to fit a run's length.
        self.interval = recalibrate_every
        self.linears: List[QuantLinear] = [m for m in model.modules() if isinstance(m, QuantLinear)]
        self.embeddings: List[QuantEmbedding] = [m for m in model.modules() if isinstance(m, QuantEmbedding)]
        self.recalibrations = 0

    @property
    def observers(self) -> List[ActivationObserver]:
        return [m.input_quant for m in self.linears]

    def set_mode(self, *, observing: bool, quantizing: bool) -> None:
        for obs in self.observers:
            obs.observing = observing
            obs.quantizing = quantizing
        for emb in self.embeddings:
            emb.quantizing = quantizing

    @property
    def calibrated(self) -> bool:
        return all(bool(o.calibrated.item()) for o in self.observers)

    def calibrate(self, run_batches: Iterable[None]) -> None:
        """Observes float activations over the batches run_batches drives, then starts quantizing."""
        self.set_mode(observing=True, quantizing=False)
        for _ in run_batches:
            pass
        self.recalibrate()
        self.set_mode(observing=True, quantizing=True)

    def recalibrate(self) -> None:
        for obs in self.observers:
            obs.recalibrate()
        self.recalibrations += 1

    def plan(self, total_steps: int) -> int:
        """Sets the interval for a run of `total_steps` optimizer steps (recalibration_interval)."""
        self.interval = recalibration_interval(self.recalibrate_every, total_steps)
        return self.interval

    def resume_at(self, step: int) -> None:
        """A run resumed after `step` steps: the observers' ranges come back with the model's
        buffers; this restores the count of recalibrations done before (calibration included)."""
        self.recalibrations = 1 + step // self.interval

    def after_step(self, step: int) -> bool:
        """Call after optimizer step number `step` (1-based); recalibrates every `interval` steps."""
        if step % self.interval == 0:
            self.recalibrate()
            return True
        return False

    def freeze(self) -> None:
        """Fixes every scale as a buffer (for evaluation parity and ONNX export)."""
        with torch.no_grad():
            for m in self.linears:
                m.weight_scale.copy_(per_channel_scale(m.weight, 0))
                m.weight_frozen = True
            for e in self.embeddings:
                e.weight_scale.copy_(per_channel_scale(e.weight, 0))
                e.weight_frozen = True
        self.set_mode(observing=False, quantizing=True)

    def unfreeze(self) -> None:
        for m in self.linears:
            m.weight_frozen = False
        for e in self.embeddings:
            e.weight_frozen = False
        self.set_mode(observing=True, quantizing=True)


def fuse_qkv_for_export(model: nn.Module) -> int:
    """Gives every self-attention block of a frozen QAT model one fused query/key/value QuantLinear.

    ONNX Runtime merges the three identical input QuantizeLinear nodes of separate q/k/v
    projections into one with three consumers, and then cannot fuse any of them into integer
    MatMuls. One projection keeps one Q -> DQ -> MatMul chain. Exact: per-channel weight scales
    concatenate, and the three input observers saw the same tensor, so their ranges agree (the
    query's is used). Call on a copy: the fused module is not part of the checkpoint format."""
    from .modeling import BertSelfAttention

    fused = 0
    for block in model.modules():
        if not isinstance(block, BertSelfAttention):
            continue
        parts = [block.query, block.key, block.value]
        if not all(isinstance(p, QuantLinear) and p.weight_frozen for p in parts):
            raise ValueError("fuse_qkv_for_export needs a frozen QAT model")
        q = parts[0]
        qkv = QuantLinear(q.in_features, 3 * q.out_features, observer_mode=q.input_quant.mode)
        with torch.no_grad():
            qkv.weight.copy_(torch.cat([p.weight for p in parts]))
            qkv.bias.copy_(torch.cat([p.bias for p in parts]))
            qkv.weight_scale.copy_(torch.cat([p.weight_scale for p in parts]))
            qkv.input_quant.scale.copy_(q.input_quant.scale)
            qkv.input_quant.zero_point.copy_(q.input_quant.zero_point)
        qkv.weight_frozen = True
        qkv.input_quant.quantizing = True
        block.fused_qkv = qkv.to(q.weight.device)
        fused += 1
    return fused
