"""The weight files of a Hugging Face checkpoint folder: one file, or shards named by an index.

Looked for in the order transformers' from_pretrained uses: model.safetensors,
model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json. An index is
{"metadata": {...}, "weight_map": {tensor name: shard file name}}, as save_pretrained writes it
for checkpoints over its max_shard_size (shards named e.g. model-00001-of-00002.safetensors).
A .bin file is only ever opened with torch.load(weights_only=True): a checkpoint is data, never code.
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

import torch

from . import safetensors_io
from .errors import InvalidInputError
from .json_files import read_json_file

SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
TORCH_BIN = "pytorch_model.bin"
TORCH_BIN_INDEX = "pytorch_model.bin.index.json"
WEIGHT_FILES = (SAFETENSORS, SAFETENSORS_INDEX, TORCH_BIN, TORCH_BIN_INDEX)

# Weights of other frameworks that transformers can convert (from_tf / from_flax) but we cannot read.
_OTHER_FRAMEWORKS = {
    "tf_model.h5": "TensorFlow 2",
    "model.ckpt.index": "TensorFlow 1",
    "flax_model.msgpack": "Flax",
    "model.onnx": "ONNX",
}


def load_torch_file(path: str) -> object:
    """torch.load restricted to tensors and plain containers (no pickled code).

    Errors: InvalidInputError naming path when the file is unreadable or holds anything else."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise InvalidInputError(f"cannot load {os.path.basename(path)}: {str(exc).splitlines()[0]}", file=path) from exc
    except Exception as exc:  # the weights-only unpickler raises UnpicklingError for code objects
        raise InvalidInputError(f"refused to load {os.path.basename(path)} (not plain tensors): {exc}", file=path) from exc


def find_weights(directory: str) -> str:
    """The path of the folder's weight file or shard index, in transformers' order of preference.

    Errors: InvalidInputError naming the folder, saying which files would do (and, for weights of
    another framework, how to convert them)."""
    for name in WEIGHT_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    message = f"checkpoint has no PyTorch weights: expected {SAFETENSORS}, {TORCH_BIN} or a sharded {SAFETENSORS_INDEX} / {TORCH_BIN_INDEX}"
    others = [f"{name} ({framework})" for name, framework in _OTHER_FRAMEWORKS.items() if os.path.exists(os.path.join(directory, name))]
    if others:
        message += (f"; it has {', '.join(others)}: load it in transformers (from_pretrained with from_tf=True or"
                    " from_flax=True) and save_pretrained it to get model.safetensors")
    raise InvalidInputError(message, file=directory)


def read_weights(path: str) -> Dict[str, torch.Tensor]:
    """Every tensor of a weight file or of all shards of an index, by its name in the file(s)."""
    if path.endswith(".index.json"):
        return _read_sharded(path)
    return _read_single(path)


def _read_single(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        tensors, _ = safetensors_io.load_file(path)
        return tensors
    loaded = load_torch_file(path)
    if not isinstance(loaded, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()):
        raise InvalidInputError(f"{os.path.basename(path)} is not a flat dict of tensors (a state_dict)", file=path)
    return dict(loaded)


def read_index(index_path: str) -> Tuple[Dict[str, str], List[str]]:
    """(weight_map, shard paths) of a shard index; every shard must be a file beside the index.

    Shard names are checked by name, not by resolving links: in a Hugging Face hub cache every
    file of a snapshot folder is a symlink into ../../blobs.
    Errors: InvalidInputError naming the index (bad JSON, no weight_map, a shard name that is a
    path) or the shard file that is missing."""
    name = os.path.basename(index_path)
    index = read_json_file(index_path, name)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map or not all(isinstance(v, str) for v in weight_map.values()):
        raise InvalidInputError(f"{name} needs a non-empty \"weight_map\" object of tensor name -> shard file name", file=index_path)
    folder = os.path.dirname(os.path.abspath(index_path))
    suffix = ".safetensors" if name == SAFETENSORS_INDEX else ".bin"
    shards: List[str] = []
    for shard in dict.fromkeys(weight_map.values()):
        if os.path.basename(shard) != shard or shard in ("", ".", "..") or "\\" in shard:
            raise InvalidInputError(f"{name} names shard {shard!r}, which is not a file in the checkpoint folder", file=index_path)
        if not shard.endswith(suffix):
            raise InvalidInputError(f"{name} names shard {shard!r}; its shards must be {suffix} files", file=index_path)
        path = os.path.join(folder, shard)
        if not os.path.isfile(path):
            raise InvalidInputError(f"shard {shard} named in {name} is missing", file=path)
        shards.append(path)
    return dict(weight_map), shards


def _read_sharded(index_path: str) -> Dict[str, torch.Tensor]:
    weight_map, shards = read_index(index_path)
    tensors: Dict[str, torch.Tensor] = {}
    for path in shards:
        shard = os.path.basename(path)
        loaded = _read_single(path)
        for tensor, listed_in in weight_map.items():
            if listed_in == shard and tensor not in loaded:
                raise InvalidInputError(f"{os.path.basename(index_path)} places {tensor} in {shard}, which lacks it", file=path, tensor=tensor)
        tensors.update(loaded)
    return tensors
