"""fp16 overflow handling, on CPU: the guard fed scales, and the training loop with a stand-in
for CUDA's GradScaler (which needs a GPU to scale anything)."""

import io
import math

import pytest
import torch

from distillery_trainer.events import EventWriter
from distillery_trainer.features import Feature
from distillery_trainer.loop import LoopConfig, Runtime, run_loop
from distillery_trainer.loss_scaling import MAX_CONSECUTIVE_SKIPS, OverflowGuard
from distillery_trainer.state import RunState


def test_without_a_scaler_a_non_finite_loss_fails_at_once():
    guard = OverflowGuard("task_distill", scaling=False)
    guard.check_loss(torch.tensor(1.5), 1)
    with pytest.raises(FloatingPointError, match="task_distill: loss is inf at step 3"):
        guard.check_loss(torch.tensor(float("inf")), 3)
    assert guard.record(1.0, 1.0, 3) is False and guard.skipped == 0


def test_with_a_scaler_skipped_steps_are_counted_and_only_a_long_run_of_them_fails():
    guard = OverflowGuard("qat", scaling=True)
    guard.check_loss(torch.tensor(float("nan")), 1)  # the scaler decides, not the loss
    scale = 65536.0
    assert guard.record(scale, scale / 2, 1) is True  # the scale dropped: skipped
    assert guard.record(scale / 2, scale / 2, 2) is False  # held: applied
    assert guard.record(scale / 2, scale, 3) is False  # grew after a clean run: applied
    assert (guard.skipped, guard.consecutive) == (1, 0)
    for step in range(4, 4 + MAX_CONSECUTIVE_SKIPS):
        guard.record(scale, scale / 2, step)
        scale /= 2
    assert guard.consecutive == MAX_CONSECUTIVE_SKIPS
    with pytest.raises(FloatingPointError, match=r"26 fp16 steps in a row overflowed .* precision bf16 or fp32"):
        guard.record(scale, scale / 2, 30)
    restored = OverflowGuard("qat", scaling=True)
    restored.load_state_dict(guard.state_dict())
    assert (restored.skipped, restored.consecutive) == (guard.skipped, guard.consecutive)


class StandInScaler:
    """CUDA GradScaler's contract, on CPU: scales the loss, and when a gradient is not finite skips
    optimizer.step() and halves the scale."""

    def __init__(self) -> None:
        self.scale_value = 2.0**16
        self.found_inf = False

    def is_enabled(self) -> bool:
        return True

    def scale(self, loss):
        return loss * self.scale_value

    def unscale_(self, optimizer) -> None:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        self.found_inf = not all(bool(torch.isfinite(g).all()) for g in grads)
        for g in grads:
            g.div_(self.scale_value)

    def step(self, optimizer) -> None:
        if not self.found_inf:
            optimizer.step()

    def update(self) -> None:
        if self.found_inf:
            self.scale_value /= 2

    def get_scale(self) -> float:
        return self.scale_value

    def state_dict(self):
        return {"scale": self.scale_value}

    def load_state_dict(self, state) -> None:
        self.scale_value = state["scale"]


def _loop(tmp_path, monkeypatch, overflowing_steps, precision="fp16"):
    """run_loop over 30 one-row batches of a linear model whose loss is inf at the given steps (1-based)."""
    if precision == "fp16":
        monkeypatch.setattr(Runtime, "grad_scaler", lambda self: StandInScaler())
    out = io.StringIO()
    rt = Runtime(torch.device("cpu"), precision, EventWriter(out), RunState(str(tmp_path / "state")), seed=1)
    cfg = LoopConfig(stage="task_distill", epochs=1, batch_size=1, lr=0.1, warmup_ratio=0.0, max_steps=None,
                     checkpoint_every=1000, eval_every_epoch=False, task="classification", pad_id=0)
    features = [Feature(input_ids=[2, 10 + i, 3], type_ids=[0, 0, 0], label=0) for i in range(30)]
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    seen = {"step": 0, "weights": []}

    def step_fn(batch, epoch):
        seen["step"] += 1
        loss = model(batch.input_ids.float()).pow(2).mean()
        if seen["step"] in overflowing_steps:
            loss = loss * float("inf")
        return loss, {"pred": float(loss.detach())}

    def after_step(step):
        seen["weights"].append(model.weight.detach().clone())

    done = run_loop(rt, cfg, features, {"student": model}, step_fn, after_step=after_step)
    events = [e for e in rt.events.history if e["type"] == "progress"]
    return done, events, rt.state.history("task_distill"), seen["weights"]


def test_fp16_overflowing_steps_are_skipped_counted_and_reported(tmp_path, monkeypatch):
    done, events, history, weights = _loop(tmp_path, monkeypatch, overflowing_steps={1, 2, 3, 17})
    assert done == 30
    assert history["skipped_steps"] == 4
    assert events[-1]["skipped_steps"] == 4 and events[0]["skipped_steps"] == 1
    # A skipped step leaves the weights alone; an applied one moves them.
    assert torch.equal(weights[16], weights[15]) and not torch.equal(weights[17], weights[16])
    for e in events:
        assert all(math.isfinite(v) for v in e["losses"].values())
    assert "total" not in events[16]["losses"] and "total" in events[17]["losses"]  # inf is left out, not sent as null


def test_fp16_that_keeps_overflowing_fails(tmp_path, monkeypatch):
    with pytest.raises(FloatingPointError, match="26 fp16 steps in a row overflowed"):
        _loop(tmp_path, monkeypatch, overflowing_steps=set(range(3, 31)))


def test_fp32_fails_on_the_first_non_finite_loss(tmp_path, monkeypatch):
    with pytest.raises(FloatingPointError, match="loss is inf at step 5"):
        _loop(tmp_path, monkeypatch, overflowing_steps={5}, precision="fp32")
