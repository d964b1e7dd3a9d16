"""The export stage's files in work-dir/output (docs/trainer-protocol.md, "Output")."""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any, Dict, List, Optional

import torch

from . import checkpoint as ckpt_io
from .export import INPUT_NAMES, export_int8, export_onnx, output_names
from .features import collate
from . import run_models
from .context import RunContext
from .modeling import BertForDistillation
from .state import write_json_atomic


log = logging.getLogger(__name__)

REFERENCE_EXAMPLES = 4


def _shape(model: BertForDistillation) -> Dict[str, Any]:
    c = model.config
    return {
        "layers": c.num_hidden_layers, "hidden": c.hidden_size, "heads": c.num_attention_heads,
        "intermediate": c.intermediate_size, "ffn_rank": c.ffn_rank, "vocab_size": c.vocab_size,
        "max_position_embeddings": c.max_position_embeddings,
    }


def _outputs_of(model: BertForDistillation, batch) -> Dict[str, List[List[float]]]:
    with torch.no_grad():
        out = model(*batch.model_inputs())
    if model.task == "qa":
        return {"start_logits": out.start_logits.tolist(), "end_logits": out.end_logits.tolist()}
    return {"logits": out.logits.tolist()}


def _reference(p: RunContext, fp32: BertForDistillation, qat: Optional[BertForDistillation]) -> Dict[str, Any]:
    """A few single-row eval inputs with PyTorch outputs, for ONNX parity checks downstream."""
    source = p.data.eval_features or p.data.train_features
    examples = []
    for feature in source[:REFERENCE_EXAMPLES]:
        batch = collate([feature], p.tokenizer.pad_id, p.spec.task)
        entry: Dict[str, Any] = {
            "input_ids": batch.input_ids.tolist(),
            "attention_mask": batch.attention_mask.tolist(),
            "token_type_ids": batch.token_type_ids.tolist(),
            "student_fp32": _outputs_of(fp32, batch),
        }
        if qat is not None:
            entry["student_qat"] = _outputs_of(qat, batch)
        examples.append(entry)
    return {
        "task": p.spec.task,
        "inputs": INPUT_NAMES,
        "outputs": output_names(p.spec.task),
        # FP32 ONNX should match student_fp32 within this; INT8 is compared by decisions.
        "fp32_atol": 1e-4,
        "examples": examples,
    }


def serving_config(p: RunContext, int8: bool) -> Dict[str, Any]:
    config: Dict[str, Any] = {"task": p.spec.task}
    if p.spec.task == "classification":
        config["labels"] = list(p.data.labels or [])
    config["max_length"] = p.spec.max_length
    if p.spec.task == "qa":
        config["doc_stride"] = p.spec.doc_stride
        config["max_query_length"] = p.spec.max_query_length
    config.update(
        do_lower_case=p.tokenizer.lowercase,
        inputs=INPUT_NAMES,
        outputs=output_names(p.spec.task),
        precision="int8" if int8 else "fp32",
    )
    return config


def write_outputs(p: RunContext) -> None:
    out = p.output_dir
    os.makedirs(out, exist_ok=True)

    def artifact(name: str) -> None:
        path = os.path.join(out, name)
        if os.path.isdir(path):
            size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
        else:
            size = os.path.getsize(path)
        p.events.emit("artifact", name=name, path=path, bytes=size)

    fp32 = run_models.fp32_student(p).cpu().eval()
    teacher = run_models.teacher(p)
    qat = run_models.load_qat_student(p)
    export_onnx(fp32, os.path.join(out, "model-fp32.onnx"))
    artifact("model-fp32.onnx")
    export_onnx(teacher, os.path.join(out, "teacher.onnx"))
    artifact("teacher.onnx")
    stale = os.path.join(out, "model.onnx")
    if qat is not None:
        qat = qat.cpu().eval()
        folded = export_int8(qat, stale)
        log.info("export: %d weight tensors stored as int8", folded)
        artifact("model.onnx")
    elif os.path.exists(stale):
        os.remove(stale)  # a file from an earlier spec must not be published as INT8
    p.tokenizer.save(out)
    artifact("tokenizer.json")
    artifact("vocab.txt")
    write_json_atomic(os.path.join(out, "config.json"), serving_config(p, qat is not None))
    artifact("config.json")
    ckpt_dir = os.path.join(out, "checkpoint")
    if os.path.isdir(ckpt_dir):
        shutil.rmtree(ckpt_dir)
    ckpt_io.save_checkpoint(fp32, p.tokenizer, ckpt_dir)
    artifact("checkpoint")
    write_json_atomic(os.path.join(out, "reference.json"), _reference(p, fp32, qat))
    artifact("reference.json")

    parameters = {"teacher": teacher.encoder_parameter_count(), "student": fp32.encoder_parameter_count()}
    shapes = {"teacher": _shape(teacher), "student": _shape(fp32)}
    stages_run = [s for s in p.stages_run] + ["export"]
    summary = {"parameters": parameters, "shapes": shapes, "stages": stages_run}
    p.state.data["summary"] = summary
    rt = p.rt
    training = {
        "job_id": p.spec.job_id,
        "spec": p.spec.raw,
        "device": str(rt.device) if rt else None,
        "precision": rt.precision if rt else None,
        "torch": torch.__version__,
        "labels": p.data.labels,
        "shapes": shapes,
        "parameters": parameters,
        "stages": {
            name: {**(p.state.finished(name) or {"status": "completed" if name == "export" else None}),
                   **p.state.data["history"].get(name, {})}
            for name in ("teacher_finetune", "general_distill", "augment", "task_distill", "qat", "export")
        },
        "files": {name: os.path.getsize(os.path.join(out, name)) for name in sorted(os.listdir(out)) if os.path.isfile(os.path.join(out, name))},
    }
    write_json_atomic(os.path.join(out, "training.json"), training)
    artifact("training.json")
    p.state.save()
