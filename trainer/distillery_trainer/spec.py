"""The resolved job spec (docs/trainer-protocol.md), read into typed objects.

The TypeScript side validates the spec and resolves it with every default filled; this checks it
once on the trainer's side of the process boundary, so a hand-written spec fails as bad input
naming the field rather than with a KeyError. The trainer has no defaults of its own: every field
the resolved spec holds must be there (docs/trainer-protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from .errors import InvalidInputError
from .json_files import read_json_file

STAGES = ("mlm_pretrain", "teacher_finetune", "general_distill", "augment", "task_distill", "qat", "export")


class _Reader:
    def __init__(self, data: Dict[str, Any], path: str, file: str) -> None:
        if not isinstance(data, dict):
            raise InvalidInputError(f"spec field {path or '(root)'} must be an object", file=file)
        self.data, self.path, self.file = data, path, file

    def _bad(self, key: str, what: str) -> InvalidInputError:
        return InvalidInputError(f"spec field {self.path}{key} {what}", file=self.file)

    def get(self, key: str, types: tuple, *, nullable: bool = False) -> Any:
        if key not in self.data:
            raise self._bad(key, "is missing")
        value = self.data[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) and bool not in types:
            raise self._bad(key, f"must be {'/'.join(t.__name__ for t in types)}, got {value!r}")
        if not isinstance(value, types):
            raise self._bad(key, f"must be {'/'.join(t.__name__ for t in types)}, got {value!r}")
        return value

    def positive(self, key: str) -> int:
        value = self.get(key, (int,))
        if value <= 0:
            raise self._bad(key, f"must be positive, got {value}")
        return value

    def number(self, key: str) -> float:
        return float(self.get(key, (int, float)))

    def child(self, key: str) -> "_Reader":
        return _Reader(self.get(key, (dict,)), f"{self.path}{key}.", self.file)


@dataclass
class StudentShape:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    ffn_rank: Optional[int]
    # Hidden and attention-probability dropout while the student trains.
    dropout: float
    # Where the student starts: "random", "teacher" (its embeddings and mapped layers) or
    # "checkpoint" (init_path, a Hugging Face folder with the student's shape).
    init_kind: str = "random"
    init_path: Optional[str] = None
    # The fields the job spec left "auto" (chosen from the teacher by the TypeScript side).
    auto: List[str] = field(default_factory=list)


# The stages whose job-spec schema has a warm-up ratio, and those with a distillation temperature
# (the stages with a prediction-layer loss: general distillation has none).
WARMUP_STAGES = ("mlm_pretrain", "teacher_finetune", "task_distill")
TEMPERATURE_STAGES = ("task_distill", "qat")


def max_saving_ffn_rank(hidden: int, intermediate: int) -> int:
    """The largest low-rank FFN rank r that stores fewer weights than the dense matrix.

    U (h x r) plus V (r x I) hold r (h + I) weights against h I dense (V's bias replaces the
    dense bias one for one), so the factorisation saves only when r < h I / (h + I): 247 for
    312 x 1200, 614 for 768 x 3072. The same bound is checked in src/training/resolve-spec.ts."""
    return (hidden * intermediate - 1) // (hidden + intermediate)


@dataclass
class StageSpec:
    name: str
    enabled: Union[bool, str]
    # May be fractional (0.5 = half an epoch's steps), e.g. a short QAT pass. The values here only
    # stand for stages without training steps (augment); training stages read every one.
    epochs: float = 1
    batch_size: int = 32
    lr: float = 5e-5
    warmup_ratio: float = 0.1
    temperature: float = 1.0
    # The stage's own step cap (mlm_pretrain, general_distill); None: epochs decide. The job's
    # max_steps_per_stage caps it further.
    max_steps: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Spec:
    raw: Dict[str, Any]
    job_id: str
    model: str
    task: str
    teacher_path: str
    # General distillation's teacher (a pre-trained encoder) and augment's masked LM; None: the teacher.
    general_teacher_path: Optional[str]
    # General distillation learns from the teacher this run's teacher_finetune produced.
    general_teacher_finetuned: bool
    mlm_model_path: Optional[str]
    train: str
    eval: Optional[str]
    unlabeled: Optional[str]
    labels: Optional[List[str]]
    max_length: int
    doc_stride: int
    max_query_length: int
    # QA training windows: "all", or "answer" (only windows holding the answer, plus the first
    # window of unanswerable questions) - a CPU-time saver; eval and serving always use all.
    qa_train_windows: str
    student: StudentShape
    stages: Dict[str, StageSpec]
    device: str
    precision: str
    seed: int
    checkpoint_every: int
    max_steps_per_stage: Optional[int]
    eval_every_epoch: bool


def _stage(r: _Reader, name: str) -> StageSpec:
    s = r.child(name)
    enabled = s.get("enabled", (bool, str))
    if isinstance(enabled, str) and not (name == "teacher_finetune" and enabled == "auto"):
        raise InvalidInputError(f"spec field stages.{name}.enabled must be true/false" + (" or 'auto'" if name == "teacher_finetune" else ""), file=r.file)
    if name == "augment":
        methods = s.get("methods", (list,))
        if not all(m in ("wordnet", "mlm") for m in methods):
            raise InvalidInputError("spec field stages.augment.methods may only hold 'wordnet' and 'mlm'", file=r.file)
        return StageSpec(name, enabled, extra={
            "methods": methods,
            "copies": s.positive("copies"),
            "replace_prob": s.number("replace_prob"),
            "max_examples": s.positive("max_examples"),
        })
    spec = StageSpec(
        name,
        enabled,
        epochs=_positive_number(s, "epochs"),
        batch_size=s.positive("batch_size"),
        lr=s.number("lr"),
        # A stage without a warm-up setting has none; one without a temperature uses plain logits.
        warmup_ratio=s.number("warmup_ratio") if name in WARMUP_STAGES else 0.0,
        temperature=s.number("temperature") if name in TEMPERATURE_STAGES else 1.0,
    )
    if spec.temperature <= 0:
        raise InvalidInputError(f"spec field stages.{name}.temperature must be positive", file=r.file)
    if name == "task_distill":
        kind = s.get("attention_loss", (str,))
        if kind not in ("mse", "kl"):
            raise InvalidInputError("spec field stages.task_distill.attention_loss must be 'mse' or 'kl'", file=r.file)
        weights = s.get("weights", (str, dict))
        if isinstance(weights, str) and weights != "dynamic":
            raise InvalidInputError("spec field stages.task_distill.weights must be 'dynamic' or an object", file=r.file)
        if isinstance(weights, dict):
            w = _Reader(weights, "stages.task_distill.weights.", r.file)
            weights = {k: w.number(k) for k in ("pred", "embed", "hidden", "attention")}
        hard_label_weight = s.number("hard_label_weight")
        if hard_label_weight < 0:
            raise s._bad("hard_label_weight", f"must be 0 or more, got {hard_label_weight}")
        patience = s.get("early_stopping_patience", (int,), nullable=True)
        spec.extra = {
            "attention_loss": kind,
            "weights": weights,
            "hidden_weight": s.number("hidden_weight"),
            "attention_weight": s.number("attention_weight"),
            "hard_label_weight": hard_label_weight,
            # Evaluations in a row without a better headline metric before the stage stops; None: never.
            "early_stopping_patience": s.positive("early_stopping_patience") if patience is not None else None,
            "layer_reduction": _layer_reduction(s, name),
        }
    if name in ("mlm_pretrain", "general_distill"):
        max_steps = s.get("max_steps", (int,), nullable=True)
        spec.max_steps = s.positive("max_steps") if max_steps is not None else None
    if name == "general_distill":
        spec.extra = {"layer_reduction": _layer_reduction(s, name)}
    if name == "mlm_pretrain":
        mask_prob = s.number("mask_prob")
        if not 0.0 < mask_prob < 1.0:
            raise s._bad("mask_prob", f"must be between 0 and 1 (BERT: 0.15), got {mask_prob}")
        spec.extra = {"mask_prob": mask_prob, "max_length": s.positive("max_length"), "evaluations": s.positive("evaluations")}
    if name == "qat":
        spec.extra = {"recalibrate_every": s.positive("recalibrate_every"), "observer": s.get("observer", (str,))}
        if spec.extra["observer"] not in ("minmax", "moving_average"):
            raise InvalidInputError("spec field stages.qat.observer must be 'minmax' or 'moving_average'", file=r.file)
    return spec


def _layer_reduction(r: "_Reader", stage: str) -> str:
    value = r.get("layer_reduction", (str,))
    if value not in ("sum", "mean"):
        raise InvalidInputError(f"spec field stages.{stage}.layer_reduction must be 'sum' or 'mean', got {value!r}", file=r.file)
    return value


def _positive_number(r: "_Reader", key: str) -> float:
    value = r.number(key)
    if value <= 0:
        raise r._bad(key, f"must be positive, got {value}")
    return value


# Which QA training windows a long context gives (features.qa_features): every one, the answer's
# (plus an unanswerable question's first), or the answer's and one other as a no-answer example.
QA_TRAIN_WINDOWS = ("all", "answer", "answer_and_one_other")


def _qa_train_windows(value: str, file: str) -> str:
    if value not in QA_TRAIN_WINDOWS:
        raise InvalidInputError(f"spec field qa_train_windows must be one of {', '.join(QA_TRAIN_WINDOWS)}, got {value!r}", file=file)
    return value


def load_spec(path: str) -> Spec:
    return parse_spec(read_json_file(path, "spec"), path)


def parse_spec(raw: Dict[str, Any], file: str = "spec") -> Spec:
    r = _Reader(raw, "", file)
    task = r.get("task", (str,))
    if task not in ("classification", "qa"):
        raise InvalidInputError(f"spec field task must be 'classification' or 'qa', got {task!r}", file=file)
    data = r.child("data")
    student = r.child("student")
    stages = r.child("stages")
    labels = r.get("labels", (list,), nullable=True)
    if labels is not None and (not labels or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels)):
        raise InvalidInputError("spec field labels must be a non-empty list of distinct strings", file=file)
    max_steps = r.get("max_steps_per_stage", (int,), nullable=True)
    if max_steps is not None and max_steps <= 0:
        raise InvalidInputError("spec field max_steps_per_stage must be positive or null", file=file)
    ffn_rank = student.get("ffn_rank", (int,), nullable=True)
    init = student.child("init")
    init_kind = init.get("kind", (str,))
    if init_kind not in ("random", "teacher", "checkpoint"):
        raise InvalidInputError(f"spec field student.init.kind must be random, teacher or checkpoint, got {init_kind!r}", file=file)
    init_path = init.get("path", (str,), nullable=init_kind != "checkpoint")
    auto = student.get("auto", (list,))
    hidden, intermediate = student.positive("hidden"), student.positive("intermediate")
    if ffn_rank is not None and ffn_rank > max_saving_ffn_rank(hidden, intermediate):
        raise InvalidInputError(
            f"spec field student.ffn_rank {ffn_rank} saves no weights: U and V hold r*(hidden+intermediate) = "
            f"{ffn_rank * (hidden + intermediate)} against hidden*intermediate = {hidden * intermediate} dense; "
            f"use a rank of at most {max_saving_ffn_rank(hidden, intermediate)} (below h*I/(h+I) = {hidden * intermediate / (hidden + intermediate):.1f}) or null",
            file=file,
        )
    dropout = student.number("dropout")
    if not 0.0 <= dropout <= 0.9:
        raise InvalidInputError(f"spec field student.dropout must be between 0 and 0.9, got {dropout}", file=file)
    device = r.get("device", (str,))
    precision = r.get("precision", (str,))
    if device not in ("auto", "cuda", "cpu"):
        raise InvalidInputError(f"spec field device must be auto/cuda/cpu, got {device!r}", file=file)
    if precision not in ("fp32", "bf16", "fp16"):
        raise InvalidInputError(f"spec field precision must be fp32/bf16/fp16, got {precision!r}", file=file)
    spec = Spec(
        raw=raw,
        job_id=r.get("job_id", (str,)),
        model=r.get("model", (str,)),
        task=task,
        teacher_path=r.get("teacher_path", (str,)),
        general_teacher_path=r.get("general_teacher_path", (str,), nullable=True),
        general_teacher_finetuned=r.get("general_teacher_finetuned", (bool,)),
        mlm_model_path=r.get("mlm_model_path", (str,), nullable=True),
        train=data.get("train", (str,)),
        eval=data.get("eval", (str,), nullable=True),
        unlabeled=data.get("unlabeled", (str,), nullable=True),
        labels=labels,
        max_length=r.positive("max_length"),
        doc_stride=r.positive("doc_stride"),
        max_query_length=r.positive("max_query_length"),
        qa_train_windows=_qa_train_windows(r.get("qa_train_windows", (str,)), file),
        student=StudentShape(
            layers=student.positive("layers"),
            hidden=hidden,
            heads=student.positive("heads"),
            intermediate=intermediate,
            ffn_rank=student.positive("ffn_rank") if ffn_rank is not None else None,
            dropout=dropout,
            init_kind=init_kind,
            init_path=init_path,
            auto=[str(x) for x in auto],
        ),
        stages={name: _stage(stages, name) for name in STAGES if name != "export"},
        device=device,
        precision=precision,
        seed=r.get("seed", (int,)),
        checkpoint_every=r.positive("checkpoint_every"),
        max_steps_per_stage=max_steps,
        eval_every_epoch=r.get("eval_every_epoch", (bool,)),
    )
    _check_mlm_pretrain(spec, file)
    return spec


def _check_mlm_pretrain(spec: Spec, file: str) -> None:
    """mlm_pretrain's needs across fields (the TypeScript resolver checks the same)."""
    stage = spec.stages["mlm_pretrain"]
    if not stage.enabled:
        return
    if spec.unlabeled is None:
        raise InvalidInputError("spec field stages.mlm_pretrain is enabled but data.unlabeled is null: give a text file (one passage a line) to pre-train on", file=file)
    if spec.stages["teacher_finetune"].enabled is False:
        raise InvalidInputError(
            "spec field stages.mlm_pretrain is enabled but stages.teacher_finetune is disabled: the pre-trained teacher has no task head, "
            "so enable teacher_finetune (true or 'auto') or disable mlm_pretrain", file=file,
        )
