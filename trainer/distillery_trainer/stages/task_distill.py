"""task_distill: the method's second stage - prediction-layer distillation (soft cross-entropy at
a temperature) plus the intermediate losses, from the task teacher on the task's (and augmented)
data, with the source's dynamic weights or fixed ones."""

from __future__ import annotations

from typing import Dict

import torch

from .. import checkpoint as ckpt_io
from .. import distill_steps as steps
from .. import run_models
from ..context import RunContext
from ..evaluation import evaluate
from ..loop import run_loop
from ..losses import dynamic_weights
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
            ctx.events.emit("eval", stage=NAME, role=result[0], metrics=result[1], step=0)
            ctx.state.history(NAME)["eval"].append({"step": 0, "role": result[0], "metrics": result[1]})
    student = run_models.initial_student(ctx)
    setup = run_models.intermediate_setup(ctx, teacher)
    features = ctx.data.train_features + augmented_features(ctx)
    extra = stage.extra

    def weights(epoch: int) -> Dict[str, float]:
        if extra["weights"] == "dynamic":
            return dynamic_weights(epoch, stage.epochs, extra["hidden_weight"], extra["attention_weight"])
        return dict(extra["weights"])

    def step(batch, epoch):
        with ctx.rt.autocast():
            with torch.no_grad():
                t_out = teacher(*batch.model_inputs(), output_internals=True)
            s_out = student(*batch.model_inputs(), output_internals=True)
        terms = steps.intermediate_losses(s_out, t_out, batch, setup)
        terms["pred"] = steps.prediction_loss(s_out, t_out, batch, stage.temperature)
        return steps.weighted_sum(terms, weights(epoch))

    done = run_loop(ctx.rt, ctx.loop_config(stage), features, {"student": student, "projections": setup.projections}, step,
                    evaluate=lambda: evaluate(ctx, student, "student"))
    out_dir = ctx.state.stage_dir(NAME)
    ckpt_io.save_checkpoint(student, ctx.tokenizer, out_dir)
    ctx.complete(NAME, done, out_dir)
