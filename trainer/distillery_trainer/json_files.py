"""Reading the JSON files a run is given (spec, config.json, shard indexes): one place that turns
an unreadable or malformed file into bad input naming it."""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidInputError


def read_json_file(path: str, what: str) -> Any:
    """The parsed JSON of `path`; `what` names it in messages ("spec", "config.json", ...).

    Errors: InvalidInputError (file=path) when it cannot be read or is not valid JSON. A UTF-8 byte
    order mark is accepted, as editors on Windows write one."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what}: {exc.strerror}", file=path) from exc
    except ValueError as exc:
        raise InvalidInputError(f"{what} is not valid JSON: {exc}", file=path) from exc
