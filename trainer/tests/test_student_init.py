"""student.init, general_teacher and mlm_model: where the student's weights and teachers come from."""

from __future__ import annotations

import io
import json
import os
import re

import pytest
import torch
from conftest import run_cli

from distillery_trainer import checkpoint as ckpt_io
from distillery_trainer import run_models
from distillery_trainer.errors import InvalidInputError
from distillery_trainer.events import EventWriter
from distillery_trainer.loop import Runtime
from distillery_trainer.pipeline import build_context
from distillery_trainer.spec import load_spec
from distillery_trainer.state import RunState

# The conftest teacher: 2 layers, 64 wide, 4 heads, intermediate 128, with an MLM head.
TEACHER_SHAPE = {"layers": 1, "hidden": 64, "heads": 4, "intermediate": 128, "ffn_rank": None, "dropout": 0.0, "auto": []}


def _context(spec_path: str, tmp_path):
    spec = load_spec(spec_path)
    rt = Runtime(torch.device("cpu"), "fp32", EventWriter(io.StringIO()), RunState(str(tmp_path / "work" / "checkpoints")), spec.seed)
    return build_context(spec, str(tmp_path / "work"), rt)


def _student(make_spec, tmp_path, init, **shape):
    ctx = _context(make_spec(student={**TEACHER_SHAPE, **shape, "init": init}), tmp_path)
    return ctx, run_models.initial_student(ctx)


def test_init_teacher_copies_the_embeddings_and_the_mapped_layers(make_spec, teacher_dir, tmp_path):
    ctx, student = _student(make_spec, tmp_path, {"kind": "teacher", "path": None})
    teacher = ckpt_io.read_checkpoint(teacher_dir).tensors
    state = student.state_dict()
    # One student layer of a two-layer teacher: g(1) = 1 * 2 / 1 = teacher layer 2 (index 1).
    for name in ("attention.self.query.weight", "intermediate.dense.weight", "output.LayerNorm.bias"):
        assert torch.equal(state[f"bert.encoder.layer.0.{name}"], teacher[f"bert.encoder.layer.1.{name}"])
    query = "attention.self.query.weight"
    assert not torch.equal(state[f"bert.encoder.layer.0.{query}"], teacher[f"bert.encoder.layer.0.{query}"])
    assert torch.equal(state["bert.embeddings.word_embeddings.weight"], teacher["bert.embeddings.word_embeddings.weight"])
    assert ctx.state.history("task_distill")["init"] == "teacher layers [2]"


def test_init_random_is_not_the_teacher(make_spec, teacher_dir, tmp_path):
    _, student = _student(make_spec, tmp_path, {"kind": "random", "path": None})
    teacher = ckpt_io.read_checkpoint(teacher_dir).tensors
    assert not torch.equal(student.state_dict()["bert.embeddings.word_embeddings.weight"], teacher["bert.embeddings.word_embeddings.weight"])


def test_init_teacher_with_another_width_names_the_tensor(make_spec, tmp_path):
    with pytest.raises(InvalidInputError, match=r"bert\.embeddings\.word_embeddings\.weight has shape \[\d+, 64\], expected \[\d+, 32\]"):
        _student(make_spec, tmp_path, {"kind": "teacher", "path": None}, hidden=32, heads=2, intermediate=64)


def _general_student(make_spec, tmp_path) -> str:
    """A general student checkpoint folder in Hugging Face layout, no task head, no pooler."""
    ctx, model = _student(make_spec, tmp_path, {"kind": "teacher", "path": None})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    out = str(tmp_path / "general-student")
    ckpt_io.save_checkpoint(model, ctx.tokenizer, out, with_task_head=False)
    tensors = ckpt_io.read_checkpoint(out).tensors
    from distillery_trainer import safetensors_io

    safetensors_io.save_file({k: v for k, v in tensors.items() if not k.startswith("bert.pooler.")}, os.path.join(out, "model.safetensors"))
    return out


def test_init_from_a_general_student_checkpoint(make_spec, tmp_path):
    folder = _general_student(make_spec, tmp_path)
    general = ckpt_io.read_checkpoint(folder).tensors
    ctx, student = _student(make_spec, tmp_path / "second", {"kind": "checkpoint", "path": folder})
    state = student.state_dict()
    for name, value in general.items():
        assert torch.equal(state[name], value), name
    assert ctx.state.history("task_distill")["init"] == f"checkpoint {folder}"


def test_init_checkpoint_with_another_vocabulary_is_refused(make_spec, tmp_path):
    folder = _general_student(make_spec, tmp_path)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, encoding="utf-8") as f:
        tokens = f.read().splitlines()
    tokens[10], tokens[11] = tokens[11], tokens[10]
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    os.remove(os.path.join(folder, "tokenizer.json"))
    spec = make_spec(student={**TEACHER_SHAPE, "init": {"kind": "checkpoint", "path": folder}})
    # Refused when the run's context is built, before teacher_finetune spends any time.
    with pytest.raises(InvalidInputError, match=rf"^student.init: the init checkpoint's vocabulary is not the teacher's \(both have \d+ tokens, "
                       rf"but id 10 is {re.escape(repr(tokens[10]))} where the teacher has {re.escape(repr(tokens[11]))}\)"):
        _context(spec, tmp_path / "second")


def test_general_distill_learns_from_general_teacher_and_the_student_starts_from_init(make_spec, teacher_dir, vocab_file, tmp_path):
    general_teacher = str(tmp_path / "general-teacher")
    made = run_cli(["init-model", "--out", general_teacher, "--vocab", vocab_file, "--task", "classification", "--labels", "a,b", "--layers", "4",
                    "--hidden", "48", "--heads", "4", "--intermediate", "96", "--seed", "3"])
    assert made.returncode == 0, made.stderr
    spec = make_spec(
        student={**TEACHER_SHAPE, "init": {"kind": "teacher", "path": None}},
        general_teacher_path=general_teacher, max_steps_per_stage=2,
    )
    raw = json.loads(open(spec).read())
    for stage in ("teacher_finetune", "augment", "task_distill", "qat"):
        raw["stages"][stage]["enabled"] = False
    with open(spec, "w") as f:
        json.dump(raw, f)
    from distillery_trainer.stages import general_distill

    ctx = _context(spec, tmp_path)
    general_distill.run(ctx)
    assert ctx.completed("general_distill")
    assert ctx.state.history("general_distill")["init"] == "teacher layers [2]"
    # The 48-wide general teacher's 4 layers, not the 64-wide task teacher's 2, were distilled.
    assert run_models.general_teacher_checkpoint(ctx).config.hidden_size == 48


def test_mlm_model_without_an_mlm_head_is_refused(make_spec, vocab_file, tmp_path):
    folder = str(tmp_path / "no-mlm")
    made = run_cli(["init-model", "--out", folder, "--vocab", vocab_file, "--task", "classification", "--labels", "a,b", "--layers", "1",
                    "--hidden", "32", "--heads", "2", "--intermediate", "64"])
    assert made.returncode == 0, made.stderr
    with pytest.raises(InvalidInputError, match=r"^mlm_model: mlm_model has no masked-LM head"):
        _context(make_spec(mlm_model_path=folder), tmp_path)
    # Only augment's "mlm" method reads it: with that method off, the run does not look at it.
    off = make_spec(mlm_model_path=folder)
    raw = json.loads(open(off).read())
    raw["stages"]["augment"]["methods"] = ["wordnet"]
    with open(off, "w") as f:
        json.dump(raw, f)
    _context(off, tmp_path / "off")


def test_general_teacher_finetuned_is_this_runs_finetuned_teacher(make_spec, tmp_path):
    spec = make_spec(general_teacher_finetuned=True, max_steps_per_stage=2)
    ctx = _context(spec, tmp_path)
    with pytest.raises(InvalidInputError, match=r"finetuned_teacher but teacher_finetune did not run"):
        run_models.general_teacher_checkpoint(ctx)
    from distillery_trainer.stages import teacher_finetune

    teacher_finetune.run(ctx)
    general = run_models.general_teacher_checkpoint(ctx)
    assert general.path == ctx.state.stage_dir("teacher_finetune")
    tuned = ckpt_io.read_checkpoint(ctx.state.stage_dir("teacher_finetune")).tensors
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(general.tensors[name], tuned[name])
    assert not torch.equal(general.tensors[name], ctx.teacher_ckpt.tensors[name])


def test_a_general_teacher_the_student_cannot_learn_from_is_refused_before_any_stage(make_spec, vocab_file, tmp_path):
    general_teacher = str(tmp_path / "general-teacher-2h")
    made = run_cli(["init-model", "--out", general_teacher, "--vocab", vocab_file, "--task", "classification", "--labels", "a,b", "--layers", "2",
                    "--hidden", "32", "--heads", "2", "--intermediate", "64"])
    assert made.returncode == 0, made.stderr
    # The student's 4 heads cannot be grouped from the general teacher's 2.
    spec = make_spec(student={**TEACHER_SHAPE, "init": {"kind": "random", "path": None}}, general_teacher_path=general_teacher)
    with pytest.raises(InvalidInputError, match=r"^general_teacher: student has 4 attention heads, more than the teacher's 2") as info:
        _context(spec, tmp_path)
    assert info.value.file == general_teacher


def _labelled_student(make_spec, tmp_path, names=None) -> str:
    """A published-version-like checkpoint: the student with its classifier, id2label renamed to `names`."""
    ctx, model = _student(make_spec, tmp_path, {"kind": "random", "path": None})
    with torch.no_grad():
        model.classifier.weight.add_(1.0)
    out = str(tmp_path / "published")
    ckpt_io.save_checkpoint(model, ctx.tokenizer, out)
    if names is not None:
        config_file = os.path.join(out, "config.json")
        config = json.loads(open(config_file).read())
        config["id2label"] = {str(i): name for i, name in enumerate(names)}
        config["label2id"] = {name: i for i, name in enumerate(names)}
        with open(config_file, "w") as f:
            json.dump(config, f)
    return out


@pytest.mark.parametrize("names, head_loaded", [(None, True), (["x", "y", "z"], False), (["neutral", "neg", "pos"], False)])
def test_init_keeps_a_classifier_only_when_it_answers_the_same_labels(make_spec, tmp_path, names, head_loaded):
    folder = _labelled_student(make_spec, tmp_path, names)
    published = ckpt_io.read_checkpoint(folder).tensors
    _, student = _student(make_spec, tmp_path / "second", {"kind": "checkpoint", "path": folder})
    state = student.state_dict()
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(state[name], published[name])
    assert torch.equal(state["classifier.weight"], published["classifier.weight"]) == head_loaded


def test_init_from_a_version_with_more_labels_starts_a_fresh_head(make_spec, tmp_path):
    folder = _labelled_student(make_spec, tmp_path)
    tensors = ckpt_io.read_checkpoint(folder).tensors
    tensors["classifier.weight"] = torch.ones(5, TEACHER_SHAPE["hidden"])
    tensors["classifier.bias"] = torch.ones(5)
    from distillery_trainer import safetensors_io

    safetensors_io.save_file(tensors, os.path.join(folder, "model.safetensors"))
    config_file = os.path.join(folder, "config.json")
    config = json.loads(open(config_file).read())
    config["id2label"] = {str(i): f"c{i}" for i in range(5)}
    with open(config_file, "w") as f:
        json.dump(config, f)
    _, student = _student(make_spec, tmp_path / "second", {"kind": "checkpoint", "path": folder})
    assert student.classifier.weight.shape[0] == 3
