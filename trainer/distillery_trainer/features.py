"""Turning examples into model inputs: truncation, QA windows with answer positions, batching.

QA windows follow the serving code (src/inference/tasks/qa.ts) exactly, so the model is trained
on the inputs it will be served: `[CLS] question [SEP] context-window [SEP]`, the question cut to
min(max_query_length, 3/4 of the room), consecutive windows overlapping by doc_stride context
tokens clamped to half a window.
"""

from __future__ import annotations

import zlib

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .data import ClassificationExample, QaExample
from .errors import InvalidInputError
from .tokenization import Token, WordPieceTokenizer


@dataclass
class Feature:
    input_ids: List[int]
    type_ids: List[int]
    label: int = -1  # classification
    start_position: int = 0  # qa: token index of the answer start (0 = [CLS] = no answer here)
    end_position: int = 0
    example_index: int = 0
    # qa: first token of the context window and its length, for span decoding in eval.
    context_offset: int = 0
    context_count: int = 0
    # qa: the window's first token as a position in the whole context's tokens.
    window_start: int = 0


def truncate_pair(first: List[Token], second: Optional[List[Token]], budget: int) -> Tuple[List[Token], Optional[List[Token]]]:
    """HF "longest_first": drop one token at a time from the end of the longer sequence."""
    a, b = list(first), list(second) if second is not None else None
    while len(a) + (len(b) if b is not None else 0) > budget:
        if b is not None and len(b) > len(a):
            b.pop()
        elif a:
            a.pop()
        elif b:
            b.pop()
        else:
            break
    return a, b


def classification_features(
    tokenizer: WordPieceTokenizer,
    examples: Sequence[ClassificationExample],
    label_to_id: Optional[Dict[str, int]],
    max_length: int,
) -> List[Feature]:
    features = []
    for i, ex in enumerate(examples):
        first = tokenizer.tokenize(ex.text)
        second = tokenizer.tokenize(ex.text_pair) if ex.text_pair is not None else None
        budget = max_length - (3 if second is not None else 2)
        first, second = truncate_pair(first, second, budget)
        enc = tokenizer.build_encoding(first, second)
        label = label_to_id[ex.label] if label_to_id is not None else -1
        features.append(Feature(enc.ids, enc.type_ids, label=label, example_index=i))
    return features


def text_features(tokenizer: WordPieceTokenizer, texts: Sequence[str], max_length: int) -> List[Feature]:
    out = []
    for i, text in enumerate(texts):
        tokens, _ = truncate_pair(tokenizer.tokenize(text), None, max_length - 2)
        enc = tokenizer.build_encoding(tokens)
        out.append(Feature(enc.ids, enc.type_ids, example_index=i))
    return out


def plan_windows(question_tokens: int, context_tokens: int, max_length: int, doc_stride: int) -> List[Tuple[int, int]]:
    """(first context token, count) of each window; mirrors planWindows in qa.ts."""
    per_window = max_length - question_tokens - 3
    if per_window < 1:
        raise InvalidInputError(f"the question leaves no room for context in {max_length} tokens")
    overlap = max(0, min(doc_stride, per_window // 2))
    step = per_window - overlap
    spans = []
    first = 0
    while True:
        spans.append((first, min(per_window, max(0, context_tokens - first))))
        if first + per_window >= context_tokens:
            break
        first += step
    return spans


def max_query_tokens(max_length: int, max_query_length: int) -> int:
    # Never let the question take the whole window: at least a quarter stays for context.
    return max(1, min(max_query_length, (max_length - 3) * 3 // 4))


def answer_token_span(tokens: Sequence[Token], start_char: int, end_char: int) -> Optional[Tuple[int, int]]:
    """First and last context token overlapping the answer's characters [start_char, end_char)."""
    start = next((i for i, t in enumerate(tokens) if t.end > start_char), None)
    end = next((i for i in range(len(tokens) - 1, -1, -1) if tokens[i].start < end_char), None)
    if start is None or end is None or end < start:
        return None
    return start, end


def qa_features(
    tokenizer: WordPieceTokenizer,
    examples: Sequence[QaExample],
    max_length: int,
    doc_stride: int,
    max_query_length: int,
    only_answer_windows: bool = False,
    other_windows: int = 0,
) -> List[Feature]:
    """`only_answer_windows`: keep the windows holding the answer (and the first window of an
    unanswerable question), dropping the answerable question's other windows, which cost most of a
    long-context epoch. `other_windows` keeps that many of those dropped windows per answerable
    question as no-answer examples (target [CLS]): serving scores every window of a long context,
    and a model that never saw a window without the answer is as sure of a span there. Which ones
    is a hash of the question and context, so the choice is the same on every run."""
    features = []
    for i, ex in enumerate(examples):
        question = tokenizer.tokenize(ex.question)[: max_query_tokens(max_length, max_query_length)]
        context = tokenizer.tokenize(ex.context)
        span = None
        if not ex.is_impossible and ex.answers:
            answer = ex.answers[0]
            span = answer_token_span(context, answer.start, answer.start + len(answer.text))
        offset = len(question) + 2
        windows = plan_windows(len(question), len(context), max_length, doc_stride)
        holds = [span is not None and first <= span[0] and span[1] < first + count for first, count in windows]
        others = [w for w, held in enumerate(holds) if not held]
        kept_others = set()
        if span is not None and other_windows > 0 and others:
            pick = zlib.crc32(f"{ex.question}\x00{ex.context}".encode("utf-8"))
            kept_others = {others[(pick + k) % len(others)] for k in range(min(other_windows, len(others)))}
        for w, (first, count) in enumerate(windows):
            enc = tokenizer.build_encoding(question, context[first : first + count])
            start = end = 0
            if holds[w]:
                start, end = span[0] - first + offset, span[1] - first + offset
            elif only_answer_windows and (span is not None or first > 0) and w not in kept_others:
                continue
            features.append(
                Feature(
                    enc.ids,
                    enc.type_ids,
                    start_position=start,
                    end_position=end,
                    example_index=i,
                    context_offset=offset,
                    context_count=count,
                    window_start=first,
                )
            )
    return features


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    labels: Optional[torch.Tensor] = None
    start_positions: Optional[torch.Tensor] = None
    end_positions: Optional[torch.Tensor] = None
    features: List[Feature] = field(default_factory=list)

    def to(self, device: torch.device) -> "Batch":
        def move(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
            return t.to(device, non_blocking=True) if t is not None else None

        return Batch(
            move(self.input_ids), move(self.attention_mask), move(self.token_type_ids),  # type: ignore[arg-type]
            move(self.labels), move(self.start_positions), move(self.end_positions), self.features,
        )

    def model_inputs(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.input_ids, self.attention_mask, self.token_type_ids


def collate(features: Sequence[Feature], pad_id: int, task: str) -> Batch:
    """Pads to the longest feature of the batch (dynamic length keeps short batches cheap)."""
    length = max(len(f.input_ids) for f in features)
    ids = torch.full((len(features), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(features), length), dtype=torch.long)
    types = torch.zeros((len(features), length), dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f.input_ids)
        ids[row, :n] = torch.tensor(f.input_ids)
        mask[row, :n] = 1
        types[row, :n] = torch.tensor(f.type_ids)
    batch = Batch(ids, mask, types, features=list(features))
    if task == "classification":
        batch.labels = torch.tensor([f.label for f in features], dtype=torch.long)
    elif task == "qa":
        batch.start_positions = torch.tensor([f.start_position for f in features], dtype=torch.long)
        batch.end_positions = torch.tensor([f.end_position for f in features], dtype=torch.long)
    return batch
