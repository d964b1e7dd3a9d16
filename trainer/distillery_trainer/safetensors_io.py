"""A small, dependency-free reader and writer of the safetensors format.

Layout: an 8-byte little-endian unsigned header length N, N bytes of JSON header
({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}), then the raw
little-endian tensor bytes; data_offsets are relative to the end of the header.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Dict, Mapping, Optional, Tuple

import torch

from .errors import InvalidInputError

DTYPES: Dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
DTYPE_NAMES: Dict[torch.dtype, str] = {v: k for k, v in DTYPES.items()}

# Headers larger than this are not a model file we wrote or want; refuse rather than allocate.
MAX_HEADER_BYTES = 100 * 1024 * 1024


def _element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    t = tensor.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the same 2-byte words as int16.
        t = t.view(torch.int16)
    array = t.numpy()
    if sys.byteorder == "big":
        array = array.byteswap()
    return array.tobytes()


def save_file(
    tensors: Mapping[str, torch.Tensor],
    path: str,
    metadata: Optional[Mapping[str, str]] = None,
) -> None:
    """Writes tensors (sorted by name, so files are reproducible) atomically to path."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name]
        if tensor.dtype not in DTYPE_NAMES:
            raise ValueError(f"safetensors: unsupported dtype {tensor.dtype} for {name}")
        blob = _tensor_bytes(tensor)
        header[name] = {
            "dtype": DTYPE_NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def load_file(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Reads every tensor of a safetensors file; returns (tensors, metadata)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise InvalidInputError(f"cannot read safetensors file: {exc.strerror}", file=path) from exc
    if len(raw) < 8:
        raise InvalidInputError("safetensors file is shorter than its 8-byte header length", file=path)
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > MAX_HEADER_BYTES or 8 + header_len > len(raw):
        raise InvalidInputError(f"safetensors header length {header_len} is out of range", file=path)
    try:
        header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"safetensors header is not valid JSON: {exc}", file=path) from exc
    if not isinstance(header, dict):
        raise InvalidInputError("safetensors header is not a JSON object", file=path)
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + header_len :]
    tensors: Dict[str, torch.Tensor] = {}
    for name, info in header.items():
        tensors[name] = _decode_tensor(name, info, data, path)
    return tensors, dict(metadata)


def _decode_tensor(name: str, info: object, data: memoryview, path: str) -> torch.Tensor:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise InvalidInputError("safetensors entry lacks dtype/shape/data_offsets", file=path, tensor=name)
    dtype = DTYPES.get(info["dtype"])
    if dtype is None:
        raise InvalidInputError(f"unsupported safetensors dtype {info['dtype']!r}", file=path, tensor=name)
    shape = info["shape"]
    begin, end = info["data_offsets"]
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise InvalidInputError(f"bad shape {shape!r}", file=path, tensor=name)
    count = 1
    for dim in shape:
        count *= dim
    if not (0 <= begin <= end <= len(data)) or end - begin != count * _element_size(dtype):
        raise InvalidInputError(
            f"data_offsets [{begin}, {end}] do not fit shape {shape} of {info['dtype']}", file=path, tensor=name
        )
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    # bytearray copy: torch.frombuffer wants a writable buffer, and the result must outlive `raw`.
    buffer = bytearray(data[begin:end])
    read_dtype = torch.int16 if dtype == torch.bfloat16 else dtype
    tensor = torch.frombuffer(buffer, dtype=read_dtype)
    if sys.byteorder == "big" and _element_size(dtype) > 1:
        tensor = torch.from_numpy(tensor.numpy().byteswap())
    if dtype == torch.bfloat16:
        tensor = tensor.view(torch.bfloat16)
    return tensor.reshape(shape).clone()
