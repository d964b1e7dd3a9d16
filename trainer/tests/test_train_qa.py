"""A short QA run through every stage: SQuAD v2 data, KL attention loss, low-rank FFN student."""

import json
import os
import random

from conftest import BASE_SPEC, parse_events, run_cli

COLORS = ["red", "blue", "green", "yellow"]
NAMES = ["car", "house", "boat", "kite", "lamp", "door"]


def _squad(path: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        facts = {name: rng.choice(COLORS) for name in rng.sample(NAMES, 4)}
        context = " ".join(f"The {name} is {color}." for name, color in facts.items()) + " It was a long day at the old market."
        name = rng.choice(list(facts))
        start = context.index(f"The {name} is ") + len(f"The {name} is ")
        qas = [{"id": f"q{i}", "question": f"What color is the {name}?", "answers": [{"text": facts[name], "answer_start": start}]}]
        if i % 5 == 0:
            missing = next(x for x in NAMES if x not in facts)
            qas.append({"id": f"q{i}-none", "question": f"What color is the {missing}?", "answers": [], "is_impossible": True})
        paragraphs.append({"context": context, "qas": qas})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"version": "v2.0", "data": [{"title": "colors", "paragraphs": paragraphs}]}, f)


def test_qa_pipeline(tmp_path, vocab_file):
    _squad(str(tmp_path / "train.json"), 40, 1)
    _squad(str(tmp_path / "eval.json"), 12, 2)
    teacher = str(tmp_path / "teacher")
    init = run_cli(["init-model", "--out", teacher, "--vocab", vocab_file, "--task", "qa", "--layers", "2", "--hidden", "32",
                    "--heads", "4", "--intermediate", "64", "--max-position", "64"])
    assert init.returncode == 0, init.stderr
    spec = json.loads(json.dumps(BASE_SPEC))
    spec.update(task="qa", teacher_path=teacher, max_length=32, doc_stride=8, max_query_length=12, max_steps_per_stage=6,
                data={"train": str(tmp_path / "train.json"), "eval": str(tmp_path / "eval.json"), "unlabeled": None})
    spec["student"] = {**spec["student"], "layers": 1, "hidden": 32, "heads": 2, "intermediate": 64, "ffn_rank": 8}
    spec["stages"]["general_distill"]["enabled"] = False
    spec["stages"]["augment"]["methods"] = ["wordnet"]
    spec["stages"]["task_distill"]["attention_loss"] = "kl"
    spec["stages"]["teacher_finetune"]["enabled"] = "auto"  # init-model writes no head: fine-tuned
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = run_cli(["train", "--spec", str(tmp_path / "spec.json"), "--work-dir", str(tmp_path / "work")], timeout=300)
    events = parse_events(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    stages = {e["stage"]: e for e in events if e["type"] == "stage" and e["status"] != "started"}
    assert stages["teacher_finetune"]["status"] == "completed"
    assert stages["augment"]["status"] == "completed" and stages["qat"]["status"] == "completed"
    evals = [e for e in events if e["type"] == "eval"]
    assert evals and all(set(e["metrics"]) == {"exact_match", "f1"} for e in evals)
    out = str(tmp_path / "work" / "output")
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["outputs"] == ["start_logits", "end_logits"] and config["doc_stride"] == 8 and config["max_query_length"] == 12
    assert "labels" not in config
    augmented = json.load(open(tmp_path / "work" / "checkpoints" / "augment" / "train.json"))
    for p in augmented["data"][0]["paragraphs"]:
        for qa in p["qas"]:
            for a in qa["answers"]:
                assert p["context"][a["answer_start"]:].startswith(a["text"])
    student = json.load(open(os.path.join(out, "checkpoint", "config.json")))
    assert student["ffn_rank"] == 8 and student["architectures"] == ["BertForQuestionAnswering"]
    reference = json.load(open(os.path.join(out, "reference.json")))
    assert set(reference["examples"][0]["student_qat"]) == {"start_logits", "end_logits"}
