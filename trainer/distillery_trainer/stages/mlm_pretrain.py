"""mlm_pretrain: masked-LM pre-training of the teacher checkpoint as given (random weights from
`trainer init-model`, or a checkpoint to adapt) on data.unlabeled, before teacher_finetune and
general_distill, which then start from its result (run_models.base_teacher_checkpoint).

BERT's objective (Devlin et al. 2019) without next-sentence prediction, as RoBERTa dropped it:
15 % of the word pieces chosen, 80/10/10 replaced (masked_lm.TokenMasker), lines packed into
full sequences (text_corpus.PackedSequences). A seeded 1 % of the sequences (at most 2000) is
held out and scored at evaluations: masked-token accuracy, loss and perplexity."""

from __future__ import annotations

import logging

from .. import checkpoint as ckpt_io
from .. import data as data_io
from .. import masked_lm
from .. import run_models
from ..context import RunContext
from ..errors import InvalidInputError
from ..loop import run_loop
from ..text_corpus import PackedSequences, TokenisedLines, held_out_split

log = logging.getLogger(__name__)

NAME = "mlm_pretrain"
EVAL_BATCH = 64


def run(ctx: RunContext) -> None:
    stage = ctx.spec.stages[NAME]
    if not stage.enabled:
        ctx.skip(NAME, "disabled")
        return
    if not ctx.spec.unlabeled:
        raise InvalidInputError("mlm_pretrain is enabled but data.unlabeled is null")
    if ctx.tokenizer.mask_id is None:
        raise InvalidInputError("mlm_pretrain needs a [MASK] token, and the teacher's vocabulary has none", file=ctx.teacher_ckpt.path)
    max_length = stage.extra["max_length"]
    if max_length > ctx.teacher_ckpt.config.max_position_embeddings:
        raise InvalidInputError(
            f"stages.mlm_pretrain.max_length {max_length} exceeds the teacher's max_position_embeddings {ctx.teacher_ckpt.config.max_position_embeddings}",
            file=ctx.teacher_ckpt.path,
        )
    ctx.start(NAME)
    lines = TokenisedLines(ctx.tokenizer, data_io.load_unlabeled(ctx.spec.unlabeled))
    if not masked_lm.maskable_count(ctx.tokenizer, lines.ids):
        # Without a word piece to mask every loss is a mean over nothing: NaN at step 1.
        raise InvalidInputError(
            f"data.unlabeled has no text the teacher's vocabulary knows ({lines.token_count} word pieces, all [UNK] or "
            "special): give text in the language and script of the teacher's vocab.txt, one passage a line",
            file=ctx.spec.unlabeled,
        )
    packed = PackedSequences(lines, max_length)
    train_rows, held_rows = held_out_split(len(packed), ctx.spec.seed)
    train, held = packed.select(train_rows), packed.select(held_rows)
    history = ctx.state.history(NAME)
    history.update(lines=len(lines), tokens=lines.token_count, sequences=len(train), held_out=len(held), max_length=max_length)
    if not len(held):
        log.warning("data.unlabeled fills only %d sequence(s) of %d tokens: none is held out, so mlm_pretrain reports no "
                    "masked-token accuracy; pre-training needs far more text", len(packed), max_length)
    log.info("mlm_pretrain: %d lines, %d tokens, %d sequences of %d (%d held out)", len(lines), lines.token_count, len(packed), max_length, len(held))

    model = run_models.mlm_teacher(ctx)
    masker = masked_lm.TokenMasker(ctx.tokenizer, stage.extra["mask_prob"])
    # The step about to run: masking is drawn from (seed, step), so a resumed run masks alike.
    at = {"step": 0}

    def on_resume(step: int) -> None:
        at["step"] = step

    def after_step(step: int) -> None:
        at["step"] = step

    def step(batch, epoch):
        masked, labels = masker(batch.input_ids.cpu(), masked_lm.step_generator(ctx.spec.seed, at["step"]))
        device = batch.input_ids.device
        with ctx.rt.autocast():
            logits, gold = masked_lm.masked_logits(model, masked.to(device), batch.attention_mask, batch.token_type_ids, labels.to(device))
        loss = masked_lm.mlm_loss(logits, gold)
        return loss, {"mlm": float(loss.detach())}

    def evaluate():
        if not len(held):
            return None
        metrics = masked_lm.evaluate_mlm(model, held, masker, seed=ctx.spec.seed, batch_size=EVAL_BATCH, pad_id=ctx.tokenizer.pad_id,
                                         device=ctx.rt.device, autocast=ctx.rt.autocast)
        return "teacher_mlm", metrics

    done = run_loop(ctx.rt, ctx.loop_config(stage), train, {"teacher_mlm": model}, step, evaluate=evaluate,
                    after_step=after_step, on_resume=on_resume, evaluations=stage.extra["evaluations"])
    out_dir = ctx.state.stage_dir(NAME)
    ckpt_io.save_checkpoint(model, ctx.tokenizer, out_dir)
    ctx.complete(NAME, done, out_dir)
