"""scripts/gpu-check.sh writes its resolved specs by hand; these tests keep them in step with the
trainer's protocol (docs/trainer-protocol.md): its Python (the heredoc between <<'PY' and PY) is
executed under a name other than __main__, so nothing runs, and resolved_spec()'s output must pass
parse_spec and hold exactly the fields of conftest.BASE_SPEC (so neither a new required field nor
a retired one goes unnoticed)."""

from __future__ import annotations

import os
import re
from typing import Any, Dict

import pytest

from conftest import BASE_SPEC, REPO_ROOT
from distillery_trainer.spec import parse_spec

SCRIPT = os.path.join(REPO_ROOT, "scripts", "gpu-check.sh")
# The fields conftest's make_spec adds to BASE_SPEC for each test.
PER_TEST_FIELDS = {"teacher_path", "data"}


def script_python() -> str:
    """The heredoc's text: the lines after the one ending in <<'PY' up to the line `PY`."""
    with open(SCRIPT, encoding="utf-8") as f:
        text = f.read()
    found = re.search(r"<<'PY'\n(.*?)\nPY\n", text, re.S)
    assert found, f"{SCRIPT}: no <<'PY' ... PY heredoc"
    return found.group(1)


@pytest.fixture(scope="module")
def gpu_check() -> Dict[str, Any]:
    namespace: Dict[str, Any] = {"__name__": "gpu_check", "__file__": SCRIPT}
    exec(compile(script_python(), SCRIPT, "exec"), namespace)
    return namespace


def test_the_heredoc_runs_main_only_as_main(gpu_check):
    # Executing it under another name defined the functions and started no run.
    assert callable(gpu_check["resolved_spec"]) and callable(gpu_check["main"])
    assert re.search(r'^if __name__ == "__main__":\n    sys\.exit\(main\(\)\)$', script_python(), re.M)


@pytest.mark.parametrize("device,precision,steps", [("cpu", "fp32", 20), ("cuda", "bf16", 200), ("cuda", "fp16", 200)])
def test_resolved_spec_parses(gpu_check, tmp_path, device, precision, steps):
    root, teacher = str(tmp_path), str(tmp_path / "teacher")
    raw = gpu_check["resolved_spec"](root, teacher, device, precision, steps)
    spec = parse_spec(raw, "gpu-check.sh resolved_spec()")
    assert (spec.device, spec.precision, spec.teacher_path) == (device, precision, teacher)
    # The masked-LM pre-training run: enabled, on the corpus write_data() writes, stopped at `steps`.
    mlm = spec.stages["mlm_pretrain"]
    assert mlm.enabled is True and mlm.max_steps == steps
    assert spec.unlabeled == os.path.join(root, "corpus.txt")
    assert spec.stages["teacher_finetune"].enabled is True
    assert [name for name in gpu_check["STAGES"] if not spec.stages[name].enabled] == []
    assert spec.max_steps_per_stage == steps


def test_resolved_spec_has_the_protocols_fields_and_no_others(gpu_check, tmp_path):
    raw = gpu_check["resolved_spec"](str(tmp_path), str(tmp_path / "teacher"), "cpu", "fp32", 5)
    assert set(raw) == set(BASE_SPEC) | PER_TEST_FIELDS
    assert set(raw["data"]) == {"train", "eval", "unlabeled"}
    assert set(raw["student"]) == set(BASE_SPEC["student"])
    assert set(raw["stages"]) == set(BASE_SPEC["stages"])
    for name, fields in BASE_SPEC["stages"].items():
        assert set(raw["stages"][name]) == set(fields), name
