"""What a work dir remembers between runs: finished stages, history, in-progress checkpoints.

    checkpoints/state.json            stages finished (completed or skipped), per-stage history
    checkpoints/<stage>.progress.pt   mid-stage checkpoint: step, module and optimizer states
    checkpoints/<stage>/              a finished stage's result (HF checkpoint folder or state.pt)

A progress checkpoint is two files: <stage>.progress.pt, a flat {name: tensor} dict read back
with torch.load(weights_only=True) like any other checkpoint, and <stage>.progress.json, the
structure around those tensors (steps, optimizer hyperparameters...). The split exists because
PyTorch 1.13's weights-only unpickler refuses even plain Python floats.
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


def _encode(value: Any, tensors: Dict[str, torch.Tensor]) -> Any:
    """JSON-able tree with tensors replaced by references into `tensors`."""
    if isinstance(value, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = value.detach().cpu()
        return {"__tensor__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: _encode(v, tensors) for k, v in value.items()}}
        # Optimizer state is keyed by parameter index (int): keep the key types.
        return {"__items__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, tensors) for v in value]}
    if isinstance(value, list):
        return [_encode(v, tensors) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot checkpoint a {type(value).__name__}")


def _decode(value: Any, tensors: Dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__dict__" in value:
            return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
        if "__items__" in value:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in value["__items__"]}
        if "__tuple__" in value:
            return tuple(_decode(v, tensors) for v in value["__tuple__"])
    return value


def save_tree(path: str, value: Any) -> None:
    """Writes path (tensors only) and path's .json twin (the structure), each atomically."""
    tensors: Dict[str, torch.Tensor] = {}
    structure = _encode(value, tensors)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(tensors, tmp)
    os.replace(tmp, path)
    write_json_atomic(_tree_json(path), structure)


def load_tree(path: str) -> Any:
    tensors = load_torch_file(path)
    if not isinstance(tensors, dict):
        raise ValueError(f"{path} is not a tensor dict")
    with open(_tree_json(path), encoding="utf-8") as f:
        return _decode(json.load(f), tensors)


def _tree_json(path: str) -> str:
    return os.path.splitext(path)[0] + ".json"


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
        save_tree(path, payload)
        self.data["current"] = {"stage": stage, "step": int(payload.get("step", 0))}
        self.save()
        return path

    def load_progress(self, stage: str) -> Optional[Dict[str, Any]]:
        path = self.progress_path(stage)
        if not (os.path.exists(path) and os.path.exists(_tree_json(path))):
            return None
        loaded = load_tree(path)
        return loaded if isinstance(loaded, dict) else None

    def clear_progress(self, stage: str) -> None:
        path = self.progress_path(stage)
        for file in (path, _tree_json(path)):
            if os.path.exists(file):
                os.remove(file)
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
