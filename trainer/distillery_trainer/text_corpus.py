"""data.unlabeled, tokenised once into one flat int32 array, and the two views of it the stages
train on: one sequence per line (general_distill) and lines packed into full sequences
(mlm_pretrain).

A 40 MB corpus is about 10 M word pieces: 40 MB here, where lists of Python ints per line would
take ten times that. Features (features.Feature) are built from the array only when a batch is
collated, so memory stays at the array's size however large the corpus.

Packing (mlm_pretrain): the lines' tokens are laid end to end, each line followed by [SEP], and
the stream is cut into pieces of max_length - 1 tokens, each given a leading [CLS]. Every
sequence but the last is exactly max_length tokens, so no batch pads, and a line may continue
into the next sequence (as RoBERTa's FULL-SENTENCES input; BERT packed sentence pairs the same
way to fill 128 or 512 tokens).
"""

from __future__ import annotations

from array import array
from typing import Iterable, List, Optional, Sequence

import torch

from .errors import InvalidInputError
from .features import Feature
from .tokenization import WordPieceTokenizer


class TokenisedLines:
    """Word-piece ids of each line (no [CLS]/[SEP]), in one flat array with line offsets."""

    def __init__(self, tokenizer: WordPieceTokenizer, lines: Iterable[str]) -> None:
        self.tokenizer = tokenizer
        ids = array("i")
        offsets = array("q", [0])
        for line in lines:
            ids.extend(tokenizer.token_ids(line))
            offsets.append(len(ids))
        self.ids = torch.frombuffer(ids, dtype=torch.int32).clone() if len(ids) else torch.zeros(0, dtype=torch.int32)
        self.offsets = torch.tensor(offsets, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def line(self, index: int) -> torch.Tensor:
        return self.ids[self.offsets[index] : self.offsets[index + 1]]

    @property
    def token_count(self) -> int:
        return int(self.ids.numel())


class LineFeatures(Sequence[Feature]):
    """One `[CLS] line [SEP]` feature per line, the line cut to max_length - 2 tokens (what
    features.text_features builds, without holding every feature at once)."""

    def __init__(self, lines: TokenisedLines, max_length: int) -> None:
        if max_length < 3:
            raise InvalidInputError(f"max_length {max_length} leaves no room for text between [CLS] and [SEP]")
        self.lines, self.max_length = lines, max_length

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        tok = self.lines.tokenizer
        ids = [tok.cls_id] + self.lines.line(index)[: self.max_length - 2].tolist() + [tok.sep_id]
        return Feature(ids, [0] * len(ids), example_index=index)

    def lengths(self) -> List[int]:
        return ((self.lines.offsets[1:] - self.lines.offsets[:-1]).clamp(max=self.max_length - 2) + 2).tolist()


class PackedSequences(Sequence[Feature]):
    """The corpus packed into sequences of max_length tokens (see the module docstring); `rows`
    selects some of them (a train or held-out split), in that order."""

    def __init__(self, lines: TokenisedLines, max_length: int, rows: Optional[List[int]] = None) -> None:
        if max_length < 2:
            raise InvalidInputError(f"max_length {max_length} leaves no room for text after [CLS]")
        sep = lines.tokenizer.sep_id
        # Each line's tokens then its [SEP]: line i's tokens move by i places.
        n_lines = len(lines)
        stream = torch.full((lines.token_count + n_lines,), sep, dtype=torch.int32)
        keep = torch.ones(stream.numel(), dtype=torch.bool)
        keep[lines.offsets[1:] + torch.arange(n_lines)] = False
        stream[keep] = lines.ids
        self.stream, self.cls_id, self.max_length = stream, lines.tokenizer.cls_id, max_length
        self.piece = max_length - 1
        total = -(-stream.numel() // self.piece)
        self.rows = list(range(total)) if rows is None else list(rows)

    def select(self, rows: List[int]) -> "PackedSequences":
        view = PackedSequences.__new__(PackedSequences)
        view.__dict__.update(self.__dict__)
        view.rows = [self.rows[r] for r in rows]
        return view

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start = self.rows[index] * self.piece
        ids = [self.cls_id] + self.stream[start : start + self.piece].tolist()
        return Feature(ids, [0] * len(ids), example_index=self.rows[index])

    def lengths(self) -> List[int]:
        return [1 + min(self.piece, self.stream.numel() - r * self.piece) for r in self.rows]


def held_out_split(count: int, seed: int, fraction: float = 0.01, cap: int = 2000) -> "tuple[List[int], List[int]]":
    """(train rows, held-out rows) of `count` sequences: a seeded `fraction` of them, at most
    `cap` and at least one when there are two or more (none of one sequence), held out."""
    held = 0 if count < 2 else min(cap, max(1, int(count * fraction)))
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + 7717)
    order = torch.randperm(count, generator=g).tolist()
    return sorted(order[held:]), sorted(order[:held])
