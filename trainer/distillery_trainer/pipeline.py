"""A `train` run: open the work dir, build the run context, and run each stage of spec.STAGES in
order - skipping those an earlier run finished, resuming one that was stopped mid-way."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass

import numpy as np
import torch

from . import checkpoint as ckpt_io
from .context import RunContext
from .errors import StopRequested
from .events import EventWriter
from .loop import Runtime, resolve_device
from .preflight import check_named_checkpoints
from .spec import STAGES, Spec
from .stages import STAGE_FUNCTIONS
from .state import RunState
from .task_data import check_shapes, load_task_data


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@dataclass
class StopFlag:
    """Set from a signal handler; the loop checks it after each step (and here between stages)."""

    requested: bool = False


def build_context(spec: Spec, work_dir: str, rt: Runtime) -> RunContext:
    """Reads the teacher, the task data and every other checkpoint a stage still to run needs;
    raises InvalidInputError before anything trains."""
    teacher = ckpt_io.read_checkpoint(spec.teacher_path)
    check_shapes(spec, teacher)
    ctx = RunContext(spec=spec, work_dir=os.path.abspath(work_dir), events=rt.events, state=rt.state, rt=rt,
                     teacher_ckpt=teacher, data=load_task_data(spec, teacher))
    check_named_checkpoints(ctx)
    return ctx


def run_pipeline(spec: Spec, work_dir: str, events: EventWriter, stop: StopFlag) -> RunContext:
    """Runs every stage; raises StopRequested (checkpoint saved) when `stop` is set mid-run."""
    state = RunState(os.path.join(os.path.abspath(work_dir), "checkpoints"))
    resumed = state.resumed_from() if state.existed else None
    device, precision = resolve_device(spec.device, spec.precision)
    rt = Runtime(device, precision, events, state, spec.seed, stop)
    set_seed(spec.seed)
    events.emit("start", job_id=spec.job_id, device=str(device), precision=precision, torch=torch.__version__, resumed_from=resumed)
    ctx = build_context(spec, work_dir, rt)
    for name in STAGES:
        finished = ctx.state.finished(name)
        if finished is not None:
            reason = "finished in an earlier run" if finished["status"] == "completed" else finished.get("reason")
            events.emit("stage", stage=name, status="skipped", reason=reason)
            if finished["status"] == "completed":
                ctx.stages_run.append(name)
            continue
        if stop.requested:
            raise StopRequested(ctx.state.path)
        started = time.monotonic()
        STAGE_FUNCTIONS[name](ctx)
        history = ctx.state.history(name)
        history["seconds"] = history.get("seconds", 0.0) + (time.monotonic() - started)
        ctx.state.save()
    events.emit("done", output_dir=ctx.output_dir, summary=ctx.state.data.get("summary") or {"stages": ctx.stages_run})
    return ctx
