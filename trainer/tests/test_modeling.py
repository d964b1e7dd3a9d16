import json
import os
import shutil
import subprocess

import onnx
import pytest
import torch

from conftest import REPO_ROOT
from distillery_trainer.export import export_int8, export_onnx
from distillery_trainer.modeling import BertConfig, BertForDistillation, MASK_VALUE
from distillery_trainer.quantization import QatController, prepare_qat

ORT_RUN = os.path.join(os.path.dirname(__file__), "ort_run.cjs")


def _cfg(**kw):
    base = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                max_position_embeddings=64, id2label={0: "a", 1: "b", 2: "c"})
    base.update(kw)
    return BertConfig(**base)


def test_low_rank_ffn_shapes_and_parameter_count():
    full = BertForDistillation(_cfg(), "classification")
    low = BertForDistillation(_cfg(ffn_rank=8), "classification")
    inter = low.bert.encoder.layer[0].intermediate
    assert inter.dense_u.weight.shape == (8, 32) and inter.dense_u.bias is None  # U: h x r
    assert inter.dense_v.weight.shape == (128, 8) and inter.dense_v.bias.shape == (128,)  # V: r x I
    assert not hasattr(inter, "dense")
    names = {n for n, _ in low.named_parameters()}
    assert "bert.encoder.layer.1.intermediate.dense_u.weight" in names
    n_full = sum(p.numel() for p in full.parameters())
    n_low = sum(p.numel() for p in low.parameters())
    per_layer_saving = 32 * 128 - (32 * 8 + 8 * 128)
    assert n_full - n_low == 2 * per_layer_saving
    # The source's example: 768x3072 -> 768x256 + 256x3072.
    assert 768 * 256 + 256 * 3072 == 983040


def test_internals_shapes_and_masked_scores():
    torch.manual_seed(0)
    model = BertForDistillation(_cfg(), "qa").eval()
    ids = torch.randint(5, 100, (2, 7))
    mask = torch.ones_like(ids)
    mask[0, 5:] = 0
    out = model(ids, mask, torch.zeros_like(ids), output_internals=True)
    assert out.start_logits.shape == (2, 7) and out.end_logits.shape == (2, 7)
    assert len(out.hidden_states) == 3 and out.hidden_states[0] is out.embedding_output
    assert len(out.attention_scores) == 2 and out.attention_scores[0].shape == (2, 4, 7, 7)
    assert (out.attention_scores[0][0, :, :, 5:] < MASK_VALUE / 2).all()  # pre-softmax, mask applied
    assert (out.attention_scores[0][1] > MASK_VALUE / 2).all()
    # Padding does not change what real tokens see.
    ids2 = ids.clone()
    ids2[0, 5:] = 7
    out2 = model(ids2, mask, torch.zeros_like(ids))
    assert torch.allclose(out.start_logits[0, :5], out2.start_logits[0, :5], atol=1e-5)


def _node_available() -> bool:
    return shutil.which("node") is not None and os.path.isdir(os.path.join(REPO_ROOT, "node_modules", "onnxruntime-node"))


def run_ort(tmp_path, inputs, *models):
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in inputs.items()}))
    result = subprocess.run(["node", ORT_RUN, str(path), *models], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not _node_available(), reason="node and onnxruntime-node are needed to run ONNX")
@pytest.mark.parametrize("task", ["classification", "qa"])
def test_fp32_and_int8_onnx_run_in_onnxruntime(tmp_path, task):
    torch.manual_seed(1)
    model = BertForDistillation(_cfg(ffn_rank=16 if task == "qa" else None), task).eval()
    fp32 = str(tmp_path / "fp32.onnx")
    export_onnx(model, fp32)
    ids = torch.randint(5, 100, (3, 11))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    types = torch.zeros_like(ids)
    types[:, 8:] = 1
    with torch.no_grad():
        ref = model(ids, mask, types)
    qat = prepare_qat(model)
    controller = QatController(qat, 100)

    def batches():
        qat(ids, mask, types)
        yield None

    controller.calibrate(batches())
    controller.freeze()
    int8 = str(tmp_path / "int8.onnx")
    assert export_int8(qat, int8) > 0
    with torch.no_grad():
        ref_qat = qat(ids, mask, types)
    out = run_ort(tmp_path, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, fp32, int8)
    names = ["start_logits", "end_logits"] if task == "qa" else ["logits"]
    for name in names:
        expected = getattr(ref, name)
        rows = torch.ones_like(expected, dtype=torch.bool) if task == "classification" else mask.bool()
        assert (torch.tensor(out[fp32][name]) - expected)[rows].abs().max() < 1e-4
        # INT8 kernels round differently from fake quantization: close, not equal.
        got = torch.tensor(out[int8][name])
        assert got.shape == expected.shape
        assert (got - getattr(ref_qat, name))[rows].abs().max() < 0.05 * expected.abs().max() + 1e-3

    graph = onnx.load(int8).graph
    big_float = [i.name for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT and len(i.raw_data) > 4096]
    assert big_float == []  # every weight matrix and embedding table is stored as int8
    producers = {o: n.op_type for n in graph.node for o in n.output}
    assert all(producers.get(n.input[0]) != "DequantizeLinear" for n in graph.node if n.op_type == "Gather")
    # One activation QuantizeLinear per Linear input: q/k/v share one (fused projection).
    linears_per_layer = 1 + 1 + (2 if task == "qa" else 1) + 1  # qkv, attention out, ffn in (u, v), ffn out
    heads = 1 if task == "qa" else 2  # qa_outputs, or pooler + classifier
    assert sum(n.op_type == "QuantizeLinear" for n in graph.node) == 2 * linears_per_layer + heads
