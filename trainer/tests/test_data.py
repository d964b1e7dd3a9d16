import json

import pytest

from distillery_trainer import data
from distillery_trainer.errors import InvalidInputError


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_classification_jsonl(tmp_path):
    path = _write(tmp_path, "d.jsonl", '{"text": "a", "label": "x"}\n\n{"text": "b", "text_pair": "c", "label": "y"}\n')
    rows = data.load_classification(path, ["x", "y"])
    assert [(r.text, r.text_pair, r.label, r.line) for r in rows] == [("a", None, "x", 1), ("b", "c", "y", 3)]


@pytest.mark.parametrize(
    "content, line, message",
    [
        ('{"text": "a", "label": "x"}\n{"text": "a", "label": \n', 2, "malformed JSON"),
        ('{"text": "a", "label": "x"}\n{"label": "x"}\n', 2, "missing field 'text'"),
        ('{"text": "a"}\n', 1, "missing field 'label'"),
        ('{"text": "a", "label": "x"}\n{"text": "a", "label": "z"}\n', 2, "unknown label 'z'"),
        ('[1, 2]\n', 1, "not a JSON object"),
        ('{"text": 3, "label": "x"}\n', 1, "must be a string"),
    ],
)
def test_classification_errors_name_file_and_line(tmp_path, content, line, message):
    path = _write(tmp_path, "bad.jsonl", content)
    with pytest.raises(InvalidInputError, match=message) as info:
        data.load_classification(path, ["x", "y"])
    assert info.value.file == path and info.value.line == line


def _squad(qas, context="The cat sat on the mat."):
    return json.dumps({"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]})


def test_squad_v2_with_unanswerable(tmp_path):
    path = _write(tmp_path, "s.json", _squad([
        {"id": "q1", "question": "Who sat?", "answers": [{"text": "cat", "answer_start": 4}]},
        {"id": "q2", "question": "Who flew?", "answers": [], "is_impossible": True},
    ]))
    q1, q2 = data.load_squad(path)
    assert q1.answers[0].text == "cat" and not q1.is_impossible
    assert q2.is_impossible and q2.answers == []


@pytest.mark.parametrize(
    "qa, message",
    [
        ({"id": "q7", "question": "Who?", "answers": [{"text": "dog", "answer_start": 4}]}, "q7: answer 'dog' does not match"),
        ({"id": "q8", "answers": []}, "q8: missing field 'question'"),
        ({"id": "q9", "question": "Who?", "answers": [{"text": "cat"}]}, "q9: answer needs"),
    ],
)
def test_squad_errors_name_the_question(tmp_path, qa, message):
    path = _write(tmp_path, "s.json", _squad([qa]))
    with pytest.raises(InvalidInputError, match=message) as info:
        data.load_squad(path)
    assert info.value.file == path


def test_unlabeled_lines(tmp_path):
    path = _write(tmp_path, "u.txt", "one\n\n  two  \n")
    assert data.load_unlabeled(path) == ["one", "two"]


def test_files_saved_as_utf8_with_bom_read_as_utf8(tmp_path):
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes('\ufeff{"text": "hi", "label": "a"}\r\n{"text": "yo", "label": "b"}\r\n'.encode("utf-8"))
    assert [(e.text, e.label, e.line) for e in data.load_classification(str(jsonl))] == [("hi", "a", 1), ("yo", "b", 2)]
    squad = tmp_path / "bom.json"
    doc = {"data": [{"paragraphs": [{"context": "ab", "qas": [{"id": "q", "question": "?", "answers": [{"text": "a", "answer_start": 0}]}]}]}]}
    squad.write_bytes(("\ufeff" + json.dumps(doc)).encode("utf-8"))
    assert [q.qid for q in data.load_squad(str(squad))] == ["q"]
    text = tmp_path / "bom.txt"
    text.write_bytes("\ufeffone passage\n".encode("utf-8"))
    assert data.load_unlabeled(str(text)) == ["one passage"]
