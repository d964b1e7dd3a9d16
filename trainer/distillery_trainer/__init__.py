"""Distillery's PyTorch trainer: TinyBERT-style distillation, QAT and ONNX export.

The process contract with the TypeScript side is docs/trainer-protocol.md.
"""

__version__ = "0.1.0"
