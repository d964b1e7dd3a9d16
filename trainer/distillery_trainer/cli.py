"""Command line: train, init-model, build-vocab, tokenize (docs/trainer-protocol.md).

Exit codes: 0 done, 1 internal error, 2 invalid input, 3 stopped by SIGTERM or SIGINT after a checkpoint.
stdout carries only protocol events (or, for `tokenize`, its JSON lines); logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import traceback
from typing import Optional, Sequence

from .errors import EXIT_DONE, EXIT_INTERNAL, EXIT_INVALID_INPUT, EXIT_STOPPED, InvalidInputError, StopRequested
from .events import EventWriter
from .parent_guard import parent_gone, silence_output, stop_with_parent

log = logging.getLogger("distillery_trainer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distillery_trainer")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="run the stages of a resolved spec")
    train.add_argument("--spec", required=True)
    train.add_argument("--work-dir", required=True)

    init = sub.add_parser("init-model", help="write a random-initialized HF BERT checkpoint")
    init.add_argument("--out", required=True)
    init.add_argument("--vocab", required=True)
    init.add_argument("--task", required=True, choices=["classification", "qa"])
    init.add_argument("--labels", default=None, help="comma-separated label names (classification)")
    init.add_argument("--layers", type=int, required=True)
    init.add_argument("--hidden", type=int, required=True)
    init.add_argument("--heads", type=int, required=True)
    init.add_argument("--intermediate", type=int, required=True)
    init.add_argument("--ffn-rank", type=int, default=None)
    init.add_argument("--max-position", type=int, default=512)
    init.add_argument("--dropout", type=float, default=0.1, help="hidden and attention dropout the checkpoint's config records (used when it is fine-tuned)")
    init.add_argument("--seed", type=int, default=42)
    init.add_argument("--no-lowercase", action="store_true")
    init.add_argument("--mlm-head", action="store_true", help="also write cls.predictions.* (for MLM augmentation)")

    vocab = sub.add_parser("build-vocab", help="build a WordPiece vocabulary from text files")
    vocab.add_argument("--corpus", action="append", required=True)
    vocab.add_argument("--size", type=int, required=True)
    vocab.add_argument("--out", required=True)
    vocab.add_argument("--no-lowercase", action="store_true")

    tok = sub.add_parser("tokenize", help="JSON lines {text, text_pair?} on stdin -> ids, type_ids, offsets")
    tok.add_argument("--vocab", required=True)
    tok.add_argument("--no-lowercase", action="store_true")
    return parser


def _set_threads() -> None:
    import torch

    threads = os.environ.get("DISTILLERY_TORCH_THREADS")
    if threads:
        torch.set_num_threads(max(1, int(threads)))


def cmd_train(args: argparse.Namespace, events: EventWriter) -> int:
    from .spec import load_spec
    from .pipeline import StopFlag, run_pipeline

    _set_threads()
    spec = load_spec(args.spec)
    _lock_work_dir(args.work_dir)
    stop = StopFlag()

    def on_stop_signal(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        if parent_gone():
            silence_output()  # our pipes died with the parent
        log.warning("%s: finishing the current step, then saving a checkpoint", signal.Signals(signum).name)
        stop.requested = True

    # SIGINT too: Ctrl-C in a terminal reaches every process of the foreground group, and a
    # KeyboardInterrupt would lose the progress since the last periodic checkpoint.
    signal.signal(signal.SIGTERM, on_stop_signal)
    signal.signal(signal.SIGINT, on_stop_signal)
    # A worker killed with SIGKILL: we checkpoint and exit instead of training on as an orphan
    # while another worker resumes the same job from the same work dir.
    stop_with_parent()
    run_pipeline(spec, args.work_dir, events, stop)
    return EXIT_DONE


WORK_DIR_LOCK_WAIT_S = 120


def _lock_work_dir(work_dir: str) -> None:
    """One trainer per work dir: a resumed job may start while the previous trainer of the same
    job is still writing its last checkpoint; it waits for that one to finish first."""
    import fcntl
    import time

    os.makedirs(work_dir, exist_ok=True)
    handle = open(os.path.join(work_dir, ".lock"), "w")  # noqa: SIM115 - held until exit
    deadline = time.monotonic() + WORK_DIR_LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"another trainer still holds {work_dir} after {WORK_DIR_LOCK_WAIT_S} s")
            time.sleep(0.5)
    globals()["_work_dir_lock"] = handle


def cmd_init_model(args: argparse.Namespace, events: EventWriter) -> int:
    import torch

    from .checkpoint import save_checkpoint
    from .modeling import BertConfig, BertForDistillation
    from .tokenization import WordPieceTokenizer

    _set_threads()
    tokenizer = WordPieceTokenizer.from_vocab_file(args.vocab, lowercase=not args.no_lowercase)
    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else []
    if args.task == "classification" and not labels:
        raise InvalidInputError("--labels is required for a classification model")
    if len(set(labels)) != len(labels):
        raise InvalidInputError("--labels must be distinct")
    config = BertConfig(
        vocab_size=len(tokenizer.id_to_token), hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, intermediate_size=args.intermediate, max_position_embeddings=args.max_position,
        ffn_rank=args.ffn_rank, id2label=dict(enumerate(labels)), pad_token_id=tokenizer.pad_id,
        hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout,
    )
    if not 0.0 <= args.dropout <= 0.9:
        raise InvalidInputError(f"--dropout must be between 0 and 0.9, got {args.dropout}")
    config.validate()
    torch.manual_seed(args.seed)
    model = BertForDistillation(config, args.task, with_mlm_head=args.mlm_head)
    # A random head is no trained head: leave it out so teacher_finetune "auto" fine-tunes.
    save_checkpoint(model, tokenizer, args.out, with_task_head=False)
    log.info("wrote a random %s model (%d parameters) to %s", args.task, model.encoder_parameter_count(), args.out)
    # The runner treats exit 0 without a done event as a failure, for every command but tokenize.
    events.emit("done", output_dir=os.path.abspath(args.out), summary={
        "parameters": {"model": model.encoder_parameter_count()},
        "shapes": {"model": {"layers": args.layers, "hidden": args.hidden, "heads": args.heads,
                             "intermediate": args.intermediate, "ffn_rank": args.ffn_rank,
                             "vocab_size": config.vocab_size, "max_position_embeddings": args.max_position}},
        "task": args.task,
    })
    return EXIT_DONE


def cmd_build_vocab(args: argparse.Namespace, events: EventWriter) -> int:
    from .tokenization import write_vocab_file
    from .vocab import build_vocab_from_files

    vocab = build_vocab_from_files(args.corpus, args.size, lowercase=not args.no_lowercase)
    write_vocab_file(args.out, vocab)
    log.info("wrote %d tokens to %s", len(vocab), args.out)
    events.emit("done", output_dir=os.path.dirname(os.path.abspath(args.out)), summary={"vocab": os.path.abspath(args.out), "size": len(vocab)})
    return EXIT_DONE


def cmd_tokenize(args: argparse.Namespace, events: EventWriter) -> int:
    from .tokenization import WordPieceTokenizer

    tokenizer = WordPieceTokenizer.from_vocab_file(args.vocab, lowercase=not args.no_lowercase)
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogatepass", closefd=False)
    out = sys.stdout
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, pair = row["text"], row.get("text_pair")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"bad tokenize input: {exc}", file="<stdin>", line=number) from exc
        enc = tokenizer.encode(text, pair)
        out.write(json.dumps({"ids": enc.ids, "type_ids": enc.type_ids, "offsets": [list(o) for o in enc.offsets]}) + "\n")
    out.flush()
    return EXIT_DONE


COMMANDS = {"train": cmd_train, "init-model": cmd_init_model, "build-vocab": cmd_build_vocab, "tokenize": cmd_tokenize}


def main(argv: Optional[Sequence[str]] = None, *, guard_parent: bool = False) -> int:
    """`guard_parent`: run as a program (python -m distillery_trainer), so stop with the process
    that started it; not when a test calls main() in its own process."""
    logging.basicConfig(
        level=os.environ.get("DISTILLERY_LOG_LEVEL", "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = _parser().parse_args(argv)
    events = EventWriter(sys.stdout)
    if guard_parent and args.command != "train":  # train asks once its stop handler is in place
        stop_with_parent()
    try:
        return COMMANDS[args.command](args, events)
    except InvalidInputError as exc:
        log.error("invalid input: %s", exc)
        events.emit("error", **exc.event_fields())
        return EXIT_INVALID_INPUT
    except StopRequested as exc:
        events.emit("stopped", checkpoint=exc.checkpoint)
        return EXIT_STOPPED
    except KeyboardInterrupt:
        events.emit("error", code="internal", message="interrupted")
        return EXIT_INTERNAL
    except Exception as exc:  # the protocol wants every failure reported as an event
        traceback.print_exc(file=sys.stderr)
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        events.emit("error", code="internal", message=message)
        return EXIT_INTERNAL
