"""The man-page section task: real text, no downloads.

A classification dataset built from the manual pages of a fixed list of Debian packages: each
example is a page's NAME line (`open, openat, creat - open and possibly create a file`),
labelled by the page's section (`system_call`). Beside it an unlabeled corpus of sentences from
the same pages' prose, for general distillation, and a manifest of where it all came from.

    PYTHONPATH=trainer /usr/bin/python3 -m distillery_trainer.datasets.manpages --out DIR \\
        [--teacher-dir DIR]      # also a WordPiece vocabulary and a random 6 x 384 teacher

Pages come from `dpkg -L` of the packages in PACKAGES, never from whatever else is in
/usr/share/man, so two machines with the same package versions build the same files. Link pages
(`.so` includes and symlinks) are skipped: they point at a page of the same package that is read
on its own. Examples are deduplicated on their text (case and white space folded); a text found
in two sections is dropped. The train/eval split is decided per description by a seeded hash, so
pages sharing a description land in one split and a page's split does not move when other pages
come or go. Eval pages give nothing to the corpus or the vocabulary.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..data import ClassificationExample, write_classification
from ..errors import InvalidInputError
from ..parent_guard import stop_with_parent
from . import writable_out_dir, write_manifest
from .debian import InstalledPackage, installed_package
from .roff import body_paragraphs, name_line, so_target

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1

# The Linux man-pages project (manpages, manpages-dev: the system calls and library functions),
# the packages of every Debian system (coreutils, util-linux, ...) and a few common ones with
# many pages (systemd, openssl, git-man, perl: without them there are ~1600 examples, not 2000+).
# scripts/install-system-deps.sh installs them all.
PACKAGES: Tuple[str, ...] = (
    "manpages", "manpages-dev", "coreutils", "util-linux", "mount", "procps", "findutils", "grep", "sed",
    "tar", "gzip", "diffutils", "bash", "passwd", "login", "dpkg", "apt", "debianutils", "debconf",
    "e2fsprogs", "iproute2", "net-tools", "man-db", "groff-base", "psmisc", "less", "hostname",
    "ncurses-bin", "libpam-modules", "libpam-runtime", "openssh-client", "systemd", "openssl", "git-man", "perl",
)

# Sections with enough pages in PACKAGES to be a class (measured: see DATASET.md of a build);
# 4 (special files, ~40 pages) and 6 (games, 1) have too few.
SECTION_LABELS: Dict[str, str] = {
    "1": "user_command",
    "2": "system_call",
    "3": "library_function",
    "5": "file_format",
    "7": "overview",
    "8": "admin_command",
}

# Sections whose text is no prose (NAME is the label's text) or the same in every page.
NON_PROSE_SECTIONS = ("NAME", "SYNOPSIS", "SEE ALSO", "COLOPHON", "AUTHOR", "AUTHORS", "AUTHOR(S)", "COPYRIGHT", "REPORTING BUGS")

DEFAULT_SEED = 1234
DEFAULT_EVAL_FRACTION = 0.2
DEFAULT_MAX_CORPUS_BYTES = 4_000_000
DEFAULT_VOCAB_SIZE = 8000
# The teacher: 6 layers, 384 wide, 6 heads (head size 64 as in BERT), FFN 4 x hidden.
TEACHER_SHAPE = {"layers": 6, "hidden": 384, "heads": 6, "intermediate": 1536, "max_position": 512}

_MAN_PATH = re.compile(r"^/usr/share/man/man([1-9])[^/]*/[^/]+$")


@dataclass
class PageFile:
    package: str
    path: str
    section: str  # the digit of the man<N> folder: "3" for man3/size_t.3type.gz too


@dataclass
class Page:
    file: PageFile
    names: str
    description: str
    source: str

    @property
    def text(self) -> str:
        return f"{self.names} - {self.description}"


@dataclass
class Example:
    text: str
    label: str
    group: str  # pages with the same description share a split
    path: str


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def description_key(description: str) -> str:
    """What decides the split: the description, case and white space folded, final period off."""
    return _fold(description).rstrip(".")


def _hash_unit(seed: int, key: str) -> float:
    digest = hashlib.sha256(f"{seed}\n{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(group: str, seed: int, eval_fraction: float) -> str:
    """"eval" or "train" for a description key: a seeded hash, so the decision depends on that
    description alone (not on which other pages a machine has)."""
    return "eval" if _hash_unit(seed, group) < eval_fraction else "train"


def page_files_from_packages(packages: Sequence[str]) -> Tuple[List[PageFile], List[InstalledPackage]]:
    """The English manual pages (/usr/share/man/man<N>/) each package installed, per dpkg -L."""
    files: List[PageFile] = []
    infos: List[InstalledPackage] = []
    for name in packages:
        info = installed_package(name)
        infos.append(info)
        for path in info.files:
            match = _MAN_PATH.match(path)
            if match:
                files.append(PageFile(name, path, match.group(1)))
    return files, infos


def page_files_from_folder(root: str) -> List[PageFile]:
    """Pages under ROOT/man<N>*/ (a man tree), for tests and for trees outside dpkg."""
    if not os.path.isdir(root):
        raise InvalidInputError(f"--from-dir {root} is not a folder; give a man tree holding man1/, man2/, ...", file=root)
    files: List[PageFile] = []
    for folder in sorted(os.listdir(root)):
        match = re.fullmatch(r"man([1-9])[^/]*", folder)
        if not match or not os.path.isdir(os.path.join(root, folder)):
            continue
        for name in sorted(os.listdir(os.path.join(root, folder))):
            files.append(PageFile("(folder)", os.path.join(root, folder, name), match.group(1)))
    if not files:
        raise InvalidInputError(f"no pages under {root}: expected files in man1/, man2/, ... folders", file=root)
    return files


def read_roff(path: str) -> str:
    """A page's roff source, gunzipped when it is gzip (by its magic bytes, not its name).
    Pages are UTF-8 in Debian; an older Latin-1 page is read as Latin-1."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_pages(files: Iterable[PageFile]) -> Tuple[List[Page], Counter]:
    """The pages that have a NAME line, and counts of every file left out and why."""
    pages: List[Page] = []
    counts: Counter = Counter()
    for file in files:
        counts["listed"] += 1
        if os.path.islink(file.path):
            counts["symlink"] += 1
            continue
        if not os.path.isfile(file.path):
            # dpkg lists it but it is not there: a path-exclude (slim images) removed it.
            counts["missing"] += 1
            continue
        try:
            source = read_roff(file.path)
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            log.warning("skipping unreadable page %s: %s", file.path, exc)
            counts["unreadable"] += 1
            continue
        if so_target(source) is not None:
            counts["so_link"] += 1
            continue
        parsed = name_line(source)
        if parsed is None:
            counts["no_name_line"] += 1
            continue
        counts["read"] += 1
        pages.append(Page(file, parsed[0], parsed[1], source))
    return pages, counts


def label_examples(pages: Sequence[Page]) -> Tuple[List[Example], Counter]:
    """One example per distinct NAME line of a labelled section; counts of what was dropped."""
    by_text: Dict[str, List[Tuple[Page, str]]] = {}
    counts: Counter = Counter()
    for page in pages:
        label = SECTION_LABELS.get(page.file.section)
        if label is None:
            counts[f"section_{page.file.section}_unlabelled"] += 1
            continue
        by_text.setdefault(_fold(page.text), []).append((page, label))
    examples: List[Example] = []
    for found in by_text.values():
        if len({label for _, label in found}) > 1:
            counts["conflicting_labels"] += len(found)
            continue
        counts["duplicates"] += len(found) - 1
        page, label = min(found, key=lambda item: item[0].file.path)
        examples.append(Example(page.text, label, description_key(page.description), page.file.path))
    return examples, counts


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def is_prose(sentence: str) -> bool:
    """A sentence worth a line of the corpus: 4-60 words, starts with a letter, ends like a
    sentence, mostly letters (not an option list or a path)."""
    words = sentence.split()
    if not 4 <= len(words) <= 60 or len(sentence) > 400:
        return False
    if not sentence[0].isalpha() or sentence[-1] not in ".!?:":
        return False
    visible = [ch for ch in sentence if not ch.isspace()]
    return sum(ch.isalpha() for ch in visible) >= 0.6 * len(visible)


def page_sentences(source: str) -> List[str]:
    """The prose sentences of a man-macro page; mdoc pages (.Sh) give none, as their inline
    macros would leave holes in the sentences."""
    if re.search(r"^\.Sh\s", source, re.M):
        return []
    found: List[str] = []
    for paragraph in body_paragraphs(source, NON_PROSE_SECTIONS):
        found.extend(s for s in _SENTENCE_BREAK.split(paragraph) if is_prose(s))
    return found


def build_corpus(pages: Sequence[Page], eval_groups: set, seed: int, max_bytes: int) -> Tuple[List[str], Counter]:
    """Distinct prose sentences of every page whose description is not in eval, in seeded hash
    order, cut at max_bytes (UTF-8, newlines included)."""
    unique: Dict[str, str] = {}
    counts: Counter = Counter()
    for page in pages:
        if description_key(page.description) in eval_groups:
            counts["eval_pages_left_out"] += 1
            continue
        for sentence in page_sentences(page.source):
            counts["sentences_seen"] += 1
            unique.setdefault(_fold(sentence), sentence)
    ordered = sorted(unique.values(), key=lambda s: (_hash_unit(seed, s), s))
    kept: List[str] = []
    size = 0
    for sentence in ordered:
        length = len(sentence.encode("utf-8")) + 1
        if size + length > max_bytes:
            counts["cut_by_max_bytes"] = len(ordered) - len(kept)
            break
        kept.append(sentence)
        size += length
    counts["distinct"] = len(unique)
    return kept, counts


def _file_entry(path: str) -> Dict[str, object]:
    with open(path, "rb") as f:
        data = f.read()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "lines": data.count(b"\n")}


def build_dataset(
    out_dir: str,
    files: Sequence[PageFile],
    packages: Sequence[InstalledPackage] = (),
    *,
    seed: int = DEFAULT_SEED,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    max_corpus_bytes: int = DEFAULT_MAX_CORPUS_BYTES,
) -> Dict[str, object]:
    """Writes train.jsonl, eval.jsonl ({"text", "label"} lines), unlabeled.txt (one sentence a
    line), manifest.json and DATASET.md into out_dir; returns the manifest.

    Raises InvalidInputError when the pages give no example in train or in eval (e.g. a system
    whose dpkg excludes /usr/share/man)."""
    if not 0.0 < eval_fraction < 1.0:
        raise InvalidInputError(f"--eval-fraction must be between 0 and 1 (exclusive), got {eval_fraction}")
    writable_out_dir(out_dir)
    pages, page_counts = read_pages(files)
    examples, example_counts = label_examples(pages)
    splits: Dict[str, List[Example]] = {"train": [], "eval": []}
    for example in examples:
        splits[split_of(example.group, seed, eval_fraction)].append(example)
    for name, rows in splits.items():
        if not rows:
            raise InvalidInputError(
                f"no {name} examples: {page_counts['listed']} pages listed, {page_counts['read']} read, "
                f"{page_counts['missing']} missing (a dpkg path-exclude of /usr/share/man?)"
            )
        rows.sort(key=lambda e: (_hash_unit(seed, e.text), e.text))
    eval_groups = {e.group for e in splits["eval"]}
    corpus, corpus_counts = build_corpus(pages, eval_groups, seed, max_corpus_bytes)

    os.makedirs(out_dir, exist_ok=True)
    for name, rows in splits.items():
        write_classification(os.path.join(out_dir, f"{name}.jsonl"), [ClassificationExample(e.text, None, e.label) for e in rows])
    with open(os.path.join(out_dir, "unlabeled.txt"), "w", encoding="utf-8") as f:
        f.writelines(sentence + "\n" for sentence in corpus)

    per_package = Counter(file.package for file in files)
    read_per_package = Counter(page.file.package for page in pages)
    manifest: Dict[str, object] = {
        "generator": "distillery_trainer.datasets.manpages",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "eval_fraction": eval_fraction,
        "max_corpus_bytes": max_corpus_bytes,
        "labels": {SECTION_LABELS[s]: f"section {s}" for s in sorted(SECTION_LABELS)},
        "text": "the page's NAME line, 'names - description'",
        "packages": [
            {
                "name": p.name, "version": p.version, "licenses": p.licenses, "copyright": p.copyright_file,
                "pages_listed": per_package[p.name], "pages_with_name_line": read_per_package[p.name],
            }
            for p in packages
        ],
        "pages": dict(sorted(page_counts.items())),
        "examples": {
            name: {"total": len(rows), "by_label": dict(sorted(Counter(e.label for e in rows).items()))}
            for name, rows in splits.items()
        },
        "dropped": dict(sorted(example_counts.items())),
        "corpus": {"sentences": len(corpus), **dict(sorted(corpus_counts.items()))},
        "files": {name: _file_entry(os.path.join(out_dir, name)) for name in ("train.jsonl", "eval.jsonl", "unlabeled.txt")},
    }
    write_manifest(out_dir, manifest, "manifest.json", "DATASET.md", render_dataset_md(manifest))
    return manifest


def render_dataset_md(manifest: Dict[str, object]) -> str:
    """DATASET.md: the manifest for people (sources, versions, licenses, sizes)."""
    examples = manifest["examples"]
    labels = sorted(manifest["labels"])  # type: ignore[arg-type]
    lines = [
        "# Man-page sections: a real-text classification dataset",
        "",
        "Written by `python -m distillery_trainer.datasets.manpages` (generator version "
        f"{manifest['generator_version']}, seed {manifest['seed']}, eval fraction {manifest['eval_fraction']}). "
        "Each example is a manual page's NAME line (`names - description`), labelled by its section; "
        "`unlabeled.txt` holds distinct prose sentences of the same pages (none from eval pages).",
        "",
        "| label | section | train | eval |",
        "|---|---|---|---|",
    ]
    for label in labels:
        lines.append(
            f"| {label} | {manifest['labels'][label]} | {examples['train']['by_label'].get(label, 0)} | "  # type: ignore[index]
            f"{examples['eval']['by_label'].get(label, 0)} |"  # type: ignore[index]
        )
    lines.append(f"| total | | {examples['train']['total']} | {examples['eval']['total']} |")  # type: ignore[index]
    lines += ["", "Files:", ""]
    for name, entry in manifest["files"].items():  # type: ignore[union-attr]
        lines.append(f"- `{name}`: {entry['lines']} lines, {entry['bytes']} bytes, sha256 `{entry['sha256']}`")
    lines += [
        "",
        f"Pages: {json.dumps(manifest['pages'])}. Dropped examples: {json.dumps(manifest['dropped'])}. "
        f"Corpus: {json.dumps(manifest['corpus'])}.",
        "",
        "## Sources",
        "",
        "The English manual pages (`/usr/share/man/man<N>/`) that `dpkg -L` lists for each package. "
        "The pages keep their authors' licenses (the package's copyright file); this dataset is "
        "derived from them and is for training and evaluating models here, not for redistribution.",
        "",
        "| package | version | pages listed | pages with a NAME line | licenses (DEP-5) | copyright |",
        "|---|---|---|---|---|---|",
    ]
    for p in manifest["packages"]:  # type: ignore[union-attr]
        licenses = ", ".join(p["licenses"]) or "see the copyright file"
        lines.append(f"| {p['name']} | {p['version']} | {p['pages_listed']} | {p['pages_with_name_line']} | {licenses} | `{p['copyright']}` |")
    if not manifest["packages"]:
        lines.append("| (a folder of pages, not packages) | | | | | |")
    return "\n".join(lines) + "\n"


def _run_trainer(args: List[str], python: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}
    result = subprocess.run([python, "-m", "distillery_trainer", *args], capture_output=True, text=True, env=env, check=False)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not events or events[-1].get("type") != "done":
        message = events[-1].get("message") if events else result.stderr.strip()[-500:]
        raise InvalidInputError(f"distillery_trainer {args[0]} failed (exit {result.returncode}): {message}")


def build_teacher(dataset_dir: str, teacher_dir: str, *, vocab_size: int = DEFAULT_VOCAB_SIZE, seed: int = DEFAULT_SEED, python: str = sys.executable) -> str:
    """A WordPiece vocabulary of the train texts and the corpus (dataset_dir/vocab.txt), and a
    random-initialised teacher of TEACHER_SHAPE with no task head (so teacher_finetune "auto"
    fine-tunes it) in teacher_dir, through the trainer's build-vocab and init-model. Returns the
    vocabulary's path."""
    vocab = os.path.join(dataset_dir, "vocab.txt")
    with open(os.path.join(dataset_dir, "train.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    labels = sorted({row["label"] for row in rows})
    with tempfile.TemporaryDirectory() as tmp:
        texts = os.path.join(tmp, "train-texts.txt")
        with open(texts, "w", encoding="utf-8") as f:
            f.writelines(row["text"] + "\n" for row in rows)
        _run_trainer(["build-vocab", "--corpus", texts, "--corpus", os.path.join(dataset_dir, "unlabeled.txt"), "--size", str(vocab_size), "--out", vocab], python)
    if os.path.isdir(teacher_dir) and os.listdir(teacher_dir):
        # A stale model.safetensors or pytorch_model.bin beside the new files would be loaded too.
        if not os.path.isfile(os.path.join(teacher_dir, "config.json")):
            raise InvalidInputError(f"--teacher-dir {teacher_dir} holds files but no config.json: not a teacher folder, left alone", file=teacher_dir)
        shutil.rmtree(teacher_dir)
    shape = TEACHER_SHAPE
    _run_trainer(
        [
            "init-model", "--out", teacher_dir, "--vocab", vocab, "--task", "classification", "--labels", ",".join(labels),
            "--layers", str(shape["layers"]), "--hidden", str(shape["hidden"]), "--heads", str(shape["heads"]),
            "--intermediate", str(shape["intermediate"]), "--max-position", str(shape["max_position"]), "--seed", str(seed),
        ],
        python,
    )
    return vocab


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m distillery_trainer.datasets.manpages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for train.jsonl, eval.jsonl, unlabeled.txt, manifest.json, DATASET.md")
    parser.add_argument("--from-dir", default=None, help="read a man tree (DIR/man1/...) instead of the packages' pages")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--eval-fraction", type=float, default=DEFAULT_EVAL_FRACTION)
    parser.add_argument("--max-corpus-bytes", type=int, default=DEFAULT_MAX_CORPUS_BYTES)
    parser.add_argument("--teacher-dir", default=None, help="also write OUT/vocab.txt and a random 6 x 384 teacher here")
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Exit 0 done, 2 bad input (message on stderr)."""
    logging.basicConfig(level=os.environ.get("DISTILLERY_LOG_LEVEL", "INFO"), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        if args.from_dir:
            files, packages = page_files_from_folder(args.from_dir), []
        else:
            files, packages = page_files_from_packages(PACKAGES)
        manifest = build_dataset(
            args.out, files, packages, seed=args.seed, eval_fraction=args.eval_fraction, max_corpus_bytes=args.max_corpus_bytes
        )
        log.info("wrote %s: train %s, eval %s, corpus %s sentences", args.out, manifest["examples"]["train"], manifest["examples"]["eval"], manifest["corpus"]["sentences"])  # type: ignore[index]
        if args.teacher_dir:
            build_teacher(args.out, args.teacher_dir, vocab_size=args.vocab_size, seed=args.seed)
            log.info("wrote %s/vocab.txt and the teacher %s", args.out, args.teacher_dir)
    except InvalidInputError as exc:
        log.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    stop_with_parent()  # started by models:build or npm run data:*
    sys.exit(main())
