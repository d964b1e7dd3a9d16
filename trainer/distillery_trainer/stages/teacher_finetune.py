"""teacher_finetune: supervised fine-tuning of the teacher's task head and encoder, when the
teacher checkpoint has no trained head (or when asked to)."""

from __future__ import annotations

import torch

from .. import checkpoint as ckpt_io
from .. import distill_steps as steps
from .. import run_models
from ..context import RunContext
from ..errors import InvalidInputError
from ..evaluation import evaluate
from ..loop import run_loop

NAME = "teacher_finetune"


def run(ctx: RunContext) -> None:
    stage = ctx.spec.stages[NAME]
    # After mlm_pretrain, the pre-trained teacher (saved without a task head, so "auto" tunes it).
    base = run_models.base_teacher_checkpoint(ctx)
    has_head = base.has_task_head(ctx.spec.task)
    if stage.enabled is False or (stage.enabled == "auto" and has_head):
        if not has_head:
            raise InvalidInputError(
                "teacher checkpoint has no task head and teacher_finetune is disabled",
                file=base.weights_file, tensor=run_models.TASK_HEAD_TENSORS[ctx.spec.task],
            )
        ctx.skip(NAME, "disabled" if stage.enabled is False else "teacher already has a task head")
        return
    ctx.start(NAME)
    torch.manual_seed(ctx.spec.seed)
    model = run_models.on_device(ctx, ckpt_io.build_from_checkpoint(base, ctx.spec.task, id2label=ctx.data.id2label))

    def step(batch, epoch):
        with ctx.rt.autocast():
            out = model(*batch.model_inputs())
        return steps.task_loss(model, out, batch), {}

    done = run_loop(ctx.rt, ctx.loop_config(stage), ctx.data.train_features, {"teacher": model}, step,
                    evaluate=lambda: evaluate(ctx, model, "teacher"))
    out_dir = ctx.state.stage_dir(NAME)
    ckpt_io.save_checkpoint(model, ctx.tokenizer, out_dir)
    ctx.models["teacher"] = model.eval()
    ctx.complete(NAME, done, out_dir)
