"""augment: TinyBERT's data augmentation - WordNet synonyms and teacher masked-LM replacements -
written to the stage's folder and added to task distillation's training data."""

from __future__ import annotations

import logging
import os
from typing import List

from .. import checkpoint as ckpt_io
from .. import data as data_io
from .. import features as feats
from .. import run_models
from ..augment import Augmenter
from ..context import RunContext

log = logging.getLogger(__name__)

NAME = "augment"


def augmented_path(ctx: RunContext) -> str:
    name = "train.jsonl" if ctx.spec.task == "classification" else "train.json"
    return os.path.join(ctx.state.stage_dir(NAME), name)


def run(ctx: RunContext) -> None:
    stage = ctx.spec.stages[NAME]
    if not stage.enabled:
        ctx.skip(NAME, "disabled")
        return
    methods = stage.extra["methods"]
    mlm_model = None
    source = run_models.mlm_checkpoint(ctx) if "mlm" in methods else None
    if source is not None:
        mlm_model = run_models.on_device(ctx, ckpt_io.build_from_checkpoint(source, "encoder", with_mlm_head=True)).eval()
    augmenter = Augmenter(ctx.tokenizer, methods, stage.extra["replace_prob"], ctx.spec.seed, mlm_model, ctx.rt.device)
    if not augmenter.available:
        ctx.skip(NAME, "no method available: WordNet not installed and neither mlm_model nor the teacher has an MLM head (cls.predictions)")
        return
    ctx.start(NAME)
    copies, cap = stage.extra["copies"], stage.extra["max_examples"]
    path = augmented_path(ctx)
    if ctx.spec.task == "classification":
        added = augmenter.classification(ctx.data.train_examples, copies, cap)
        data_io.write_classification(path, added)
    else:
        added = augmenter.qa(ctx.data.train_examples, copies, cap)
        data_io.write_squad(path, added)
    history = ctx.state.history(NAME)
    history["examples"] = len(added)
    history["methods"] = [m for m in methods if (m == "mlm" and mlm_model is not None) or (m == "wordnet" and augmenter.wordnet)]
    log.info("augment: %d new examples from %d", len(added), len(ctx.data.train_examples))
    ctx.complete(NAME, len(added), path)


def augmented_features(ctx: RunContext) -> List[feats.Feature]:
    """Features of the augmented examples, or [] when the stage did not complete."""
    if not ctx.completed(NAME):
        return []
    path = augmented_path(ctx)
    if ctx.spec.task == "classification":
        examples = data_io.load_classification(path, ctx.data.labels) if os.path.getsize(path) else []
    else:
        examples = data_io.load_squad(path) if os.path.getsize(path) > 100 else []
    return ctx.features(examples, training=True) if examples else []
