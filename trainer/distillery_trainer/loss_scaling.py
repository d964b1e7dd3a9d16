"""fp16 loss scaling: counting the optimizer steps the GradScaler skipped, and when to give up.

With fp16 autocast on CUDA, torch's GradScaler multiplies the loss by a scale (2^16 at first) so
that small gradients survive in fp16. When a gradient overflows to inf/NaN it skips that optimizer
step and halves the scale; after 2000 clean steps it doubles it again (torch.amp.GradScaler's
defaults). So some skipped steps are normal: while the scaler finds its scale at the start, and
now and then after a growth. fp32 and bf16 have no scaler (bf16 has fp32's exponent range), and a
non-finite loss there means the run diverged: it fails at once.

A run that keeps overflowing is another matter: each skip halves the scale, so 25 consecutive
skips take the initial 2^16 down to 2^-9, where the loss is scaled *down* 512-fold - no
gradient overflows from scaling any more. Overflowing still means the forward pass itself is
inf/NaN (too high a learning rate, an fp16-hostile input), and no further skipping will help.
"""

from __future__ import annotations

from typing import Dict

import torch

MAX_CONSECUTIVE_SKIPS = 25


class OverflowGuard:
    """Tracks a stage's skipped fp16 steps and fails a run that cannot recover.

    `scaling`: a GradScaler is in use (fp16 on CUDA). Without one, check_loss fails on the first
    non-finite loss. With one, a step counts as skipped when the scaler lowered its scale in
    update() (what it does exactly when it found inf/NaN gradients and skipped optimizer.step());
    more than `max_consecutive` skips in a row raise FloatingPointError."""

    def __init__(self, stage: str, scaling: bool, max_consecutive: int = MAX_CONSECUTIVE_SKIPS) -> None:
        self.stage = stage
        self.scaling = scaling
        self.max_consecutive = max_consecutive
        self.skipped = 0
        self.consecutive = 0

    def check_loss(self, loss: torch.Tensor, step: int) -> None:
        """Before backward() of step number `step` (1-based): a non-finite loss fails a run without
        a scaler. With one, the loss is not even looked at (reading it would be a host sync)."""
        if not self.scaling and not bool(torch.isfinite(loss)):
            raise FloatingPointError(f"{self.stage}: loss is {float(loss)} at step {step}")

    def record(self, scale_before: float, scale_after: float, step: int) -> bool:
        """After scaler.update() of step number `step` (1-based); returns whether the step was skipped."""
        skipped = self.scaling and scale_after < scale_before
        if not skipped:
            self.consecutive = 0
            return False
        self.skipped += 1
        self.consecutive += 1
        if self.consecutive > self.max_consecutive:
            raise FloatingPointError(
                f"{self.stage}: {self.consecutive} fp16 steps in a row overflowed (up to step {step}, loss scale now "
                f"{scale_after:g}); the loss itself is not finite - lower the learning rate or use precision bf16 or fp32"
            )
        return True

    def state_dict(self) -> Dict[str, int]:
        return {"skipped": self.skipped, "consecutive": self.consecutive}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        self.skipped = int(state.get("skipped", 0))
        self.consecutive = int(state.get("consecutive", 0))
