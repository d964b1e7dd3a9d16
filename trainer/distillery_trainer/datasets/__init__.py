"""Builders of real-text datasets from files already on the machine (no downloads)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict


def write_manifest(out_dir: str, manifest: Dict[str, Any], json_name: str, md_name: str, markdown: str) -> None:
    """A dataset's manifest twice: JSON for programs (json_name) and markdown for people (md_name)."""
    with open(os.path.join(out_dir, json_name), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, md_name), "w", encoding="utf-8") as f:
        f.write(markdown)
