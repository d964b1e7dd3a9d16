"""Where a student's weights start (spec student.init): random, the teacher's own embeddings and
mapped layers, or a general student checkpoint (a Hugging Face folder such as a general TinyBERT,
or the checkpoint/ of a version we published).

Starting from the teacher's layers is DistilBERT's initialisation (every other layer of the
teacher); here student layer m takes teacher layer g(m) = m N / M, the same mapping the
intermediate losses use (losses.layer_mapping), so each student layer starts as the teacher layer
it is then taught to imitate.
"""

from __future__ import annotations

import logging
import re
from typing import Dict

import torch

from . import checkpoint as ckpt_io
from .checkpoint import Checkpoint
from .errors import InvalidInputError
from .losses import layer_mapping
from .modeling import BertForDistillation, task_head_prefixes
from .spec import StudentShape

log = logging.getLogger(__name__)

# A student may start without these: task heads are trained by task distillation, and a QA or
# bare encoder checkpoint has no pooler.
OPTIONAL_PREFIXES = ("classifier.", "qa_outputs.", "bert.pooler.")
_LAYER = re.compile(r"^bert\.encoder\.layer\.(\d+)\.")


def teacher_layer_tensors(teacher: Checkpoint, student_layers: int) -> Dict[str, torch.Tensor]:
    """The teacher's tensors renamed for a `student_layers`-deep student: embeddings and pooler
    as they are, student layer m-1 <- teacher layer g(m)-1 (0-based names)."""
    mapping = layer_mapping(student_layers, teacher.config.num_hidden_layers)
    source_of = {g - 1: m for m, g in enumerate(mapping)}
    out: Dict[str, torch.Tensor] = {}
    for name, value in teacher.tensors.items():
        match = _LAYER.match(name)
        if match is None:
            if name.startswith(("bert.embeddings.", "bert.pooler.")):
                out[name] = value
            continue
        index = int(match.group(1))
        if index in source_of:
            out[f"bert.encoder.layer.{source_of[index]}.{name[match.end():]}"] = value
    return out


def check_same_vocabulary(teacher: Checkpoint, other: Checkpoint, role: str) -> None:
    """The student reads the teacher's token ids: `other` must have the very same vocabulary."""
    mine, theirs = other.tokenizer.id_to_token, teacher.tokenizer.id_to_token
    if mine == theirs:
        return
    if len(mine) != len(theirs):
        differs = f"{len(mine)} tokens against the teacher's {len(theirs)}"
    else:
        i = next(i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b)
        differs = f"both have {len(mine)} tokens, but id {i} is {mine[i]!r} where the teacher has {theirs[i]!r}"
    raise InvalidInputError(f"the {role}'s vocabulary is not the teacher's ({differs}): it must share the teacher's tokenizer", file=other.path)


def apply_init(model: BertForDistillation, shape: StudentShape, teacher: Checkpoint) -> str:
    """Loads the spec's initial weights into a freshly built `model`; returns a one-line description.

    Raises InvalidInputError when the init checkpoint's tensors or vocabulary do not fit."""
    if shape.init_kind == "random":
        return "random"
    if shape.init_kind == "teacher":
        tensors = teacher_layer_tensors(teacher, shape.layers)
        ckpt_io.load_weights(model, tensors, teacher.weights_file, optional_prefixes=OPTIONAL_PREFIXES)
        return f"teacher layers {layer_mapping(shape.layers, teacher.config.num_hidden_layers)}"
    assert shape.init_path is not None
    init = ckpt_io.read_checkpoint(shape.init_path)
    check_same_vocabulary(teacher, init, "init checkpoint")
    ckpt_io.load_weights(model, fitting_tensors(init, model), init.weights_file, optional_prefixes=OPTIONAL_PREFIXES)
    return f"checkpoint {shape.init_path}"


def fitting_tensors(init: Checkpoint, model: BertForDistillation) -> Dict[str, torch.Tensor]:
    """init's tensors, less a task head whose rows mean other things than model's: a published
    version with other labels (or in another order), or a token classifier's per-token rows. The
    head is then trained from scratch by task distillation, as from a general student."""
    head = task_head_prefixes(model.task)
    if not head or not any(k.startswith(head) for k in init.tensors):
        return init.tensors
    same_rows = init.has_task_head(model.task) and (model.task != "classification" or init.config.labels == model.config.labels)
    if same_rows:
        return init.tensors
    log.info("init checkpoint %s: its %s head does not answer this job's labels (%s vs %s); the student starts with a fresh one",
             init.path, model.task, init.config.labels, model.config.labels)
    return {k: v for k, v in init.tensors.items() if not k.startswith(head)}
