"""The pipeline of a `train` run: teacher_finetune, general_distill, augment, task_distill, qat,
export - each run, resumed or skipped per the resolved spec and the work dir's state."""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from . import checkpoint as ckpt_io
from . import data as data_io
from . import distill_steps as steps
from . import features as feats
from .augment import Augmenter
from .best_checkpoint import BestCheckpoint
from .errors import InvalidInputError, StopRequested
from .events import EventWriter
from .loop import LoopConfig, Runtime, iterate_batches, resolve_device, run_loop
from .losses import DistillProjections, check_head_grouping, layer_mapping
from .metrics import HEADLINE_METRIC, best_span, classification_metrics, span_metrics
from .modeling import BertConfig, BertForDistillation
from .outputs import write_outputs
from .ptq import CALIBRATION_BATCHES
from .quantization import QatController, prepare_qat
from .spec import STAGES, Spec, StageSpec
from .state import RunState

log = logging.getLogger(__name__)

EVAL_BATCH = 64


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


class Pipeline:
    def __init__(self, spec: Spec, work_dir: str, events: EventWriter) -> None:
        self.spec = spec
        self.work_dir = os.path.abspath(work_dir)
        self.output_dir = os.path.join(self.work_dir, "output")
        self.events = events
        self.state = RunState(os.path.join(self.work_dir, "checkpoints"))
        self.rt: Optional[Runtime] = None
        self._teacher: Optional[BertForDistillation] = None
        self.stages_run: List[str] = []
        self._stop_early = False  # SIGTERM before the runtime exists

    # --- setup ----------------------------------------------------------------------------------

    def request_stop(self) -> None:
        if self.rt is not None:
            self.rt.stop_requested = True
        self._stop_early = True

    def run(self) -> None:
        spec = self.spec
        resumed = self.state.resumed_from() if self.state.existed else None
        device, precision = resolve_device(spec.device, spec.precision)
        self.rt = Runtime(device, precision, self.events, self.state, spec.seed)
        self.rt.stop_requested = self._stop_early
        set_seed(spec.seed)
        self.events.emit("start", job_id=spec.job_id, device=str(device), precision=precision, torch=torch.__version__, resumed_from=resumed)
        self.teacher_ckpt = ckpt_io.read_checkpoint(spec.teacher_path)
        self.tokenizer = self.teacher_ckpt.tokenizer
        self._check_shapes()
        self._load_data()
        for stage in STAGES:
            finished = self.state.finished(stage)
            if finished is not None:
                reason = "finished in an earlier run" if finished["status"] == "completed" else finished.get("reason")
                self.events.emit("stage", stage=stage, status="skipped", reason=reason)
                if finished["status"] == "completed":
                    self.stages_run.append(stage)
                continue
            if self.rt.stop_requested:
                raise StopRequested(self.state.path)
            started = time.monotonic()
            getattr(self, f"_stage_{stage}")()
            self.state.history(stage)["seconds"] = self.state.history(stage).get("seconds", 0.0) + (time.monotonic() - started)
            self.state.save()
        self.events.emit("done", output_dir=self.output_dir, summary=self.summary)

    def _check_shapes(self) -> None:
        s, t = self.spec.student, self.teacher_ckpt.config
        where = os.path.join(self.spec.teacher_path, "config.json")
        layer_mapping(s.layers, t.num_hidden_layers)
        check_head_grouping(s.heads, t.num_attention_heads)
        if s.hidden % s.heads:
            raise InvalidInputError(f"student hidden {s.hidden} is not divisible by its {s.heads} heads")
        if self.spec.max_length > t.max_position_embeddings:
            raise InvalidInputError(f"max_length {self.spec.max_length} exceeds the teacher's max_position_embeddings {t.max_position_embeddings}", file=where)

    def _load_data(self) -> None:
        spec = self.spec
        self.labels: Optional[List[str]] = None
        if spec.task == "classification":
            head = self.teacher_ckpt.has_task_head("classification")
            if spec.labels is not None:
                labels = list(spec.labels)
            elif head and self.teacher_ckpt.config.id2label:
                labels = self.teacher_ckpt.config.labels
            else:
                labels = sorted({ex.label for ex in data_io.load_classification(spec.train)})
            if head:
                rows = self.teacher_ckpt.tensors["classifier.weight"].shape[0]
                if rows != len(labels):
                    raise InvalidInputError(
                        f"teacher classifier has {rows} outputs but there are {len(labels)} labels",
                        file=self.teacher_ckpt.weights_file, tensor="classifier.weight",
                    )
            self.labels = labels
            self.label_to_id = {label: i for i, label in enumerate(labels)}
            self.train_examples = data_io.load_classification(spec.train, labels)
            self.eval_examples = data_io.load_classification(spec.eval, labels) if spec.eval else []
        else:
            self.train_examples = data_io.load_squad(spec.train)
            self.eval_examples = data_io.load_squad(spec.eval) if spec.eval else []
        self.train_features = self._features(self.train_examples, training=True)
        self.eval_features = self._features(self.eval_examples) if self.eval_examples else []

    def _features(self, examples: Sequence, training: bool = False) -> List[feats.Feature]:
        spec = self.spec
        if spec.task == "classification":
            return feats.classification_features(self.tokenizer, examples, self.label_to_id, spec.max_length)
        return feats.qa_features(
            self.tokenizer, examples, spec.max_length, spec.doc_stride, spec.max_query_length,
            only_answer_windows=training and spec.qa_train_windows == "answer",
        )

    @property
    def id2label(self) -> Dict[int, str]:
        return dict(enumerate(self.labels)) if self.labels else {}

    # --- models ---------------------------------------------------------------------------------

    def student_config(self) -> BertConfig:
        s, t = self.spec.student, self.teacher_ckpt.config
        return BertConfig(
            vocab_size=t.vocab_size, hidden_size=s.hidden, num_hidden_layers=s.layers, num_attention_heads=s.heads,
            intermediate_size=s.intermediate, max_position_embeddings=t.max_position_embeddings,
            type_vocab_size=t.type_vocab_size, layer_norm_eps=t.layer_norm_eps, ffn_rank=s.ffn_rank,
            hidden_dropout_prob=s.dropout, attention_probs_dropout_prob=s.dropout,
            id2label=self.id2label, pad_token_id=self.tokenizer.pad_id,
        )

    def _device_model(self, model: BertForDistillation) -> BertForDistillation:
        return model.to(self.rt.device)  # type: ignore[union-attr]

    def teacher(self) -> BertForDistillation:
        """The task teacher: fine-tuned in this work dir, or the given checkpoint with its head."""
        if self._teacher is None:
            finished = self.state.finished("teacher_finetune")
            if finished and finished["status"] == "completed":
                ckpt = ckpt_io.read_checkpoint(self.state.stage_dir("teacher_finetune"))
            else:
                ckpt = self.teacher_ckpt
                if not ckpt.has_task_head(self.spec.task):
                    tensor = "classifier.weight" if self.spec.task == "classification" else "qa_outputs.weight"
                    raise InvalidInputError("teacher checkpoint has no task head and was not fine-tuned", file=ckpt.weights_file, tensor=tensor)
            self._teacher = self._device_model(ckpt_io.build_from_checkpoint(ckpt, self.spec.task, id2label=self.id2label))
        return self._teacher

    def initial_student(self) -> BertForDistillation:
        torch.manual_seed(self.spec.seed)
        model = BertForDistillation(self.student_config(), self.spec.task)
        finished = self.state.finished("general_distill")
        if finished and finished["status"] == "completed":
            general = ckpt_io.read_checkpoint(self.state.stage_dir("general_distill"))
            ckpt_io.load_weights(model, general.tensors, general.weights_file, optional_prefixes=("classifier.", "qa_outputs."))
        return self._device_model(model)

    def fp32_student(self) -> BertForDistillation:
        """The distilled FP32 student (or the initial one when task_distill did not run)."""
        finished = self.state.finished("task_distill")
        if finished and finished["status"] == "completed":
            ckpt = ckpt_io.read_checkpoint(self.state.stage_dir("task_distill"))
            return self._device_model(ckpt_io.build_from_checkpoint(ckpt, self.spec.task, id2label=self.id2label))
        return self.initial_student()

    def qat_student(self) -> Tuple[BertForDistillation, QatController]:
        model = prepare_qat(self.fp32_student(), self.spec.stages["qat"].extra["observer"])
        controller = QatController(model, self.spec.stages["qat"].extra["recalibrate_every"])
        return model, controller

    def _loop_config(self, stage: StageSpec) -> LoopConfig:
        return LoopConfig(
            stage=stage.name, epochs=stage.epochs, batch_size=stage.batch_size, lr=stage.lr,
            warmup_ratio=stage.warmup_ratio, max_steps=self.spec.max_steps_per_stage,
            checkpoint_every=self.spec.checkpoint_every, eval_every_epoch=self.spec.eval_every_epoch,
            task=self.spec.task, pad_id=self.tokenizer.pad_id,
        )

    def _skip(self, stage: str, reason: str) -> None:
        self.events.emit("stage", stage=stage, status="skipped", reason=reason)
        self.state.finish(stage, "skipped", reason)

    def _complete(self, stage: str, step: int, result_path: Optional[str]) -> None:
        if result_path is not None:
            self.events.emit("checkpoint", stage=stage, step=step, path=result_path)
        self.state.finish(stage, "completed", step=step)
        self.state.clear_progress(stage)
        self.stages_run.append(stage)
        self.events.emit("stage", stage=stage, status="completed")

    # --- evaluation -------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, model: BertForDistillation, role: str) -> Optional[Tuple[str, Dict[str, float]]]:
        if not self.eval_features:
            return None
        model.eval()
        predicted, gold = [], []
        for batch in iterate_batches(self.eval_features, EVAL_BATCH, self.tokenizer.pad_id, self.spec.task):
            batch = batch.to(self.rt.device)  # type: ignore[union-attr]
            with self.rt.autocast():  # type: ignore[union-attr]
                out = model(*batch.model_inputs())
            if self.spec.task == "classification":
                predicted += out.logits.argmax(-1).tolist()
                gold += batch.labels.tolist()
            else:
                for row, f in enumerate(batch.features):
                    predicted.append(best_span(out.start_logits[row].cpu(), out.end_logits[row].cpu(), f.context_offset, f.context_count))
                    gold.append((f.start_position, f.end_position))
        metrics = classification_metrics(predicted, gold) if self.spec.task == "classification" else span_metrics(predicted, gold)
        return role, {k: round(v, 6) for k, v in metrics.items()}

    # --- stages -----------------------------------------------------------------------------------

    def _stage_teacher_finetune(self) -> None:
        stage = self.spec.stages["teacher_finetune"]
        has_head = self.teacher_ckpt.has_task_head(self.spec.task)
        if stage.enabled is False or (stage.enabled == "auto" and has_head):
            if not has_head:
                tensor = "classifier.weight" if self.spec.task == "classification" else "qa_outputs.weight"
                raise InvalidInputError(
                    "teacher checkpoint has no task head and teacher_finetune is disabled",
                    file=self.teacher_ckpt.weights_file, tensor=tensor,
                )
            self._skip("teacher_finetune", "disabled" if stage.enabled is False else "teacher already has a task head")
            return
        self.events.emit("stage", stage="teacher_finetune", status="started")
        torch.manual_seed(self.spec.seed)
        model = self._device_model(ckpt_io.build_from_checkpoint(self.teacher_ckpt, self.spec.task, id2label=self.id2label))

        def step(batch, epoch):
            with self.rt.autocast():
                out = model(*batch.model_inputs())
            return steps.task_loss(model, out, batch), {}

        done = run_loop(self.rt, self._loop_config(stage), self.train_features, {"teacher": model}, step,
                        evaluate=lambda: self.evaluate(model, "teacher"))
        out_dir = self.state.stage_dir("teacher_finetune")
        ckpt_io.save_checkpoint(model, self.tokenizer, out_dir)
        self._teacher = model.eval()
        self._complete("teacher_finetune", done, out_dir)

    def _stage_general_distill(self) -> None:
        stage = self.spec.stages["general_distill"]
        if not stage.enabled:
            self._skip("general_distill", "disabled")
            return
        if not self.spec.unlabeled:
            raise InvalidInputError("general_distill is enabled but data.unlabeled is null")
        self.events.emit("stage", stage="general_distill", status="started")
        # General distillation learns from the pre-trained encoder, not the task-tuned teacher.
        teacher = self._device_model(ckpt_io.build_from_checkpoint(self.teacher_ckpt, "encoder")).eval()
        torch.manual_seed(self.spec.seed)
        student = self._device_model(BertForDistillation(self.student_config(), "encoder"))
        setup = self._intermediate_setup(teacher, stage.extra["layer_reduction"])
        texts = data_io.load_unlabeled(self.spec.unlabeled)
        features = feats.text_features(self.tokenizer, texts, self.spec.max_length)

        def step(batch, epoch):
            with self.rt.autocast():
                with torch.no_grad():
                    t_out = teacher(*batch.model_inputs(), output_internals=True)
                s_out = student(*batch.model_inputs(), output_internals=True)
            terms = steps.intermediate_losses(s_out, t_out, batch, setup)
            return steps.weighted_sum(terms, {"embed": 1.0, "attention": 1.0, "hidden": 1.0})

        done = run_loop(self.rt, self._loop_config(stage), features, {"student": student, "projections": setup.projections}, step)
        out_dir = self.state.stage_dir("general_distill")
        ckpt_io.save_checkpoint(student, self.tokenizer, out_dir)
        self._complete("general_distill", done, out_dir)

    def _intermediate_setup(self, teacher: BertForDistillation, layer_reduction: str) -> steps.IntermediateLossSetup:
        s, t = self.spec.student, teacher.config
        projections = DistillProjections(s.hidden, t.hidden_size, s.layers).to(self.rt.device)  # type: ignore[union-attr]
        return steps.IntermediateLossSetup(
            projections, layer_mapping(s.layers, t.num_hidden_layers), self.spec.stages["task_distill"].extra["attention_loss"], layer_reduction
        )

    def _augmented_path(self) -> str:
        name = "train.jsonl" if self.spec.task == "classification" else "train.json"
        return os.path.join(self.state.stage_dir("augment"), name)

    def _stage_augment(self) -> None:
        stage = self.spec.stages["augment"]
        if not stage.enabled:
            self._skip("augment", "disabled")
            return
        methods = stage.extra["methods"]
        mlm_model = None
        if "mlm" in methods and self.teacher_ckpt.has_mlm_head:
            mlm_model = self._device_model(ckpt_io.build_from_checkpoint(self.teacher_ckpt, "encoder", with_mlm_head=True)).eval()
        augmenter = Augmenter(self.tokenizer, methods, stage.extra["replace_prob"], self.spec.seed, mlm_model, self.rt.device)  # type: ignore[union-attr]
        if not augmenter.available:
            self._skip("augment", "no method available: WordNet not installed and the teacher has no MLM head (cls.predictions)")
            return
        self.events.emit("stage", stage="augment", status="started")
        copies, cap = stage.extra["copies"], stage.extra["max_examples"]
        path = self._augmented_path()
        if self.spec.task == "classification":
            added = augmenter.classification(self.train_examples, copies, cap)
            data_io.write_classification(path, added)
        else:
            added = augmenter.qa(self.train_examples, copies, cap)
            data_io.write_squad(path, added)
        history = self.state.history("augment")
        history["examples"] = len(added)
        history["methods"] = [m for m in methods if (m == "mlm" and mlm_model is not None) or (m == "wordnet" and augmenter.wordnet)]
        log.info("augment: %d new examples from %d", len(added), len(self.train_examples))
        self._complete("augment", len(added), path)

    def _augmented_features(self) -> List[feats.Feature]:
        finished = self.state.finished("augment")
        if not (finished and finished["status"] == "completed"):
            return []
        path = self._augmented_path()
        if self.spec.task == "classification":
            examples = data_io.load_classification(path, self.labels) if os.path.getsize(path) else []
        else:
            examples = data_io.load_squad(path) if os.path.getsize(path) > 100 else []
        return self._features(examples, training=True) if examples else []

    def _stage_task_distill(self) -> None:
        stage = self.spec.stages["task_distill"]
        if not stage.enabled:
            self._skip("task_distill", "disabled")
            return
        self.events.emit("stage", stage="task_distill", status="started")
        teacher = self.teacher().eval()
        finetuned = self.state.finished("teacher_finetune") or {}
        if finetuned.get("status") != "completed" and self.state.load_progress("task_distill") is None:
            # The teacher came with its head: report its quality once, before distilling from it.
            result = self.evaluate(teacher, "teacher")
            if result is not None:
                self.events.emit("eval", stage="task_distill", role=result[0], metrics=result[1], step=0)
                self.state.history("task_distill")["eval"].append({"step": 0, "role": result[0], "metrics": result[1]})
        student = self.initial_student()
        setup = self._intermediate_setup(teacher, stage.extra["layer_reduction"])
        features = self.train_features + self._augmented_features()
        cfg = self._loop_config(stage)

        def step(batch, epoch):
            with self.rt.autocast():
                with torch.no_grad():
                    t_out = teacher(*batch.model_inputs(), output_internals=True)
                s_out = student(*batch.model_inputs(), output_internals=True)
            return steps.task_distill_loss(s_out, t_out, batch, setup, stage, epoch)

        best = BestCheckpoint(student, HEADLINE_METRIC[self.spec.task], patience=stage.extra["early_stopping_patience"])
        done = run_loop(self.rt, cfg, features, {"student": student, "projections": setup.projections}, step,
                        evaluate=lambda: self.evaluate(student, "student"), best=best)
        best.restore()  # the best evaluation's weights are what the later stages and export get
        self.state.history("task_distill")["best_checkpoint"] = best.summary()
        out_dir = self.state.stage_dir("task_distill")
        ckpt_io.save_checkpoint(student, self.tokenizer, out_dir)
        self._complete("task_distill", done, out_dir)

    def _stage_qat(self) -> None:
        stage = self.spec.stages["qat"]
        if not stage.enabled:
            self._skip("qat", "disabled")
            return
        self.events.emit("stage", stage="qat", status="started")
        teacher = self.teacher().eval()
        student, controller = self.qat_student()
        if self.state.load_progress("qat") is None:
            student.eval()

            def calibration_batches():
                batches = iterate_batches(self.train_features, stage.batch_size, self.tokenizer.pad_id, self.spec.task)
                for _, batch in zip(range(CALIBRATION_BATCHES), batches):
                    with torch.no_grad():
                        student(*batch.to(self.rt.device).model_inputs())
                    yield None

            controller.calibrate(calibration_batches())
        else:
            controller.set_mode(observing=True, quantizing=True)

        def step(batch, epoch):
            with self.rt.autocast():
                with torch.no_grad():
                    t_out = teacher(*batch.model_inputs())
                s_out = student(*batch.model_inputs())
            loss = steps.prediction_loss(s_out, t_out, batch, stage.temperature)
            return loss, {"pred": float(loss.detach())}

        def evaluate():
            controller.set_mode(observing=False, quantizing=True)
            result = self.evaluate(student, "student_qat")
            controller.set_mode(observing=True, quantizing=True)
            return result

        done = run_loop(self.rt, self._loop_config(stage), self.train_features, {"student": student}, step,
                        evaluate=evaluate, after_step=controller.after_step)
        controller.freeze()
        path = os.path.join(self.state.stage_dir("qat"), "state.pt")
        torch.save({k: v.detach().cpu() for k, v in student.state_dict().items()}, path + ".tmp")
        os.replace(path + ".tmp", path)
        self.state.history("qat")["recalibrations"] = controller.recalibrations
        self._complete("qat", done, path)

    def load_qat_student(self) -> Optional[BertForDistillation]:
        finished = self.state.finished("qat")
        if not (finished and finished["status"] == "completed"):
            return None
        model, controller = self.qat_student()
        state = ckpt_io.load_torch_file(os.path.join(self.state.stage_dir("qat"), "state.pt"))
        model.load_state_dict(state)  # type: ignore[arg-type]
        controller.freeze()
        return model.eval()

    def _stage_export(self) -> None:
        self.events.emit("stage", stage="export", status="started")
        write_outputs(self)
        self.state.finish("export", "completed")
        self.stages_run.append("export")
        self.events.emit("stage", stage="export", status="completed")

    # --- summary ----------------------------------------------------------------------------------

    @property
    def summary(self) -> Dict[str, object]:
        return self.state.data.get("summary") or {"stages": self.stages_run}
