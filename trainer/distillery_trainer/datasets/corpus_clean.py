"""Cleaning rules of the pre-training corpus: which pieces of text are English prose, how they
are packed into passages, and how repeats are found.

A source gives documents; a document is a list of segments (a paragraph, a definition, a
sentence run) in reading order. Each segment is normalised (NFC, white space), sentences holding
a URL or an e-mail address are cut out of it, and the segment is judged by the rules of
`segment_verdict`; the survivors of a document are packed into passages of MIN_WORDS to
MAX_WORDS words (`pack`). Every drop is counted under its rule's name so the manifest can say
what each rule removed.

The thresholds are this project's choices, checked by reading samples of each source: prose of
the manuals and dictionaries passes them, option lists, code, tables and link lists do not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Iterable, Iterator, List, Optional, Set

# A passage is a paragraph or a few sentences: 20 words at least (shorter ones teach little
# context), 200 at most (about 260 WordPiece tokens of English; the trainer cuts longer
# sequences, so longer passages would be mostly thrown away at 128 tokens).
MIN_WORDS = 20
MAX_WORDS = 200
# Segments shorter than this are headings, labels and table cells, not prose.
MIN_SEGMENT_WORDS = 4
# A segment longer than this (characters) is a dump (a list run together, a data blob).
MAX_SEGMENT_CHARS = 20_000
# A single "word" longer than this is a path, a hash, an identifier chain or a URL.
MAX_WORD_CHARS = 40
# Near-duplicates: passages sharing their first NEAR_DUP_WORDS folded words (boilerplate that
# differs only in its tail: "This manual page documents ...", copied licence paragraphs).
NEAR_DUP_WORDS = 10

# The most frequent English function words; prose has many of them, code and lists almost none.
STOP_WORDS = frozenset(
    "the a an of to in and or is are was were be been it its that this these those for on with as by at from "
    "not no but if then than which who what when where how can may must should will would has have had do does "
    "one all any each some such other into out up so there their they he she his her we you".split()
)

_URL = re.compile(r"(?:https?|ftp)://|www\.\w|\b[\w.+-]+@[\w-]+\.[\w.]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
_CODE_CHARS = set("{}[]()<>=;$#\\/_|`*&^~%@")
_CODE_START = re.compile(r"^(?:\$ |# |>>> |\.\.\. |// |/\*|#!|#include|import |from \S+ import |def |class \S+[:(])")
_CODE_PATTERN = re.compile(r"[;{]\s*$|\w\(\S*\)\s*;|==|!=|->|:=|&&|\|\||\+\+|\w+\.\w+\(|\w_\w+_\w")
_TABLE = re.compile(r"\t|\S {3,}\S|\|.*\|")
_WORD = re.compile(r"[A-Za-z']+")


def normalise(text: str) -> str:
    """NFC, and every run of white space (newlines, tabs, no-break spaces) as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def fold(text: str) -> str:
    """The key of exact deduplication: case folded, white space squashed."""
    return " ".join(text.casefold().split())


def near_key(text: str, words: int = NEAR_DUP_WORDS) -> str:
    """The key of near-duplicate detection: the first `words` words, letters only, case folded."""
    return " ".join(_WORD.findall(text.casefold())[:words])


def split_sentences(text: str) -> List[str]:
    """Sentences at `.`, `!` or `?` followed by space and a capital, quote or parenthesis."""
    return [s for s in _SENTENCE_BREAK.split(text) if s]


def drop_url_sentences(text: str, counts: Counter) -> str:
    """The text without its sentences that hold a URL or an e-mail address ("url" counts them)."""
    if not _URL.search(text):
        return text
    kept = []
    for sentence in split_sentences(text):
        if _URL.search(sentence):
            counts["url"] += 1
        else:
            kept.append(sentence)
    return " ".join(kept)


def segment_verdict(raw: str, *, sentences_only: bool = False) -> Optional[str]:
    """None when the segment is English prose, else the name of the first rule it breaks:
    "table" (tabs, column gaps or `|` cells in the raw text), "too_long", "too_short",
    "long_word" (paths, hashes), "code", "symbols" (under 75% letters), "non_ascii" (over 5% of
    the letters outside ASCII), "not_english" (too few function words). `raw` is the text
    before white space is squashed, so a table's column gaps can still be seen. With
    sentences_only (manuals, where fragments are option descriptions and labels) a segment that
    does not start with a letter or a quote and end like a sentence is "not_sentence"."""
    if _TABLE.search(raw.strip()):
        return "table"
    text = " ".join(raw.split())
    if len(text) > MAX_SEGMENT_CHARS:
        return "too_long"
    words = text.split()
    if len(words) < MIN_SEGMENT_WORDS:
        return "too_short"
    if any(len(w) > MAX_WORD_CHARS for w in words):
        return "long_word"
    visible = text.replace(" ", "")
    code_chars = sum(ch in _CODE_CHARS for ch in visible)
    if _CODE_START.match(text) or _CODE_PATTERN.search(text) or code_chars > 0.05 * len(visible):
        return "code"
    letters = [ch for ch in visible if ch.isalpha()]
    if len(letters) < 0.75 * len(visible):
        return "symbols"
    if sum(not ch.isascii() for ch in letters) > 0.05 * len(letters):
        return "non_ascii"
    if sentences_only and (not (text[0].isalpha() or text[0] in "\"'(") or text[-1] not in ".!?:\"')"):
        return "not_sentence"
    function_words = sum(w.strip(".,;:!?\"'()").casefold() in STOP_WORDS for w in words)
    if len(words) >= 8 and function_words < 0.15 * len(words):
        return "not_english"
    return None


def clean_segments(segments: Iterable[str], counts: Counter, *, sentences_only: bool = False) -> List[str]:
    """The segments that pass every rule, normalised; each drop counted under its rule."""
    kept: List[str] = []
    for raw in segments:
        raw = unicodedata.normalize("NFC", raw)
        if not raw.strip():
            continue
        # Cut URL sentences line by line so a table's column gaps survive until judged.
        raw = "\n".join(drop_url_sentences(line, counts) for line in raw.split("\n"))
        verdict = segment_verdict(raw, sentences_only=sentences_only)
        if verdict is not None:
            counts[verdict] += 1
            continue
        kept.append(normalise(raw))
    return kept


def _split_long(segment: str, max_words: int, counts: Counter) -> Iterator[str]:
    """A segment over max_words words as runs of whole sentences of at most max_words words;
    a single sentence over the limit is dropped ("long_sentence")."""
    run: List[str] = []
    size = 0
    for sentence in split_sentences(segment):
        n = len(sentence.split())
        if n > max_words:
            counts["long_sentence"] += 1
            continue
        if size + n > max_words:
            yield " ".join(run)
            run, size = [], 0
        run.append(sentence)
        size += n
    if run:
        yield " ".join(run)


def pack(segments: Iterable[str], counts: Counter, *, target_words: int = MIN_WORDS,
         min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> List[str]:
    """Consecutive segments of one document joined into passages: a passage is closed once it
    has target_words words, or before a segment would take it past max_words. A passage still
    under min_words at the end (or before an overflow) is dropped ("short_passage"). With
    target_words = min_words each paragraph of 20+ words is a passage of its own; dictionaries
    use a larger target so that their short entries share a passage."""
    passages: List[str] = []
    run: List[str] = []
    size = 0

    def close() -> None:
        nonlocal run, size
        if run:
            if size >= min_words:
                passages.append(" ".join(run))
            else:
                counts["short_passage"] += 1
        run, size = [], 0

    for segment in segments:
        pieces = _split_long(segment, max_words, counts) if len(segment.split()) > max_words else [segment]
        for piece in pieces:
            n = len(piece.split())
            if size + n > max_words:
                close()
            run.append(piece)
            size += n
            if size >= target_words:
                close()
    close()
    return passages


class Deduplicator:
    """Exact (case and space folded) and near (same first NEAR_DUP_WORDS words) duplicate
    filter across everything it has seen; the first passage seen wins."""

    def __init__(self, near_words: int = NEAR_DUP_WORDS) -> None:
        self._exact: Set[str] = set()
        self._near: Set[str] = set()
        self._near_words = near_words

    def verdict(self, passage: str) -> Optional[str]:
        """None for a new passage (now remembered), "duplicate" or "near_duplicate" otherwise."""
        exact = fold(passage)
        if exact in self._exact:
            return "duplicate"
        near = near_key(passage, self._near_words)
        if near in self._near:
            return "near_duplicate"
        self._exact.add(exact)
        self._near.add(near)
        return None
