"""What a work dir remembers between runs: finished stages, history, in-progress checkpoints.

    checkpoints/state.json            stages finished (completed or skipped), per-stage history
    checkpoints/<stage>.progress.pt   mid-stage checkpoint: step, module and optimizer states
    checkpoints/<stage>/              a finished stage's result (HF checkpoint folder or state.pt)

The .pt files hold only tensors, numbers, strings, lists and dicts, and are read back with
torch.load(weights_only=True) like any other checkpoint.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

import torch

from .checkpoint import load_torch_file


def write_json_atomic(path: str, value: Any) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


class RunState:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "state.json")
        self.data: Dict[str, Any] = {"finished": {}, "history": {}, "labels": None}
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self.data = json.load(f)

    @property
    def existed(self) -> bool:
        return os.path.exists(self.path)

    def finished(self, stage: str) -> Optional[Dict[str, Any]]:
        return self.data["finished"].get(stage)

    def finish(self, stage: str, status: str, reason: Optional[str] = None, step: int = 0) -> None:
        self.data["finished"][stage] = {"status": status, "reason": reason, "step": step}
        self.save()

    def history(self, stage: str) -> Dict[str, Any]:
        return self.data["history"].setdefault(stage, {"losses": [], "eval": [], "seconds": 0.0, "steps": 0})

    def save(self) -> None:
        write_json_atomic(self.path, self.data)

    def stage_dir(self, stage: str) -> str:
        path = os.path.join(self.directory, stage)
        os.makedirs(path, exist_ok=True)
        return path

    def progress_path(self, stage: str) -> str:
        return os.path.join(self.directory, f"{stage}.progress.pt")

    def save_progress(self, stage: str, payload: Dict[str, Any]) -> str:
        path = self.progress_path(stage)
        tmp = f"{path}.tmp{os.getpid()}"
        torch.save(payload, tmp)
        os.replace(tmp, path)
        self.data["current"] = {"stage": stage, "step": int(payload.get("step", 0))}
        self.save()
        return path

    def load_progress(self, stage: str) -> Optional[Dict[str, Any]]:
        path = self.progress_path(stage)
        if not os.path.exists(path):
            return None
        loaded = load_torch_file(path)
        return loaded if isinstance(loaded, dict) else None

    def clear_progress(self, stage: str) -> None:
        path = self.progress_path(stage)
        if os.path.exists(path):
            os.remove(path)
        if (self.data.get("current") or {}).get("stage") == stage:
            self.data["current"] = None
        self.save()

    def resumed_from(self) -> Optional[Dict[str, Any]]:
        current = self.data.get("current")
        if current:
            return {"stage": current["stage"], "step": current["step"]}
        done = [(s, v) for s, v in self.data["finished"].items()]
        if done:
            stage, info = done[-1]
            return {"stage": stage, "step": int(info.get("step", 0))}
        return None
