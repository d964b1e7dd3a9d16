"""Reading the task's data for a run: labels in the classifier's order, examples and features."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from . import data as data_io
from . import features as feats
from .checkpoint import Checkpoint
from .errors import InvalidInputError
from .labels import LabelledFile, name_labels, resolve_labels
from .losses import check_head_grouping, layer_mapping
from .spec import Spec
from .tokenization import WordPieceTokenizer


@dataclass
class TaskData:
    """The task's examples and model inputs. `labels` is the classifier's row order (None for QA)."""

    labels: Optional[List[str]]
    train_examples: Sequence
    eval_examples: Sequence
    train_features: List[feats.Feature]
    eval_features: List[feats.Feature]

    @property
    def id2label(self) -> Dict[int, str]:
        return dict(enumerate(self.labels)) if self.labels else {}

    @property
    def label_to_id(self) -> Dict[str, int]:
        return {label: i for i, label in enumerate(self.labels or [])}


def check_shapes(spec: Spec, teacher: Checkpoint) -> None:
    """Student shape against the teacher's; raises InvalidInputError saying what would work."""
    s, t = spec.student, teacher.config
    where = os.path.join(spec.teacher_path, "config.json")
    layer_mapping(s.layers, t.num_hidden_layers)
    check_head_grouping(s.heads, t.num_attention_heads)
    if s.hidden % s.heads:
        raise InvalidInputError(f"student hidden {s.hidden} is not divisible by its {s.heads} heads")
    if spec.max_length > t.max_position_embeddings:
        raise InvalidInputError(f"max_length {spec.max_length} exceeds the teacher's max_position_embeddings {t.max_position_embeddings}", file=where)


def load_task_data(spec: Spec, teacher: Checkpoint) -> TaskData:
    """Examples and features of data.train / data.eval; raises InvalidInputError on bad data."""
    tokenizer = teacher.tokenizer
    labels: Optional[List[str]] = None
    if spec.task == "classification":
        train_file = LabelledFile(spec.train, data_io.load_classification(spec.train))
        eval_files = [LabelledFile(spec.eval, data_io.load_classification(spec.eval))] if spec.eval else []
        labels = resolve_labels(spec.labels, teacher.classifier_head(), train_file, eval_files)
        train = name_labels(train_file.examples, labels)
        evaluation = name_labels(eval_files[0].examples, labels) if eval_files else []
    else:
        train = data_io.load_squad(spec.train)
        evaluation = data_io.load_squad(spec.eval) if spec.eval else []
    data = TaskData(labels, train, evaluation, [], [])
    data.train_features = task_features(spec, tokenizer, train, data.label_to_id, training=True)
    data.eval_features = task_features(spec, tokenizer, evaluation, data.label_to_id) if evaluation else []
    return data


def task_features(spec: Spec, tokenizer: WordPieceTokenizer, examples: Sequence, label_to_id: Dict[str, int], training: bool = False) -> List[feats.Feature]:
    """Model inputs of `examples` with the spec's lengths; QA training may keep answer windows only."""
    if spec.task == "classification":
        return feats.classification_features(tokenizer, examples, label_to_id, spec.max_length)
    return feats.qa_features(
        tokenizer, examples, spec.max_length, spec.doc_stride, spec.max_query_length,
        only_answer_windows=training and spec.qa_train_windows != "all",
        other_windows=1 if training and spec.qa_train_windows == "answer_and_one_other" else 0,
    )
