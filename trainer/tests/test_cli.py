import io
import json

import pytest
import torch
from conftest import run_cli

from distillery_trainer import cli
from distillery_trainer.errors import InvalidInputError
from distillery_trainer.events import EventWriter


def _run(monkeypatch, capsys, fn):
    monkeypatch.setitem(cli.COMMANDS, "build-vocab", fn)
    code = cli.main(["build-vocab", "--corpus", "x", "--size", "10", "--out", "y"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_internal_errors_exit_1_with_a_one_line_message(monkeypatch, capsys):
    def boom(args, events):
        raise RuntimeError("disk on fire\nsecond line")

    code, events = _run(monkeypatch, capsys, boom)
    assert code == 1
    assert events == [{"type": "error", "code": "internal", "message": "RuntimeError: disk on fire"}]


def test_missing_spec_is_invalid_input(capsys, tmp_path):
    code = cli.main(["train", "--spec", str(tmp_path / "nope.json"), "--work-dir", str(tmp_path / "w")])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 2 and events[-1]["code"] == "invalid_input" and events[-1]["file"].endswith("nope.json")


def test_spec_field_errors_name_the_field(capsys, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"job_id": "x", "task": "classification"}))
    code = cli.main(["train", "--spec", str(spec), "--work-dir", str(tmp_path / "w")])
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 2 and event["message"] == "spec field data is missing" and event["file"] == str(spec)


def test_init_model_records_the_dropout_it_was_given(tmp_path, vocab_file):
    out = str(tmp_path / "teacher")
    result = run_cli(["init-model", "--out", out, "--vocab", vocab_file, "--task", "qa", "--layers", "1", "--hidden", "32",
                      "--heads", "2", "--intermediate", "64", "--dropout", "0"])
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "teacher" / "config.json").read_text())
    assert config["hidden_dropout_prob"] == 0.0 and config["attention_probs_dropout_prob"] == 0.0
    bad = run_cli(["init-model", "--out", str(tmp_path / "t2"), "--vocab", vocab_file, "--task", "qa", "--layers", "1",
                   "--hidden", "32", "--heads", "2", "--intermediate", "64", "--dropout", "1.5"])
    assert bad.returncode == 2 and "--dropout must be between 0 and 0.9" in bad.stdout


def test_student_dropout_reaches_the_student_and_is_bounded(make_spec, tmp_path):
    from distillery_trainer.spec import load_spec
    from distillery_trainer import run_models
    from distillery_trainer.loop import Runtime
    from distillery_trainer.pipeline import build_context
    from distillery_trainer.state import RunState

    student = {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 96, "ffn_rank": None, "init": {"kind": "random", "path": None}, "auto": []}
    spec = load_spec(make_spec(student={**student, "dropout": 0.0}))
    assert spec.student.dropout == 0.0
    # The trainer has no defaults of its own: the resolved spec names every field.
    with pytest.raises(InvalidInputError, match=r"student.dropout is missing"):
        load_spec(make_spec(student=student))
    rt = Runtime(torch.device("cpu"), "fp32", EventWriter(io.StringIO()), RunState(str(tmp_path / "work" / "checkpoints")), spec.seed)
    config = run_models.student_config(build_context(spec, str(tmp_path / "work"), rt))
    assert config.hidden_dropout_prob == 0.0 and config.attention_probs_dropout_prob == 0.0
    with pytest.raises(InvalidInputError, match=r"student.dropout must be between 0 and 0.9"):
        load_spec(make_spec(student={**student, "dropout": 1.0}))
