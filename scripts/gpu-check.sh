#!/usr/bin/env bash
# One short check of the trainer on a CUDA GPU, runnable where there is no node and no network:
# with synthetic data it writes itself, the trainer (python -m distillery_trainer, resolved specs
# as in docs/trainer-protocol.md) pre-trains a random 6 x 384 teacher with masked-LM on the
# synthetic corpus (stages.mlm_pretrain), fine-tunes it, distils a 4 x 312 student, runs QAT and
# exports ONNX, in bf16 and in fp16 on the GPU (a few hundred steps each) and in fp32 on the CPU
# (fewer steps), then prints steps per second per stage, GPU against CPU.
# Without CUDA it says so, runs the CPU part only and exits 0. Under 5 minutes on an H100.
# trainer/tests/test_gpu_check_spec.py runs this heredoc's resolved_spec() through the trainer's
# parse_spec, so the spec cannot drift from the protocol unnoticed; main() runs only as __main__.
#
#   bash scripts/gpu-check.sh                     # PYTHON=... to pick the interpreter (default: scripts/lib/torch-python.sh)
#   GPU_CHECK_DIR=/some/dir bash scripts/gpu-check.sh   # keep data, specs, events and outputs there
#
# Settings (environment): GPU_CHECK_STEPS (GPU steps per stage, 200), GPU_CHECK_CPU_STEPS (CPU
# steps per stage, 20), GPU_CHECK_RUN_TIMEOUT (seconds per run, 300). Exit: 0 when every run
# finished with its ONNX files, 1 when one failed (its error is printed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/torch-python.sh
. "$ROOT/scripts/lib/torch-python.sh"
export PYTHONPATH="$ROOT/trainer${PYTHONPATH:+:$PYTHONPATH}"
export GPU_CHECK_ROOT="$ROOT"
exec "$PYTHON" - "$@" <<'PY'
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

STEPS = int(os.environ.get("GPU_CHECK_STEPS", "200"))
CPU_STEPS = int(os.environ.get("GPU_CHECK_CPU_STEPS", "20"))
RUN_TIMEOUT = int(os.environ.get("GPU_CHECK_RUN_TIMEOUT", "300"))
LABELS = ["billing", "delivery", "account", "other"]
STAGES = ("mlm_pretrain", "teacher_finetune", "task_distill", "qat")
# The eval metric reported per stage: mlm_pretrain scores masked tokens, the others the labels.
STAGE_METRIC = {"mlm_pretrain": "masked_accuracy", "teacher_finetune": "accuracy", "task_distill": "accuracy", "qat": "accuracy"}


def log(message):
    print(message, flush=True)


def trainer(args, timeout, cwd):
    """Runs python -m distillery_trainer; returns (exit code, events, stderr tail, seconds)."""
    started = time.monotonic()
    # Read when a run starts, not at import, so the test can import this file without the variable.
    env = {**os.environ, "PYTHONPATH": os.path.join(os.environ["GPU_CHECK_ROOT"], "trainer"), "PYTHONUNBUFFERED": "1"}
    try:
        result = subprocess.run([sys.executable, "-m", "distillery_trainer", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout)
        code, stdout, stderr = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = 124, exc.stdout or "", (exc.stderr or "") + f"\ntimed out after {timeout} s"
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
    events = []
    for line in stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pass
    return code, events, stderr[-3000:], time.monotonic() - started


def write_data(root):
    """Keyword-labelled sentences of made-up words, 40-60 tokens long (so batches are full-size)."""
    rng = random.Random(20240601)
    syllables = ["ka", "lo", "mi", "tre", "sun", "vel", "dor", "pa", "qui", "ne", "ro", "zat", "fen", "gar"]
    filler = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))) for _ in range(3000)})
    keywords = {label: [f"{label[:3]}{w}" for w in ("alpha", "beta", "gamma", "delta", "omega")] for label in LABELS}

    def sentence(label):
        words = [rng.choice(filler) for _ in range(rng.randint(30, 50))]
        for _ in range(2):
            words.insert(rng.randint(0, len(words)), rng.choice(keywords[label]))
        return " ".join(words) + "."

    for name, count in (("train", 4096), ("eval", 512)):
        with open(os.path.join(root, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for i in range(count):
                label = LABELS[i % len(LABELS)]
                f.write(json.dumps({"text": sentence(label), "label": label}) + "\n")
    with open(os.path.join(root, "corpus.txt"), "w", encoding="utf-8") as f:
        with open(os.path.join(root, "train.jsonl"), encoding="utf-8") as src:
            f.writelines(json.loads(line)["text"] + "\n" for line in src)


def resolved_spec(root, teacher, device, precision, steps):
    """A resolved spec (every field present, docs/trainer-protocol.md) for `device` / `precision`.

    root: the folder write_data() filled (train.jsonl, eval.jsonl, corpus.txt); teacher: an
    init-model folder whose vocabulary has [MASK]. mlm_pretrain pre-trains it on corpus.txt (as
    data.unlabeled) for `steps` optimizer steps (its max_steps), then teacher_finetune,
    task_distill and qat run; their epochs cover `steps` (4096 training rows of batch 32) and
    max_steps_per_stage cuts them there. trainer/tests/test_gpu_check_spec.py keeps it parseable."""
    epochs = max(1.0, steps * 32 / 4096 * 1.05)
    stage = {"batch_size": 32, "epochs": epochs}
    return {
        "job_id": f"gpu-check-{device}-{precision}",
        "model": "gpu-check",
        "task": "classification",
        "teacher_path": teacher,
        "general_teacher_path": None,
        "general_teacher_finetuned": False,
        "mlm_model_path": None,
        "data": {"train": os.path.join(root, "train.jsonl"), "eval": os.path.join(root, "eval.jsonl"),
                 "unlabeled": os.path.join(root, "corpus.txt")},
        "labels": None,
        "max_length": 64,
        "doc_stride": 128,
        "max_query_length": 64,
        "qa_train_windows": "all",
        "student": {"layers": 4, "hidden": 312, "heads": 6, "intermediate": 1200, "ffn_rank": None, "dropout": 0.1,
                    "init": {"kind": "random", "path": None}, "auto": []},
        "stages": {
            # 4096 lines of 32-52 words, each line at least 33 word pieces with its [SEP], pack into
            # at least 2100 sequences of 64 (66 batches) after the 1 % held out: epochs over-cover
            # `steps`, and max_steps stops the stage there.
            "mlm_pretrain": {"enabled": True, "epochs": max(1.0, steps / 60), "batch_size": 32, "lr": 1e-4, "warmup_ratio": 0.05,
                             "mask_prob": 0.15, "max_length": 64, "max_steps": steps, "evaluations": 2},
            "teacher_finetune": {"enabled": True, **stage, "lr": 3e-4, "warmup_ratio": 0.1},
            "general_distill": {"enabled": False, "epochs": 1, "batch_size": 32, "lr": 3e-5, "layer_reduction": "sum", "max_steps": None},
            "augment": {"enabled": False, "methods": ["wordnet"], "copies": 1, "replace_prob": 0.3, "max_examples": 100},
            "task_distill": {"enabled": True, **stage, "lr": 5e-4, "warmup_ratio": 0.1, "temperature": 2, "attention_loss": "mse",
                             "weights": "dynamic", "hidden_weight": 0.1, "attention_weight": 0.1, "layer_reduction": "sum",
                             "hard_label_weight": 0, "early_stopping_patience": None},
            "qat": {"enabled": True, "batch_size": 32, "epochs": 1, "lr": 1e-5, "recalibrate_every": 50, "temperature": 2, "observer": "minmax"},
        },
        "device": device,
        "precision": precision,
        "seed": 42,
        "checkpoint_every": 100000,
        "max_steps_per_stage": steps,
        "eval_every_epoch": True,
    }


def run(root, teacher, device, precision, steps):
    name = f"{device}-{precision}"
    spec_path = os.path.join(root, f"spec-{name}.json")
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(resolved_spec(root, teacher, device, precision, steps), f, indent=1)
    work = os.path.join(root, f"work-{name}")
    shutil.rmtree(work, ignore_errors=True)
    log(f"[{name}] training {steps} steps per stage ...")
    code, events, stderr, seconds = trainer(["train", "--spec", spec_path, "--work-dir", work], RUN_TIMEOUT, root)
    with open(os.path.join(root, f"events-{name}.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)
    rates, evals = {}, {}
    for stage in STAGES:
        progress = [e for e in events if e.get("type") == "progress" and e.get("stage") == stage]
        # the loop reports a running rate; its last value covers the whole stage but the first step
        rates[stage] = progress[-1]["steps_per_sec"] if progress else None
        found = [e["metrics"] for e in events if e.get("type") == "eval" and e.get("stage") == stage]
        evals[stage] = found[-1] if found else None
    artifacts = {e["name"]: e["bytes"] for e in events if e.get("type") == "artifact"}
    start = next((e for e in events if e.get("type") == "start"), {})
    error = next((e for e in events if e.get("type") == "error"), None)
    ok = code == 0 and "model.onnx" in artifacts and "model-fp32.onnx" in artifacts
    onnx_check = check_onnx(os.path.join(work, "output")) if ok else "not run"
    if not ok:
        log(f"[{name}] FAILED (exit {code}): {error['message'] if error else ''}\n{stderr}")
    else:
        log(f"[{name}] done in {seconds:.0f} s: " + ", ".join(f"{s} {r:.2f} steps/s" for s, r in rates.items() if r) + f"; onnx: {onnx_check}")
    return {"name": name, "device": device, "precision": precision, "ok": ok, "exit": code, "seconds": round(seconds, 1),
            "torch": start.get("torch"), "steps_per_sec": rates, "eval": evals, "artifacts": artifacts, "onnx_check": onnx_check,
            "error": error}


def check_onnx(output):
    """onnx.checker on both graphs, when the onnx package is importable."""
    try:
        import onnx
    except ImportError:
        return "files written (no onnx package to check them)"
    for name in ("model-fp32.onnx", "model.onnx"):
        onnx.checker.check_model(onnx.load(os.path.join(output, name)))
    return "model-fp32.onnx and model.onnx pass onnx.checker"


def main():
    import torch

    cuda = torch.cuda.is_available()
    log(f"torch {torch.__version__}, python {sys.version.split()[0]}, CUDA available: {cuda}")
    if cuda:
        props = torch.cuda.get_device_properties(0)
        log(f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, bf16 supported: {torch.cuda.is_bf16_supported()}")
    keep = os.environ.get("GPU_CHECK_DIR")
    root = keep or tempfile.mkdtemp(prefix="gpu-check-")
    os.makedirs(root, exist_ok=True)
    started = time.monotonic()
    try:
        write_data(root)
        vocab = os.path.join(root, "vocab.txt")
        teacher = os.path.join(root, "teacher")
        for args in (["build-vocab", "--corpus", os.path.join(root, "corpus.txt"), "--size", "4000", "--out", vocab],
                     ["init-model", "--out", teacher, "--vocab", vocab, "--task", "classification", "--labels", ",".join(LABELS),
                      "--layers", "6", "--hidden", "384", "--heads", "6", "--intermediate", "1536", "--max-position", "128", "--seed", "7"]):
            code, events, stderr, _ = trainer(args, 300, root)
            if code != 0:
                log(f"{args[0]} failed (exit {code}):\n{stderr}")
                return 1
        runs = []
        if cuda:
            runs.append(run(root, teacher, "cuda", "bf16", STEPS))
            runs.append(run(root, teacher, "cuda", "fp16", STEPS))
        else:
            log("no CUDA device: running the CPU part only")
        runs.append(run(root, teacher, "cpu", "fp32", CPU_STEPS))
        report(runs)
        with open(os.path.join(root, "summary.json"), "w", encoding="utf-8") as f:
            json.dump({"torch": torch.__version__, "cuda": cuda, "runs": runs, "seconds": round(time.monotonic() - started, 1)}, f, indent=1)
        log(f"total {time.monotonic() - started:.0f} s" + (f"; files in {root}" if keep else ""))
        return 0 if all(r["ok"] for r in runs) else 1
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def report(runs):
    cpu = next((r for r in runs if r["device"] == "cpu" and r["ok"]), None)
    log("")
    log(f"{'run':<12} {'ok':<4} {'seconds':>7}  " + "  ".join(f"{s + ' steps/s':>24}" for s in STAGES)
        + "  eval (mlm masked acc / teacher / student / qat accuracy)")
    for r in runs:
        cells = []
        for stage in STAGES:
            rate = r["steps_per_sec"].get(stage)
            base = cpu["steps_per_sec"].get(stage) if cpu and r is not cpu else None
            cells.append(f"{rate:.2f}" + (f" (x{rate / base:.1f} CPU)" if rate and base else "") if rate else "-")
        accuracy = "/".join(f"{(r['eval'].get(s) or {}).get(STAGE_METRIC[s], float('nan')):.3f}" for s in STAGES)
        log(f"{r['name']:<12} {'yes' if r['ok'] else 'NO':<4} {r['seconds']:>7.0f}  " + "  ".join(f"{c:>24}" for c in cells) + f"  {accuracy}")
    gpu = [r for r in runs if r["device"] == "cuda" and r["ok"]]
    if cpu and gpu:
        mean_cpu = statistics.mean(v for v in cpu["steps_per_sec"].values() if v)
        for r in gpu:
            mean = statistics.mean(v for v in r["steps_per_sec"].values() if v)
            log(f"{r['name']}: {mean:.1f} steps/s on average over the stages, {mean / mean_cpu:.1f}x the CPU's {mean_cpu:.2f}")


# `python -` runs this as __main__; trainer/tests/test_gpu_check_spec.py executes it under another name.
if __name__ == "__main__":
    sys.exit(main())
PY
