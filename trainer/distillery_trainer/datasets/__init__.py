"""Builders of real-text datasets from files already on the machine (no downloads)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict

from ..errors import InvalidInputError


def writable_out_dir(out_dir: str, flag: str = "--out") -> str:
    """Creates out_dir (and its parents) and proves a file can be written there, before a build
    spends its minute reading: a file in the way, a read-only or virtual file system (/proc)
    would otherwise fail only at the end, with a traceback. Returns out_dir; raises
    InvalidInputError naming `flag` and what to give instead."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InvalidInputError(f"{flag} {out_dir} is a file, not a folder; give a folder (it is created if missing)", file=out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise InvalidInputError(f"{flag} {out_dir} cannot be written ({exc.strerror or exc}); give a folder you can write to", file=out_dir) from None
    return out_dir


def write_atomically(path: str, data: bytes) -> None:
    """Writes data to path through a temporary file in the same folder and a rename, so a failed
    write (disk full, interrupted) leaves the previous file whole, never half of the new one."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_manifest(out_dir: str, manifest: Dict[str, Any], json_name: str, md_name: str, markdown: str) -> None:
    """A dataset's manifest twice: JSON for programs (json_name) and markdown for people (md_name)."""
    with open(os.path.join(out_dir, json_name), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, md_name), "w", encoding="utf-8") as f:
        f.write(markdown)
