"""The best checkpoint of a stage: evaluation schedule, selection by the headline metric, early
stopping, and resume keeping the best so far - on a one-weight model with scripted metrics."""

import io

import pytest
import torch
from torch import nn

from distillery_trainer.best_checkpoint import BestCheckpoint
from distillery_trainer.errors import StopRequested
from distillery_trainer.events import EventWriter
from distillery_trainer.features import Feature
from distillery_trainer.loop import LoopConfig, Runtime, eval_interval, run_loop
from distillery_trainer.pipeline import StopFlag
from distillery_trainer.state import RunState

STAGE = "task_distill"


def _features(n):
    return [Feature(input_ids=[2, 3 + i % 4], type_ids=[0, 0], label=0) for i in range(n)]


class Toy:
    """A one-weight model trained towards 1.0, evaluated with scripted accuracies in order."""

    def __init__(self, state_dir, accuracies):
        torch.manual_seed(0)
        self.model = nn.Linear(1, 1, bias=False)
        nn.init.constant_(self.model.weight, -2.0)
        self.state = RunState(str(state_dir))
        self.events = EventWriter(io.StringIO())
        self.stop = StopFlag()
        self.rt = Runtime(torch.device("cpu"), "fp32", self.events, self.state, seed=0, stop=self.stop)
        self.accuracies = accuracies
        self.weights_at_eval = {}

    def step(self, batch, epoch):
        x = batch.input_ids[:, 1:].float() / 4
        loss = ((self.model(x) - 1.0) ** 2).mean()
        return loss, {}

    def evaluate(self):
        done = len(self.state.history(STAGE)["eval"])  # evaluations so far, resumed runs included
        self.weights_at_eval[done] = float(self.model.weight)
        return "student", {"accuracy": self.accuracies[done], "macro_f1": 0.0}

    def run(self, best, epochs=3.0, n=8, after_step=None):
        cfg = LoopConfig(stage=STAGE, epochs=epochs, batch_size=1, lr=0.05, warmup_ratio=0.0, max_steps=None,
                         checkpoint_every=1000, eval_every_epoch=True, task="classification", pad_id=0)
        return run_loop(self.rt, cfg, _features(n), {"student": self.model}, self.step, evaluate=self.evaluate, best=best, after_step=after_step)

    def eval_steps(self):
        return [e["step"] for e in self.events.history if e["type"] == "eval"]


def test_eval_interval_evaluates_every_epoch_and_short_stages_at_least_min_times():
    assert eval_interval(per_epoch=100, total=1000, min_evaluations=4) == 100  # 10 epochs: once each
    assert eval_interval(per_epoch=100, total=150, min_evaluations=4) == 37  # 1.5 epochs: 37, 74, 111, 148, 150
    assert eval_interval(per_epoch=40, total=10, min_evaluations=4) == 2  # a quarter epoch
    assert eval_interval(per_epoch=40, total=10) == 10  # without a tracker: once, at the end
    assert eval_interval(per_epoch=5, total=2, min_evaluations=4) == 1  # fewer steps than evaluations: every step


def test_a_fractional_epoch_stage_evaluates_min_evaluations_times(tmp_path):
    toy = Toy(tmp_path, [0.1, 0.2, 0.3, 0.4, 0.5])
    done = toy.run(BestCheckpoint(toy.model, "accuracy"), epochs=0.25, n=40)
    assert done == 10
    assert toy.eval_steps() == [2, 4, 6, 8, 10]


def test_without_a_tracker_a_fractional_stage_evaluates_once_at_its_end(tmp_path):
    toy = Toy(tmp_path, [0.1])
    assert toy.run(None, epochs=0.25, n=40) == 10
    assert toy.eval_steps() == [10]


def test_the_best_evaluation_is_restored_not_the_last(tmp_path):
    toy = Toy(tmp_path, [0.5, 0.9, 0.7, 0.6])
    best = BestCheckpoint(toy.model, "accuracy")
    assert toy.run(best) == 24
    assert toy.eval_steps() == [6, 12, 18, 24]
    last_weight = float(toy.model.weight)
    assert best.restore()
    assert float(toy.model.weight) == toy.weights_at_eval[1] != last_weight
    assert best.summary() == {
        "metric": "accuracy", "best_step": 12, "best": 0.9, "last_step": 24, "last": 0.6, "evaluations": 4,
        "early_stopping_patience": None, "early_stopped_at": None,
    }


def test_early_stopping_ends_the_stage_after_patience_evaluations_without_improvement(tmp_path):
    toy = Toy(tmp_path, [0.5, 0.9, 0.9, 0.8, 0.95])
    best = BestCheckpoint(toy.model, "accuracy", patience=2)
    steps = toy.run(best, epochs=5.0)  # 40 steps, evaluated every epoch (8 steps)
    # A tie is no improvement: 16 is best, 24 and 32 are not, so the stage ends at 32.
    assert steps == 32 and toy.eval_steps() == [8, 16, 24, 32]
    assert toy.state.history(STAGE)["steps"] == 32
    assert best.summary()["early_stopped_at"] == 32 and best.best_step == 16
    best.restore()
    assert float(toy.model.weight) == toy.weights_at_eval[1]


def test_resume_keeps_the_best_so_far_and_runs_the_evaluation_a_stop_skipped(tmp_path):
    scripted = [0.5, 0.9, 0.7, 0.6]
    reference = Toy(tmp_path / "reference", scripted)
    reference_best = BestCheckpoint(reference.model, "accuracy")
    reference.run(reference_best)
    reference_best.restore()

    first = Toy(tmp_path / "work", scripted)

    def stop_at(step):
        # After step 18, whose evaluation is due: the stop's checkpoint comes before it.
        first.stop.requested = step == 18

    with pytest.raises(StopRequested):
        first.run(BestCheckpoint(first.model, "accuracy"), after_step=stop_at)
    assert first.eval_steps() == [6, 12]

    resumed = Toy(tmp_path / "work", scripted)  # a new process: fresh model, state from disk
    best = BestCheckpoint(resumed.model, "accuracy")
    assert resumed.run(best) == 24
    assert resumed.eval_steps() == [18, 24]
    assert best.best_step == 12 and best.evaluations == 4
    best.restore()
    # The best weights came through the progress checkpoint, identical to an uninterrupted run's.
    assert float(resumed.model.weight) == float(reference.model.weight) == first.weights_at_eval[1]


def test_observe_needs_the_metric():
    best = BestCheckpoint(nn.Linear(1, 1), "f1")
    with pytest.raises(KeyError, match="f1"):
        best.observe(1, {"accuracy": 1.0})
    assert not best.restore()
