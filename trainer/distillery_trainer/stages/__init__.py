"""The stages of a `train` run, one module each, in the order of spec.STAGES (the one list of
stages): each module's `run(ctx)` trains, skips or completes its stage and records it in the
work dir's state. pipeline.run_pipeline calls them in that order."""

from __future__ import annotations

import importlib
from typing import Callable, Dict

from ..context import RunContext
from ..spec import STAGES

StageFn = Callable[[RunContext], None]

STAGE_FUNCTIONS: Dict[str, StageFn] = {name: importlib.import_module(f".{name}", __name__).run for name in STAGES}
