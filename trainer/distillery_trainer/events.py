"""Protocol events: one JSON object per line on stdout (logs go to stderr, never here)."""

from __future__ import annotations

import json
import math
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

    def emit(self, type_: str, **fields: Any) -> Dict[str, Any]:
        event = {"type": type_, **_json_safe(fields)}
        line = json.dumps(event, ensure_ascii=False, allow_nan=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
            self.history.append(event)
        return event
