"""Small helpers for rewriting ONNX graphs in place: constant values, attributes, dead code."""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import helper, numpy_helper


class Constants:
    """Constant values of a graph: initializers, Constant nodes, and Casts or Identities of either
    (torch's exporter writes one initializer for equal tensors, the others as Identity of it)."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.values: Dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.producer: Dict[str, onnx.NodeProto] = {o: n for n in graph.node for o in n.output}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    def get(self, name: str) -> Optional[np.ndarray]:
        if name in self.values:
            return self.values[name]
        node = self.producer.get(name)
        if node is not None and node.op_type == "Identity":
            return self.get(node.input[0])
        if node is not None and node.op_type == "Cast":
            source = self.get(node.input[0])
            if source is not None:
                to = helper.tensor_dtype_to_np_dtype(node.attribute[0].i) if hasattr(helper, "tensor_dtype_to_np_dtype") else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[node.attribute[0].i]
                return source.astype(to)
        return None


def attr_int(node: onnx.NodeProto, name: str, default: int) -> int:
    for a in node.attribute:
        if a.name == name:
            return a.i
    return default


def drop_unused(model: onnx.ModelProto) -> None:
    """Removes nodes and initializers nothing reads any more (the float weights, dead Casts)."""
    graph = model.graph
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if all(o not in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    for init in list(graph.initializer):
        if init.name not in used:
            graph.initializer.remove(init)


def consumers(graph: onnx.GraphProto) -> Dict[str, List[onnx.NodeProto]]:
    """Nodes reading each tensor, by tensor name."""
    out: Dict[str, List[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def replace_node(graph: onnx.GraphProto, old: onnx.NodeProto, new: onnx.NodeProto) -> None:
    """Puts new where old was, keeping the graph's topological order."""
    index = list(graph.node).index(old)
    graph.node.remove(old)
    graph.node.insert(index, new)
