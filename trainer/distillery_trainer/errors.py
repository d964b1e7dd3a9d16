"""Error classes that map onto the protocol's error codes and exit statuses."""

from __future__ import annotations

from typing import Any, Dict, Optional


class TrainerError(Exception):
    """Base class of the errors the trainer raises on purpose."""


class InvalidInputError(TrainerError):
    """Bad input (file, line, tensor, spec field): the job fails and is never retried (exit 2)."""

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        line: Optional[int] = None,
        tensor: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.tensor = tensor

    def event_fields(self) -> Dict[str, Any]:
        fields: Dict[str, Any] = {"code": "invalid_input", "message": self.message}
        if self.file is not None:
            fields["file"] = self.file
        if self.line is not None:
            fields["line"] = self.line
        if self.tensor is not None:
            fields["tensor"] = self.tensor
        return fields

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file + (f":{self.line}" if self.line is not None else ""))
        if self.tensor is not None:
            where.append(f"tensor {self.tensor}")
        return self.message + (f" ({', '.join(where)})" if where else "")


class StopRequested(TrainerError):
    """SIGTERM arrived and a checkpoint was saved; the process exits 3."""

    def __init__(self, checkpoint: str) -> None:
        super().__init__(f"stopped; checkpoint at {checkpoint}")
        self.checkpoint = checkpoint


EXIT_DONE = 0
EXIT_INTERNAL = 1
EXIT_INVALID_INPUT = 2
EXIT_STOPPED = 3
