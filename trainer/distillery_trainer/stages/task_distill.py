"""task_distill: the method's second stage - prediction-layer distillation (soft cross-entropy at
a temperature) plus the intermediate losses, from the task teacher on the task's (and augmented)
data, with the source's dynamic weights or fixed ones."""

from __future__ import annotations

import torch

from .. import checkpoint as ckpt_io
from .. import distill_steps as steps
from .. import run_models
from ..context import RunContext
from ..evaluation import evaluate
from ..loop import run_loop
from ..best_checkpoint import BestCheckpoint
from ..metrics import HEADLINE_METRIC
from .augment import augmented_features

NAME = "task_distill"


def run(ctx: RunContext) -> None:
    stage = ctx.spec.stages[NAME]
    if not stage.enabled:
        ctx.skip(NAME, "disabled")
        return
    ctx.start(NAME)
    teacher = run_models.teacher(ctx).eval()
    if not ctx.completed("teacher_finetune") and ctx.state.load_progress(NAME) is None:
        # The teacher came with its head: report its quality once, before distilling from it.
        result = evaluate(ctx, teacher, "teacher")
        if result is not None:
            ctx.rt.record_eval(NAME, 0, *result)
    student = run_models.initial_student(ctx)
    setup = run_models.intermediate_setup(ctx, teacher, stage.extra["layer_reduction"])
    features = ctx.data.train_features + augmented_features(ctx)

    def step(batch, epoch):
        with ctx.rt.autocast():
            with torch.no_grad():
                t_out = teacher(*batch.model_inputs(), output_internals=True)
            s_out = student(*batch.model_inputs(), output_internals=True)
        return steps.task_distill_loss(s_out, t_out, batch, setup, stage, epoch)

    best = BestCheckpoint(student, HEADLINE_METRIC[ctx.spec.task], patience=stage.extra["early_stopping_patience"])
    done = run_loop(ctx.rt, ctx.loop_config(stage), features, {"student": student, "projections": setup.projections}, step,
                    evaluate=lambda: evaluate(ctx, student, "student"), best=best)
    best.restore()  # the best evaluation's weights are what QAT and export get
    ctx.state.history(NAME)["best_checkpoint"] = best.summary()
    out_dir = ctx.state.stage_dir(NAME)
    ckpt_io.save_checkpoint(student, ctx.tokenizer, out_dir)
    ctx.complete(NAME, done, out_dir)
