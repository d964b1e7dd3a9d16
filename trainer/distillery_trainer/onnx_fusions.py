"""Fused BERT operators for ONNX Runtime, written into our exported graphs.

ONNX Runtime's own graph optimizer fuses only part of a BERT graph with dynamic batch and
sequence axes: it makes LayerNormalization, BiasGelu and FusedMatMul, but its SkipLayerNormFusion
requires the sequence dimension to be a fixed number and its AttentionFusion needs FP32 Q, K and V
weights as separate initializers, so our graphs (dynamic axes; INT8 students with one fused QKV
projection behind Q/DQ) kept the residual Add beside every layer norm and attention as ten
Reshape/Transpose/MatMul/Div/Add/Softmax nodes in FP32. This pass writes ONNX Runtime's contrib
operators (domain com.microsoft, the CPU kernels onnxruntime-node ships) where our exporter's
patterns are found:

- MultiHeadAttention(query, key, value, key_padding_mask) for the attention core: the projections
  stay as they are (INT8 or FP32), the head split, scaled Q.K^T, mask, softmax, P.V and head merge
  become one kernel;
- SkipLayerNormalization(input, skip, gamma, beta, bias) for the residual Add (and the dense
  layer's bias Add before it) followed by the decomposed layer norm torch exports at opset 13.

Operator contracts: onnxruntime/core/graph/contrib_ops/bert_defs.cc (MultiHeadAttention,
SkipLayerNormalization). A pattern that does not match exactly is left as it was, so a graph from
another exporter version is still correct, only less fused. Outputs agree with the unfused graph
to float rounding (trainer/tests/test_onnx_fusions.py runs both through ONNX Runtime).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .onnx_graph import Constants, attr_int, consumers, drop_unused, replace_node

MS_DOMAIN = "com.microsoft"
# The graph input the attention mask comes from (export.INPUT_NAMES).
ATTENTION_MASK = "attention_mask"


def _shape_element(consts: Constants, name: str, data: str, position: int) -> Optional[int]:
    """One element of a Reshape's computed target shape as a constant: 0 ("keep this dimension",
    ONNX Reshape with allowzero 0) where it is data's own dimension at the same position
    (Unsqueeze(Gather(Shape(data), position))), its value where it is a 1-element constant, else
    None."""
    value = consts.get(name)
    if value is not None:
        return int(value.reshape(-1)[0]) if value.size == 1 else None
    unsqueeze = consts.producer.get(name)
    if unsqueeze is None or unsqueeze.op_type != "Unsqueeze":
        return None
    gather = consts.producer.get(unsqueeze.input[0])
    if gather is None or gather.op_type != "Gather" or attr_int(gather, "axis", 0) != 0:
        return None
    shape = consts.producer.get(gather.input[0])
    index = consts.get(gather.input[1])
    if shape is None or shape.op_type != "Shape" or shape.input[0] != data or shape.attribute or index is None or index.size != 1:
        return None
    return 0 if int(index.reshape(-1)[0]) == position else None


def constant_reshape_shapes(model: onnx.ModelProto) -> int:
    """Gives every Reshape whose target shape the exporter computes at run time from its own input
    (b, s = x.shape: Shape -> Gather -> Unsqueeze -> Concat) a constant one, with 0 for the kept
    batch and sequence dimensions: [0, 0, heads, head_size] for the head split, [0, 0, hidden] for
    the merge. Exact for every input shape; the attention fusion below matches these constants.
    Returns the number of Reshapes rewritten."""
    graph = model.graph
    if any(attr_int(n, "allowzero", 0) for n in graph.node if n.op_type == "Reshape"):
        return 0  # 0 would mean a zero-sized dimension there (opset 14+ allowzero=1)
    consts = Constants(graph)
    rewritten = 0
    for node in graph.node:
        if node.op_type != "Reshape" or consts.get(node.input[1]) is not None:
            continue
        concat = consts.producer.get(node.input[1])
        if concat is None or concat.op_type != "Concat":
            continue
        elements = [_shape_element(consts, name, node.input[0], k) for k, name in enumerate(concat.input)]
        if any(e is None for e in elements) or sum(1 for e in elements if e == -1) > 1:
            continue
        name = f"{node.input[1]}_const"
        graph.initializer.append(numpy_helper.from_array(np.array(elements, dtype=np.int64), name))
        node.input[1] = name
        rewritten += 1
    drop_unused(model)
    return rewritten


class _Graph:
    """Producer, consumer and constant lookups over one graph, for matching."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.graph = model.graph
        self.consts = Constants(model.graph)
        self.readers = consumers(model.graph)
        self.outputs = {o.name for o in model.graph.output}

    def producer(self, name: str, op_type: str) -> Optional[onnx.NodeProto]:
        node = self.consts.producer.get(name)
        return node if node is not None and node.op_type == op_type else None

    def only_reader(self, name: str) -> bool:
        """Read by exactly one node and not a graph output: safe to fuse away."""
        return len(self.readers.get(name, [])) == 1 and name not in self.outputs

    def scalar(self, name: str) -> Optional[float]:
        value = self.consts.get(name)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None

    def non_constant(self, node: onnx.NodeProto) -> List[str]:
        return [i for i in node.input if self.consts.get(i) is None]


def _perm(node: onnx.NodeProto) -> Tuple[int, ...]:
    for a in node.attribute:
        if a.name == "perm":
            return tuple(a.ints)
    return ()


def _heads_source(g: _Graph, name: str, perm: Tuple[int, ...]) -> Optional[Tuple[str, int, int]]:
    """Follows name back through Transposes (composed, must equal perm) to a Reshape to the
    constant [0, 0, heads, head_size]: returns (the Reshape's 3-D input, heads, head_size), or None."""
    composed: Tuple[int, ...] = (0, 1, 2, 3)
    node = g.producer(name, "Transpose")
    while node is not None:
        if not g.only_reader(node.output[0]):
            return None
        p = _perm(node)
        if len(p) != 4:
            return None
        # y = transpose(x, p): y's axis j is x's axis p[j]. composed maps the chain's output axes
        # to axes of the tensor reached so far; one Transpose further back maps them through p.
        composed = tuple(p[c] for c in composed)
        name = node.input[0]
        node = g.producer(name, "Transpose")
    if composed != perm:
        return None
    reshape = g.producer(name, "Reshape")
    if reshape is None or not g.only_reader(reshape.output[0]):
        return None
    shape = g.consts.get(reshape.input[1])
    if shape is None or shape.size != 4 or int(shape[0]) != 0 or int(shape[1]) != 0 or int(shape[2]) <= 0 or int(shape[3]) <= 0:
        return None
    return reshape.input[0], int(shape[2]), int(shape[3])


def _padding_mask(g: _Graph, name: str) -> Optional[float]:
    """The additive mask (1 - attention_mask[:, None, None, :]) * value our model exports
    (modeling.MASK_VALUE): returns value, or None for any other mask."""
    mul = g.producer(name, "Mul")
    if mul is None:
        return None
    value = next((g.scalar(i) for i in mul.input if g.scalar(i) is not None), None)
    rest = g.non_constant(mul)
    if value is None or value > -1000.0 or len(rest) != 1:
        return None
    sub = g.producer(rest[0], "Sub")
    if sub is None or g.scalar(sub.input[0]) != 1.0:
        return None
    x = sub.input[1]
    unsqueezes = 0
    while True:
        node = g.consts.producer.get(x)
        if node is None:
            break
        if node.op_type == "Cast":
            x = node.input[0]
        elif node.op_type == "Unsqueeze":
            axes = g.consts.get(node.input[1]) if len(node.input) > 1 else np.array([a for a in node.attribute if a.name == "axes"][0].ints)
            if axes is None or not set(int(a) for a in axes.reshape(-1)) <= {1, 2}:
                return None
            unsqueezes += int(axes.size)
            x = node.input[0]
        else:
            return None
    return value if x == ATTENTION_MASK and unsqueezes == 2 else None


def fuse_attention(model: onnx.ModelProto) -> int:
    """Replaces each attention core (see the module docstring) by MultiHeadAttention; returns the
    number of layers fused. Needs constant_reshape_shapes first."""
    g = _Graph(model)
    graph = model.graph
    mask_int = f"{ATTENTION_MASK}_int32"
    fused = 0
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        if attr_int(softmax, "axis", -1) not in (-1, 3) or not g.only_reader(softmax.input[0]) or not g.only_reader(softmax.output[0]):
            continue
        add = g.producer(softmax.input[0], "Add")
        if add is None:
            continue
        scaled, mask = add.input
        mask_value = _padding_mask(g, mask)
        if mask_value is None:
            scaled, mask = mask, scaled
            mask_value = _padding_mask(g, mask)
        if mask_value is None or not g.only_reader(scaled):
            continue
        scale_node = g.consts.producer.get(scaled)
        if scale_node is None or scale_node.op_type not in ("Div", "Mul") or g.scalar(scale_node.input[1]) is None:
            continue
        factor = g.scalar(scale_node.input[1]) or 0.0
        scale = 1.0 / factor if scale_node.op_type == "Div" else factor
        qk = g.producer(scale_node.input[0], "MatMul")
        if qk is None or not g.only_reader(qk.output[0]) or factor == 0.0:
            continue
        q = _heads_source(g, qk.input[0], (0, 2, 1, 3))
        k = _heads_source(g, qk.input[1], (0, 2, 3, 1))
        readers = g.readers.get(softmax.output[0], [])
        pv = readers[0] if readers and readers[0].op_type == "MatMul" and readers[0].input[0] == softmax.output[0] else None
        if q is None or k is None or pv is None or not g.only_reader(pv.output[0]):
            continue
        v = _heads_source(g, pv.input[1], (0, 2, 1, 3))
        merge_t = g.readers.get(pv.output[0], [None])[0]
        if v is None or merge_t is None or merge_t.op_type != "Transpose" or _perm(merge_t) != (0, 2, 1, 3) or not g.only_reader(merge_t.output[0]):
            continue
        merge = g.readers[merge_t.output[0]][0]
        heads, head_size = q[1], q[2]
        if (k[1], k[2]) != (heads, head_size) or (v[1], v[2]) != (heads, head_size) or merge.op_type != "Reshape":
            continue
        target = g.consts.get(merge.input[1])
        if target is None or [int(x) for x in target.reshape(-1)] != [0, 0, heads * head_size]:
            continue
        node = helper.make_node(
            "MultiHeadAttention",
            [q[0], k[0], v[0], "", mask_int],
            [merge.output[0]],
            domain=MS_DOMAIN,
            num_heads=heads,
            scale=float(scale),
            mask_filter_value=float(mask_value),
        )
        replace_node(graph, merge, node)
        fused += 1
    if fused:
        # key_padding_mask: int32 [batch, sequence], 1 = attend (ONNX Runtime's 2-D mask_index).
        graph.node.insert(0, helper.make_node("Cast", [ATTENTION_MASK], [mask_int], to=onnx.TensorProto.INT32))
        drop_unused(model)
    return fused


def _layer_norm(g: _Graph, out_add: onnx.NodeProto) -> Optional[Tuple[str, str, str, float]]:
    """Matches torch's opset-13 layer norm ending at out_add:
    Add(Mul(Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub, 2)), eps))), gamma), beta).
    Returns (x, gamma, beta, eps), or None."""
    mul = next((g.producer(i, "Mul") for i in out_add.input if g.producer(i, "Mul") is not None), None)
    if mul is None:
        return None
    beta = next((i for i in out_add.input if i != mul.output[0]), "")
    div = next((g.producer(i, "Div") for i in mul.input if g.producer(i, "Div") is not None), None)
    if div is None or g.consts.get(beta) is None:
        return None
    gamma = next((i for i in mul.input if i != div.output[0]), "")
    sub = g.producer(div.input[0], "Sub")
    sqrt = g.producer(div.input[1], "Sqrt")
    if sub is None or sqrt is None or g.consts.get(gamma) is None:
        return None
    eps_add = g.producer(sqrt.input[0], "Add")
    mean = g.producer(sub.input[1], "ReduceMean")
    x = sub.input[0]
    if eps_add is None or mean is None or mean.input[0] != x:
        return None
    eps = next((g.scalar(i) for i in eps_add.input if g.scalar(i) is not None), None)
    var = next((g.producer(i, "ReduceMean") for i in eps_add.input if g.producer(i, "ReduceMean") is not None), None)
    if eps is None or var is None:
        return None
    pow_ = g.producer(var.input[0], "Pow")
    if pow_ is None or pow_.input[0] != sub.output[0] or g.scalar(pow_.input[1]) != 2.0:
        return None
    for reduce in (mean, var):
        axes = [a for a in reduce.attribute if a.name == "axes"]
        if not axes or list(axes[0].ints) != [-1] or attr_int(reduce, "keepdims", 1) != 1:
            return None
    # x feeds exactly the mean and the centring; the other intermediates one node each.
    if sorted(n.op_type for n in g.readers.get(x, [])) != ["ReduceMean", "Sub"] or x in g.outputs:
        return None
    inner = [mean.output[0], pow_.output[0], var.output[0], eps_add.output[0], sqrt.output[0], div.output[0], mul.output[0]]
    if any(not g.only_reader(t) for t in inner) or len(g.readers.get(sub.output[0], [])) != 2:
        return None
    return x, gamma, beta, eps


def fuse_skip_layer_norm(model: onnx.ModelProto) -> int:
    """Replaces Add (+ the dense layer's bias Add) + layer norm by SkipLayerNormalization wherever
    the layer norm's input is the sum of two computed tensors: every residual, and the embeddings'
    (word + position, token type). Returns the number fused."""
    g = _Graph(model)
    graph = model.graph
    fused = 0
    for out_add in [n for n in graph.node if n.op_type == "Add"]:
        match = _layer_norm(g, out_add)
        if match is None:
            continue
        x, gamma, beta, eps = match
        residual = g.producer(x, "Add")
        if residual is None or len(g.non_constant(residual)) != 2:
            continue
        gamma_v, beta_v = g.consts.get(gamma), g.consts.get(beta)
        if gamma_v is None or beta_v is None or gamma_v.ndim != 1 or beta_v.shape != gamma_v.shape:
            continue
        hidden = gamma_v.shape[0]
        inputs: List[str] = list(residual.input)
        bias = ""
        # The dense layer's bias: Add(bias, MatMul(...)) as one side of the residual sum.
        for k, side in enumerate(inputs):
            bias_add = g.producer(side, "Add")
            if bias_add is None or not g.only_reader(side):
                continue
            consts = [i for i in bias_add.input if g.consts.get(i) is not None]
            rest = g.non_constant(bias_add)
            value = g.consts.get(consts[0]) if len(consts) == 1 else None
            if value is not None and value.shape == (hidden,) and len(rest) == 1:
                bias = consts[0]
                inputs[k] = rest[0]
                break
        node = helper.make_node(
            "SkipLayerNormalization",
            [inputs[0], inputs[1], _as_initializer(graph, g, gamma), _as_initializer(graph, g, beta)] + ([_as_initializer(graph, g, bias)] if bias else []),
            [out_add.output[0]],
            domain=MS_DOMAIN,
            epsilon=float(eps),
        )
        replace_node(graph, out_add, node)
        fused += 1
    if fused:
        drop_unused(model)
    return fused


def _as_initializer(graph: onnx.GraphProto, g: _Graph, name: str) -> str:
    """name itself when it is an initializer, else a new initializer of its constant value
    (ONNX Runtime's contrib kernels read gamma, beta and bias as initializers or inputs alike,
    but a Constant node's output is folded only at level basic and up)."""
    if any(i.name == name for i in graph.initializer):
        return name
    value = g.consts.get(name)
    assert value is not None
    new = f"{name}_init"
    if not any(i.name == new for i in graph.initializer):
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value.astype(np.float32)), new))
    return new


def fuse_bert_operators(model: onnx.ModelProto, *, skip_layer_norm: bool = False) -> Dict[str, int]:
    """Runs the passes of this module in order; returns how many of each it made:
    {"constant_reshapes", "MultiHeadAttention", "SkipLayerNormalization"}.

    SkipLayerNormalization is off unless asked for: onnxruntime-node 1.30's CPU kernel took 36.9 ms
    where the Add + LayerNormalization it replaces took about 15 (INT8 student, 16 x 128 tokens,
    one thread, ONNX Runtime's profiler; `npm run bench:fusions` measures it again). Attention
    fused is as fast as the unfused nodes (45.7 ms against 45) with ten nodes fewer per layer."""
    counts = {
        "constant_reshapes": constant_reshape_shapes(model),
        "MultiHeadAttention": fuse_attention(model),
        "SkipLayerNormalization": fuse_skip_layer_norm(model) if skip_layer_norm else 0,
    }
    if counts["MultiHeadAttention"] or counts["SkipLayerNormalization"]:
        if not any(o.domain == MS_DOMAIN for o in model.opset_import):
            model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return counts


def _main(argv: Sequence[str]) -> int:
    """python -m distillery_trainer.onnx_fusions [--skip-layer-norm] IN.onnx OUT.onnx: the passes on
    a saved model (what bench:fusions compares); prints the counts as JSON."""
    import json
    import sys

    args = [a for a in argv if a != "--skip-layer-norm"]
    if len(args) != 2:
        sys.stderr.write("usage: python -m distillery_trainer.onnx_fusions [--skip-layer-norm] IN.onnx OUT.onnx\n")
        return 2
    model = onnx.load(args[0])
    counts = fuse_bert_operators(model, skip_layer_norm=len(args) != len(argv))
    onnx.checker.check_model(model)
    onnx.save(model, args[1])
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
