"""The models of a run, built from the spec and what earlier stages left in the work dir: the task
teacher, the student at each point of the pipeline (initial, distilled FP32, QAT)."""

from __future__ import annotations

import os
from typing import Optional, Tuple

import torch

from . import checkpoint as ckpt_io
from .checkpoint import Checkpoint
from .context import RunContext
from .distill_steps import IntermediateLossSetup
from .errors import InvalidInputError
from .losses import DistillProjections, check_head_grouping, layer_mapping
from .modeling import BertConfig, BertForDistillation
from .quantization import QatController, prepare_qat
from .student_init import OPTIONAL_PREFIXES, apply_init, check_same_vocabulary

TASK_HEAD_TENSORS = {"classification": "classifier.weight", "qa": "qa_outputs.weight"}


def student_config(ctx: RunContext) -> BertConfig:
    s, t = ctx.spec.student, ctx.teacher_ckpt.config
    return BertConfig(
        vocab_size=t.vocab_size, hidden_size=s.hidden, num_hidden_layers=s.layers, num_attention_heads=s.heads,
        intermediate_size=s.intermediate, max_position_embeddings=t.max_position_embeddings,
        type_vocab_size=t.type_vocab_size, layer_norm_eps=t.layer_norm_eps, ffn_rank=s.ffn_rank,
        hidden_dropout_prob=s.dropout, attention_probs_dropout_prob=s.dropout,
        id2label=ctx.data.id2label, pad_token_id=ctx.tokenizer.pad_id,
    )


def on_device(ctx: RunContext, model: BertForDistillation) -> BertForDistillation:
    return model.to(ctx.rt.device)


def base_teacher_checkpoint(ctx: RunContext) -> Checkpoint:
    """The teacher before fine-tuning: this work dir's mlm_pretrain result when that stage
    completed, else the teacher checkpoint as given."""
    if ctx.completed("mlm_pretrain"):
        return ckpt_io.read_checkpoint(ctx.state.stage_dir("mlm_pretrain"))
    return ctx.teacher_ckpt


def mlm_teacher(ctx: RunContext) -> BertForDistillation:
    """The teacher checkpoint as an encoder with its masked-LM head (cls.predictions.*), for
    mlm_pretrain; a checkpoint without one gets a fresh head (BERT's initialization, seeded),
    its decoder tied to the word embeddings as in BERT (modeling.BertForDistillation.mlm_logits)."""
    ckpt = ctx.teacher_ckpt
    torch.manual_seed(ctx.spec.seed)
    model = BertForDistillation(BertConfig(**{**ckpt.config.__dict__}), "encoder", with_mlm_head=True)
    absent = ckpt_io.load_weights(model, ckpt.tensors, ckpt.weights_file, optional_prefixes=("cls.", ckpt_io.POOLER_PREFIX))
    ctx.state.history("mlm_pretrain")["mlm_head"] = "fresh" if any(n.startswith("cls.") for n in absent) else "from the teacher"
    return on_device(ctx, model)


def teacher(ctx: RunContext) -> BertForDistillation:
    """The task teacher: fine-tuned in this work dir, or the given checkpoint with its head."""
    if "teacher" not in ctx.models:
        if ctx.completed("teacher_finetune"):
            ckpt = ckpt_io.read_checkpoint(ctx.state.stage_dir("teacher_finetune"))
        else:
            ckpt = base_teacher_checkpoint(ctx)
            if not ckpt.has_task_head(ctx.spec.task):
                raise InvalidInputError(
                    "teacher checkpoint has no task head and was not fine-tuned", file=ckpt.weights_file, tensor=TASK_HEAD_TENSORS[ctx.spec.task]
                )
        ctx.models["teacher"] = on_device(ctx, ckpt_io.build_from_checkpoint(ckpt, ctx.spec.task, id2label=ctx.data.id2label))
    return ctx.models["teacher"]


def initial_student(ctx: RunContext, task: Optional[str] = None) -> BertForDistillation:
    """The student a stage starts from: general-distilled in this work dir when that stage
    completed, else student.init (random, the teacher's layers, or a checkpoint). `task` "encoder"
    builds it without a task head (general distillation)."""
    torch.manual_seed(ctx.spec.seed)
    model = BertForDistillation(student_config(ctx), task or ctx.spec.task)
    if ctx.completed("general_distill") and task != "encoder":
        general = ckpt_io.read_checkpoint(ctx.state.stage_dir("general_distill"))
        ckpt_io.load_weights(model, general.tensors, general.weights_file, optional_prefixes=OPTIONAL_PREFIXES)
        ctx.state.history("task_distill")["init"] = "general_distill"
    else:
        described = apply_init(model, ctx.spec.student, base_teacher_checkpoint(ctx))
        ctx.state.history("general_distill" if task == "encoder" else "task_distill")["init"] = described
    return on_device(ctx, model)


def fp32_student(ctx: RunContext) -> BertForDistillation:
    """The distilled FP32 student (or the initial one when task_distill did not run)."""
    if ctx.completed("task_distill"):
        ckpt = ckpt_io.read_checkpoint(ctx.state.stage_dir("task_distill"))
        return on_device(ctx, ckpt_io.build_from_checkpoint(ckpt, ctx.spec.task, id2label=ctx.data.id2label))
    return initial_student(ctx)


def qat_student(ctx: RunContext) -> Tuple[BertForDistillation, QatController]:
    extra = ctx.spec.stages["qat"].extra
    model = prepare_qat(fp32_student(ctx), extra["observer"])
    return model, QatController(model, extra["recalibrate_every"])


def qat_state_path(ctx: RunContext) -> str:
    return os.path.join(ctx.state.stage_dir("qat"), "state.pt")


def load_qat_student(ctx: RunContext) -> Optional[BertForDistillation]:
    """The QAT student with frozen quantizers, or None when the qat stage did not complete."""
    if not ctx.completed("qat"):
        return None
    model, controller = qat_student(ctx)
    model.load_state_dict(ckpt_io.load_torch_file(qat_state_path(ctx)))  # type: ignore[arg-type]
    controller.freeze()
    return model.eval()


def intermediate_setup(ctx: RunContext, teacher: BertForDistillation, layer_reduction: str) -> IntermediateLossSetup:
    """Fresh student-to-teacher width projections and the layer mapping for the intermediate
    losses; `layer_reduction` ("sum" or "mean") is the calling stage's."""
    s, t = ctx.spec.student, teacher.config
    projections = DistillProjections(s.hidden, t.hidden_size, s.layers).to(ctx.rt.device)
    return IntermediateLossSetup(
        projections, layer_mapping(s.layers, t.num_hidden_layers), ctx.spec.stages["task_distill"].extra["attention_loss"], layer_reduction
    )


def general_teacher_checkpoint(ctx: RunContext) -> Checkpoint:
    """general_distill's teacher: spec general_teacher_path (checked against the student and the
    teacher's vocabulary), or this run's fine-tuned teacher (general_teacher_finetuned), else the
    teacher before fine-tuning (base_teacher_checkpoint: mlm_pretrain's result when it ran)."""
    path = ctx.spec.general_teacher_path
    if ctx.spec.general_teacher_finetuned:
        if not ctx.completed("teacher_finetune"):
            raise InvalidInputError("general_teacher is finetuned_teacher but teacher_finetune did not run: enable it, or give a general_teacher checkpoint")
        return ckpt_io.read_checkpoint(ctx.state.stage_dir("teacher_finetune"))
    if path is None:
        return base_teacher_checkpoint(ctx)
    general = ckpt_io.read_checkpoint(path)
    check_same_vocabulary(ctx.teacher_ckpt, general, "general teacher")
    layer_mapping(ctx.spec.student.layers, general.config.num_hidden_layers)
    check_head_grouping(ctx.spec.student.heads, general.config.num_attention_heads)
    if ctx.spec.max_length > general.config.max_position_embeddings:
        raise InvalidInputError(
            f"max_length {ctx.spec.max_length} exceeds the general teacher's max_position_embeddings {general.config.max_position_embeddings}",
            file=os.path.join(path, "config.json"),
        )
    return general


def mlm_checkpoint(ctx: RunContext) -> Optional[Checkpoint]:
    """augment's masked LM: spec mlm_model_path (it must have an MLM head and the teacher's
    vocabulary), else the teacher before fine-tuning (mlm_pretrain's result when it ran) when it
    has an MLM head, else None."""
    path = ctx.spec.mlm_model_path
    if path is None:
        base = base_teacher_checkpoint(ctx)
        return base if base.has_mlm_head else None
    model = ckpt_io.read_checkpoint(path)
    check_same_vocabulary(ctx.teacher_ckpt, model, "mlm_model")
    if not model.has_mlm_head:
        raise InvalidInputError("mlm_model has no masked-LM head (cls.predictions.*): give a pre-trained BertForMaskedLM / BertForPreTraining checkpoint", file=model.weights_file)
    return model
