"""The fused ONNX Runtime operators our exporter writes (onnx_fusions): where they appear, that the
fused graph computes what the unfused one does (both run in ONNX Runtime), and that a pattern
which is not exactly ours is left alone."""

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

import distillery_trainer.export as export
from distillery_trainer.modeling import BertConfig, BertForDistillation
from distillery_trainer.onnx_fusions import constant_reshape_shapes, fuse_attention, fuse_bert_operators
from test_modeling import _node_available, run_ort


def _model(task="classification", layers=2):
    torch.manual_seed(3)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=64,
                     max_position_embeddings=64, id2label={0: "a", 1: "b"})
    return BertForDistillation(cfg, task).eval()


def _unfused(model, path, monkeypatch):
    """The exporter's graph with no pass applied."""
    with monkeypatch.context() as m:
        m.setattr(export, "fuse_bert_operators", lambda proto: {})
        export.export_onnx(model, path)


def _ops(path):
    return [n.op_type for n in onnx.load(path).graph.node]


def _inputs():
    ids = torch.randint(5, 100, (3, 13), generator=torch.Generator().manual_seed(5))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    types = torch.zeros_like(ids)
    types[:, 9:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def test_the_exporter_writes_one_multi_head_attention_per_layer(tmp_path):
    path = str(tmp_path / "m.onnx")
    export.export_onnx(_model(layers=3), path)
    ops = _ops(path)
    assert ops.count("MultiHeadAttention") == 3
    # The head split/merge, scaled Q.K^T, mask, softmax and P.V are gone with it.
    assert "Softmax" not in ops and "Transpose" not in ops and "Reshape" not in ops
    onnx.checker.check_model(onnx.load(path))


def test_a_computed_reshape_becomes_constant_with_kept_dimensions(tmp_path, monkeypatch):
    path = str(tmp_path / "u.onnx")
    _unfused(_model(), path, monkeypatch)
    proto = onnx.load(path)
    assert constant_reshape_shapes(proto) == 4 * 2  # q, k, v split and the merge, per layer
    inits = {i.name: numpy_helper.to_array(i).tolist() for i in proto.graph.initializer}
    shapes = sorted({tuple(inits[n.input[1]]) for n in proto.graph.node if n.op_type == "Reshape"})
    assert shapes == [(0, 0, 4, 8), (0, 0, 32)]
    assert "Concat" not in [n.op_type for n in proto.graph.node]


@pytest.mark.skipif(not _node_available(), reason="node and onnxruntime-node are needed to run ONNX")
@pytest.mark.parametrize("task", ["classification", "qa"])
def test_fused_graphs_compute_what_the_unfused_one_does(tmp_path, monkeypatch, task):
    model = _model(task)
    unfused, fused, skip_ln = (str(tmp_path / f"{n}.onnx") for n in ("unfused", "fused", "skip_ln"))
    _unfused(model, unfused, monkeypatch)
    export.export_onnx(model, fused)
    proto = onnx.load(unfused)
    counts = fuse_bert_operators(proto, skip_layer_norm=True)
    assert counts["MultiHeadAttention"] == 2 and counts["SkipLayerNormalization"] == 2 * 2 + 1  # two residuals a layer, the embeddings
    onnx.save(proto, skip_ln)
    inputs = _inputs()
    out = run_ort(tmp_path, inputs, unfused, fused, skip_ln)
    mask = inputs["attention_mask"].bool()
    for name, values in out[unfused].items():
        expected = torch.tensor(values)
        rows = mask if task == "qa" else torch.ones_like(expected, dtype=torch.bool)  # padded positions' logits mean nothing
        for other in (fused, skip_ln):
            assert (torch.tensor(out[other][name]) - expected)[rows].abs().max() < 1e-4, (other, name)


def test_a_chain_of_transposes_is_composed_in_order():
    from onnx import TensorProto, helper

    from distillery_trainer.onnx_fusions import _Graph, _heads_source

    # x [b, s, 8] -> [b, s, 2, 4] -> (0, 2, 1, 3) -> (0, 1, 3, 2): K transposed for Q.K^T, in two
    # steps as an exporter that does not merge Transposes writes it; together (0, 2, 3, 1).
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t1"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["t1"], ["t2"], perm=[0, 1, 3, 2]),
        helper.make_node("Identity", ["t2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([0, 0, 2, 4], dtype=np.int64), "shape")],
    )
    g = _Graph(helper.make_model(graph))
    assert _heads_source(g, "t2", (0, 2, 3, 1))[:3] == ("x", 2, 4)
    assert _heads_source(g, "t2", (0, 3, 1, 2)) is None  # the two perms applied in the wrong order
    assert _heads_source(g, "t1", (0, 2, 1, 3))[:3] == ("x", 2, 4)


def test_an_attention_mask_that_is_not_the_padding_mask_is_left_unfused(tmp_path, monkeypatch):
    path = str(tmp_path / "u.onnx")
    _unfused(_model(), path, monkeypatch)
    proto = onnx.load(path)
    constant_reshape_shapes(proto)
    # A mask value of -1 is a bias, not padding: MultiHeadAttention's key padding mask would change the result.
    for node in proto.graph.node:
        if node.op_type == "Constant" and numpy_helper.to_array(node.attribute[0].t).size == 1 and float(numpy_helper.to_array(node.attribute[0].t)) == -10000.0:
            node.attribute[0].t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(node.attribute[0].t) * 0 - 1.0))
    assert fuse_attention(proto) == 0
    assert "MultiHeadAttention" not in [n.op_type for n in proto.graph.node]
