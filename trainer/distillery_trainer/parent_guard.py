"""Stop with the process that started us.

Node cannot ask Linux to signal a child when the parent dies, so each entry point the Node side
starts (the trainer's commands, the corpus and manual-page builders) asks itself: PR_SET_PDEATHSIG.
Without it, a `npm run models:build` or a worker killed with SIGTERM or SIGKILL left its Python
child running as an orphan, training on or writing into a cache nobody would commit.
"""
from __future__ import annotations

import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# The Node side names itself here when it starts us (src/training/trainer-runner.ts,
# tools/build-models.ts), so that a parent that died before prctl took effect can be told.
PARENT_PID_ENV = "DISTILLERY_PARENT_PID"

# The parent we were started by, once stop_with_parent() has run; None before.
_parent_at_start: "int | None" = None


def stop_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux for `sig` when the parent dies. Install the handler for `sig` first: what it does
    then is what happens on the parent's death (the trainer checkpoints; by default, exit).
    Returns False where it cannot (not Linux, no libc.so.6), after a warning."""
    global _parent_at_start
    if not sys.platform.startswith("linux"):
        return False
    # Popped, so that a process we start does not take our parent for its own.
    named = os.environ.pop(PARENT_PID_ENV, "")
    _parent_at_start = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig)) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    except OSError as err:
        log.warning("cannot watch the parent process: %s", err)
        return False
    # The parent that started us may have died before prctl took effect: then no signal will
    # come. Asked by its pid, not by "our parent is pid 1" (a worker run as a container's first
    # process is pid 1), nor by "our parent changed" (TRAINER_PYTHON may be a wrapper script).
    if named.isdigit() and not process_running(int(named)):
        _parent_at_start = int(named)
        os.kill(os.getpid(), sig)
    return True


def process_running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie, not yet reaped, has)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def parent_gone() -> bool:
    """Whether the parent stop_with_parent() saw has died (we have been adopted since)."""
    return _parent_at_start is not None and os.getppid() != _parent_at_start


def silence_output() -> None:
    """Point stdout and stderr (file descriptors 1 and 2) at /dev/null. Our output went to pipes
    the dead parent read; the next write would raise BrokenPipeError in the middle of saving the
    checkpoint the stop is for."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)
