"""The run context every stage function receives: the resolved spec, the work dir's state, the
runtime (device, precision, events, stop flag), the teacher checkpoint and the task's data.

It holds what a run knows and the bookkeeping every stage shares (skip, complete, loop settings);
what a stage does lives in its own module under `stages/`. Nothing here imports a stage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from . import features as feats
from .checkpoint import Checkpoint
from .events import EventWriter
from .loop import LoopConfig, Runtime
from .modeling import BertForDistillation
from .spec import Spec, StageSpec
from .state import RunState
from .task_data import TaskData, task_features
from .tokenization import WordPieceTokenizer


@dataclass
class RunContext:
    spec: Spec
    work_dir: str
    events: EventWriter
    state: RunState
    rt: Runtime
    teacher_ckpt: Checkpoint
    data: TaskData
    # Stages completed in this work dir (this run or an earlier one), in order.
    stages_run: List[str] = field(default_factory=list)
    # Models a stage built that later stages reuse (the task teacher), by role.
    models: Dict[str, BertForDistillation] = field(default_factory=dict)

    @property
    def output_dir(self) -> str:
        return os.path.join(self.work_dir, "output")

    @property
    def tokenizer(self) -> WordPieceTokenizer:
        return self.teacher_ckpt.tokenizer

    def features(self, examples: Sequence, training: bool = False) -> List[feats.Feature]:
        return task_features(self.spec, self.tokenizer, examples, self.data.label_to_id, training)

    def completed(self, stage: str) -> bool:
        finished = self.state.finished(stage)
        return bool(finished) and finished["status"] == "completed"

    def loop_config(self, stage: StageSpec) -> LoopConfig:
        caps = [c for c in (stage.max_steps, self.spec.max_steps_per_stage) if c is not None]
        return LoopConfig(
            stage=stage.name, epochs=stage.epochs, batch_size=stage.batch_size, lr=stage.lr,
            warmup_ratio=stage.warmup_ratio, max_steps=min(caps) if caps else None,
            checkpoint_every=self.spec.checkpoint_every, eval_every_epoch=self.spec.eval_every_epoch,
            task=self.spec.task, pad_id=self.tokenizer.pad_id,
        )

    def start(self, stage: str) -> None:
        self.events.emit("stage", stage=stage, status="started")

    def skip(self, stage: str, reason: str) -> None:
        self.events.emit("stage", stage=stage, status="skipped", reason=reason)
        self.state.finish(stage, "skipped", reason)

    def complete(self, stage: str, step: int, result_path: Optional[str]) -> None:
        if result_path is not None:
            self.events.emit("checkpoint", stage=stage, step=step, path=result_path)
        self.state.finish(stage, "completed", step=step)
        self.state.clear_progress(stage)
        self.stages_run.append(stage)
        self.events.emit("stage", stage=stage, status="completed")
