"""Pre-trains the shared base (teacher: mlm_pretrain; student: general_distill) on a lent GPU within a
time budget, and packs it to bring back: `python -m distillery_trainer.gpu_base --inputs DIR --out DIR`.

It runs where there is no node and no network (the device machine), from the folder that
`npm run models:build -- --prepare-gpu-base DIR` writes here (spec.json: a resolved spec whose data
paths are relative to DIR; corpus.txt.gz; vocab.txt; train.jsonl and eval.jsonl, which the
trainer's task stages need; inputs.json: the random teacher's init-model arguments, the plan, and
what `--base-from` checks the base against). Steps:

0. the random teacher, by init-model here (45 MB of fp32 noise is not worth carrying);

1. a probe: the same spec on the first PROBE_LINES corpus lines, PROBE_STEPS steps of mlm_pretrain
   and of general_distill, for their steps/s on this device (the first steps' start-up included,
   so the fitted run errs short);
2. the run: max_steps of mlm_pretrain and general_distill fitted to the budget (--minutes, split by
   inputs.json's mlm_share), so each stage's learning rate decays to zero inside it; the task
   stages after them run one step (the trainer requires them; their output is not kept);
3. the pack: the pre-trained teacher and the general student with their weights in fp16 (a third
   the bytes of fp32 for 11M + 8M parameters; the task stages start from them in fp32), one tar
   cut into parts of at most PART_BYTES (the device tool brings back files of at most 16 MiB),
   base.json (sha256 of the tar, parts, device, steps, rates, per-stage seconds) and the full
   run's events.jsonl (the curves models/README.md reports).

Exit codes: 0 packed; 1 a trainer run failed (its stderr tail printed); 2 bad inputs or no CUDA
device without --allow-cpu.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch

from . import safetensors_io

FORMAT = 1
PROBE_LINES = 20000
PROBE_STEPS = 40
# Under the device tool's 16 MiB per file, with room for the tar's headers.
PART_BYTES = 15 * 1024 * 1024
BASE_STAGES = ("mlm_pretrain", "general_distill")
# Where each base stage's result lies in the run's work dir, and its name in the pack.
PACKED = {"mlm_pretrain": "teacher", "general_distill": "general-student"}
TRAINER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def trainer_env() -> Dict[str, str]:
    """The environment of a `python -m distillery_trainer` child: this package on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": TRAINER_ROOT, "PYTHONUNBUFFERED": "1"}


class InputsError(Exception):
    """The inputs folder is not one --prepare-gpu-base wrote (exit 2)."""


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class RunResult:
    code: int
    events: List[Dict[str, Any]] = field(default_factory=list)
    # When each event arrived (time.monotonic(), the trainer's stdout unbuffered).
    arrivals: List[float] = field(default_factory=list)
    stderr_tail: str = ""
    seconds: float = 0.0
    # Wall seconds per stage, from its "started" to its "completed" event.
    stage_seconds: Dict[str, float] = field(default_factory=dict)

    def rate(self, stage: str) -> Optional[float]:
        """steps/s of the stage once warm: from the progress event a third of the way in to the
        last, by arrival time. The loop's own running rate counts the first steps too (CUDA and
        cuBLAS start-up), which over a 30-step probe can be most of it and would fit a run far
        shorter than its budget. None without progress events."""
        found = [(e, t) for e, t in zip(self.events, self.arrivals) if e.get("type") == "progress" and e.get("stage") == stage]
        if not found:
            return None
        (first, t0), (last, t1) = found[len(found) // 3], found[-1]
        if last["step"] > first["step"] and t1 > t0:
            return (last["step"] - first["step"]) / (t1 - t0)
        return float(last["steps_per_sec"])

    def error(self) -> Optional[str]:
        found = next((e for e in self.events if e.get("type") == "error"), None)
        return found.get("message") if found else None


def run_trainer(spec: Dict[str, Any], work: str, timeout: float) -> RunResult:
    """`python -m distillery_trainer train` on `spec`, events time-stamped as they arrive."""
    os.makedirs(work, exist_ok=True)
    spec_path = os.path.join(work, "spec.json")
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1)
    stderr_path = os.path.join(work, "trainer.stderr")
    started = time.monotonic()
    result = RunResult(code=0)
    opened: Dict[str, float] = {}
    with open(stderr_path, "w", encoding="utf-8") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "distillery_trainer", "train", "--spec", spec_path, "--work-dir", os.path.join(work, "run")],
                                 env=trainer_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert child.stdout is not None
        for line in child.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            result.events.append(event)
            result.arrivals.append(time.monotonic())
            if event.get("type") == "stage" and event.get("status") == "started":
                opened[event["stage"]] = time.monotonic()
            elif event.get("type") == "stage" and event.get("status") == "completed" and event["stage"] in opened:
                result.stage_seconds[event["stage"]] = round(time.monotonic() - opened[event["stage"]], 1)
            if time.monotonic() - started > timeout:
                child.kill()
                break
        result.code = child.wait()
    result.seconds = time.monotonic() - started
    with open(stderr_path, encoding="utf-8", errors="replace") as f:
        result.stderr_tail = f.read()[-3000:]
    return result


def read_inputs(folder: str) -> Dict[str, Any]:
    """inputs.json and spec.json of a --prepare-gpu-base folder, the spec's paths made absolute."""
    try:
        with open(os.path.join(folder, "inputs.json"), encoding="utf-8") as f:
            inputs = json.load(f)
        with open(os.path.join(folder, "spec.json"), encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as exc:
        raise InputsError(f"{folder} is not a folder `npm run models:build -- --prepare-gpu-base` wrote: {exc}") from exc
    if not isinstance(inputs, dict) or not isinstance(spec, dict):
        raise InputsError(f"{folder}: inputs.json and spec.json must each hold a JSON object; prepare the folder again with --prepare-gpu-base")
    if inputs.get("format") != FORMAT:
        raise InputsError(f"{folder}/inputs.json has format {inputs.get('format')!r}; this driver reads format {FORMAT}: prepare it again")
    plan = inputs.get("plan")
    if (not isinstance(plan, dict) or not isinstance(plan.get("minutes"), (int, float)) or not isinstance(plan.get("mlm_share"), (int, float))
            or not isinstance(inputs.get("teacher_init_args"), list) or not isinstance(spec.get("data"), dict)
            or not isinstance(spec.get("stages"), dict)):
        raise InputsError(f"{folder}: inputs.json lacks plan.minutes, plan.mlm_share or teacher_init_args, or spec.json lacks data or stages; "
                          "prepare the folder again with --prepare-gpu-base")
    for name in ("vocab.txt", "corpus.txt.gz", "train.jsonl", "eval.jsonl"):
        if not os.path.exists(os.path.join(folder, name)):
            raise InputsError(f"{folder}/{name} is missing: prepare the folder again with --prepare-gpu-base")
    spec["data"] = {role: (os.path.join(folder, rel) if rel else None) for role, rel in spec["data"].items()}
    return {"inputs": inputs, "spec": spec}


def init_teacher(folder: str, init_args: List[str], out: str) -> None:
    """`trainer init-model` with inputs.json's arguments and the folder's vocabulary."""
    result = subprocess.run([sys.executable, "-m", "distillery_trainer", "init-model", *init_args, "--vocab", os.path.join(folder, "vocab.txt"), "--out", out],
                            env=trainer_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise InputsError(f"init-model failed (exit {result.returncode}): {result.stderr[-2000:]}")


def unpack_corpus(gz: str, out: str, probe_out: str, probe_lines: int) -> int:
    """One pass over the gzipped corpus: all of it to `out`, its first `probe_lines` lines also to
    `probe_out`; returns the lines written to `out`."""
    written = 0
    with gzip.open(gz, "rt", encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst, \
            open(probe_out, "w", encoding="utf-8") as probe:
        for line in src:
            dst.write(line)
            if written < probe_lines:
                probe.write(line)
            written += 1
    return written


def with_steps(spec: Dict[str, Any], unlabeled: str, steps: Dict[str, int], evaluations: Optional[int] = None) -> Dict[str, Any]:
    """The spec with the base stages cut at `steps` and the task stages after them at one step:
    the trainer runs a whole job, and only the base is kept."""
    out = copy.deepcopy(spec)
    out["data"]["unlabeled"] = unlabeled
    for stage in BASE_STAGES:
        out["stages"][stage]["max_steps"] = max(1, int(steps[stage]))
    if evaluations is not None:
        out["stages"]["mlm_pretrain"]["evaluations"] = evaluations
    for stage in ("teacher_finetune", "task_distill"):
        out["stages"][stage]["epochs"] = 0.01
    out["stages"]["qat"]["enabled"] = False
    out["stages"]["augment"]["enabled"] = False
    out["max_steps_per_stage"] = None
    out["checkpoint_every"] = 1000
    out["eval_every_epoch"] = True
    return out


def fit_steps(rates: Dict[str, float], seconds: float, mlm_share: float) -> Dict[str, int]:
    """Optimizer steps per base stage that fill `seconds` of training at the probed rates."""
    share = {"mlm_pretrain": mlm_share, "general_distill": 1.0 - mlm_share}
    return {stage: max(1, math.floor(rates[stage] * seconds * share[stage])) for stage in BASE_STAGES}


def to_fp16_checkpoint(src: str, dst: str) -> None:
    """Copies a checkpoint folder, its floating-point weights stored as fp16."""
    shutil.copytree(src, dst)
    weights = os.path.join(dst, "model.safetensors")
    tensors, metadata = safetensors_io.load_file(weights)
    half = {k: (v.to(torch.float16) if v.is_floating_point() else v) for k, v in tensors.items()}
    safetensors_io.save_file(half, weights, metadata=metadata or None)


def pack(run_dir: str, out: str, work: str) -> Dict[str, Any]:
    """The base's two checkpoints as fp16, tarred and cut into parts in `out`; returns their record."""
    staging = os.path.join(work, "pack")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for stage, name in PACKED.items():
        to_fp16_checkpoint(os.path.join(run_dir, "checkpoints", stage), os.path.join(staging, name))
    tar_path = os.path.join(work, "base.tar")
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in PACKED.values():
            tar.add(os.path.join(staging, name), arcname=name)
    digest = hashlib.sha256()
    parts: List[str] = []
    with open(tar_path, "rb") as f:
        while True:
            chunk = f.read(PART_BYTES)
            if not chunk:
                break
            digest.update(chunk)
            part = f"base.tar.part{len(parts):02d}"
            with open(os.path.join(out, part), "wb") as p:
                p.write(chunk)
            parts.append(part)
    return {"sha256": digest.hexdigest(), "bytes": os.path.getsize(tar_path), "parts": parts, "weights": "fp16"}


def device_description() -> Dict[str, Any]:
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {"device": f"cuda ({props.name})", "bf16": bool(torch.cuda.is_bf16_supported())}
    return {"device": "cpu", "bf16": None}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distillery_trainer.gpu_base", description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", required=True, help="the folder --prepare-gpu-base wrote")
    parser.add_argument("--out", required=True, help="where base.json, events.jsonl and the parts go")
    parser.add_argument("--minutes", type=float, default=None, help="training minutes to fit (default: inputs.json's plan)")
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed at the end)")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (tests, a dry run)")
    args = parser.parse_args(argv)
    try:
        loaded = read_inputs(os.path.abspath(args.inputs))
    except InputsError as exc:
        log(f"error: {exc}")
        return 2
    inputs, spec = loaded["inputs"], loaded["spec"]
    where = device_description()
    log(f"torch {torch.__version__}, {where['device']}")
    if where["device"] == "cpu" and not args.allow_cpu:
        log("error: no CUDA device. The CPU build pre-trains its own base (npm run models:build); give --allow-cpu for a dry run here")
        return 2
    if where["device"] != "cpu":
        spec["device"] = "cuda"
        spec["precision"] = "bf16" if where["bf16"] else "fp16"
    minutes = args.minutes if args.minutes is not None else float(inputs["plan"]["minutes"])
    if not (math.isfinite(minutes) and minutes > 0):
        log(f"error: the training minutes (--minutes, GPU_BASE_MINUTES) must be a positive number, not {minutes}")
        return 2
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        log(f"error: --out {args.out} is a file; give a folder for the pack")
        return 2
    os.makedirs(args.out, exist_ok=True)
    # A pack of an earlier run in the same folder would otherwise sit beside this run's events.
    for name in os.listdir(args.out):
        if name == "base.json" or name == "events.jsonl" or name.startswith("base.tar.part"):
            os.remove(os.path.join(args.out, name))
    work = args.work or tempfile.mkdtemp(prefix="gpu-base-")
    started = time.monotonic()
    try:
        spec["teacher_path"] = os.path.join(work, "teacher")
        try:
            init_teacher(os.path.abspath(args.inputs), [str(a) for a in inputs["teacher_init_args"]], spec["teacher_path"])
        except InputsError as exc:
            log(f"error: {exc}")
            return 2
        corpus = os.path.join(work, "corpus.txt")
        probe_corpus = os.path.join(work, "probe-corpus.txt")
        lines = unpack_corpus(os.path.join(args.inputs, "corpus.txt.gz"), corpus, probe_corpus, PROBE_LINES)
        log(f"corpus: {lines} lines; probing {PROBE_STEPS} steps of each base stage")
        probe = run_trainer(with_steps(spec, probe_corpus, {s: PROBE_STEPS for s in BASE_STAGES}, evaluations=1),
                            os.path.join(work, "probe"), timeout=600)
        rates = {s: probe.rate(s) for s in BASE_STAGES}
        if probe.code != 0 or not all(rates.values()):
            log(f"probe failed (exit {probe.code}): {probe.error() or ''}\n{probe.stderr_tail}")
            return 1
        steps = fit_steps({s: float(r) for s, r in rates.items() if r}, minutes * 60, float(inputs["plan"]["mlm_share"]))
        log("probe: " + ", ".join(f"{s} {rates[s]:.2f} steps/s" for s in BASE_STAGES) + f"; fitting {minutes:g} min: " +
            ", ".join(f"{s} {n} steps" for s, n in steps.items()))
        full = run_trainer(with_steps(spec, corpus, steps), os.path.join(work, "full"), timeout=minutes * 60 * 3 + 600)
        with open(os.path.join(args.out, "events.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(e) + "\n" for e in full.events)
        if full.code != 0:
            log(f"run failed (exit {full.code}): {full.error() or ''}\n{full.stderr_tail}")
            return 1
        packed = pack(os.path.join(work, "full", "run"), args.out, work)
        start = next((e for e in full.events if e.get("type") == "start"), {})
        record = {
            "format": FORMAT,
            "inputs": inputs,
            "device": f"{where['device']}, {start.get('precision', spec['precision'])}",
            "torch": torch.__version__,
            "minutes": minutes,
            "steps": steps,
            "probe_steps_per_sec": rates,
            "steps_per_sec": {s: full.rate(s) for s in BASE_STAGES},
            "seconds": {s: full.stage_seconds.get(s) for s in BASE_STAGES},
            "run_seconds": round(full.seconds, 1),
            "total_seconds": round(time.monotonic() - started, 1),
            "pack": packed,
        }
        # Written last: its presence says the parts beside it are complete.
        with open(os.path.join(args.out, "base.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        log(f"packed {packed['bytes'] / 2**20:.1f} MiB in {len(packed['parts'])} part(s) into {args.out}; "
            f"mlm_pretrain {full.stage_seconds.get('mlm_pretrain')} s, general_distill {full.stage_seconds.get('general_distill')} s, "
            f"{record['total_seconds']:.0f} s in all")
        return 0
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
