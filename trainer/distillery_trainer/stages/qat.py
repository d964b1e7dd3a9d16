"""qat: quantization-aware training - fake-quantized INT8 weights and activations, observers
calibrated first and recalibrated while the student keeps learning the teacher's predictions."""

from __future__ import annotations

import os

import torch

from .. import distill_steps as steps
from .. import run_models
from ..context import RunContext
from ..best_checkpoint import BestCheckpoint
from ..evaluation import evaluate
from ..loop import run_loop, total_steps
from ..metrics import HEADLINE_METRIC
from ..quantization import calibration_batches

NAME = "qat"


def run(ctx: RunContext) -> None:
    stage = ctx.spec.stages[NAME]
    if not stage.enabled:
        ctx.skip(NAME, "disabled")
        return
    ctx.start(NAME)
    teacher = run_models.teacher(ctx).eval()
    student, controller = run_models.qat_student(ctx)
    cfg = ctx.loop_config(stage)
    features = ctx.data.train_features
    controller.plan(total_steps(len(features), cfg)[1])
    # The QAT student ships from its best evaluation, the calibrated start (step 0) included: on
    # a small eval set task_distill's best can be a high point that further training leaves, and
    # then QAT's last step would ship worse than plain post-training quantization would.
    best = BestCheckpoint(student, HEADLINE_METRIC[ctx.spec.task])
    fresh = ctx.state.load_progress(NAME) is None
    if fresh:
        student.eval()

        def calibration_forwards():
            for batch in calibration_batches(features, stage.batch_size, ctx.tokenizer.pad_id, ctx.spec.task, ctx.spec.seed):
                with torch.no_grad():
                    student(*batch.to(ctx.rt.device).model_inputs())
                yield None

        controller.calibrate(calibration_forwards())
    else:
        controller.set_mode(observing=True, quantizing=True)

    def step(batch, epoch):
        with ctx.rt.autocast():
            with torch.no_grad():
                t_out = teacher(*batch.model_inputs())
            s_out = student(*batch.model_inputs())
        loss = steps.prediction_loss(s_out, t_out, batch, stage.temperature)
        return loss, {"pred": float(loss.detach())}

    def evaluate_quantized():
        controller.set_mode(observing=False, quantizing=True)
        result = evaluate(ctx, student, "student_qat")
        controller.set_mode(observing=True, quantizing=True)
        return result

    if fresh:
        start = evaluate_quantized()
        if start is not None:
            ctx.rt.record_eval(NAME, 0, *start)
            best.observe(0, start[1])
    done = run_loop(ctx.rt, cfg, features, {"student": student}, step,
                    evaluate=evaluate_quantized, after_step=controller.after_step, on_resume=controller.resume_at, best=best)
    best.restore()
    ctx.state.history(NAME)["best_checkpoint"] = best.summary()
    controller.freeze()
    path = run_models.qat_state_path(ctx)
    torch.save({k: v.detach().cpu() for k, v in student.state_dict().items()}, path + ".tmp")
    os.replace(path + ".tmp", path)
    ctx.state.history(NAME)["recalibrations"] = controller.recalibrations
    ctx.complete(NAME, done, path)
