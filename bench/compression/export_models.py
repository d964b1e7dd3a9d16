"""FP32 models for the compression benchmark (bench/compression/main.ts), exported by our own exporter.

    /usr/bin/python3 bench/compression/export_models.py --out DIR --labels 23 --vocab-size 8000 \
        [--count FILE.onnx ...]

Writes (or keeps, when DIR/exporter.sha256 says the exporter's sources are unchanged since)
DIR/bert-base-fp32.onnx (12 layers, hidden 768, 12 heads, intermediate 3072, the
vocabulary of bert-base-uncased: 30522 tokens) and DIR/student-fp32.onnx (the bundled students'
shape: 4 layers, hidden 312, 12 heads, intermediate 1200, our 8000-token vocabulary), both
classifiers with random weights (speed, size and memory depend on the shape, not the values)
through distillery_trainer.export.export_onnx, the exporter the trainer uses. Prints one JSON
object: {file: {"bytes", "parameters"}} for the files written and every --count file, where
parameters counts the elements of the graph's weight initializers (int8 ones included), and
"ops" counts its nodes by operator type.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

TRAINER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "trainer")
sys.path.insert(0, TRAINER)
# What an export depends on: a cached file written by other versions of these is exported again.
EXPORTER_SOURCES = ("export.py", "onnx_fusions.py", "onnx_graph.py", "modeling.py")

SHAPES = {
    "bert-base-fp32": dict(layers=12, hidden=768, heads=12, intermediate=3072, vocab=30522),
    "student-fp32": dict(layers=4, hidden=312, heads=12, intermediate=1200, vocab=None),
}


def exporter_digest() -> str:
    import hashlib

    h = hashlib.sha256()
    for name in EXPORTER_SOURCES:
        with open(os.path.join(TRAINER, "distillery_trainer", name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def export(out: str, labels: int, vocab_size: int) -> list:
    import torch

    from distillery_trainer.export import export_onnx
    from distillery_trainer.modeling import BertConfig, BertForDistillation

    written = []
    stamp = os.path.join(out, "exporter.sha256")
    digest = exporter_digest()
    current = os.path.exists(stamp) and open(stamp).read().strip() == digest
    for name, s in SHAPES.items():
        path = os.path.join(out, f"{name}.onnx")
        written.append(path)
        if current and os.path.exists(path):
            continue
        config = BertConfig(
            vocab_size=s["vocab"] or vocab_size, hidden_size=s["hidden"], num_hidden_layers=s["layers"],
            num_attention_heads=s["heads"], intermediate_size=s["intermediate"],
            id2label={i: f"label_{i}" for i in range(labels)},
        )
        config.validate()
        torch.manual_seed(1)
        model = BertForDistillation(config, "classification")
        export_onnx(model, path)
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    return written


def count(path: str) -> dict:
    import numpy as np
    import onnx

    model = onnx.load(path)
    # Weights: initializers with more than one element (scales and zero points of QDQ are scalars or per-channel vectors; counted out below).
    names = {i.name for i in model.graph.initializer}
    qparams = set()
    for node in model.graph.node:
        if node.op_type in ("DequantizeLinear", "QuantizeLinear"):
            qparams.update(n for n in node.input[1:] if n in names)
    params = sum(int(np.prod(i.dims)) for i in model.graph.initializer if i.name not in qparams)
    ops: dict = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {"bytes": os.path.getsize(path), "parameters": params, "ops": ops}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--labels", type=int, required=True)
    parser.add_argument("--vocab-size", type=int, required=True)
    parser.add_argument("--count", nargs="*", default=[])
    parser.add_argument("--count-only", action="store_true", help="export nothing, only count the --count files")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    files = ([] if args.count_only else export(args.out, args.labels, args.vocab_size)) + args.count
    print(json.dumps({f: count(f) for f in files}))


if __name__ == "__main__":
    main()
