import json
import struct

import pytest
import torch

from distillery_trainer import safetensors_io
from distillery_trainer.errors import InvalidInputError


def test_round_trip_every_dtype(tmp_path):
    tensors = {
        "f32": torch.randn(3, 4),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(2, 3).bfloat16(),
        "i64": torch.tensor([[1, -2], [3, 2**40]]),
        "i32": torch.tensor([7, -8], dtype=torch.int32),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
    }
    path = str(tmp_path / "t.safetensors")
    safetensors_io.save_file(tensors, path, metadata={"format": "pt"})
    loaded, meta = safetensors_io.load_file(path)
    assert meta == {"format": "pt"}
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype and loaded[name].shape == t.shape
        assert torch.equal(loaded[name], t), name
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0  # data section aligned


def test_reads_a_file_written_byte_by_byte(tmp_path):
    # Two tensors laid out by hand: a = F32 [2] = [1.0, -2.5], b = I64 [1] = [258].
    header = {
        "__metadata__": {"source": "hand"},
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "I64", "shape": [1, 1], "data_offsets": [8, 16]},
    }
    header_bytes = json.dumps(header).encode()
    data = bytes([0x00, 0x00, 0x80, 0x3F])  # 1.0 little-endian
    data += bytes([0x00, 0x00, 0x20, 0xC0])  # -2.5
    data += bytes([0x02, 0x01, 0, 0, 0, 0, 0, 0])  # 258
    blob = len(header_bytes).to_bytes(8, "little") + header_bytes + data
    path = tmp_path / "hand.safetensors"
    path.write_bytes(blob)
    tensors, meta = safetensors_io.load_file(str(path))
    assert meta == {"source": "hand"}
    assert tensors["a"].tolist() == [1.0, -2.5]
    assert tensors["b"].tolist() == [[258]] and tensors["b"].dtype == torch.int64


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"\x01\x00", "shorter"),
        ((1000).to_bytes(8, "little") + b"{}", "out of range"),
        ((2).to_bytes(8, "little") + b"[]", "not a JSON object"),
        (len(b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}').to_bytes(8, "little") + b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}' + b"\x00" * 8, "do not fit"),
        (len(b'{"x":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}').to_bytes(8, "little") + b'{"x":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}' + b"\x00", "unsupported"),
    ],
)
def test_malformed_files_are_bad_input(tmp_path, blob, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(InvalidInputError, match=message) as info:
        safetensors_io.load_file(str(path))
    assert info.value.file == str(path)
