"""What ships from a run, in-process short runs: the best task_distill evaluation's weights,
early stopping, the post-training INT8 student when QAT is off, and layer_reduction reaching
both distillation stages."""

import copy
import io
import json
import os

import pytest
import torch
from conftest import BASE_SPEC

from distillery_trainer import checkpoint as ckpt_io
from distillery_trainer.events import EventWriter
from distillery_trainer.spec import parse_spec
from distillery_trainer.pipeline import StopFlag, run_pipeline
from distillery_trainer.stages import qat, task_distill, teacher_finetune


def _raw_spec(corpus_dir, teacher_dir, max_steps, **task_distill):
    raw = copy.deepcopy(BASE_SPEC)
    raw.update(teacher_path=teacher_dir, max_steps_per_stage=max_steps, checkpoint_every=1000, data={
        "train": os.path.join(corpus_dir, "train.jsonl"), "eval": os.path.join(corpus_dir, "eval.jsonl"),
        "unlabeled": os.path.join(corpus_dir, "unlabeled.txt"),
    })
    raw["stages"]["augment"]["enabled"] = False
    raw["stages"]["task_distill"].update(task_distill)
    return raw


def _run(raw, work):
    events = EventWriter(io.StringIO())
    run_pipeline(parse_spec(json.loads(json.dumps(raw))), str(work), events, StopFlag())
    return events.history


def test_exports_the_best_evaluation_stops_early_and_ships_ptq_without_qat(corpus_dir, teacher_dir, tmp_path, monkeypatch):
    scripted = [0.5, 0.9, 0.7, 0.6]
    snapshots = []

    def evaluate(ctx, model, role):
        if role != "student":
            return role, {"accuracy": 1.0, "macro_f1": 1.0}
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return role, {"accuracy": scripted[len(snapshots) - 1], "macro_f1": 0.0}

    for stage in (teacher_finetune, task_distill, qat):
        monkeypatch.setattr(stage, "evaluate", evaluate)
    raw = _raw_spec(corpus_dir, teacher_dir, 8, early_stopping_patience=1)
    raw["stages"]["general_distill"]["enabled"] = False
    raw["stages"]["qat"]["enabled"] = False
    events = _run(raw, tmp_path / "work")

    student_evals = [e["step"] for e in events if e["type"] == "eval" and e["role"] == "student"]
    # 8 steps evaluated at least 4 times (every 2); patience 1 stops after the first worse one.
    assert student_evals == [2, 4, 6]
    out = tmp_path / "work" / "output"
    training = json.loads((out / "training.json").read_text())
    assert training["stages"]["task_distill"]["steps"] == 6
    assert training["best_checkpoint"] == {
        "metric": "accuracy", "best_step": 4, "best": 0.9, "last_step": 6, "last": 0.7, "evaluations": 3,
        "early_stopping_patience": 1, "early_stopped_at": 6,
    }
    exported = ckpt_io.read_checkpoint(str(out / "checkpoint")).tensors
    best, last = snapshots[1], snapshots[2]
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(best[name], last[name])
    for key, value in best.items():
        assert torch.equal(exported[key], value), key

    # Without QAT, model.onnx is the post-training INT8 student, and there is no separate baseline.
    assert training["int8"] == {"method": "ptq", "ptq_baseline": None}
    assert (out / "model.onnx").exists() and not (out / "model-ptq.onnx").exists()
    assert os.path.getsize(out / "model.onnx") <= 0.3 * os.path.getsize(out / "model-fp32.onnx")
    assert json.loads((out / "config.json").read_text())["precision"] == "int8"
    example = json.loads((out / "reference.json").read_text())["examples"][0]
    assert "student_qat" not in example and set(example["student_ptq"]) == {"logits"}


def test_layer_reduction_reaches_general_and_task_distillation(corpus_dir, teacher_dir, tmp_path):
    first = {}
    # (general_distill, task_distill): task_distill starts from general_distill's student, so each
    # stage is compared between two runs that agree on everything before it.
    for general, task in (("sum", "sum"), ("mean", "sum"), ("sum", "mean")):
        raw = _raw_spec(corpus_dir, teacher_dir, 1, layer_reduction=task)
        raw["stages"]["general_distill"]["layer_reduction"] = general
        raw["stages"]["qat"]["enabled"] = False
        events = _run(raw, tmp_path / f"{general}-{task}")
        first[general, task] = {e["stage"]: e["losses"] for e in events if e["type"] == "progress" and e["step"] == 1}
    layers = BASE_SPEC["student"]["layers"]
    for stage, mean_run in (("general_distill", ("mean", "sum")), ("task_distill", ("sum", "mean"))):
        s, m = first["sum", "sum"][stage], first[mean_run][stage]
        # Step 1 runs on the same initial weights and batch in both runs.
        assert s["embed"] == m["embed"], stage
        for term in ("hidden", "attention"):
            assert m[term] > 0 and s[term] == pytest.approx(layers * m[term], rel=1e-6), (stage, term)


def test_qat_ships_its_best_evaluation_the_calibrated_start_included(corpus_dir, teacher_dir, tmp_path, monkeypatch):
    # QAT evaluations: the calibrated start (step 0) is the best, every trained one is worse.
    scripted = {"student_qat": [0.9, 0.5, 0.6, 0.55, 0.5]}
    snapshots = []

    def evaluate(ctx, model, role):
        if role != "student_qat":
            return role, {"accuracy": 1.0, "macro_f1": 1.0}
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return role, {"accuracy": scripted[role][len(snapshots) - 1], "macro_f1": 0.0}

    monkeypatch.setattr(qat, "evaluate", evaluate)
    raw = _raw_spec(corpus_dir, teacher_dir, 8)
    raw["stages"]["general_distill"]["enabled"] = False
    events = _run(raw, tmp_path / "work")

    qat_evals = [e["step"] for e in events if e["type"] == "eval" and e["role"] == "student_qat"]
    assert qat_evals[0] == 0 and len(qat_evals) >= 4
    training = json.loads((tmp_path / "work" / "output" / "training.json").read_text())
    assert training["stages"]["qat"]["best_checkpoint"]["best_step"] == 0
    saved = torch.load(str(tmp_path / "work" / "checkpoints" / "qat" / "state.pt"))
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(saved[name], snapshots[0][name])
    assert not torch.equal(saved[name], snapshots[-1][name])
