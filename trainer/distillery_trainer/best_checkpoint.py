"""The best evaluation of a training stage: the weights to export instead of the last step's, and
early stopping once evaluations stop improving.

The training loop (loop.run_loop) drives a BestCheckpoint: it evaluates at least
`min_evaluations` times per stage, calls observe() after each evaluation, keeps state_dict() in
its progress checkpoint (so a resumed run still knows the best so far) and stops when
should_stop. The stage calls restore() after the loop and records summary().
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import nn

# Evaluations a stage gets at least, however few epochs it has (a 1.5-epoch stage would otherwise
# have two, a fractional one a single evaluation: nothing to choose from).
MIN_EVALUATIONS = 4


class BestCheckpoint:
    """Tracks a module's best evaluation by one metric, higher being better.

    metric: the key of the evaluation's metrics to compare (metrics.HEADLINE_METRIC[task]).
    patience: evaluations in a row without a strictly better value after which should_stop is
    true; None never stops. The best weights are copied to CPU memory at each improvement (a
    4 x 312 student is about 58 MB in FP32); ties keep the earlier step."""

    def __init__(self, module: nn.Module, metric: str, *, patience: Optional[int] = None, min_evaluations: int = MIN_EVALUATIONS) -> None:
        if patience is not None and patience <= 0:
            raise ValueError("patience must be positive or None")
        self.module = module
        self.metric = metric
        self.patience = patience
        self.min_evaluations = max(1, min_evaluations)
        self.best_step: Optional[int] = None
        self.best_value: Optional[float] = None
        self.last_step: Optional[int] = None
        self.last_value: Optional[float] = None
        self.evaluations = 0
        self.since_best = 0
        self.stopped_at: Optional[int] = None
        self._weights: Optional[Dict[str, torch.Tensor]] = None

    def observe(self, step: int, metrics: Dict[str, float]) -> bool:
        """Records the evaluation after optimizer step `step`; True when it is the best so far."""
        if self.metric not in metrics:
            raise KeyError(f"evaluation has no {self.metric!r} (got {sorted(metrics)})")
        value = float(metrics[self.metric])
        self.evaluations += 1
        self.last_step, self.last_value = step, value
        if self.best_value is not None and value <= self.best_value:
            self.since_best += 1
            return False
        self.best_step, self.best_value, self.since_best = step, value, 0
        self._weights = {k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()}
        return True

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.since_best >= self.patience

    def mark_stopped(self, step: int) -> None:
        self.stopped_at = step

    def restore(self) -> bool:
        """Loads the best weights into the module; False (module unchanged) when nothing was evaluated."""
        if self._weights is None:
            return False
        self.module.load_state_dict(self._weights)
        return True

    def state_dict(self) -> Dict[str, Any]:
        """Everything observe() has learned, for a progress checkpoint (tensors on CPU)."""
        return {
            "best_step": self.best_step, "best_value": self.best_value, "last_step": self.last_step, "last_value": self.last_value,
            "evaluations": self.evaluations, "since_best": self.since_best, "weights": self._weights,
        }

    def load_state_dict(self, state: Optional[Dict[str, Any]]) -> None:
        if not state:
            return
        self.best_step, self.best_value = state["best_step"], state["best_value"]
        self.last_step, self.last_value = state["last_step"], state["last_value"]
        self.evaluations, self.since_best = int(state["evaluations"]), int(state["since_best"])
        self._weights = state["weights"]

    def summary(self) -> Dict[str, Any]:
        """For training.json: which step was best and its metric, the last evaluation's beside it."""
        return {
            "metric": self.metric, "best_step": self.best_step, "best": self.best_value,
            "last_step": self.last_step, "last": self.last_value, "evaluations": self.evaluations,
            "early_stopping_patience": self.patience, "early_stopped_at": self.stopped_at,
        }
