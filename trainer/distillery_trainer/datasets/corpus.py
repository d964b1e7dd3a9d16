"""An offline English pre-training corpus from the text Debian main packages ship.

For masked-LM pre-training of the bundled BERT teachers and general distillation of students:
WordNet glosses, manual pages' prose, two dictionaries (GCIDE, FOLDOC) and three HTML manuals,
cleaned (corpus_clean), packed into passages of 20-200 words, deduplicated and balanced.

    PYTHONPATH=trainer /usr/bin/python3 -m distillery_trainer.datasets.corpus --out DIR \\
        [--max-mb 40] [--extra FILE ...] [--seed 1234]

Writes DIR/corpus.txt (one passage a line, UTF-8), DIR/corpus.json (per source: packages,
versions, licenses, passages, words, bytes, drops by rule) and DIR/CORPUS.md (the same for
people). Only the files `dpkg -L` lists for the packages in SOURCES are read, and every order is
a seeded hash of the text, so two machines with the same package versions build the same bytes.
scripts/install-system-deps.sh installs the packages (a test keeps its list in step).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..errors import InvalidInputError
from ..parent_guard import stop_with_parent
from . import writable_out_dir, write_atomically, write_manifest
from . import corpus_sources as readers
from .corpus_clean import MIN_WORDS, Deduplicator, clean_segments, normalise, pack
from .debian import InstalledPackage, installed_package
from .manpages import DEFAULT_EVAL_FRACTION, PACKAGES as MANPAGE_PACKAGES, page_files_from_packages

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
DEFAULT_SEED = 1234
DEFAULT_MAX_MB = 40.0
# No source more than this share of the corpus (the brief: "no one source more than ~half").
MAX_SOURCE_SHARE = 0.5
MB = 1_000_000
# Far above what the sources hold (a cap above that keeps everything); it only keeps --max-mb finite.
MAX_MB = 1_000_000.0


@dataclass(frozen=True)
class Source:
    """A corpus source: its Debian packages, the license read from their copyright files (for
    the packages whose copyright file is not machine-readable), and how to read its documents
    from the packages' files. `target_words` is pack()'s: 60 for dictionaries, so that their
    one-line entries share a passage. `sentences_only`: segments must read as sentences (manuals,
    whose fragments are option descriptions and labels; glosses are fragments by design)."""

    name: str
    packages: Tuple[str, ...]
    license: str
    description: str
    target_words: int = MIN_WORDS
    sentences_only: bool = True


# Licenses as the copyright files state them (all DFSG-free, all in Debian main).
SOURCES: Tuple[Source, ...] = (
    Source("wordnet", ("wordnet-base",), "WordNet-3.0 (BSD-like) and GPL-2+ (Debian packaging)",
           "WordNet 3.0 synsets: lemmas, gloss and example sentences", target_words=60, sentences_only=False),
    Source("manpages", MANPAGE_PACKAGES, "per package (see the table)",
           "prose paragraphs of the man-page dataset's packages' manual pages"),
    Source("gcide", ("dict-gcide",), "GPL-2+ (GCIDE, from Webster's 1913 and WordNet 1.5)",
           "GNU Collaborative International Dictionary of English: definitions and notes", target_words=60,
           sentences_only=False),
    Source("foldoc", ("dict-foldoc",), "GFDL-1.1+, no invariant sections (FOLDOC)",
           "Free On-line Dictionary of Computing: entries"),
    Source("python-doc", ("python3.11-doc",), "PSF-2.0 (Python documentation)",
           "the Python 3.11 documentation (HTML) paragraphs"),
    Source("debian-reference", ("debian-reference-en",), "GPL-2+",
           "Debian Reference (English, HTML) paragraphs"),
    Source("debian-handbook", ("debian-handbook",), "GPL-2.0+ or CC-BY-SA-3.0",
           "The Debian Administrator's Handbook (en-US HTML) paragraphs"),
)

# Every Debian package the corpus reads; install-system-deps.sh's corpus_packages adds the rest.
CORPUS_PACKAGES: Tuple[str, ...] = tuple(p for s in SOURCES for p in s.packages if p not in MANPAGE_PACKAGES)

_PYTHON_DOC_SKIPPED = ("/genindex", "/py-modindex", "/search.html", "/whatsnew/changelog.html", "/_static/", "/_sources/")


def _documents(source: Source, packages: Sequence[InstalledPackage], counts: Dict[str, int], seed: int) -> Iterator[List[str]]:
    files = [path for p in packages for path in p.files]
    if source.name == "wordnet":
        return readers.read_wordnet(files)
    if source.name == "manpages":
        pages, _ = page_files_from_packages(source.packages)
        return readers.read_manpages(pages, counts, seed=seed, eval_fraction=DEFAULT_EVAL_FRACTION)
    if source.name == "gcide":
        return readers.read_dictd(files, readers.gcide_entry)
    if source.name == "foldoc":
        return readers.read_dictd(files, readers.foldoc_entry)
    if source.name == "python-doc":
        return readers.read_html(f for f in files if f.endswith(".html") and "/html/" in f and not any(s in f for s in _PYTHON_DOC_SKIPPED))
    if source.name == "debian-reference":
        return readers.read_html(f for f in files if f.endswith(".en.html"))
    if source.name == "debian-handbook":
        return readers.read_html(f for f in files if "/html/en-US/" in f and f.endswith(".html"))
    raise InvalidInputError(f"unknown corpus source {source.name!r}")


@dataclass
class SourceText:
    """A source's passages after cleaning and dedup, before balancing, and its counts."""

    name: str
    passages: List[str]
    dropped: Counter
    segments: int = 0

    def offer(self, passage: str, dedup: Deduplicator) -> None:
        """Keeps `passage` unless `dedup` has seen it (or its near-copy), counting why not."""
        verdict = dedup.verdict(passage)
        if verdict is None:
            self.passages.append(passage)
        else:
            self.dropped[verdict] += 1


def clean_documents(
    name: str, documents: Iterable[List[str]], dedup: Deduplicator, *, target_words: int = MIN_WORDS, sentences_only: bool = False
) -> SourceText:
    """Cleans, packs and deduplicates a source's documents (dedup shared across sources, so a
    passage two sources give is kept by the first)."""
    dropped: Counter = Counter()
    result = SourceText(name, [], dropped)
    for document in documents:
        result.segments += len(document)
        for passage in pack(clean_segments(document, dropped, sentences_only=sentences_only), dropped, target_words=target_words):
            result.offer(passage, dedup)
    return result


def check_extra(path: str) -> None:
    """An --extra file must be a UTF-8 text file: InvalidInputError naming the file (and the line of
    the first byte that is not UTF-8) otherwise, so a Latin-1 file is refused rather than read with
    replacement characters that the model would learn."""
    if not os.path.isfile(path):
        raise InvalidInputError(f"--extra {path} is not a file; give the path of a text file with one passage a line", file=path)
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InvalidInputError(
                    f"--extra {path} is not UTF-8 (line {number}, byte {err.start + 1} of the line); convert it, e.g. iconv -f latin1 -t utf-8",
                    file=path,
                    line=number,
                ) from None


def read_extra(path: str, dedup: Deduplicator) -> SourceText:
    """An --extra file (e.g. the support generator's corpus.txt): each non-empty line, NFC and
    white space normalised, deduplicated against everything before it; no other rule applies
    (its lines were written for this project). The caller checks the file first (check_extra,
    before any source is read); a byte that is not UTF-8 here still raises, never a replacement."""
    dropped: Counter = Counter()
    result = SourceText(f"extra:{os.path.basename(path)}", [], dropped)
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = normalise(line)
            if not text:
                continue
            result.segments += 1
            result.offer(text, dedup)
    return result


def _hash_key(seed: int, text: str) -> Tuple[bytes, str]:
    return hashlib.sha256(f"{seed}\n{text}".encode("utf-8")).digest(), text


def _size(passage: str) -> int:
    return len(passage.encode("utf-8")) + 1


def source_budgets(sizes: Dict[str, int], max_bytes: int, max_share: float = MAX_SOURCE_SHARE) -> Dict[str, int]:
    """Bytes each source may put in the corpus: one limit L for all sources, the largest with
    sum(min(size, L)) <= max_bytes, then lowered until no source's min(size, L) is more than
    max_share of the total. Sizes and results in bytes (UTF-8, newlines included)."""
    if not sizes:
        return {}
    lo, hi = 0, max(sizes.values())
    while lo < hi:  # the largest L that fits max_bytes
        mid = (lo + hi + 1) // 2
        if sum(min(s, mid) for s in sizes.values()) <= max_bytes:
            lo = mid
        else:
            hi = mid - 1
    limit = lo
    if len(sizes) > 1:
        largest = max(sizes, key=lambda k: (min(sizes[k], limit), k))
        others = sum(min(s, limit) for k, s in sizes.items() if k != largest)
        limit = min(limit, int(others * max_share / (1 - max_share)))
    return {k: min(s, limit) for k, s in sizes.items()}


def take(passages: Sequence[str], budget: int, seed: int) -> List[str]:
    """Passages in seeded hash order up to `budget` bytes."""
    kept: List[str] = []
    size = 0
    for passage in sorted(passages, key=lambda p: _hash_key(seed, p)):
        if size + _size(passage) > budget:
            break
        kept.append(passage)
        size += _size(passage)
    return kept


def _stats(passages: Sequence[str]) -> Dict[str, int]:
    return {"passages": len(passages), "words": sum(len(p.split()) for p in passages), "bytes": sum(_size(p) for p in passages)}


def build_corpus(
    out_dir: str,
    texts: Sequence[SourceText],
    extras: Sequence[SourceText] = (),
    sources: Sequence[Source] = (),
    packages: Optional[Dict[str, List[InstalledPackage]]] = None,
    *,
    seed: int = DEFAULT_SEED,
    max_bytes: int = int(DEFAULT_MAX_MB * MB),
) -> Dict[str, object]:
    """Balances the sources (source_budgets), shuffles the kept passages by a seeded hash,
    appends the --extra passages (file order, not capped) and writes corpus.txt, corpus.json
    and CORPUS.md into out_dir. Returns the manifest (corpus.json's content)."""
    if max_bytes <= 0:
        raise InvalidInputError(f"--max-mb must be more than 0, got {max_bytes / MB}")
    budgets = source_budgets({t.name: _stats(t.passages)["bytes"] for t in texts}, max_bytes)
    chosen = {t.name: take(t.passages, budgets[t.name], seed) for t in texts}
    body = sorted((p for kept in chosen.values() for p in kept), key=lambda p: _hash_key(seed, p))
    lines = body + [p for e in extras for p in e.passages]
    os.makedirs(out_dir, exist_ok=True)
    data = "".join(p + "\n" for p in lines).encode("utf-8")
    write_atomically(os.path.join(out_dir, "corpus.txt"), data)

    by_name = {s.name: s for s in sources}
    packages = packages or {}
    entries = []
    for t in list(texts) + list(extras):
        kept = chosen.get(t.name, t.passages)
        source = by_name.get(t.name)
        entries.append({
            "name": t.name,
            "description": source.description if source else "lines of an --extra file",
            "license": source.license if source else "the file's own (this project's)",
            "packages": [
                {"name": p.name, "version": p.version, "licenses": p.licenses, "copyright": p.copyright_file}
                for p in packages.get(t.name, [])
            ],
            "segments_read": t.segments,
            "dropped": dict(sorted(t.dropped.items())),
            "after_dedup": _stats(t.passages),
            "cut_by_balance": len(t.passages) - len(kept),
            **_stats(kept),
        })
    manifest: Dict[str, object] = {
        "generator": "distillery_trainer.datasets.corpus",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "max_bytes": max_bytes,
        "max_source_share": MAX_SOURCE_SHARE,
        "passage_words": {"min": MIN_WORDS, "max": 200},
        "sources": entries,
        "total": {**_stats(lines), "sha256": hashlib.sha256(data).hexdigest()},
    }
    write_manifest(out_dir, manifest, "corpus.json", "CORPUS.md", render_corpus_md(manifest))
    return manifest


def render_corpus_md(manifest: Dict[str, object]) -> str:
    """CORPUS.md: the manifest for people (sources, versions, licenses, sizes, drops)."""
    total = manifest["total"]
    lines = [
        "# English pre-training corpus",
        "",
        f"Written by `python -m distillery_trainer.datasets.corpus` (generator version {manifest['generator_version']}, "
        f"seed {manifest['seed']}, cap {manifest['max_bytes']} bytes, no source over "
        f"{int(float(manifest['max_source_share']) * 100)}%). `corpus.txt`: one passage a line, "  # type: ignore[arg-type]
        f"{total['passages']} passages, {total['words']} words, {total['bytes']} bytes, sha256 `{total['sha256']}`.",  # type: ignore[index]
        "",
        "The text keeps its authors' licenses (below, from each package's copyright file); the corpus is "
        "derived from it for training models here, not for redistribution.",
        "",
        "| source | passages | words | bytes | share | cut by balance | license |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in manifest["sources"]:  # type: ignore[union-attr]
        share = s["bytes"] / total["bytes"] if total["bytes"] else 0.0  # type: ignore[index]
        lines.append(f"| {s['name']} | {s['passages']} | {s['words']} | {s['bytes']} | {share:.1%} | {s['cut_by_balance']} | {s['license']} |")
    lines += ["", "## Dropped, by rule (segments, or passages for short_passage and the dedup rules)", ""]
    for s in manifest["sources"]:  # type: ignore[union-attr]
        lines.append(f"- {s['name']}: {s['segments_read']} segments read; " + (json.dumps(s["dropped"]) if s["dropped"] else "nothing dropped"))
    lines += ["", "## Packages", "", "| source | package | version | licenses (DEP-5) | copyright |", "|---|---|---|---|---|"]
    for s in manifest["sources"]:  # type: ignore[union-attr]
        for p in s["packages"]:
            licenses = ", ".join(p["licenses"]) or s["license"]
            lines.append(f"| {s['name']} | {p['name']} | {p['version']} | {licenses} | `{p['copyright']}` |")
    return "\n".join(lines) + "\n"


def build_from_packages(
    out_dir: str,
    *,
    extra: Sequence[str] = (),
    seed: int = DEFAULT_SEED,
    max_bytes: int = int(DEFAULT_MAX_MB * MB),
    sources: Sequence[Source] = SOURCES,
    reader: Optional[Callable[[Source, Sequence[InstalledPackage], Dict[str, int], int], Iterable[List[str]]]] = None,
) -> Dict[str, object]:
    """The whole build from the installed packages. Raises InvalidInputError for a package that
    is not installed, a missing or non-UTF-8 --extra file, a cap <= 0 or an out_dir that cannot be written,
    before any reading."""
    if max_bytes <= 0:
        raise InvalidInputError(f"--max-mb must be more than 0, got {max_bytes / MB}")
    for path in extra:
        check_extra(path)
    writable_out_dir(out_dir)
    packages = {s.name: [installed_package(p) for p in s.packages] for s in sources}
    dedup = Deduplicator()
    texts = []
    for source in sources:
        started = time.monotonic()
        counts: Dict[str, int] = {}
        documents = (reader or _documents)(source, packages[source.name], counts, seed)
        text = clean_documents(source.name, documents, dedup, target_words=source.target_words, sentences_only=source.sentences_only)
        text.dropped.update(counts)
        log.info("%s: %d passages (%.1f MB) in %.1f s", source.name, len(text.passages), _stats(text.passages)["bytes"] / MB, time.monotonic() - started)
        texts.append(text)
    extras = [read_extra(path, dedup) for path in extra]
    return build_corpus(out_dir, texts, extras, sources, packages, seed=seed, max_bytes=max_bytes)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m distillery_trainer.datasets.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for corpus.txt, corpus.json, CORPUS.md")
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB, help="cap on corpus.txt before --extra lines, in MB (10^6 bytes)")
    parser.add_argument("--extra", action="append", default=[], metavar="FILE", help="a text file whose lines are appended (repeatable)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Exit 0 done, 2 bad input (message on stderr)."""
    logging.basicConfig(level=os.environ.get("DISTILLERY_LOG_LEVEL", "INFO"), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        # nan fails the comparison; inf and 1e400 would overflow int(); under a byte rounds to 0.
        if not 1 / MB <= args.max_mb <= MAX_MB:
            raise InvalidInputError(f"--max-mb must be a number of megabytes from {1 / MB:g} (one byte) to {MAX_MB:g}, got {args.max_mb:g}")
        manifest = build_from_packages(args.out, extra=args.extra, seed=args.seed, max_bytes=max(1, int(args.max_mb * MB)))
    except InvalidInputError as exc:
        log.error("%s", exc)
        return 2
    total = manifest["total"]
    log.info("wrote %s/corpus.txt: %d passages, %d words, %.1f MB in %.0f s", args.out, total["passages"], total["words"], total["bytes"] / MB, time.monotonic() - started)  # type: ignore[index]
    return 0


if __name__ == "__main__":
    stop_with_parent()  # started by models:build or npm run data:*
    sys.exit(main())
