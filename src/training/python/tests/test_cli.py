import io
import json

from distillery_trainer import cli


def _run(monkeypatch, capsys, fn):
    monkeypatch.setitem(cli.COMMANDS, "build-vocab", fn)
    code = cli.main(["build-vocab", "--corpus", "x", "--size", "10", "--out", "y"])
    return code, [json.loads(l) for l in capsys.readouterr().out.splitlines()]


def test_internal_errors_exit_1_with_a_one_line_message(monkeypatch, capsys):
    def boom(args, events):
        raise RuntimeError("disk on fire\nsecond line")

    code, events = _run(monkeypatch, capsys, boom)
    assert code == 1
    assert events == [{"type": "error", "code": "internal", "message": "RuntimeError: disk on fire"}]


def test_missing_spec_is_invalid_input(capsys, tmp_path):
    code = cli.main(["train", "--spec", str(tmp_path / "nope.json"), "--work-dir", str(tmp_path / "w")])
    events = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert code == 2 and events[-1]["code"] == "invalid_input" and events[-1]["file"].endswith("nope.json")


def test_spec_field_errors_name_the_field(capsys, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"job_id": "x", "task": "classification"}))
    code = cli.main(["train", "--spec", str(spec), "--work-dir", str(tmp_path / "w")])
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 2 and event["message"] == "spec field data is missing" and event["file"] == str(spec)
