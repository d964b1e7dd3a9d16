"""ONNX export (FP32 and INT8 QDQ) and the INT8 weight folding pass.

torch.onnx.export writes a fake-quantized weight as
    float initializer -> QuantizeLinear -> DequantizeLinear -> (Transpose) -> MatMul / Gather
which stores every weight in FP32. fold_weight_quantization() rewrites that into
    int8 initializer -> DequantizeLinear -> MatMul / Gather
(the Transpose is applied to the int8 data, and the axis moved), which is the form ONNX Runtime
fuses into integer kernels and makes the file about a quarter of the FP32 one.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
from typing import Dict, List

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from .modeling import BertForDistillation, OnnxExportWrapper
from .onnx_graph import Constants as _Constants
from .onnx_graph import attr_int as _attr
from .onnx_graph import drop_unused as _drop_unused
from .onnx_fusions import fuse_bert_operators
from .quantization import fuse_qkv_for_export

log = logging.getLogger(__name__)

OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear need 13; onnxruntime-node loads 13-17
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]


def output_names(task: str) -> List[str]:
    return ["start_logits", "end_logits"] if task == "qa" else ["logits"]


def export_onnx(model: BertForDistillation, path: str, *, seq_len: int = 16) -> None:
    """Traces model (eval mode, CPU, FP32) into an ONNX file with dynamic batch and sequence axes,
    attention written as ONNX Runtime's MultiHeadAttention (onnx_fusions.fuse_bert_operators)."""
    was_training = model.training
    device = next(model.parameters()).device
    model.eval().cpu().float()
    seq_len = max(2, min(seq_len, model.config.max_position_embeddings))
    ids = torch.randint(5, model.config.vocab_size, (2, seq_len), dtype=torch.long) if model.config.vocab_size > 5 else torch.zeros((2, seq_len), dtype=torch.long)
    mask = torch.ones((2, seq_len), dtype=torch.long)
    mask[1, seq_len // 2 :] = 0
    types = torch.zeros((2, seq_len), dtype=torch.long)
    names = output_names(model.task)
    axes: Dict[str, Dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES}
    for n in names:
        axes[n] = {0: "batch", 1: "sequence"} if model.task == "qa" else {0: "batch"}
    # PyTorch 2.9+ defaults to the dynamo exporter, which neither takes dynamic_axes nor knows
    # fake-quantize ops; the TorchScript exporter is what this module is written for.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with torch.no_grad():
            torch.onnx.export(
                OnnxExportWrapper(model),
                (ids, mask, types),
                tmp,
                input_names=INPUT_NAMES,
                output_names=names,
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                **legacy,
            )
        proto = onnx.load(tmp)
        fused = fuse_bert_operators(proto)
        log.debug("ONNX Runtime operators written into %s: %s", path, fused)
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        model.to(device)
        model.train(was_training)


def _quantize(w: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int) -> np.ndarray:
    if scale.ndim == 1 and scale.size > 1:
        shape = [1] * w.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zero_point = zero_point.reshape(shape)
    # QuantizeLinear rounds half to even, as numpy's rint does.
    q = np.rint(w.astype(np.float32) / scale.astype(np.float32)) + zero_point.astype(np.int32)
    return np.clip(q, -128, 127).astype(np.int8)


def fold_weight_quantization(model: onnx.ModelProto) -> int:
    """Replaces constant float weights behind QuantizeLinear by int8 initializers; returns the count."""
    graph = model.graph
    consts = _Constants(graph)
    consumers: Dict[str, List[onnx.NodeProto]] = {}
    for node in graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    remove: List[onnx.NodeProto] = []
    new_inits: List[onnx.TensorProto] = []
    folded = 0
    for node in list(graph.node):
        if node.op_type != "QuantizeLinear":
            continue
        weight = consts.get(node.input[0])
        scale = consts.get(node.input[1])
        zero_point = consts.get(node.input[2]) if len(node.input) > 2 else None
        if weight is None or scale is None or zero_point is None or zero_point.dtype != np.int8:
            continue  # an activation, or something this pass does not understand: leave it alone
        dqs = consumers.get(node.output[0], [])
        if not dqs or any(d.op_type != "DequantizeLinear" for d in dqs):
            continue
        axis = _attr(node, "axis", 1)
        if axis < 0:
            axis += weight.ndim
        q = _quantize(weight, scale, zero_point, axis)
        for dq in dqs:
            q_dq, axis_dq = q, axis
            # Push a following 2-D Transpose into the int8 data, so MatMul reads DQ directly.
            after = consumers.get(dq.output[0], [])
            transpose = after[0] if len(after) == 1 and after[0].op_type == "Transpose" and q.ndim == 2 else None
            if transpose is not None:
                q_dq = np.ascontiguousarray(q.T)
                axis_dq = 1 - axis
            name = f"{node.input[0]}_int8" + ("_t" if transpose is not None else "")
            if all(i.name != name for i in new_inits):
                new_inits.append(numpy_helper.from_array(q_dq, name))
            scale_name = f"{name}_scale"
            zp_name = f"{name}_zero_point"
            if all(i.name != scale_name for i in new_inits):
                new_inits.append(numpy_helper.from_array(scale.astype(np.float32), scale_name))
                new_inits.append(numpy_helper.from_array(zero_point.astype(np.int8), zp_name))
            del dq.input[:]
            dq.input.extend([name, scale_name, zp_name])
            _set_axis(dq, axis_dq, scale.size > 1)
            if transpose is not None:
                for n in graph.node:
                    for k, inp in enumerate(n.input):
                        if inp == transpose.output[0]:
                            n.input[k] = dq.output[0]
                remove.append(transpose)
        remove.append(node)
        folded += 1
    for n in remove:
        if n in graph.node:
            graph.node.remove(n)
    graph.initializer.extend(new_inits)
    _drop_unused(model)
    return folded


def _set_axis(node: onnx.NodeProto, axis: int, per_channel: bool) -> None:
    for a in list(node.attribute):
        if a.name == "axis":
            node.attribute.remove(a)
    if per_channel:
        node.attribute.append(helper.make_attribute("axis", axis))


def gather_before_dequantize(model: onnx.ModelProto) -> int:
    """Rewrites int8 table -> DequantizeLinear(per row) -> Gather into
    Gather(int8 table) -> Cast -> Mul(Gather(row scales)): only the looked-up rows are
    dequantized, instead of the whole vocabulary on every request. Exact (zero points are 0)."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers: Dict[str, List[onnx.NodeProto]] = {}
    for node in graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    rewritten = 0
    for dq in [n for n in graph.node if n.op_type == "DequantizeLinear"]:
        table, scale, zero_point = (inits.get(name) for name in dq.input[:3]) if len(dq.input) == 3 else (None, None, None)
        users = consumers.get(dq.output[0], [])
        if table is None or scale is None or zero_point is None or len(table.dims) != 2:
            continue
        if _attr(dq, "axis", 1) != 0 or numpy_helper.to_array(zero_point).any():
            continue
        if not users or any(u.op_type != "Gather" or u.input[0] != dq.output[0] or _attr(u, "axis", 0) != 0 for u in users):
            continue
        scale_2d = f"{scale.name}_rows"
        graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(scale).reshape(-1, 1).astype(np.float32), scale_2d))
        for gather in users:
            base = gather.output[0]
            rows, rows_f, row_scales = f"{base}_q", f"{base}_qf", f"{base}_s"
            new_nodes = [
                helper.make_node("Gather", [table.name, gather.input[1]], [rows], axis=0),
                helper.make_node("Cast", [rows], [rows_f], to=onnx.TensorProto.FLOAT),
                helper.make_node("Gather", [scale_2d, gather.input[1]], [row_scales], axis=0),
                helper.make_node("Mul", [rows_f, row_scales], [base]),
            ]
            index = list(graph.node).index(gather)
            graph.node.remove(gather)
            for k, node in enumerate(new_nodes):
                graph.node.insert(index + k, node)
        graph.node.remove(dq)
        rewritten += 1
    _drop_unused(model)
    return rewritten


def fold_qparam_casts(model: onnx.ModelProto) -> None:
    """Makes every Q/DQ scale and zero point a plain initializer (the exporter emits Cast nodes
    for zero points); ONNX Runtime only fuses QDQ groups whose parameters are initializers."""
    graph = model.graph
    consts = _Constants(graph)
    initializers = {i.name for i in graph.initializer}
    added: Dict[str, str] = {}
    for node in graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for k in (1, 2):
            if k >= len(node.input) or node.input[k] in initializers:
                continue
            value = consts.get(node.input[k])
            if value is None:
                continue
            name = added.get(node.input[k])
            if name is None:
                name = f"{node.input[k]}_const"
                graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
                added[node.input[k]] = name
            node.input[k] = name
    _drop_unused(model)


def compact_names(model: onnx.ModelProto) -> None:
    """Short internal tensor names and no node names: the exporter's long generated names are a
    fixed cost that dominates small models' INT8 files. Graph inputs/outputs keep their names."""
    graph = model.graph
    keep = {i.name for i in graph.input} | {o.name for o in graph.output}
    mapping: Dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        if name not in mapping:
            mapping[name] = f"t{len(mapping)}"
        return mapping[name]

    for init in graph.initializer:
        init.name = short(init.name)
    for node in graph.node:
        node.name = ""
        node.doc_string = ""
        for k, name in enumerate(node.input):
            node.input[k] = short(name)
        for k, name in enumerate(node.output):
            node.output[k] = short(name)
    del graph.value_info[:]


def export_int8(model: BertForDistillation, path: str) -> int:
    """Exports a frozen QAT model and folds its weights to int8; returns the number folded."""
    model = copy.deepcopy(model)
    fuse_qkv_for_export(model)
    export_onnx(model, path)
    proto = onnx.load(path)
    folded = fold_weight_quantization(proto)
    fold_qparam_casts(proto)
    gather_before_dequantize(proto)
    compact_names(proto)
    onnx.checker.check_model(proto)
    tmp = f"{path}.tmp{os.getpid()}"
    onnx.save(proto, tmp)
    os.replace(tmp, path)
    return folded
