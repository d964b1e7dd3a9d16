"""Reading the job's data files. Every error names the file and the line (JSONL) or question id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

from .errors import InvalidInputError


@dataclass
class ClassificationExample:
    text: str
    text_pair: Optional[str]
    # A class name, or an integer row of the classifier (GLUE style) until labels.name_labels.
    label: Union[str, int]
    line: int = 0


@dataclass
class QaAnswer:
    text: str
    start: int  # character offset into the context


@dataclass
class QaExample:
    qid: str
    question: str
    context: str
    answers: List[QaAnswer] = field(default_factory=list)
    is_impossible: bool = False


def _read_text(path: str) -> str:
    try:
        # utf-8-sig: files saved as "UTF-8 with BOM" (Windows editors, Excel) read as plain UTF-8.
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except OSError as exc:
        raise InvalidInputError(f"cannot read data file: {exc.strerror}", file=path) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"data file is not UTF-8: {exc}", file=path) from exc


def load_classification(path: str, labels: Optional[Sequence[str]] = None) -> List[ClassificationExample]:
    """JSONL of {"text", "text_pair"?, "label": str or int}, one example per line; line numbers
    kept for error messages. Without labels, labels are returned as written (labels.py resolves
    them); with labels (row names), an integer label i becomes labels[i], and a label naming no
    row is bad input. Errors: InvalidInputError naming the file and line."""
    from .labels import label_name  # labels.py imports this module

    examples: List[ClassificationExample] = []
    for number, raw in enumerate(_read_text(path).split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"malformed JSON: {exc.msg}", file=path, line=number) from exc
        if not isinstance(row, dict):
            raise InvalidInputError("line is not a JSON object", file=path, line=number)
        for key in ("text", "label"):
            if key not in row:
                raise InvalidInputError(f"missing field {key!r}", file=path, line=number)
        text, pair, label = row["text"], row.get("text_pair"), row["label"]
        if not isinstance(text, str):
            raise InvalidInputError("field 'text' must be a string", file=path, line=number)
        if pair is not None and not isinstance(pair, str):
            raise InvalidInputError("field 'text_pair' must be a string", file=path, line=number)
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise InvalidInputError("field 'label' must be a string (class name) or an integer (classifier row)", file=path, line=number)
        if labels is not None:
            name = label_name(label, labels)
            if name is None:
                raise InvalidInputError(f"unknown label {label!r} (labels: {', '.join(labels)})", file=path, line=number)
            label = name
        examples.append(ClassificationExample(text, pair, label, number))
    if not examples:
        raise InvalidInputError("data file has no examples", file=path)
    return examples


def load_squad(path: str) -> List[QaExample]:
    """SQuAD v1.1 / v2.0 JSON. Answers must match the context at answer_start."""
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"malformed JSON: {exc.msg}", file=path, line=exc.lineno) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise InvalidInputError("SQuAD file must be an object with a 'data' list", file=path)
    examples: List[QaExample] = []
    for article in doc["data"]:
        for paragraph in (article or {}).get("paragraphs", []) if isinstance(article, dict) else []:
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str):
                raise InvalidInputError("paragraph without a 'context' string", file=path)
            for qa in paragraph.get("qas", []):
                examples.append(_squad_question(path, qa, context))
    if not examples:
        raise InvalidInputError("SQuAD file has no questions", file=path)
    return examples


def _squad_question(path: str, qa: object, context: str) -> QaExample:
    if not isinstance(qa, dict):
        raise InvalidInputError("question entry is not an object", file=path)
    qid = str(qa.get("id", "?"))

    def bad(msg: str) -> InvalidInputError:
        return InvalidInputError(f"question {qid}: {msg}", file=path)

    if "id" not in qa:
        raise bad("missing field 'id'")
    question = qa.get("question")
    if not isinstance(question, str):
        raise bad("missing field 'question'")
    raw_answers = qa.get("answers", [])
    if not isinstance(raw_answers, list):
        raise bad("'answers' must be a list")
    impossible = bool(qa.get("is_impossible", False)) or not raw_answers
    answers: List[QaAnswer] = []
    if not impossible:
        for a in raw_answers:
            if not isinstance(a, dict) or not isinstance(a.get("text"), str) or not isinstance(a.get("answer_start"), int):
                raise bad("answer needs 'text' (string) and 'answer_start' (integer)")
            start, text = a["answer_start"], a["text"]
            if start < 0 or context[start : start + len(text)] != text:
                raise bad(f"answer {text!r} does not match the context at answer_start {start}")
            answers.append(QaAnswer(text, start))
    return QaExample(qid, question, context, answers, impossible)


def load_unlabeled(path: str) -> List[str]:
    lines = [line.strip() for line in _read_text(path).split("\n")]
    passages = [line for line in lines if line]
    if not passages:
        raise InvalidInputError("unlabeled text file has no passages", file=path)
    return passages


def write_classification(path: str, examples: Sequence[ClassificationExample]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for ex in examples:
            row = {"text": ex.text, "label": ex.label}
            if ex.text_pair is not None:
                row["text_pair"] = ex.text_pair
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_squad(path: str, examples: Sequence[QaExample]) -> None:
    paragraphs = [
        {
            "context": ex.context,
            "qas": [
                {
                    "id": ex.qid,
                    "question": ex.question,
                    "is_impossible": ex.is_impossible,
                    "answers": [{"text": a.text, "answer_start": a.start} for a in ex.answers],
                }
            ],
        }
        for ex in examples
    ]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"version": "v2.0", "data": [{"title": "augmented", "paragraphs": paragraphs}]}, f, ensure_ascii=False)
