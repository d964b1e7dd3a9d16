"""The training loop every stage shares: data order, AdamW with linear warmup/decay, mixed
precision, progress events, periodic checkpoints, SIGTERM handling and resume.

Resume is exact in data order: the order of epoch e is a permutation drawn from a generator
seeded by (seed, stage, e), so a rerun skips the batches already done and continues with the
same ones; dropout is reseeded per step for the same reason.

With fp16 on CUDA, a step whose gradients overflowed is skipped by the GradScaler and counted
(`skipped_steps` in progress events and the stage history); only a run that keeps overflowing
fails (loss_scaling.OverflowGuard). fp32 and bf16 fail on the first non-finite loss.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .best_checkpoint import BestCheckpoint
from .errors import InvalidInputError, StopRequested
from .events import EventWriter
from .features import Batch, Feature, collate
from .loss_scaling import OverflowGuard
from .state import RunState

log = logging.getLogger(__name__)

STAGE_SEEDS = {"mlm_pretrain": 7, "teacher_finetune": 1, "general_distill": 2, "augment": 3, "task_distill": 4, "qat": 5, "export": 6}
MAX_GRAD_NORM = 1.0


class Runtime:
    """Device, precision and the shared services (events, state, stop flag) of one run."""

    def __init__(self, device: torch.device, precision: str, events: EventWriter, state: RunState, seed: int, stop: Optional[Any] = None) -> None:
        self.device = device
        self.precision = precision
        self.events = events
        self.state = state
        self.seed = seed
        # Anything with a boolean `requested` (pipeline.StopFlag), set by a signal handler.
        self._stop = stop

    @property
    def stop_requested(self) -> bool:
        return bool(self._stop is not None and self._stop.requested)

    def record_eval(self, stage: str, step: int, role: str, metrics: Dict[str, float]) -> None:
        """An evaluation after `step` steps of `stage`: the eval event and the stage history's entry."""
        self.events.emit("eval", stage=stage, role=role, metrics=metrics, step=step)
        self.state.history(stage)["eval"].append({"step": step, "role": role, "metrics": metrics})

    @property
    def autocast_dtype(self) -> Optional[torch.dtype]:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    def autocast(self):
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def grad_scaler(self):
        enabled = self.precision == "fp16" and self.device.type == "cuda"
        amp = getattr(torch, "amp", None)
        if amp is not None and hasattr(amp, "GradScaler"):
            try:
                return amp.GradScaler("cuda", enabled=enabled)  # PyTorch 2.3+
            except TypeError:
                pass
        return torch.cuda.amp.GradScaler(enabled=enabled)


def resolve_device(requested: str, precision: str) -> Tuple[torch.device, str]:
    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise InvalidInputError("device 'cuda' requested but CUDA is not available")
    device = torch.device("cuda" if requested == "cuda" or (requested == "auto" and has_cuda) else "cpu")
    if device.type == "cpu" and precision != "fp32":
        if precision == "fp16":
            raise InvalidInputError("precision fp16 needs CUDA; use fp32 (or bf16) on CPU")
        try:
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                torch.nn.functional.linear(torch.ones(2, 2), torch.ones(2, 2)).sum().item()
        except Exception as exc:  # any failure means autocast is unusable here
            raise InvalidInputError(f"precision bf16 is not supported on this CPU: {exc}") from exc
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise InvalidInputError("precision bf16 is not supported by this GPU; use fp16 or fp32")
    return device, precision


@dataclass
class LoopConfig:
    stage: str
    epochs: float
    batch_size: int
    lr: float
    warmup_ratio: float
    max_steps: Optional[int]
    checkpoint_every: int
    eval_every_epoch: bool
    task: str
    pad_id: int
    weight_decay: float = 0.01


StepFn = Callable[[Batch, int], Tuple[torch.Tensor, Dict[str, float]]]


def linear_schedule(step: int, total: int, warmup: int) -> float:
    """LR multiplier: linear warmup from 0 over `warmup` steps, then linear decay to 0."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def _optimizer(modules: Dict[str, nn.Module], cfg: LoopConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    seen = set()
    for module in modules.values():
        for name, p in module.named_parameters():
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            # Biases and LayerNorm gains are not weight-decayed (BERT practice).
            (no_decay if p.dim() < 2 else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)


# Rows sorted by length within windows of this many batches (see data_order).
LENGTH_GROUP_BATCHES = 50


def data_order(n: int, seed: int, stage: str, epoch: int, lengths: Optional[Sequence[int]] = None, batch_size: int = 0) -> List[int]:
    """A seeded shuffle of range(n) for one epoch of one stage.

    With `lengths` and `batch_size`, rows of similar length share a batch: the shuffle is cut into
    windows of LENGTH_GROUP_BATCHES batches, each window sorted by length and cut into batches, and
    the batches shuffled. Batches pad to their longest row, so on short texts this about halves the
    padded tokens of a random order (the serving side's length buckets, applied to training), while
    each batch still draws from a random window of the data.
    """
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + STAGE_SEEDS.get(stage, 0) * 1009 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    if lengths is None or batch_size <= 1:
        return order
    window = batch_size * LENGTH_GROUP_BATCHES
    batches: List[List[int]] = []
    for start in range(0, n, window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    # Only the last window can end in a short batch; it stays last, so that cutting the order into
    # consecutive runs of batch_size (iterate_batches) gives back exactly these batches.
    full = len(batches) - (1 if len(batches[-1]) < batch_size else 0)
    shuffled = torch.randperm(full, generator=g).tolist() + list(range(full, len(batches)))
    return [i for b in shuffled for i in batches[b]]


def iterate_batches(features: Sequence[Feature], batch_size: int, pad_id: int, task: str, order: Optional[Sequence[int]] = None):
    order = list(order) if order is not None else list(range(len(features)))
    for i in range(0, len(order), batch_size):
        yield collate([features[j] for j in order[i : i + batch_size]], pad_id, task)


def total_steps(n_features: int, cfg: LoopConfig) -> Tuple[int, int]:
    per_epoch = max(1, math.ceil(n_features / cfg.batch_size))
    total = max(1, math.ceil(per_epoch * cfg.epochs))
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    return per_epoch, total


def eval_interval(per_epoch: int, total: int, min_evaluations: int = 1) -> int:
    """Optimizer steps between evaluations: one epoch, or less when the stage would otherwise
    evaluate fewer than `min_evaluations` times (few or fractional epochs). At most per_epoch, so
    every epoch is evaluated at least once; the stage's last step is always evaluated as well."""
    return max(1, min(per_epoch, total // max(1, min_evaluations)))


def run_loop(
    rt: Runtime,
    cfg: LoopConfig,
    features: Sequence[Feature],
    modules: Dict[str, nn.Module],
    step_fn: StepFn,
    *,
    evaluate: Optional[Callable[[], Optional[Tuple[str, Dict[str, float]]]]] = None,
    after_step: Optional[Callable[[int], None]] = None,
    on_resume: Optional[Callable[[int], None]] = None,
    best: Optional[BestCheckpoint] = None,
    evaluations: int = 1,
) -> int:
    """Trains `modules` with step_fn's loss; returns the number of steps of the stage.

    after_step(step) runs after each optimizer step (1-based); on_resume(step) once, when the
    stage resumes from a progress checkpoint taken after `step` steps. best: tracks evaluate()'s
    results (evaluations at least best.min_evaluations times), is kept in the progress
    checkpoint, and ends the stage early when best.should_stop. evaluations: how many times at
    least evaluate() runs over the stage (eval_interval), when no `best` says it."""
    if not features:
        raise InvalidInputError(f"stage {cfg.stage} has no training examples")
    per_epoch, total = total_steps(len(features), cfg)
    interval = eval_interval(per_epoch, total, best.min_evaluations if best is not None else evaluations)

    def eval_due(at: int) -> bool:
        return at == total or (cfg.eval_every_epoch and at % interval == 0)

    # A lazy corpus view (text_corpus) knows its lengths without building every feature.
    lengths = features.lengths() if hasattr(features, "lengths") else [len(f.input_ids) for f in features]
    warmup = int(cfg.warmup_ratio * total)
    optimizer = _optimizer(modules, cfg)
    scaler = rt.grad_scaler()
    guard = OverflowGuard(cfg.stage, scaler.is_enabled())
    history = rt.state.history(cfg.stage)
    step = 0
    progress = rt.state.load_progress(cfg.stage)
    if progress is not None:
        for name, module in modules.items():
            module.load_state_dict(progress["modules"][name])
        optimizer.load_state_dict(progress["optimizer"])
        if progress.get("scaler"):
            scaler.load_state_dict(progress["scaler"])
        guard.load_state_dict(progress.get("overflow") or {})
        step = int(progress["step"])
        if best is not None:
            best.load_state_dict(progress.get("best"))
        log.info("%s: resuming at step %d of %d", cfg.stage, step, total)
        if on_resume is not None:
            on_resume(step)

    def save(reason: str) -> str:
        payload = {
            "stage": cfg.stage,
            "step": step,
            "modules": {name: m.state_dict() for name, m in modules.items()},
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else {},
            "overflow": guard.state_dict(),
        }
        if best is not None:
            payload["best"] = best.state_dict()
        path = rt.state.save_progress(cfg.stage, payload)
        rt.events.emit("checkpoint", stage=cfg.stage, step=step, path=path)
        log.info("%s: checkpoint at step %d (%s)", cfg.stage, step, reason)
        return path

    evaluated_at = -1

    def run_eval() -> bool:
        """Evaluates at the current step; True when early stopping ends the stage here."""
        nonlocal evaluated_at
        evaluated_at = step
        if evaluate is None:
            return False
        result = evaluate()
        for module in modules.values():
            module.train()
        if result is None:
            return False
        role, metrics = result
        rt.record_eval(cfg.stage, step, role, metrics)
        if best is None:
            return False
        if best.observe(step, metrics):
            log.info("%s: best %s so far, %.4f at step %d", cfg.stage, best.metric, best.best_value, step)
        if best.should_stop:
            best.mark_stopped(step)
            log.info("%s: stopping early at step %d: no better %s in %d evaluations (best %.4f at step %d)",
                     cfg.stage, step, best.metric, best.since_best, best.best_value, best.best_step)
            return True
        return False

    log_every = max(1, min(50, total // 20))
    started = time.monotonic()
    steps_here = 0
    stopped_early = False
    if progress is not None and eval_due(step) and all(e["step"] != step for e in history["eval"]):
        # A stop signal saved this checkpoint before its step's evaluation ran: run it now.
        stopped_early = run_eval()
    for module in modules.values():
        module.train()
    # The scale before each update, to tell a skipped step (the scale drops) - one host sync per
    # step with fp16, none without a scaler.
    scale = scaler.get_scale()
    for epoch in range(step // per_epoch + 1, math.ceil(cfg.epochs) + 1):
        if step >= total or stopped_early:
            break
        order = data_order(len(features), rt.seed, cfg.stage, epoch, lengths, cfg.batch_size)
        skip = step - (epoch - 1) * per_epoch
        for index, batch in enumerate(iterate_batches(features, cfg.batch_size, cfg.pad_id, cfg.task, order)):
            if index < skip:
                continue
            if step >= total:
                break
            torch.manual_seed(rt.seed * 7919 + STAGE_SEEDS.get(cfg.stage, 0) * 104729 + step)
            lr = cfg.lr * linear_schedule(step, total, warmup)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss, terms = step_fn(batch.to(rt.device), epoch)
            guard.check_loss(loss, step + 1)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], MAX_GRAD_NORM)
            scaler.step(optimizer)
            scaler.update()
            if guard.scaling:
                scale_after = scaler.get_scale()
                guard.record(scale, scale_after, step + 1)
                scale = scale_after
            step += 1
            steps_here += 1
            if after_step is not None:
                after_step(step)
            if step % log_every == 0 or step == total:
                elapsed = max(time.monotonic() - started, 1e-9)
                rate = steps_here / elapsed
                # A skipped fp16 step's loss may be inf/NaN: such terms are left out, not sent as null.
                losses = {k: v for k, v in {"total": float(loss.detach()), **terms}.items() if math.isfinite(v)}
                rt.events.emit(
                    "progress", stage=cfg.stage, epoch=epoch, step=step, total=total, losses=losses,
                    lr=lr, steps_per_sec=round(rate, 4), eta_s=round((total - step) / rate, 1), skipped_steps=guard.skipped,
                )
                history["losses"].append({"step": step, "epoch": epoch, **losses})
            if rt.stop_requested:
                # Before this step's evaluation: a stop should not wait for one. Resume runs it.
                path = save("SIGTERM")
                raise StopRequested(path)
            # Evaluated before the checkpoint of the same step, so that the checkpoint holds it.
            if eval_due(step) and run_eval():
                stopped_early = True
                break
            if step % cfg.checkpoint_every == 0 and step < total:
                save("periodic")
    if evaluated_at != step:
        run_eval()
    history["steps"] = step
    history["skipped_steps"] = guard.skipped
    # history["seconds"] is the whole stage's (evaluations included): pipeline.run_pipeline adds it.
    return step
