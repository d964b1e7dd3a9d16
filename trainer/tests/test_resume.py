"""Exact resume: a run stopped mid-epoch (as SIGTERM stops it) and resumed ends with the same
weights, bit for bit, as the same run uninterrupted - in every stage that trains."""

import io
import json
import os

import pytest
import torch

from conftest import BASE_SPEC
from distillery_trainer import safetensors_io
from distillery_trainer.checkpoint import load_torch_file
from distillery_trainer.errors import StopRequested
from distillery_trainer.events import EventWriter
from distillery_trainer.spec import load_spec
from distillery_trainer.pipeline import StopFlag, run_pipeline
from distillery_trainer.stages import STAGE_FUNCTIONS

# (stage, step after which to stop): each mid-epoch and, for QAT, between two recalibrations.
STOPS = {("teacher_finetune", 8), ("general_distill", 3), ("task_distill", 20), ("qat", 7)}


class StopAt(EventWriter):
    """Asks the pipeline to stop, as the SIGTERM handler does, when a stage reports a given step."""

    def __init__(self, stops) -> None:
        super().__init__(io.StringIO())
        self.stops = stops
        self.flag = StopFlag()

    def emit(self, type_, **fields):
        event = super().emit(type_, **fields)
        if type_ == "progress" and (fields["stage"], fields["step"]) in self.stops:
            self.flag.requested = True
        return event


def _finish_export(ctx) -> None:
    # The weights are compared, not the ONNX files: export is left out to save minutes.
    ctx.state.finish("export", "completed")


def _run(spec, work, stops=frozenset()):
    """Runs the pipeline to the end, resuming after each stop; returns the steps it stopped at."""
    stopped = []
    while True:
        events = StopAt(stops)
        try:
            run_pipeline(spec, work, events, events.flag)
            return stopped
        except StopRequested:
            with open(os.path.join(work, "checkpoints", "state.json")) as f:
                stopped.append(json.load(f)["current"])
        assert len(stopped) <= len(stops)


def _results(work):
    ckpts = os.path.join(work, "checkpoints")
    tensors = {}
    for stage in ("teacher_finetune", "general_distill", "task_distill"):
        loaded, _ = safetensors_io.load_file(os.path.join(ckpts, stage, "model.safetensors"))
        tensors.update({f"{stage}/{k}": v for k, v in loaded.items()})
    tensors.update({f"qat/{k}": v for k, v in load_torch_file(os.path.join(ckpts, "qat", "state.pt")).items()})
    with open(os.path.join(ckpts, "state.json")) as f:
        return tensors, json.load(f)["history"]


def test_a_stopped_and_resumed_run_ends_with_the_uninterrupted_weights(make_spec, tmp_path, monkeypatch):
    monkeypatch.setitem(STAGE_FUNCTIONS, "export", _finish_export)
    stages = json.loads(json.dumps(BASE_SPEC["stages"]))
    stages["teacher_finetune"]["epochs"] = 1  # 240 rows / 16: 15 steps an epoch
    stages["general_distill"]["epochs"] = 2  # 64 passages / 16: 4 steps an epoch
    stages["augment"]["enabled"] = False
    stages["task_distill"]["epochs"] = 3
    stages["qat"].update(epochs=1, recalibrate_every=1000)  # 15 steps: recalibrated every 3
    spec = load_spec(make_spec(stages=stages, checkpoint_every=1000))
    assert spec.student.dropout > 0  # dropout's randomness must resume too

    assert _run(spec, str(tmp_path / "whole")) == []
    stopped = _run(spec, str(tmp_path / "stopped"), STOPS)
    assert {(s["stage"], s["step"]) for s in stopped} == STOPS

    whole, whole_history = _results(str(tmp_path / "whole"))
    resumed, resumed_history = _results(str(tmp_path / "stopped"))
    assert whole.keys() == resumed.keys()
    differing = [k for k in whole if not torch.equal(whole[k], resumed[k])]
    assert differing == []
    for stage in ("teacher_finetune", "general_distill", "task_distill", "qat"):
        assert resumed_history[stage]["steps"] == whole_history[stage]["steps"]
    # QAT of 15 steps with recalibrate_every 1000: calibration and steps 3, 6, 9, 12, 15.
    assert whole_history["qat"]["recalibrations"] == resumed_history["qat"]["recalibrations"] == 6
    assert whole_history["task_distill"]["losses"] == resumed_history["task_distill"]["losses"]


@pytest.fixture(autouse=True)
def _one_thread():
    # Same float summation order in both runs (the conftest sets one thread; keep it explicit).
    torch.set_num_threads(1)
