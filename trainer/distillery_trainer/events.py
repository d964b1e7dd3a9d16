"""Protocol events: one JSON object per line on stdout (logs go to stderr, never here)."""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from typing import Any, Dict, IO, List, Optional


def _json_safe(value: Any) -> Any:
    # NaN/Infinity are not JSON; a diverged loss must still produce a parseable line.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class EventWriter:
    """Writes events to a stream; keeps a copy so tests and training.json can inspect them."""

    def __init__(self, stream: Optional[IO[str]] = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()
        self.history: List[Dict[str, Any]] = []
        self.reader_gone = False

    def emit(self, type_: str, **fields: Any) -> Dict[str, Any]:
        event = {"type": type_, **_json_safe(fields)}
        line = json.dumps(event, ensure_ascii=False, allow_nan=False)
        with self._lock:
            self.history.append(event)
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except BrokenPipeError:
                # The reader is gone (a parent that died: its SIGTERM is on the way, or a reader
                # that stopped reading). Nobody can read the rest, and failing here would lose
                # the training the stop is about to checkpoint: write nowhere from now on.
                self._stream = open(os.devnull, "w")
                self.reader_gone = True
        return event
