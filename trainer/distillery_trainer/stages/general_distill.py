"""general_distill: the method's first stage - the student learns the teacher encoder's embeddings,
attention and hidden states on unlabeled text (no prediction layer, so no temperature)."""

from __future__ import annotations

import torch

from .. import checkpoint as ckpt_io
from .. import data as data_io
from .. import distill_steps as steps
from .. import run_models
from ..context import RunContext
from ..errors import InvalidInputError
from ..loop import run_loop
from ..text_corpus import LineFeatures, TokenisedLines

NAME = "general_distill"


def run(ctx: RunContext) -> None:
    stage = ctx.spec.stages[NAME]
    if not stage.enabled:
        ctx.skip(NAME, "disabled")
        return
    if not ctx.spec.unlabeled:
        raise InvalidInputError("general_distill is enabled but data.unlabeled is null")
    ctx.start(NAME)
    # General distillation learns from a pre-trained encoder (general_teacher), not a task-tuned
    # one; without one, from the teacher checkpoint as given (before teacher_finetune).
    teacher = run_models.on_device(ctx, ckpt_io.build_from_checkpoint(run_models.general_teacher_checkpoint(ctx), "encoder")).eval()
    student = run_models.initial_student(ctx, "encoder")
    setup = run_models.intermediate_setup(ctx, teacher, stage.extra["layer_reduction"])
    # Tokenised once into a flat array; features are built per batch (text_corpus), so a corpus
    # of hundreds of thousands of lines costs tens of MB, not gigabytes.
    features = LineFeatures(TokenisedLines(ctx.tokenizer, data_io.load_unlabeled(ctx.spec.unlabeled)), ctx.spec.max_length)

    def step(batch, epoch):
        with ctx.rt.autocast():
            with torch.no_grad():
                t_out = teacher(*batch.model_inputs(), output_internals=True)
            s_out = student(*batch.model_inputs(), output_internals=True)
        terms = steps.intermediate_losses(s_out, t_out, batch, setup)
        return steps.weighted_sum(terms, {"embed": 1.0, "attention": 1.0, "hidden": 1.0})

    done = run_loop(ctx.rt, ctx.loop_config(stage), features, {"student": student, "projections": setup.projections}, step)
    out_dir = ctx.state.stage_dir(NAME)
    ckpt_io.save_checkpoint(student, ctx.tokenizer, out_dir)
    ctx.complete(NAME, done, out_dir)
