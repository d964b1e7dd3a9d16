"""Post-training static INT8 quantization (PTQ): the FP32 student quantized without training.

The same fake quantizers as QAT (quantization.prepare_qat: per-channel symmetric INT8 weights,
per-tensor activation observers on every Linear input) see the calibration sample QAT starts
from (quantization.calibration_batches), and their scales are frozen; no optimizer step runs.
Exported with export.export_int8 like the QAT student, it is the baseline QAT is measured against (the source reports +1.7 GLUE points
for QAT over plain post-training INT8), or, with QAT disabled, the INT8 model that ships.
"""

from __future__ import annotations

import copy
from typing import Iterable, Iterator

import torch

from .features import Batch
from .modeling import BertForDistillation
from .quantization import QatController, prepare_qat


def post_training_quantize(model: BertForDistillation, batches: Iterable[Batch], observer: str) -> BertForDistillation:
    """A frozen INT8 (fake-quantized) copy of `model`, calibrated on `batches`; `model` is untouched.

    observer: "minmax" or "moving_average", as stages.qat.observer. The copy runs on the
    model's device, in eval mode (no dropout while observing), and is ready for export_int8."""
    quantized = prepare_qat(copy.deepcopy(model).eval(), observer)
    # Never stepped, so never recalibrated: the interval only has to be valid.
    controller = QatController(quantized, recalibrate_every=1)
    device = next(quantized.parameters()).device

    def observe() -> Iterator[None]:
        for batch in batches:
            with torch.no_grad():
                quantized(*batch.to(device).model_inputs())
            yield None

    controller.calibrate(observe())
    controller.freeze()
    return quantized.eval()  # type: ignore[return-value]
