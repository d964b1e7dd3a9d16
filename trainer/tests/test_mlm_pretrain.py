"""mlm_pretrain: BERT's masking, packing the corpus, the stage's training, exact resume, its output
checkpoint and the stages downstream that start from it."""

from __future__ import annotations

import io
import json
import os

import pytest
import torch
from conftest import BASE_SPEC, run_cli

from distillery_trainer import checkpoint as ckpt_io
from distillery_trainer import features as feats
from distillery_trainer import masked_lm, run_models, safetensors_io
from distillery_trainer.errors import InvalidInputError, StopRequested
from distillery_trainer.events import EventWriter
from distillery_trainer.loop import Runtime
from distillery_trainer.pipeline import StopFlag, build_context, run_pipeline
from distillery_trainer.spec import STAGES, load_spec
from distillery_trainer.stages import STAGE_FUNCTIONS
from distillery_trainer.state import RunState
from distillery_trainer.text_corpus import LineFeatures, PackedSequences, TokenisedLines, held_out_split

LINES = ["the cat sat on the mat", "a dog ran", "", "birds fly over the water and the hills every morning"]


def _stages(**mlm):
    stages = json.loads(json.dumps(BASE_SPEC["stages"]))
    stages["mlm_pretrain"].update(enabled=True, **mlm)
    for name in ("general_distill", "augment", "task_distill", "qat"):
        stages[name]["enabled"] = False
    return stages


def _context(spec_path, work, precision="fp32"):
    spec = load_spec(spec_path)
    rt = Runtime(torch.device("cpu"), precision, EventWriter(io.StringIO()), RunState(os.path.join(work, "checkpoints")), spec.seed)
    return build_context(spec, work, rt)


# --- masking ---------------------------------------------------------------------------------

def test_masking_chooses_15_percent_and_replaces_them_80_10_10_never_touching_special_tokens(tokenizer):
    masker = masked_lm.TokenMasker(tokenizer, 0.15)
    g = torch.Generator()
    g.manual_seed(0)
    words = masker.replacements[torch.randint(len(masker.replacements), (400, 128), generator=g)]
    words[:, 0], words[:, -1], words[:, -20:-1] = tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id
    masked, labels = masker(words, masked_lm.step_generator(42, 3))

    chosen = labels != masked_lm.IGNORE
    special = torch.isin(words, masker.special)
    assert not bool((chosen & special).any())
    assert torch.equal(masked[special], words[special])
    assert torch.equal(masked[~chosen], words[~chosen])
    assert torch.equal(labels[chosen], words[chosen])
    share = chosen.sum().item() / (~special).sum().item()
    assert share == pytest.approx(0.15, abs=0.005)
    n = chosen.sum().item()
    as_mask = (masked[chosen] == tokenizer.mask_id).sum().item() / n
    kept = (masked[chosen] == words[chosen]).sum().item() / n
    other = 1 - as_mask - kept
    assert as_mask == pytest.approx(0.8, abs=0.02)
    assert kept == pytest.approx(0.1, abs=0.015)  # plus the rare random draw of the same token
    assert other == pytest.approx(0.1, abs=0.015)
    assert not bool(torch.isin(masked[chosen & (masked != tokenizer.mask_id)], masker.special).any())


def test_masking_is_a_function_of_seed_and_step_alone(tokenizer):
    masker = masked_lm.TokenMasker(tokenizer, 0.15)
    ids = masker.replacements[:64].repeat(4, 1)
    first = masker(ids, masked_lm.step_generator(42, 7))
    torch.rand(100)  # the global random state does not enter
    again = masker(ids, masked_lm.step_generator(42, 7))
    other = masker(ids, masked_lm.step_generator(42, 8))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])


def test_a_batch_always_has_a_masked_token(tokenizer):
    masker = masked_lm.TokenMasker(tokenizer, 0.001)
    ids = torch.tensor([[tokenizer.cls_id, masker.replacements[5].item(), tokenizer.sep_id]])
    _, labels = masker(ids, masked_lm.step_generator(1, 0))
    assert labels.tolist() == [[masked_lm.IGNORE, masker.replacements[5].item(), masked_lm.IGNORE]]


# --- the corpus ------------------------------------------------------------------------------

def test_packing_fills_every_sequence_and_keeps_the_lines_in_order(tokenizer):
    lines = TokenisedLines(tokenizer, LINES)
    packed = PackedSequences(lines, 8)
    rows = [packed[i].input_ids for i in range(len(packed))]
    assert all(len(r) == 8 for r in rows[:-1]) and 2 <= len(rows[-1]) <= 8
    assert all(r[0] == tokenizer.cls_id for r in rows)
    assert packed.lengths() == [len(r) for r in rows]
    expected = []
    for line in LINES:
        expected += [t.id for t in tokenizer.tokenize(line)] + [tokenizer.sep_id]
    assert [i for r in rows for i in r[1:]] == expected


def test_line_features_are_text_features_without_holding_them(tokenizer):
    lines = TokenisedLines(tokenizer, LINES)
    lazy = LineFeatures(lines, 6)
    eager = feats.text_features(tokenizer, LINES, 6)
    assert [f.input_ids for f in lazy] == [f.input_ids for f in eager]
    assert lazy.lengths() == [len(f.input_ids) for f in eager]


def test_held_out_split_is_seeded_disjoint_and_capped():
    train, held = held_out_split(1000, 42)
    assert len(held) == 10 and len(train) == 990 and not set(train) & set(held)
    assert held_out_split(1000, 42) == (train, held)
    assert held_out_split(1000, 43)[1] != held
    assert len(held_out_split(500_000, 1)[1]) == 2000
    assert held_out_split(1, 1) == ([0], [])


# --- the stage -------------------------------------------------------------------------------

@pytest.fixture
def repetitive_corpus(tmp_path):
    path = tmp_path / "repetitive.txt"
    path.write_text("\n".join(["the cat sat on the mat and the dog sat on the rug"] * 300) + "\n")
    return str(path)


def test_a_short_run_lowers_the_held_out_mlm_loss(make_spec, corpus_dir, repetitive_corpus, tmp_path):
    data = {"train": os.path.join(corpus_dir, "train.jsonl"), "eval": os.path.join(corpus_dir, "eval.jsonl"), "unlabeled": repetitive_corpus}
    spec = make_spec(stages=_stages(epochs=2, batch_size=8, lr=2e-3, evaluations=2), data=data)
    ctx = _context(spec, str(tmp_path / "work"))
    # The same held-out sequences, scored before training.
    packed = PackedSequences(TokenisedLines(ctx.tokenizer, open(repetitive_corpus).read().split("\n")[:-1]), 32)
    held = packed.select(held_out_split(len(packed), ctx.spec.seed)[1])
    masker = masked_lm.TokenMasker(ctx.tokenizer, 0.15)
    before = masked_lm.evaluate_mlm(run_models.mlm_teacher(ctx), held, masker, seed=ctx.spec.seed, batch_size=64,
                                    pad_id=ctx.tokenizer.pad_id, device=torch.device("cpu"), autocast=ctx.rt.autocast)
    STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    history = ctx.state.history("mlm_pretrain")
    evals = [e["metrics"] for e in history["eval"]]
    assert len(evals) >= 2 and all(e["masked_tokens"] == before["masked_tokens"] > 0 for e in evals)
    assert evals[-1]["mlm_loss"] < before["mlm_loss"] * 0.6
    assert evals[-1]["masked_accuracy"] > before["masked_accuracy"]
    assert evals[-1]["perplexity"] == pytest.approx(2.718281828 ** evals[-1]["mlm_loss"], rel=1e-3)
    assert history["held_out"] >= 1 and history["mlm_head"] == "from the teacher"


def test_mlm_pretrain_trains_under_bf16_autocast(make_spec, corpus_dir, repetitive_corpus, tmp_path):
    # models:build trains in bf16 on CPUs with native bf16; the MLM head's norm once refused it.
    data = {"train": os.path.join(corpus_dir, "train.jsonl"), "eval": os.path.join(corpus_dir, "eval.jsonl"), "unlabeled": repetitive_corpus}
    spec = make_spec(stages=_stages(epochs=1, batch_size=8, lr=2e-3, evaluations=1, max_steps=3), data=data)
    ctx = _context(spec, str(tmp_path / "work"), precision="bf16")
    STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    (last,) = ctx.state.history("mlm_pretrain")["eval"][-1:]
    assert 0 < last["metrics"]["mlm_loss"] < float("inf")


def test_the_output_is_a_masked_lm_checkpoint_every_task_reads(make_spec, tmp_path):
    ctx = _context(make_spec(stages=_stages(max_steps=2)), str(tmp_path / "work"))
    STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    out = ctx.state.stage_dir("mlm_pretrain")
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["architectures"] == ["BertForMaskedLM"]
    ckpt = ckpt_io.read_checkpoint(out)
    assert ckpt.has_mlm_head and "cls.predictions.bias" in ckpt.tensors
    assert not ckpt.has_task_head("classification") and not ckpt.has_task_head("qa")
    for task in ("classification", "qa", "encoder"):
        model = ckpt_io.build_from_checkpoint(ckpt, task, id2label={0: "a", 1: "b"}, with_mlm_head=True)
        assert torch.equal(model.bert.embeddings.word_embeddings.weight, ckpt.tensors["bert.embeddings.word_embeddings.weight"])


def test_a_teacher_without_an_mlm_head_gets_a_fresh_one(make_spec, vocab_file, tmp_path):
    bare = str(tmp_path / "bare")
    made = run_cli(["init-model", "--out", bare, "--vocab", vocab_file, "--task", "classification", "--labels", "a,b", "--layers", "2",
                    "--hidden", "64", "--heads", "4", "--intermediate", "128", "--seed", "3"])
    assert made.returncode == 0, made.stderr
    assert not ckpt_io.read_checkpoint(bare).has_mlm_head
    ctx = _context(make_spec(stages=_stages(max_steps=2), teacher_path=bare), str(tmp_path / "work"))
    STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    assert ctx.state.history("mlm_pretrain")["mlm_head"] == "fresh"
    assert ckpt_io.read_checkpoint(ctx.state.stage_dir("mlm_pretrain")).has_mlm_head


class StopAt(EventWriter):
    def __init__(self, stage, step) -> None:
        super().__init__(io.StringIO())
        self.at, self.flag = (stage, step), StopFlag()

    def emit(self, type_, **fields):
        event = super().emit(type_, **fields)
        if type_ == "progress" and (fields["stage"], fields["step"]) == self.at:
            self.flag.requested = True
        return event


def test_a_stopped_and_resumed_mlm_pretrain_ends_with_the_uninterrupted_weights(make_spec, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    for name in STAGES[1:]:
        monkeypatch.setitem(STAGE_FUNCTIONS, name, lambda ctx, name=name: ctx.state.finish(name, "skipped", "test"))
    # 64 passages of about 12 pieces in 31-piece sequences: about 25, 3 steps an epoch at batch 8.
    spec = load_spec(make_spec(stages=_stages(epochs=3, batch_size=8), checkpoint_every=1000))
    whole, stopped = str(tmp_path / "whole"), str(tmp_path / "stopped")
    run_pipeline(spec, whole, EventWriter(io.StringIO()), StopFlag())
    events = StopAt("mlm_pretrain", 4)
    with pytest.raises(StopRequested):
        run_pipeline(spec, stopped, events, events.flag)
    run_pipeline(spec, stopped, EventWriter(io.StringIO()), StopFlag())

    def result(work):
        tensors, _ = safetensors_io.load_file(os.path.join(work, "checkpoints", "mlm_pretrain", "model.safetensors"))
        history = json.loads(open(os.path.join(work, "checkpoints", "state.json")).read())["history"]["mlm_pretrain"]
        return tensors, history

    a, ha = result(whole)
    b, hb = result(stopped)
    assert ha["steps"] == hb["steps"] > 4
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert ha["losses"] == hb["losses"]
    assert [e["metrics"] for e in ha["eval"]] == [e["metrics"] for e in hb["eval"]]


def test_the_stages_downstream_start_from_the_pre_trained_teacher(make_spec, tmp_path, monkeypatch):
    spec = make_spec(stages=_stages(max_steps=2), student={**BASE_SPEC["student"], "init": {"kind": "teacher", "path": None}, "hidden": 64, "heads": 4, "intermediate": 128})
    ctx = _context(spec, str(tmp_path / "work"))
    STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    pretrained = ckpt_io.read_checkpoint(ctx.state.stage_dir("mlm_pretrain"))
    word = "bert.embeddings.word_embeddings.weight"
    assert not torch.equal(pretrained.tensors[word], ctx.teacher_ckpt.tensors[word])

    assert run_models.general_teacher_checkpoint(ctx).path == pretrained.path
    assert run_models.mlm_checkpoint(ctx).path == pretrained.path
    student = run_models.initial_student(ctx, "encoder")
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, pretrained.tensors[word])

    from distillery_trainer.stages import teacher_finetune

    started = {}

    def capture(rt, cfg, features, modules, step, **kwargs):
        started.update({k: v.detach().clone() for k, v in modules["teacher"].state_dict().items()})
        return 0

    monkeypatch.setattr(teacher_finetune, "run_loop", capture)
    teacher_finetune.run(ctx)  # "auto" fine-tunes: the pre-trained teacher has no task head
    assert torch.equal(started[word], pretrained.tensors[word])
    assert "classifier.weight" in started and "classifier.weight" not in pretrained.tensors  # a fresh head


def test_the_spec_refuses_mlm_pretrain_without_text_or_without_fine_tuning(make_spec):
    with pytest.raises(InvalidInputError, match="data.unlabeled is null"):
        load_spec(make_spec(stages=_stages(), data={"train": "t", "eval": None, "unlabeled": None}))
    stages = _stages()
    stages["teacher_finetune"]["enabled"] = False
    with pytest.raises(InvalidInputError, match="teacher_finetune is disabled"):
        load_spec(make_spec(stages=stages))
    stages = _stages(mask_prob=1.5)
    with pytest.raises(InvalidInputError, match="mask_prob must be between 0 and 1"):
        load_spec(make_spec(stages=stages))


# --- bad text --------------------------------------------------------------------------------

def test_a_batch_without_a_maskable_token_has_a_zero_loss_not_nan(tokenizer):
    logits = torch.zeros(0, len(tokenizer.id_to_token), requires_grad=True)
    loss = masked_lm.mlm_loss(logits, torch.zeros(0, dtype=torch.long))
    assert float(loss) == 0.0
    loss.backward()
    assert logits.grad is not None and logits.grad.numel() == 0


@pytest.mark.parametrize("text", ["\x00" * 300 + "\n", "\u4f60\u597d\u4e16\u754c \u3053\u3093\u306b\u3061\u306f\n" * 5])
def test_text_the_vocabulary_cannot_read_is_refused_before_training(make_spec, corpus_dir, tmp_path, text):
    # NUL bytes are valid UTF-8 but no word piece; a script outside the vocabulary is all [UNK]:
    # either once trained on a loss of NaN and failed the job as a crash, not as bad data.
    path = tmp_path / "unreadable.txt"
    path.write_text(text)
    data = {"train": os.path.join(corpus_dir, "train.jsonl"), "eval": os.path.join(corpus_dir, "eval.jsonl"), "unlabeled": str(path)}
    ctx = _context(make_spec(stages=_stages(max_steps=1), data=data), str(tmp_path / "work"))
    with pytest.raises(InvalidInputError, match="data.unlabeled has no text the teacher's vocabulary knows") as err:
        STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    assert err.value.file == str(path)


def test_a_corpus_of_one_sequence_warns_that_nothing_is_held_out(make_spec, corpus_dir, tmp_path, caplog):
    path = tmp_path / "short.txt"
    path.write_text("the cat sat on the mat\n")
    data = {"train": os.path.join(corpus_dir, "train.jsonl"), "eval": os.path.join(corpus_dir, "eval.jsonl"), "unlabeled": str(path)}
    ctx = _context(make_spec(stages=_stages(max_steps=1, batch_size=2), data=data), str(tmp_path / "work"))
    with caplog.at_level("WARNING"):
        STAGE_FUNCTIONS["mlm_pretrain"](ctx)
    assert any("none is held out" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert ctx.state.history("mlm_pretrain")["held_out"] == 0
