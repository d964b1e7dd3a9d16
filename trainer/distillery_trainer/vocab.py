"""build-vocab: a deterministic BERT WordPiece vocabulary from text files.

Order: the five special tokens (ids 0-4), every single character seen and its "##" form (so any
text made of seen characters tokenizes without [UNK]), then the most frequent multi-character
pieces - whole words and word starts, and "##" word endings - until the size is reached.
Ties break on length (longer first) then on the string, so the same corpus gives the same file.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Dict, Iterable, List, Sequence

from .errors import InvalidInputError
from .tokenization import CONTINUATION, SPECIAL_TOKENS, normalize, pre_tokenize

log = logging.getLogger(__name__)

# Longer pieces are rarely worth a vocabulary slot and make candidate counting quadratic.
MAX_PIECE_CHARS = 16


def count_words(paths: Sequence[str], *, lowercase: bool = True) -> Counter:
    words: Counter = Counter()
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    for word in pre_tokenize(normalize(line, lowercase=lowercase)):
                        words["".join(ch for ch, _ in word)] += 1
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read corpus: {exc}", file=path) from exc
    return words


def build_vocab(words: Dict[str, int], size: int) -> List[str]:
    vocab: List[str] = list(SPECIAL_TOKENS)
    chars = sorted({ch for word in words for ch in word})
    vocab += chars
    vocab += [CONTINUATION + ch for ch in chars]
    if len(vocab) > size:
        log.warning("vocabulary needs %d entries for the characters alone; --size %d exceeded", len(vocab), size)
        return vocab
    candidates: Counter = Counter()
    for word, count in words.items():
        n = len(word)
        if n > MAX_PIECE_CHARS * 2:
            continue
        for end in range(2, min(n, MAX_PIECE_CHARS) + 1):
            candidates[word[:end]] += count  # whole word or word start
        for begin in range(1, n - 1):
            if n - begin <= MAX_PIECE_CHARS:
                candidates[CONTINUATION + word[begin:]] += count  # word ending
    seen = set(vocab)
    ranked = sorted(candidates.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
    for piece, _ in ranked:
        if len(vocab) >= size:
            break
        if piece not in seen:
            vocab.append(piece)
            seen.add(piece)
    return vocab


def build_vocab_from_files(paths: Iterable[str], size: int, *, lowercase: bool = True) -> List[str]:
    if size < len(SPECIAL_TOKENS):
        raise InvalidInputError(f"--size {size} is smaller than the {len(SPECIAL_TOKENS)} special tokens")
    return build_vocab(count_words(list(paths), lowercase=lowercase), size)
