"""distillery_trainer.gpu_base, the device half of the GPU-trained base, run here on the CPU
(--allow-cpu) on the tiny test corpus: a real init-model, probe and fitted trainer run, and a pack
whose parts join to the tar base.json describes, holding fp16 checkpoints the trainer reads back."""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile

import pytest
import torch

from conftest import BASE_SPEC, LABELS
from distillery_trainer import checkpoint as ckpt_io
from distillery_trainer import gpu_base, safetensors_io
from distillery_trainer.spec import parse_spec


def write_inputs(folder: str, corpus_dir: str, vocab_file: str) -> None:
    """An inputs folder as `models:build --prepare-gpu-base` writes one, for the tiny test shapes."""
    os.makedirs(folder)
    spec = copy.deepcopy(BASE_SPEC)
    spec["teacher_path"] = "teacher"
    spec["data"] = {"train": "train.jsonl", "eval": "eval.jsonl", "unlabeled": "corpus.txt.gz"}
    spec["stages"]["mlm_pretrain"]["enabled"] = True
    with open(os.path.join(folder, "spec.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f)
    for name in ("train.jsonl", "eval.jsonl"):
        shutil.copy(os.path.join(corpus_dir, name), os.path.join(folder, name))
    shutil.copy(vocab_file, os.path.join(folder, "vocab.txt"))
    with open(os.path.join(corpus_dir, "corpus.txt"), "rb") as src, gzip.open(os.path.join(folder, "corpus.txt.gz"), "wb") as dst:
        dst.write(src.read())
    inputs = {
        "format": gpu_base.FORMAT,
        "base_inputs": {"vocab": "v", "corpus": "c", "seed": 42},
        "plan": {"minutes": 0.05, "mlm_share": 0.7},
        "teacher_init_args": ["--task", "classification", "--labels", ",".join(LABELS), "--layers", "2", "--hidden", "64",
                              "--heads", "4", "--intermediate", "128", "--seed", "7"],
    }
    with open(os.path.join(folder, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump(inputs, f)


def test_with_steps_cuts_the_base_stages_and_keeps_a_valid_spec(corpus_dir, teacher_dir):
    spec = copy.deepcopy(BASE_SPEC)
    spec["teacher_path"] = teacher_dir
    spec["data"] = {"train": os.path.join(corpus_dir, "train.jsonl"), "eval": os.path.join(corpus_dir, "eval.jsonl"), "unlabeled": None}
    spec["stages"]["mlm_pretrain"]["enabled"] = True
    cut = gpu_base.with_steps(spec, os.path.join(corpus_dir, "unlabeled.txt"), {"mlm_pretrain": 40, "general_distill": 0}, evaluations=1)
    parsed = parse_spec(json.loads(json.dumps(cut)), "with_steps()")
    assert parsed.stages["mlm_pretrain"].max_steps == 40 and parsed.stages["general_distill"].max_steps == 1
    assert parsed.stages["qat"].enabled is False and parsed.stages["augment"].enabled is False
    assert parsed.stages["teacher_finetune"].epochs == 0.01 and parsed.unlabeled.endswith("unlabeled.txt")
    assert spec["stages"]["qat"]["enabled"] is True, "the caller's spec is left as it was"


def test_probe_rate_leaves_the_start_up_out():
    # 40 steps: the first takes 2 s (start-up), the rest 0.05 s each; the running rate says ~10/s.
    events, arrivals, t = [], [], 0.0
    for step in range(1, 41):
        t += 2.0 if step == 1 else 0.05
        events.append({"type": "progress", "stage": "mlm_pretrain", "step": step, "steps_per_sec": step / t})
        arrivals.append(t)
    run = gpu_base.RunResult(code=0, events=events, arrivals=arrivals)
    assert run.rate("mlm_pretrain") == pytest.approx(20.0)
    assert events[-1]["steps_per_sec"] < 11
    assert run.rate("general_distill") is None


def test_fit_steps_shares_the_budget():
    assert gpu_base.fit_steps({"mlm_pretrain": 10.0, "general_distill": 4.0}, 300, 0.7) == {"mlm_pretrain": 2100, "general_distill": 360}
    assert gpu_base.fit_steps({"mlm_pretrain": 0.001, "general_distill": 0.001}, 1, 0.5) == {"mlm_pretrain": 1, "general_distill": 1}


def test_dry_run_packs_a_base_the_trainer_reads(tmp_path, corpus_dir, vocab_file, monkeypatch):
    inputs, out, work = str(tmp_path / "inputs"), str(tmp_path / "out"), str(tmp_path / "work")
    write_inputs(inputs, corpus_dir, vocab_file)
    # Small parts, so the pack is cut into several and joined back.
    monkeypatch.setattr(gpu_base, "PART_BYTES", 200_000)
    assert gpu_base.main(["--inputs", inputs, "--out", out, "--work", work, "--allow-cpu", "--minutes", "0.05"]) == 0
    with open(os.path.join(out, "base.json"), encoding="utf-8") as f:
        base = json.load(f)
    assert base["device"].startswith("cpu") and base["inputs"]["base_inputs"]["seed"] == 42
    assert base["steps"]["mlm_pretrain"] >= 1 and base["seconds"]["mlm_pretrain"] is not None
    parts = base["pack"]["parts"]
    assert len(parts) > 1 and all(os.path.getsize(os.path.join(out, p)) <= 200_000 for p in parts)
    joined = b"".join(open(os.path.join(out, p), "rb").read() for p in parts)
    assert hashlib.sha256(joined).hexdigest() == base["pack"]["sha256"]
    events = [json.loads(line) for line in open(os.path.join(out, "events.jsonl"), encoding="utf-8")]
    assert any(e["type"] == "eval" and e["stage"] == "mlm_pretrain" for e in events)
    unpacked = str(tmp_path / "unpacked")
    with tarfile.open(fileobj=io.BytesIO(joined)) as tar:
        tar.extractall(unpacked)
    for name in ("teacher", "general-student"):
        tensors, _ = safetensors_io.load_file(os.path.join(unpacked, name, "model.safetensors"))
        assert {t.dtype for t in tensors.values() if t.is_floating_point()} == {torch.float16}
        # The trainer reads the fp16 checkpoint into its fp32 model.
        model = ckpt_io.build_from_checkpoint(ckpt_io.read_checkpoint(os.path.join(unpacked, name)), "encoder")
        assert next(model.parameters()).dtype == torch.float32
    # The full run's pre-trained teacher came back, not the random one: its weights moved.
    trained, _ = safetensors_io.load_file(os.path.join(unpacked, "teacher", "model.safetensors"))
    initial, _ = safetensors_io.load_file(os.path.join(work, "teacher", "model.safetensors"))
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(trained[key].float(), initial[key].float(), atol=1e-3)


def test_refuses_bad_inputs_and_a_missing_gpu(tmp_path, corpus_dir, vocab_file, capsys):
    inputs = str(tmp_path / "inputs")
    write_inputs(inputs, corpus_dir, vocab_file)
    os.remove(os.path.join(inputs, "vocab.txt"))
    assert gpu_base.main(["--inputs", inputs, "--out", str(tmp_path / "out"), "--allow-cpu"]) == 2
    assert "vocab.txt is missing: prepare the folder again with --prepare-gpu-base" in capsys.readouterr().out
    assert gpu_base.main(["--inputs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "is not a folder `npm run models:build -- --prepare-gpu-base` wrote" in capsys.readouterr().out
    broken = str(tmp_path / "broken")
    write_inputs(broken, corpus_dir, vocab_file)
    with open(os.path.join(broken, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump({"format": gpu_base.FORMAT}, f)
    assert gpu_base.main(["--inputs", broken, "--out", str(tmp_path / "out"), "--allow-cpu"]) == 2
    assert "inputs.json lacks plan.minutes" in capsys.readouterr().out
    good = str(tmp_path / "good")
    write_inputs(good, corpus_dir, vocab_file)
    for minutes in ("inf", "nan", "0"):
        assert gpu_base.main(["--inputs", good, "--out", str(tmp_path / "out"), "--allow-cpu", "--minutes", minutes]) == 2
        assert "(--minutes, GPU_BASE_MINUTES) must be a positive number" in capsys.readouterr().out
    (tmp_path / "a-file").write_text("x")
    assert gpu_base.main(["--inputs", good, "--out", str(tmp_path / "a-file"), "--allow-cpu"]) == 2
    assert "is a file; give a folder" in capsys.readouterr().out
    if not torch.cuda.is_available():
        write_inputs(str(tmp_path / "ok"), corpus_dir, vocab_file)
        assert gpu_base.main(["--inputs", str(tmp_path / "ok"), "--out", str(tmp_path / "out")]) == 2
        assert "no CUDA device" in capsys.readouterr().out
