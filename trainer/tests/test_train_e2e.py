"""End-to-end `train` runs as the TypeScript runner starts them: a subprocess, JSON events on
stdout, exit codes, output files; SIGTERM or SIGINT then resume; bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import PACKAGE_ROOT, parse_events, run_cli
from test_modeling import _node_available, run_ort

from distillery_trainer.spec import STAGES as ALL_STAGES

STAGES = ["teacher_finetune", "general_distill", "augment", "task_distill", "qat", "export"]


def _by_type(events, type_):
    return [e for e in events if e["type"] == type_]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, corpus_dir, teacher_dir):
    from conftest import BASE_SPEC

    spec = json.loads(json.dumps(BASE_SPEC))
    spec["teacher_path"] = teacher_dir
    spec["data"] = {k: os.path.join(corpus_dir, f) for k, f in (("train", "train.jsonl"), ("eval", "eval.jsonl"), ("unlabeled", "unlabeled.txt"))}
    root = tmp_path_factory.mktemp("e2e")
    (root / "spec.json").write_text(json.dumps(spec))
    work = str(root / "work")
    started = time.monotonic()
    result = run_cli(["train", "--spec", str(root / "spec.json"), "--work-dir", work], timeout=600)
    return result, parse_events(result.stdout), work, time.monotonic() - started


def test_full_pipeline_events_and_exit_code(full_run):
    result, events, work, _ = full_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert events[0]["type"] == "start" and events[0]["resumed_from"] is None
    assert events[0]["device"] == "cpu" and events[0]["torch"] == torch.__version__
    assert events[-1]["type"] == "done"
    completed = [e["stage"] for e in _by_type(events, "stage") if e["status"] == "completed"]
    assert completed == STAGES
    progress = _by_type(events, "progress")
    assert {p["stage"] for p in progress} == {"teacher_finetune", "general_distill", "task_distill", "qat"}
    for p in progress:
        assert set(p) >= {"epoch", "step", "total", "losses", "lr", "steps_per_sec", "eta_s"} and "total" in p["losses"]
    distill = [p for p in progress if p["stage"] == "task_distill"]
    assert set(distill[-1]["losses"]) == {"total", "embed", "attention", "hidden", "pred"}
    evals = _by_type(events, "eval")
    assert {e["role"] for e in evals} == {"teacher", "student", "student_qat"}
    final = {e["role"]: e["metrics"] for e in evals}
    assert final["teacher"]["accuracy"] >= 0.9 and final["student"]["accuracy"] >= 0.9, final
    assert set(final["student"]) == {"accuracy", "macro_f1"}
    assert _by_type(events, "checkpoint")
    summary = events[-1]["summary"]
    assert summary["parameters"]["student"] < summary["parameters"]["teacher"]
    assert summary["stages"] == STAGES


def test_stage_seconds_add_up_to_no_more_than_the_run(full_run):
    _, _, work, elapsed = full_run
    with open(os.path.join(work, "checkpoints", "state.json")) as f:
        history = json.load(f)["history"]
    seconds = [h["seconds"] for h in history.values()]
    assert history["teacher_finetune"]["seconds"] > 0
    # Each stage's time is counted once (it once was twice: by the loop and by the stage runner).
    assert sum(seconds) <= elapsed, history


def test_output_files(full_run):
    _, events, work, _ = full_run
    out = os.path.join(work, "output")
    expected = {"model.onnx", "model-fp32.onnx", "model-ptq.onnx", "teacher.onnx", "tokenizer.json", "vocab.txt", "config.json", "checkpoint",
                "training.json", "reference.json"}
    assert expected <= set(os.listdir(out))
    artifacts = {a["name"]: a for a in _by_type(events, "artifact")}
    assert set(artifacts) == expected
    assert artifacts["model.onnx"]["bytes"] == os.path.getsize(os.path.join(out, "model.onnx"))
    ratio = os.path.getsize(os.path.join(out, "model.onnx")) / os.path.getsize(os.path.join(out, "model-fp32.onnx"))
    print(f"INT8/FP32 size ratio {ratio:.3f}")
    assert ratio <= 0.30
    config = json.load(open(os.path.join(out, "config.json")))
    assert config == {
        # The init-model teacher has no trained head, so its id2label does not bind: sorted train labels.
        "task": "classification", "labels": ["neg", "neutral", "pos"], "max_length": 32, "do_lower_case": True,
        "inputs": ["input_ids", "attention_mask", "token_type_ids"], "outputs": ["logits"], "precision": "int8",
    }
    training = json.load(open(os.path.join(out, "training.json")))
    assert training["parameters"]["student"] > 0 and training["shapes"]["student"]["hidden"] == 64
    assert training["stages"]["qat"]["recalibrations"] >= 2 and training["stages"]["task_distill"]["eval"]
    # model.onnx is the QAT student; the post-training INT8 baseline sits beside it, not published.
    assert training["int8"] == {"method": "qat", "ptq_baseline": "model-ptq.onnx"}
    assert os.path.getsize(os.path.join(out, "model-ptq.onnx")) <= 0.3 * os.path.getsize(os.path.join(out, "model-fp32.onnx"))
    student = [e for e in _by_type(events, "eval") if e["stage"] == "task_distill" and e["role"] == "student"]
    top = max(e["metrics"]["accuracy"] for e in student)
    best_step = next(e["step"] for e in student if e["metrics"]["accuracy"] == top)
    assert training["best_checkpoint"] == {
        "metric": "accuracy", "best_step": best_step, "best": top, "last_step": student[-1]["step"],
        "last": student[-1]["metrics"]["accuracy"], "evaluations": len(student), "early_stopping_patience": None, "early_stopped_at": None,
    }
    assert sorted(os.listdir(os.path.join(out, "checkpoint"))) == ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"]


@pytest.mark.skipif(not _node_available(), reason="node and onnxruntime-node are needed to run ONNX")
def test_onnx_parity_and_int8_agreement(full_run, tmp_path, corpus_dir):
    from distillery_trainer.checkpoint import build_from_checkpoint, read_checkpoint
    from distillery_trainer.data import load_classification
    from distillery_trainer.features import classification_features, collate

    _, _, work, _ = full_run
    out = os.path.join(work, "output")
    ckpt = read_checkpoint(os.path.join(out, "checkpoint"))
    student = build_from_checkpoint(ckpt, "classification").eval()
    labels = ckpt.config.labels
    examples = load_classification(os.path.join(corpus_dir, "eval.jsonl"), labels)
    feats = classification_features(ckpt.tokenizer, examples, {l: i for i, l in enumerate(labels)}, 32)
    batch = collate(feats, ckpt.tokenizer.pad_id, "classification")
    inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask, "token_type_ids": batch.token_type_ids}
    with torch.no_grad():
        ref = student(*batch.model_inputs()).logits
    fp32, int8 = os.path.join(out, "model-fp32.onnx"), os.path.join(out, "model.onnx")
    result = run_ort(tmp_path, inputs, fp32, int8)
    diff = (torch.tensor(result[fp32]["logits"]) - ref).abs().max().item()
    agreement = (torch.tensor(result[int8]["logits"]).argmax(-1) == ref.argmax(-1)).float().mean().item()
    accuracy = (ref.argmax(-1) == batch.labels).float().mean().item()
    print(f"FP32 ONNX max abs diff {diff:.2e}; INT8 argmax agreement {agreement:.3f}; FP32 accuracy {accuracy:.3f}")
    assert diff < 1e-4
    assert agreement >= 0.99
    # reference.json: the same check the TypeScript side can make.
    reference = json.load(open(os.path.join(out, "reference.json")))
    example = reference["examples"][0]
    single = run_ort(tmp_path, {k: torch.tensor(example[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}, fp32)
    assert (torch.tensor(single[fp32]["logits"]) - torch.tensor(example["student_fp32"]["logits"])).abs().max() < 1e-4


def test_rerun_of_a_finished_work_dir_skips_everything(full_run, make_spec):
    _, _, work, _ = full_run
    spec_path = os.path.join(os.path.dirname(work), "spec.json")
    result = run_cli(["train", "--spec", spec_path, "--work-dir", work], timeout=300)
    events = parse_events(result.stdout)
    assert result.returncode == 0, result.stderr[-2000:]
    assert events[0]["resumed_from"] is not None
    assert [e["status"] for e in _by_type(events, "stage")] == ["skipped"] * len(ALL_STAGES)
    assert events[-1]["type"] == "done"


def _short_run_spec(make_spec, max_steps_per_stage):
    """A spec without general distillation and augmentation, capped per stage, with no periodic
    checkpoint inside the cap."""
    return make_spec(
        stages={
            **json.loads(json.dumps(__import__("conftest").BASE_SPEC["stages"])),
            "general_distill": {"enabled": False, "epochs": 1, "batch_size": 16, "lr": 1e-3, "layer_reduction": "sum", "max_steps": None},
            "augment": {"enabled": False, "methods": ["wordnet"], "copies": 1, "replace_prob": 0.3, "max_examples": 10},
        },
        max_steps_per_stage=max_steps_per_stage,
        checkpoint_every=1000,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_then_resume_completes(make_spec, tmp_path, stop_signal):
    """SIGINT is what Ctrl-C sends to the whole foreground process group: it must checkpoint
    like SIGTERM, not end in a KeyboardInterrupt that loses the steps since the last one."""
    spec = _short_run_spec(make_spec, max_steps_per_stage=30)
    work = str(tmp_path / "work")
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "DISTILLERY_TORCH_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "distillery_trainer", "train", "--spec", spec, "--work-dir", work],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        event = json.loads(line)
        if event["type"] == "progress" and event["stage"] == "task_distill" and event["step"] >= 3:
            proc.send_signal(stop_signal)
            break
    rest, _ = proc.communicate(timeout=300)
    events = parse_events("".join(lines) + rest)
    assert proc.returncode == 3
    stopped = _by_type(events, "stopped")
    assert len(stopped) == 1 and os.path.exists(stopped[0]["checkpoint"])
    last_ckpt = _by_type(events, "checkpoint")[-1]
    assert last_ckpt["stage"] == "task_distill"
    stopped_at = last_ckpt["step"]
    assert 3 <= stopped_at < 30

    result = run_cli(["train", "--spec", spec, "--work-dir", work], timeout=600)
    resumed = parse_events(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    assert resumed[0]["resumed_from"] == {"stage": "task_distill", "step": stopped_at}
    statuses = {e["stage"]: e["status"] for e in _by_type(resumed, "stage")}
    assert statuses["teacher_finetune"] == "skipped" and statuses["task_distill"] == "completed"
    steps = [p["step"] for p in _by_type(resumed, "progress") if p["stage"] == "task_distill"]
    assert steps[0] == stopped_at + 1 and steps[-1] == 30
    assert resumed[-1]["type"] == "done"
    assert os.path.exists(os.path.join(work, "output", "model.onnx"))


def test_bad_input_exits_2_with_an_error_event(make_spec, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": "pos"}\n{"text": "oops", "label": "maybe"}\n')
    spec = make_spec(labels=["pos", "neg", "neutral"])
    raw = json.loads(open(spec).read())
    raw["data"]["train"] = str(bad)
    open(spec, "w").write(json.dumps(raw))
    result = run_cli(["train", "--spec", spec, "--work-dir", str(tmp_path / "w")], timeout=120)
    assert result.returncode == 2
    error = parse_events(result.stdout)[-1]
    assert error == {"type": "error", "code": "invalid_input", "message": "label 'maybe' is not one of the spec's labels (pos, neg, neutral)", "file": str(bad), "line": 2}


def test_student_with_more_heads_than_teacher_is_bad_input(make_spec, tmp_path):
    spec = make_spec(student={"layers": 2, "hidden": 64, "heads": 8, "intermediate": 128, "ffn_rank": None, "dropout": 0.1, "init": {"kind": "random", "path": None}, "auto": []})
    result = run_cli(["train", "--spec", spec, "--work-dir", str(tmp_path / "w")], timeout=120)
    assert result.returncode == 2
    assert "heads" in parse_events(result.stdout)[-1]["message"]


def test_same_seed_same_run(make_spec, tmp_path):
    """A job is reproducible: the same spec and seed give the same losses at every step and the
    same evaluation metrics (what makes a gate result, e.g. the README example's, repeatable)."""
    spec = _short_run_spec(make_spec, max_steps_per_stage=12)
    runs = []
    for name in ("first", "second"):
        result = run_cli(["train", "--spec", spec, "--work-dir", str(tmp_path / name)], timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        events = parse_events(result.stdout)
        runs.append([(e["stage"], e["step"], e["losses"]) for e in _by_type(events, "progress")]
                    + [(e["stage"], e["role"], e["metrics"]) for e in _by_type(events, "eval")])
    assert len(runs[0]) > 10
    assert runs[0] == runs[1]
