"""The export stage's files in work-dir/output (docs/trainer-protocol.md, "Output")."""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any, Dict, List, Optional

import torch

from . import checkpoint as ckpt_io
from .export import INPUT_NAMES, export_int8, export_onnx, output_names
from . import run_models
from .context import RunContext
from .features import collate
from .modeling import BertForDistillation
from .ptq import post_training_quantize
from .spec import STAGES
from .quantization import calibration_batches
from .state import write_json_atomic


log = logging.getLogger(__name__)

REFERENCE_EXAMPLES = 4
# The post-training INT8 baseline beside a QAT model.onnx: scored by the TypeScript side
# (role student_ptq_int8), never published.
PTQ_FILE = "model-ptq.onnx"


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


def _reference(p: RunContext, fp32: BertForDistillation, qat: Optional[BertForDistillation], ptq: BertForDistillation) -> Dict[str, Any]:
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
        entry["student_ptq"] = _outputs_of(ptq, batch)
        examples.append(entry)
    return {
        "task": p.spec.task,
        "inputs": INPUT_NAMES,
        "outputs": output_names(p.spec.task),
        # FP32 ONNX should match student_fp32 within this; INT8 is compared by decisions.
        "fp32_atol": 1e-4,
        "examples": examples,
    }


def serving_config(p: RunContext) -> Dict[str, Any]:
    """config.json of model.onnx, which is always INT8 (QAT, or PTQ when QAT is disabled)."""
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
        precision="int8",
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
    qat_stage = p.spec.stages["qat"]
    # The same calibration sample QAT starts from, so PTQ and QAT differ only by training.
    batches = calibration_batches(p.data.train_features, qat_stage.batch_size, p.tokenizer.pad_id, p.spec.task, p.spec.seed)
    ptq = post_training_quantize(fp32, batches, qat_stage.extra["observer"])
    export_onnx(fp32, os.path.join(out, "model-fp32.onnx"))
    artifact("model-fp32.onnx")
    export_onnx(teacher, os.path.join(out, "teacher.onnx"))
    artifact("teacher.onnx")
    # model.onnx is the QAT student; without QAT, the post-training INT8 one (and no baseline).
    shipped = qat.cpu().eval() if qat is not None else ptq
    folded = export_int8(shipped, os.path.join(out, "model.onnx"))
    log.info("export: %d weight tensors stored as int8 (%s)", folded, "qat" if qat is not None else "ptq")
    artifact("model.onnx")
    baseline = os.path.join(out, PTQ_FILE)
    if qat is not None:
        export_int8(ptq, baseline)
        artifact(PTQ_FILE)
    elif os.path.exists(baseline):
        os.remove(baseline)  # from an earlier spec: it would be scored as a baseline of itself
    p.tokenizer.save(out)
    artifact("tokenizer.json")
    artifact("vocab.txt")
    write_json_atomic(os.path.join(out, "config.json"), serving_config(p))
    artifact("config.json")
    ckpt_dir = os.path.join(out, "checkpoint")
    if os.path.isdir(ckpt_dir):
        shutil.rmtree(ckpt_dir)
    ckpt_io.save_checkpoint(fp32, p.tokenizer, ckpt_dir)
    artifact("checkpoint")
    write_json_atomic(os.path.join(out, "reference.json"), _reference(p, fp32, qat, ptq))
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
        # How model.onnx was made ("qat" or "ptq"), and the file of the PTQ baseline beside a QAT one.
        "int8": {"method": "qat" if qat is not None else "ptq", "ptq_baseline": PTQ_FILE if qat is not None else None},
        # Which task_distill evaluation the exported FP32 student is, and the last one's metric.
        "best_checkpoint": p.state.data["history"].get("task_distill", {}).get("best_checkpoint"),
        "stages": {
            name: {**(p.state.finished(name) or {"status": "completed" if name == "export" else None}),
                   **p.state.data["history"].get(name, {})}
            for name in STAGES
        },
        "files": {name: os.path.getsize(os.path.join(out, name)) for name in sorted(os.listdir(out)) if os.path.isfile(os.path.join(out, name))},
    }
    write_json_atomic(os.path.join(out, "training.json"), training)
    artifact("training.json")
    p.state.save()
