"""A Python child of the Node side stops when its parent dies (parent_guard.stop_with_parent)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import BASE_SPEC, PACKAGE_ROOT

from distillery_trainer import cli
from distillery_trainer.events import EventWriter
from distillery_trainer.parent_guard import process_running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

CHILD = """
import sys, time
from distillery_trainer.parent_guard import stop_with_parent
if sys.argv[1] == "guarded":
    stop_with_parent()
print("ready", flush=True)
time.sleep(60)
"""

# The parent starts the child, says its pid, then waits to be killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=open(sys.argv[3], "w"))
print(child.pid, flush=True)
time.sleep(60)
"""


def _events(text: str):
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line the relay has not finished writing
                pass


def _orphan_after_parent_killed(tmp_path, mode: str) -> bool:
    """Starts parent -> child, kills the parent with SIGKILL; whether the child still runs 5 s later."""
    ready = tmp_path / f"{mode}.out"
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, mode, str(ready)], stdout=subprocess.PIPE, text=True, env=env)
    child_pid = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 30
        while "ready" not in ready.read_text():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while process_running(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return process_running(child_pid)
    finally:
        if process_running(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_a_guarded_child_stops_when_its_parent_is_killed(tmp_path):
    assert not _orphan_after_parent_killed(tmp_path, "guarded")


def test_without_the_guard_the_child_runs_on(tmp_path):
    # The case the guard exists for: Linux leaves an orphan running.
    assert _orphan_after_parent_killed(tmp_path, "unguarded")


def test_commands_run_as_a_program_are_guarded_and_train_asks_itself(monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(cli, "stop_with_parent", lambda: asked.append(True))
    monkeypatch.setitem(cli.COMMANDS, "build-vocab", lambda args, events: 0)
    args = ["build-vocab", "--corpus", "x", "--size", "10", "--out", "y"]
    assert cli.main(args) == 0 and asked == []  # in a test's own process: no guard
    assert cli.main(args, guard_parent=True) == 0 and asked == [True]
    monkeypatch.setitem(cli.COMMANDS, "train", lambda args, events: 0)
    asked.clear()
    assert cli.main(["train", "--spec", "s", "--work-dir", "w"], guard_parent=True) == 0 and asked == []


# Relays the trainer's output (events and logs on one pipe) into a file, as the Node runner reads
# it, until it is killed: then the trainer's pipe has no reader.
RELAY = """
import subprocess, sys
trainer = subprocess.Popen([sys.executable, "-m", "distillery_trainer", "train", "--spec", sys.argv[1], "--work-dir", sys.argv[2]],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
with open(sys.argv[3], "wb") as out:
    out.write(f"pid {trainer.pid}\\n".encode())
    out.flush()
    for line in trainer.stdout:
        out.write(line)
        out.flush()
"""


PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def _subreaper(on: bool) -> None:
    import ctypes

    assert ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on)) == 0


def _wait_exit_code(pid: int, seconds: float):
    """The exit code of an adopted child, or None if it is still running after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.1)
    return None


def test_a_trainer_whose_parent_is_killed_checkpoints_its_stage_and_exits_stopped(make_spec, tmp_path):
    stages = json.loads(json.dumps(BASE_SPEC["stages"]))
    stages["teacher_finetune"]["epochs"] = 400  # 15 steps an epoch: far more than the test waits for
    spec = make_spec(stages=stages, checkpoint_every=100000)
    work, relayed = tmp_path / "work", tmp_path / "relayed.txt"
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "DISTILLERY_TORCH_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    # This test process adopts the orphaned trainer, so that it can read its exit code.
    _subreaper(True)
    relay = subprocess.Popen([sys.executable, "-c", RELAY, spec, str(work), str(relayed)], env=env)
    trainer_pid = None
    try:
        deadline = time.monotonic() + 120
        while True:
            text = relayed.read_text() if relayed.exists() else ""
            if trainer_pid is None and text.startswith("pid "):
                trainer_pid = int(text.split()[1])
            if any(e.get("type") == "progress" and e.get("stage") == "teacher_finetune" and e["step"] >= 3 for e in _events(text)):
                break
            assert relay.poll() is None and time.monotonic() < deadline, text[-2000:]
            time.sleep(0.05)
        relay.kill()
        relay.wait()
        # 3: stopped, after the checkpoint (docs/trainer-protocol.md). Its last event, "stopped",
        # goes to a pipe nobody reads: writing it used to crash the trainer with exit 1.
        assert _wait_exit_code(trainer_pid, 60) == 3
        with open(work / "checkpoints" / "state.json") as f:
            current = json.load(f)["current"]
        # Stopped mid-stage, with the steps it had made (a run resumed from here goes on from them).
        assert current["stage"] == "teacher_finetune" and current["step"] >= 3, current
    finally:
        if trainer_pid and process_running(trainer_pid):
            os.kill(trainer_pid, signal.SIGKILL)
            os.waitpid(trainer_pid, 0)
        _subreaper(False)


def test_events_to_a_pipe_without_a_reader_are_dropped_not_raised():
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w")
    events = EventWriter(stream)
    events.emit("progress", stage="qat", step=1)
    events.emit("stopped", checkpoint="/w/checkpoints")
    assert events.reader_gone
    assert [e["type"] for e in events.history] == ["progress", "stopped"]
    try:
        stream.close()
    except BrokenPipeError:  # what was left in its buffer has nowhere to go
        pass


NAMED = """
import os
from distillery_trainer.parent_guard import stop_with_parent
stop_with_parent()
print(os.environ.get("DISTILLERY_PARENT_PID", "popped"), flush=True)
"""


def _run_named(parent_pid: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "DISTILLERY_PARENT_PID": parent_pid}
    return subprocess.run([sys.executable, "-c", NAMED], env=env, capture_output=True, text=True, timeout=60)


def test_a_child_whose_named_parent_died_before_it_asked_stops_at_once():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    result = _run_named(str(gone.pid))
    assert result.returncode == -signal.SIGTERM and result.stdout == ""


def test_a_named_parent_that_runs_is_enough_and_the_name_is_not_passed_on():
    # The child's parent is this test; the named process another one that runs, as when a wrapper
    # script sits between the Node side and python: no stop. And its own children do not inherit it.
    named = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = _run_named(str(named.pid))
        assert result.returncode == 0 and result.stdout.strip() == "popped"
    finally:
        named.kill()
        named.wait()
    assert _run_named(str(os.getpid())).returncode == 0
    assert _run_named("not-a-pid").returncode == 0
