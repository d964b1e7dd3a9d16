"""Readers of the corpus's sources: the English text Debian main packages install.

Each reader takes the files of its package(s) (from `dpkg -L`, see debian.py) and yields
documents: lists of raw segments in reading order, for corpus_clean to judge and pack. Readers
strip their format's markup and nothing more; what is prose is decided by the cleaning rules.

- WordNet 3.0 (wordnet-base): `data.noun|verb|adj|adv`, one synset a line, as
  "lemma, lemma: gloss; "example"" (format: wndb(5) of the wordnet package).
- Manual pages: the man-page dataset's packages and its roff reader (roff.body_paragraphs).
- dictd databases (dict-gcide, dict-foldoc): `*.dict.dz` is gzip-compatible (dictzip); an entry
  starts at a line in column 0 and its body is indented (dictfmt(1)).
- HTML manuals (python3.11-doc, debian-reference-en, debian-handbook): the text of `<p>`
  elements outside `<pre>`, tables, scripts and navigation.
"""

from __future__ import annotations

import gzip
import html.parser
import os
import re
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from .manpages import NON_PROSE_SECTIONS, PageFile, description_key, read_pages, split_of
from .roff import body_paragraphs

Document = List[str]

# --- WordNet ---

_WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")


def wordnet_line(line: str) -> Optional[str]:
    """One `data.*` synset line as "lemma, lemma: gloss", or None for the licence header
    (lines starting with two spaces) and lines without a gloss. wndb(5): offset, lexicographer
    file, type, word count (hex), then word / lex_id pairs; the gloss follows ` | `."""
    if line.startswith("  ") or " | " not in line:
        return None
    fields, _, gloss = line.partition(" | ")
    parts = fields.split()
    count = int(parts[3], 16)
    lemmas = []
    for word in parts[4:4 + 2 * count:2]:
        lemma = re.sub(r"\((?:a|p|ip)\)$", "", word).replace("_", " ")
        if lemma not in lemmas:
            lemmas.append(lemma)
    gloss = gloss.strip()
    if gloss and gloss[-1] not in ".!?\"'":
        gloss += "."  # glosses have no final period; packed side by side they would run on
    return f"{', '.join(lemmas)}: {gloss}" if gloss else None


def read_wordnet(files: Sequence[str]) -> Iterator[Document]:
    """One document per data file, in file order (synsets of one lexicographer file, e.g.
    noun.animal, sit together, so a packed passage stays on one topic)."""
    for name in _WORDNET_FILES:
        path = next((f for f in files if os.path.basename(f) == name), None)
        if path is None:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            yield [s for s in (wordnet_line(line.rstrip("\n")) for line in f) if s]


# --- manual pages ---


def read_manpages(files: Sequence[PageFile], counts: Dict[str, int], *, seed: int, eval_fraction: float) -> Iterator[Document]:
    """One document per man-macro page, its prose paragraphs as segments. Pages whose NAME
    description falls in the man-page task's eval split give nothing (the task's corpus does the
    same), so a teacher pre-trained here never read the eval pages; mdoc pages give nothing,
    as in the man-page dataset (their inline macros leave holes in sentences)."""
    pages, _ = read_pages(files)
    for page in sorted(pages, key=lambda p: p.file.path):
        if split_of(description_key(page.description), seed, eval_fraction) == "eval":
            counts["eval_pages_left_out"] = counts.get("eval_pages_left_out", 0) + 1
            continue
        if re.search(r"^\.Sh\s", page.source, re.M):
            counts["mdoc_pages_left_out"] = counts.get("mdoc_pages_left_out", 0) + 1
            continue
        yield body_paragraphs(page.source, NON_PROSE_SECTIONS)


# --- dictd databases ---


def dictd_entries(text: str) -> Iterator[List[str]]:
    """The entries of a dictd database's text: each as its lines (the head line first, the
    body's lines with their indentation removed, blank lines as ""). The `00-database-*`
    entries (the database's own description) are left out."""
    entry: List[str] = []
    for line in text.split("\n"):
        if line and not line[0].isspace():
            if entry and not entry[0].startswith("00-database") and not entry[0].startswith("00database"):
                yield entry
            entry = [line]
        elif entry:
            entry.append(line.strip())
    if entry and not entry[0].startswith("00-database"):
        yield entry


def _paragraphs(lines: Sequence[str]) -> List[str]:
    found: List[str] = []
    current: List[str] = []
    for line in list(lines) + [""]:
        if line:
            current.append(line)
        elif current:
            found.append(" ".join(current))
            current = []
    return found


# GCIDE's markup (see the webfilter of dict-gcide): accents as [`e], [=a], [o^]; cross references
# in {braces}; source tags like [1913 Webster] and etymologies in [brackets]; pronunciation in
# \back\slashes; "-- Author." after quotations.
_GCIDE_ACCENT = re.compile(r"\[(?:[`'^=.~:,\"]([A-Za-z]{1,2})|([A-Za-z]{1,2})[`'^=.~:,\"])\]")
_GCIDE_HEAD = re.compile(r"^(?P<head>[^\\]+?)\s*\\[^\\]*\\")
_GCIDE_HEAD_REST = re.compile(
    r"^\s*(?:,\s*[^\\,]+?\s*\\[^\\]*\\|\([^)]*\)|,|&|\[[^\]]*\]|"
    r"(?:n|a|v|adv|prep|conj|interj|pron|p|t|i|imp|pl|pr|sing|superl|compar|adj|vb|pp|obs)\.)"
)
_GCIDE_CITATION = re.compile(r"\s--\s*[A-Z0-9][^-]{0,60}$")


def _gcide_text(text: str) -> str:
    text = _GCIDE_ACCENT.sub(lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"\[[^\[\]]*\]", "", text)
    text = re.sub(r"\((?:[A-Z][a-z]*\.\s?)+\)", "", text)  # subject labels: (Zool.), (Mech.)
    text = re.sub(r"(?:^|\s)(?:\d{1,2}\.|\([a-z]\))(?=\s)", " ", text)  # sense numbers
    text = re.sub(r"^Note:\s*", "", text)
    text = _GCIDE_CITATION.sub("", text)
    return text.replace("{", "").replace("}", "").strip()


def gcide_entry(lines: Sequence[str]) -> Document:
    """A GCIDE entry as segments: "Headword: first definition", then its other paragraphs."""
    paragraphs = _paragraphs(lines)
    if not paragraphs:
        return []
    first = _GCIDE_ACCENT.sub(lambda m: m.group(1) or m.group(2), paragraphs[0])  # [`e] inside an etymology's [...]
    match = _GCIDE_HEAD.match(first)
    if match is None:
        return []
    head = match.group("head").strip()
    rest = first[match.end():]
    while True:
        step = _GCIDE_HEAD_REST.match(rest)
        if step is None or not step.group(0):
            break
        rest = rest[step.end():]
    segments = [f"{head}: {_gcide_text(rest)}"] if _gcide_text(rest) else []
    return segments + [t for t in (_gcide_text(p) for p in paragraphs[1:]) if t]


def foldoc_entry(lines: Sequence[str]) -> Document:
    """A FOLDOC entry as segments: "term: first paragraph", then its other paragraphs, without
    <domain> tags, {cross reference} braces and the (YYYY-MM-DD) edit dates."""
    head = lines[0].strip()
    segments: Document = []
    for paragraph in _paragraphs(lines[1:]):
        text = re.sub(r"<[^>]*>", "", paragraph).replace("{", "").replace("}", "").strip()
        if not text or re.fullmatch(r"\(\d{4}-\d{2}-\d{2}\)", text):
            continue
        segments.append(f"{head}: {text}" if not segments else text)
    return segments


def read_dictd(files: Sequence[str], entry_reader: Callable[[Sequence[str]], Document]) -> Iterator[Document]:
    """One document per database (`*.dict.dz`), the segments of all its entries in order, so
    that short entries next to each other share a passage."""
    for path in sorted(f for f in files if f.endswith(".dict.dz")):
        with gzip.open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        yield [segment for entry in dictd_entries(text) for segment in entry_reader(entry)]


# --- HTML manuals ---

_SKIPPED_TAGS = {"pre", "table", "script", "style", "nav", "head", "code-block"}
_SKIPPED_CLASSES = ("sphinxsidebar", "related", "footer", "navheader", "navfooter", "toc", "highlight")


class _ParagraphParser(html.parser.HTMLParser):
    """Collects the text of each <p> (or DocBook <div class="para">) outside skipped elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: List[str] = []
        self._stack: List[Tuple[str, bool]] = []  # open elements: (tag, starts a skipped region)
        self._skipping = 0
        self._current: Optional[List[str]] = None

    def handle_starttag(self, tag: str, attrs: List) -> None:
        if tag in ("br", "img", "hr", "meta", "link", "input", "wbr"):
            return
        classes = " ".join(value or "" for key, value in attrs if key == "class")
        skip = tag in _SKIPPED_TAGS or any(c in classes.split() for c in _SKIPPED_CLASSES)
        self._stack.append((tag, skip))
        self._skipping += skip
        # DocBook's HTML (debian-handbook) writes paragraphs as <div class="para">.
        if (tag == "p" or (tag == "div" and "para" in classes.split())) and not self._skipping:
            self._current = []

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _ in self._stack):
            return  # a stray end tag
        if tag in ("p", "div") and self._current is not None and self._stack[-1][0] == tag:
            self.paragraphs.append(" ".join("".join(self._current).split()))
            self._current = None
        while self._stack:  # end tags close the elements left open inside (HTML's <li>, <p>)
            open_tag, skip = self._stack.pop()
            self._skipping -= skip
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._current is not None and not self._skipping:
            self._current.append(data)


def html_paragraphs(text: str) -> List[str]:
    """The paragraphs (<p>) of an HTML page as plain text, white space squashed."""
    parser = _ParagraphParser()
    parser.feed(text)
    parser.close()
    return [p for p in parser.paragraphs if p]


def read_html(files: Iterable[str]) -> Iterator[Document]:
    """One document per HTML page, in path order."""
    for path in sorted(files):
        with open(path, encoding="utf-8", errors="replace") as f:
            yield html_paragraphs(f.read())
