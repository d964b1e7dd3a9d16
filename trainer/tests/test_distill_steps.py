"""Task distillation's step loss from the spec's fields: layer_reduction (sum as published, or
mean), hard_label_weight (cross-entropy on gold labels or answer positions), and the spec checks."""

import copy
import json

import pytest
import torch
import torch.nn.functional as F
from conftest import BASE_SPEC

from distillery_trainer import distill_steps as steps
from distillery_trainer import losses
from distillery_trainer.errors import InvalidInputError
from distillery_trainer.features import Feature, collate
from distillery_trainer.modeling import BertConfig, BertForDistillation
from distillery_trainer.spec import parse_spec

STUDENT_LAYERS = 2


def _spec(**task_distill):
    raw = copy.deepcopy(BASE_SPEC)
    raw.update(teacher_path="/t", data={"train": "/a", "eval": "/b", "unlabeled": None})
    raw["stages"]["task_distill"].update(task_distill)
    return parse_spec(json.loads(json.dumps(raw)))


def _models(task):
    torch.manual_seed(3)
    kw = dict(vocab_size=40, max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if task == "classification":
        kw["id2label"] = {0: "a", 1: "b", 2: "c"}
    teacher = BertForDistillation(BertConfig(hidden_size=24, num_hidden_layers=4, num_attention_heads=4, intermediate_size=32, **kw), task).eval()
    student = BertForDistillation(BertConfig(hidden_size=16, num_hidden_layers=STUDENT_LAYERS, num_attention_heads=2, intermediate_size=24, **kw), task).eval()
    features = [
        Feature(input_ids=[2, 7, 9, 11, 3], type_ids=[0] * 5, label=1, start_position=2, end_position=3),
        Feature(input_ids=[2, 8, 3], type_ids=[0] * 3, label=2, start_position=0, end_position=0),
    ]
    batch = collate(features, 0, task)
    with torch.no_grad():
        t_out = teacher(*batch.model_inputs(), output_internals=True)
        s_out = student(*batch.model_inputs(), output_internals=True)
    setup = lambda reduction: steps.IntermediateLossSetup(  # noqa: E731
        losses.DistillProjections(16, 24, STUDENT_LAYERS), losses.layer_mapping(STUDENT_LAYERS, 4), "mse", reduction
    )
    return s_out, t_out, batch, setup


def test_layer_reduction_from_the_spec_reaches_the_loss():
    s_out, t_out, batch, setup = _models("classification")
    terms = {}
    for reduction in ("sum", "mean"):
        stage = _spec(layer_reduction=reduction).stages["task_distill"]
        torch.manual_seed(0)  # the same projection for both
        _, terms[reduction] = steps.task_distill_loss(s_out, t_out, batch, setup(stage.extra["layer_reduction"]), stage, epoch=1)
    for term in ("hidden", "attention"):
        assert terms["mean"][term] > 0
        assert terms["sum"][term] == pytest.approx(STUDENT_LAYERS * terms["mean"][term], rel=1e-6)
    # One embedding layer: nothing to reduce.
    assert terms["sum"]["embed"] == pytest.approx(terms["mean"]["embed"], rel=1e-6)


@pytest.mark.parametrize("task", ["classification", "qa"])
def test_hard_label_weight_adds_weighted_gold_cross_entropy_to_the_prediction_term(task):
    s_out, t_out, batch, setup = _models(task)
    pred = {}
    for weight in (0, 0.5):
        stage = _spec(hard_label_weight=weight, weights={"pred": 1, "embed": 0, "hidden": 0, "attention": 0}).stages["task_distill"]
        torch.manual_seed(0)
        total, terms = steps.task_distill_loss(s_out, t_out, batch, setup("sum"), stage, epoch=1)
        assert float(total) == pytest.approx(terms["pred"])
        pred[weight] = terms["pred"]
    if task == "classification":
        gold = F.cross_entropy(s_out.logits, batch.labels)
    else:
        # Over the real tokens of each row only: the second row's padding is out of the softmax.
        rows = [(s, e, int(n)) for s, e, n in zip(batch.start_positions, batch.end_positions, batch.attention_mask.sum(1))]
        gold = sum(
            (F.cross_entropy(s_out.start_logits[i, :n][None], s[None]) + F.cross_entropy(s_out.end_logits[i, :n][None], e[None])) / 2
            for i, (s, e, n) in enumerate(rows)
        ) / len(rows)
    assert float(gold) > 0
    assert pred[0.5] - pred[0] == pytest.approx(0.5 * float(gold), rel=1e-5)


def test_new_task_distill_fields_are_read_and_checked():
    stage = _spec().stages["task_distill"]
    assert stage.extra["hard_label_weight"] == 0 and stage.extra["early_stopping_patience"] is None and stage.extra["layer_reduction"] == "sum"
    assert _spec(early_stopping_patience=3).stages["task_distill"].extra["early_stopping_patience"] == 3
    for field, value, message in [
        ("layer_reduction", "max", "stages.task_distill.layer_reduction must be 'sum' or 'mean'"),
        ("hard_label_weight", -1, "stages.task_distill.hard_label_weight must be 0 or more"),
        ("early_stopping_patience", 0, "stages.task_distill.early_stopping_patience must be positive"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            _spec(**{field: value})
    raw = copy.deepcopy(BASE_SPEC)
    raw.update(teacher_path="/t", data={"train": "/a", "eval": "/b", "unlabeled": None})
    del raw["stages"]["general_distill"]["layer_reduction"]
    with pytest.raises(InvalidInputError, match="stages.general_distill.layer_reduction is missing"):
        parse_spec(raw)
