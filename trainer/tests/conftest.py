"""Shared fixtures: a tiny deterministic corpus, vocabulary, random teacher and spec builder.

Everything is generated from fixed seeds so runs are reproducible and need no downloads."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from typing import Any, Dict, List

import pytest
import torch

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(PACKAGE_ROOT)
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

torch.set_num_threads(1)

LABELS = ["pos", "neg", "neutral"]
KEYWORDS = {
    "pos": ["great", "excellent", "love", "wonderful", "happy"],
    "neg": ["terrible", "awful", "hate", "broken", "angry"],
    "neutral": ["table", "window", "monday", "paper", "green"],
}
_SYLLABLES = ["ka", "lo", "mi", "tre", "sun", "vel", "dor", "pa", "qui", "ne", "ro", "zat", "bé", "ün"]


def _filler_words(rng: random.Random, count: int) -> List[str]:
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))))
    return sorted(words)


def make_sentence(rng: random.Random, label: str, filler: List[str]) -> str:
    """Keyword-labelled sentences: learnable by a tiny model in a few dozen steps."""
    words = [rng.choice(filler) for _ in range(rng.randint(3, 9))]
    for _ in range(rng.randint(1, 2)):
        words.insert(rng.randint(0, len(words)), rng.choice(KEYWORDS[label]))
    return " ".join(words).capitalize() + rng.choice([".", "!", "?"])


def write_jsonl(path: str, rows: List[Dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("corpus"))
    rng = random.Random(1234)
    filler = _filler_words(rng, 400)

    def rows(n: int) -> List[Dict[str, Any]]:
        return [{"text": make_sentence(rng, LABELS[i % 3], filler), "label": LABELS[i % 3]} for i in range(n)]

    write_jsonl(os.path.join(root, "train.jsonl"), rows(240))
    write_jsonl(os.path.join(root, "eval.jsonl"), rows(120))
    with open(os.path.join(root, "unlabeled.txt"), "w", encoding="utf-8") as f:
        for _ in range(64):
            f.write(make_sentence(rng, rng.choice(LABELS), filler) + "\n")
    with open(os.path.join(root, "corpus.txt"), "w", encoding="utf-8") as f:
        for name in ("train.jsonl", "unlabeled.txt"):
            with open(os.path.join(root, name), encoding="utf-8") as src:
                f.write(src.read())
        f.write(" ".join(filler) + "\n")
    return root


@pytest.fixture(scope="session")
def vocab_file(corpus_dir: str) -> str:
    from distillery_trainer.tokenization import write_vocab_file
    from distillery_trainer.vocab import build_vocab_from_files

    path = os.path.join(corpus_dir, "vocab.txt")
    write_vocab_file(path, build_vocab_from_files([os.path.join(corpus_dir, "corpus.txt")], 1200))
    return path


@pytest.fixture(scope="session")
def tokenizer(vocab_file: str):
    from distillery_trainer.tokenization import WordPieceTokenizer

    return WordPieceTokenizer.from_vocab_file(vocab_file)


def run_cli(args: List[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "DISTILLERY_TORCH_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "distillery_trainer", *args], env=env, capture_output=True, text=True, **kwargs)


def parse_events(stdout: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def teacher_dir(tmp_path_factory, vocab_file: str) -> str:
    out = str(tmp_path_factory.mktemp("teacher") / "model")
    result = run_cli([
        "init-model", "--out", out, "--vocab", vocab_file, "--task", "classification", "--labels", ",".join(LABELS),
        "--layers", "2", "--hidden", "64", "--heads", "4", "--intermediate", "128", "--seed", "7", "--mlm-head",
    ])
    assert result.returncode == 0, result.stderr
    assert parse_events(result.stdout)[-1]["type"] == "done"
    return out


BASE_SPEC: Dict[str, Any] = {
    "job_id": "test-job",
    "model": "tiny",
    "task": "classification",
    "labels": None,
    "max_length": 32,
    "doc_stride": 16,
    "max_query_length": 16,
    "qa_train_windows": "all",
    "student": {
        "layers": 2, "hidden": 64, "heads": 2, "intermediate": 96, "ffn_rank": None, "dropout": 0.1,
        "init": {"kind": "random", "path": None}, "auto": [],
    },
    "general_teacher_path": None,
    "general_teacher_finetuned": False,
    "mlm_model_path": None,
    "stages": {
        "mlm_pretrain": {
            "enabled": False, "epochs": 1, "batch_size": 8, "lr": 1e-3, "warmup_ratio": 0.1, "mask_prob": 0.15,
            "max_length": 32, "max_steps": None, "evaluations": 2,
        },
        "teacher_finetune": {"enabled": True, "epochs": 6, "batch_size": 16, "lr": 2e-3, "warmup_ratio": 0.1},
        "general_distill": {"enabled": True, "epochs": 1, "batch_size": 16, "lr": 1e-3, "layer_reduction": "sum", "max_steps": None},
        "augment": {"enabled": True, "methods": ["wordnet", "mlm"], "copies": 1, "replace_prob": 0.3, "max_examples": 40},
        "task_distill": {
            "enabled": True, "epochs": 6, "batch_size": 16, "lr": 2e-3, "warmup_ratio": 0.1, "temperature": 2,
            "attention_loss": "mse", "weights": "dynamic", "hidden_weight": 0.1, "attention_weight": 0.1,
            "hard_label_weight": 0, "early_stopping_patience": None, "layer_reduction": "sum",
        },
        "qat": {"enabled": True, "epochs": 2, "batch_size": 16, "lr": 1e-5, "recalibrate_every": 5, "temperature": 2, "observer": "minmax"},
    },
    "device": "cpu",
    "precision": "fp32",
    "seed": 42,
    "checkpoint_every": 25,
    "max_steps_per_stage": None,
    "eval_every_epoch": True,
}


@pytest.fixture
def make_spec(corpus_dir: str, teacher_dir: str, tmp_path):
    def build(**overrides: Any) -> str:
        spec = copy.deepcopy(BASE_SPEC)
        spec["teacher_path"] = teacher_dir
        spec["data"] = {
            "train": os.path.join(corpus_dir, "train.jsonl"),
            "eval": os.path.join(corpus_dir, "eval.jsonl"),
            "unlabeled": os.path.join(corpus_dir, "unlabeled.txt"),
        }
        for key, value in overrides.items():
            spec[key] = value
        path = tmp_path / f"spec-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(spec))
        return str(path)

    return build
