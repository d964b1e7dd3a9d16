"""The label rule: which classifier row each label of the data names (docs/trainer-protocol.md,
"Labels").

The classifier's rows are named by, in this order of precedence:
  1. the spec's `labels` (its order is the rows' order; with a trained teacher head it must have
     one name per row and may not move one of the teacher's own names to another row);
  2. the teacher's config.json id2label, when the teacher has a trained classification head
     (id2label must name rows 0..rows-1; none at all means transformers' LABEL_0..LABEL_N-1);
  3. the train file: its sorted distinct string labels, or for integer labels rows 0..max (named
     by the teacher's id2label when that covers them, else LABEL_i).
A data label is either a string, which must be one of the row names, or an integer i, which
names row i (GLUE style: "label": 1 means id2label["1"]). One kind in all files of a job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .data import ClassificationExample
from .errors import InvalidInputError

RawLabel = Union[str, int]
# How many names an error message lists before it only counts.
_LISTED = 10


@dataclass(frozen=True)
class TeacherHead:
    """What the teacher checkpoint says about its classifier."""

    id2label: Dict[int, str]  # config.json id2label (often transformers' generic LABEL_i)
    rows: Optional[int]  # classifier.weight rows of a trained sequence-classification head, else None
    config_file: str = "config.json"
    weights_file: str = "model.safetensors"


@dataclass(frozen=True)
class LabelledFile:
    path: str
    examples: Sequence[ClassificationExample]


def generic_names(count: int) -> List[str]:
    """transformers' names for rows nobody named: LABEL_0 .. LABEL_{count-1}."""
    return [f"LABEL_{i}" for i in range(count)]


def label_name(label: RawLabel, names: Sequence[str]) -> Optional[str]:
    """The row name a data label stands for, or None when it names no row."""
    if isinstance(label, int):
        return names[label] if 0 <= label < len(names) else None
    return label if label in names else None


def name_labels(examples: Sequence[ClassificationExample], names: Sequence[str]) -> List[ClassificationExample]:
    """examples with every label replaced by its row name (labels already checked by resolve_labels)."""
    out = []
    for ex in examples:
        name = label_name(ex.label, names)
        if name is None:
            raise ValueError(f"label {ex.label!r} was not resolved")  # a caller skipped resolve_labels
        out.append(dataclasses.replace(ex, label=name))
    return out


def resolve_labels(
    spec_labels: Optional[Sequence[str]],
    teacher: TeacherHead,
    train: LabelledFile,
    others: Sequence[LabelledFile] = (),
) -> List[str]:
    """The classifier's row names, in row order (what the served model answers with), after
    checking every label of train and others against them (module docstring: the rule).

    Errors: InvalidInputError before any training, naming the file and line of a label that
    names no row (and how to fix it), config.json when id2label does not fit the classifier, or
    classifier.weight when the spec's labels do not fit it."""
    files = [train, *others]
    integer = _label_kind(files)
    names, origin = _row_names(spec_labels, teacher, train, integer)
    listed = set(names)
    for f in files:
        for ex in f.examples:
            known = (0 <= ex.label < len(names)) if isinstance(ex.label, int) else ex.label in listed
            if not known:
                raise InvalidInputError(_unknown_label(ex.label, names, origin), file=f.path, line=ex.line)
    return names


def _label_kind(files: Sequence[LabelledFile]) -> bool:
    """True when the labels are integers, False for strings; a mix is bad input."""
    first: Optional[Tuple[LabelledFile, ClassificationExample]] = None
    for f in files:
        for ex in f.examples:
            if first is None:
                first = (f, ex)
            elif isinstance(ex.label, int) != isinstance(first[1].label, int):
                where = f"line {first[1].line} of {first[0].path}"
                raise InvalidInputError(
                    f"label {ex.label!r} and label {first[1].label!r} ({where}) mix integers and strings: use one kind in all "
                    "data files, class names or integer rows of the classifier",
                    file=f.path, line=ex.line,
                )
    return first is not None and isinstance(first[1].label, int)


def _teacher_names(teacher: TeacherHead) -> Optional[List[str]]:
    """id2label as row names when it fits the head's rows (an empty id2label: LABEL_i)."""
    assert teacher.rows is not None
    if not teacher.id2label:
        return generic_names(teacher.rows)
    if sorted(teacher.id2label) != list(range(teacher.rows)):
        return None
    return [teacher.id2label[i] for i in range(teacher.rows)]


def _row_names(spec_labels: Optional[Sequence[str]], teacher: TeacherHead, train: LabelledFile, integer: bool) -> Tuple[List[str], str]:
    if spec_labels is not None:
        names = list(spec_labels)
        if teacher.rows is not None:
            _check_spec_against_head(names, teacher)
        return names, "spec"
    if teacher.rows is not None:
        names = _teacher_names(teacher)
        if names is None:
            ids = ", ".join(str(i) for i in sorted(teacher.id2label))
            raise InvalidInputError(
                f"config.json id2label has ids {ids} but the teacher's classifier (classifier.weight) has {teacher.rows} rows: "
                f"make id2label name rows 0..{teacher.rows - 1}, or give `labels` in the spec: {teacher.rows} names in the classifier's order",
                file=teacher.config_file,
            )
        return names, "teacher"
    if integer:
        rows = max(int(ex.label) for ex in train.examples) + 1
        ids = teacher.id2label
        if ids and sorted(ids) == list(range(len(ids))) and rows <= len(ids):
            return [ids[i] for i in range(len(ids))], "teacher"
        return generic_names(rows), "train"
    return sorted({str(ex.label) for ex in train.examples}), "train"


def _check_spec_against_head(names: List[str], teacher: TeacherHead) -> None:
    assert teacher.rows is not None
    if len(names) != teacher.rows:
        raise InvalidInputError(
            f"labels in the spec has {len(names)} names but the teacher's classifier has {teacher.rows} rows: "
            f"give {teacher.rows} names, in the order of the classifier's rows",
            file=teacher.weights_file, tensor="classifier.weight",
        )
    rows = _teacher_names(teacher)
    if rows is None or rows == generic_names(teacher.rows):
        return  # the spec names rows the teacher left unnamed
    for position, name in enumerate(names):
        if name in rows and rows.index(name) != position:
            raise InvalidInputError(
                f"labels in the spec puts {name!r} at position {position}, but it is row {rows.index(name)} of the teacher's "
                f"classifier (config.json id2label: {_listing(rows, numbered=True)}): give the labels in the classifier's "
                "order, or leave labels out",
                file=teacher.config_file,
            )


def _listing(names: Sequence[str], numbered: bool = False) -> str:
    shown = [f"{i}={n}" if numbered else n for i, n in enumerate(names[:_LISTED])]
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return ", ".join(shown) + more


def _unknown_label(label: RawLabel, names: Sequence[str], origin: str) -> str:
    if isinstance(label, int):
        return (f"integer label {label} is not a row of the classifier: integer labels index its {len(names)} rows "
                f"({_listing(names, numbered=True)})")
    hint = f'; integer labels index the classifier\'s rows: write {label.strip()}, not "{label}"' if label.strip().isdigit() else ""
    if origin == "spec":
        return f"label {label!r} is not one of the spec's labels ({_listing(names)}){hint}"
    if origin == "teacher":
        if list(names) == generic_names(len(names)):
            return (f"data label {label!r} is not one of the teacher's labels {names[0]}..{names[-1]} (config.json id2label); "
                    f"give `labels` in the spec: the {len(names)} class names in the classifier's order{hint}")
        return (f"data label {label!r} is not one of the teacher's labels ({_listing(names)}; config.json id2label): "
                f"use those names in the data, or give `labels` in the spec to rename the classifier's rows{hint}")
    return f"label {label!r} does not occur in the train file (its labels: {_listing(names)}){hint}"
