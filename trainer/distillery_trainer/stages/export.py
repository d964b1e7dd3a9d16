"""export: the output folder the registry publishes (docs/trainer-protocol.md, "Output")."""

from __future__ import annotations

from ..context import RunContext
from ..outputs import write_outputs

NAME = "export"


def run(ctx: RunContext) -> None:
    ctx.start(NAME)
    write_outputs(ctx)
    ctx.state.finish(NAME, "completed")
    ctx.stages_run.append(NAME)
    ctx.events.emit("stage", stage=NAME, status="completed")
