"""The checkpoints a spec names besides the teacher (student.init, general_teacher, mlm_model), read
and checked before any stage runs.

Each is otherwise first read by the stage that uses it, after teacher fine-tuning: a wrong
vocabulary, a head count the student cannot be grouped into or an init checkpoint of another
shape would end the job as bad input only after hours of work. Errors name the spec field.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch

from . import run_models
from .context import RunContext
from .errors import InvalidInputError
from .modeling import BertForDistillation
from .student_init import apply_init


@contextlib.contextmanager
def naming_field(field: str, path: Optional[str]) -> Iterator[None]:
    """Re-raises an InvalidInputError from the block with the spec field in front of its message
    (and the checkpoint folder as its file when it named none)."""
    try:
        yield
    except InvalidInputError as exc:
        raise InvalidInputError(f"{field}: {exc.message}", file=exc.file or path, line=exc.line, tensor=exc.tensor) from exc


def check_named_checkpoints(ctx: RunContext) -> None:
    """Reads every checkpoint a stage still to run will need and checks it against the teacher and
    the student, as that stage would. Raises InvalidInputError naming the spec field and the file."""
    spec = ctx.spec
    student_built = ctx.completed("general_distill") or ctx.completed("task_distill")
    if spec.student.init_kind != "random" and not student_built:
        with naming_field("student.init", spec.student.init_path):
            # A throwaway student: building it must not move the job's random stream.
            with torch.random.fork_rng(devices=[]):
                model = BertForDistillation(run_models.student_config(ctx), spec.task)
            apply_init(model, spec.student, ctx.teacher_ckpt)
    if spec.stages["general_distill"].enabled and not ctx.completed("general_distill") and spec.general_teacher_path is not None:
        with naming_field("general_teacher", spec.general_teacher_path):
            run_models.general_teacher_checkpoint(ctx)
    augment = spec.stages["augment"]
    if augment.enabled and "mlm" in augment.extra["methods"] and not ctx.completed("augment") and spec.mlm_model_path is not None:
        with naming_field("mlm_model", spec.mlm_model_path):
            run_models.mlm_checkpoint(ctx)
