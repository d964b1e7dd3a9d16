"""The man-page section dataset: roff parsing, labels, dedup, the split rule, determinism, the
corpus, the teacher command, and (where the packages are installed) the real pages."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from typing import Dict, List, Tuple

import pytest
from conftest import REPO_ROOT

from distillery_trainer.datasets import manpages
from distillery_trainer.datasets.manpages import PACKAGES, SECTION_LABELS, build_dataset, build_teacher, page_files_from_folder, split_of
from distillery_trainer.datasets.roff import body_paragraphs, name_line, so_target, unescape
from distillery_trainer.errors import InvalidInputError

LS_PAGE = r""".\" Comment lines never reach the text.
.TH LS 1 "2024" "coreutils" "User Commands"
.de XX
Text of a macro definition must not leak.
..
.if n \{\
Text of a troff conditional must not leak.
.\}
.SH NAME
ls \- list directory contents
.SH SYNOPSIS
.B ls
[\fI\,OPTION\/\fR]... [\fI\,FILE\/\fR]...
.SH DESCRIPTION
List information about the files in the current directory by default.
Entries are sorted alphabetically if none of \fB\-cftuvSUX\fR nor \fB\-\-sort\fR is given.
.TP
\fB\-a\fR, \fB\-\-all\fR
do not ignore entries starting with a dot.
.PP
An example:
.EX
ls \-la /tmp  # code is no prose
.EE
The exit status is zero when all went well.
.SH "SEE ALSO"
Full documentation is on the project web site, which is not prose here.
"""

OPEN_PAGE = r""".TH OPEN 2
.SH NAME
open, openat, creat \- open and possibly create a file
.SH DESCRIPTION
The
.BR open ()
system call opens the file specified by its path name argument.
The return value is a new file descriptor for the calling process.
"""

PRINTF_PAGE = r""".TH PRINTF 3
.SH NAME
\fBprintf\fP, fprintf, \fIsprintf\fP,
\(em formatted output \(lqconversion\(rq of the caller\*(Aqs data
.SH DESCRIPTION
The functions in the \s-1PRINTF\s0 family produce output according to a format.
"""

MDOC_PAGE = r""".Dd $Mdocdate: November 28 2022 $
.Dt SSH 1
.Os
.Sh NAME
.Nm ssh
.Nd OpenSSH remote login client
.Sh DESCRIPTION
.Nm
is a program for logging into a remote machine and for executing commands on it.
"""


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def _page(name: str, description: str, body: str = "") -> str:
    return f".TH X 1\n.SH NAME\n{name} \\- {description}\n.SH DESCRIPTION\n{body}\n"


def write_tree(root: str) -> Dict[str, str]:
    """A man tree with every case the generator handles; returns {case: relative path}."""
    pages: Dict[str, Tuple[str, bool]] = {
        "man1/ls.1.gz": (LS_PAGE, True),
        "man2/open.2": (OPEN_PAGE, False),
        "man2/creat.2.gz": (".so man2/open.2\n", True),
        "man3/printf.3.gz": (PRINTF_PAGE, True),
        "man1/ssh.1": (MDOC_PAGE, False),
        # the same NAME line twice (case and spacing differ): one example
        "man3/strlen.3": (_page("strlen", "calculate the length of a string"), False),
        "man3/strlen-copy.3": (_page("STRLEN", "calculate  the length of a string"), False),
        # the same text in two sections: no example at all
        "man1/kill.1": (_page("kill", "send a signal to a process"), False),
        "man2/kill.2": (_page("kill", "send a signal to a process"), False),
        # a section with no label, and a page with no NAME line
        "man4/null.4": (_page("null, zero", "data sink"), False),
        "man7/broken.7": (".TH BROKEN 7\n.SH DESCRIPTION\nNo name section here.\n", False),
    }
    # pages that share a description: the split keeps them together
    for i in range(6):
        pages[f"man3/shared{i}.3"] = (_page(f"shared_fn{i}", "shared description of a function family"), False)
    # enough distinct pages per labelled section for both splits to hold examples
    for section in SECTION_LABELS:
        for i, word in enumerate(WORDS):
            body = f"The {word} tool of section {section} does its job number {i} with care."
            pages[f"man{section}/{word}{section}.{section}"] = (_page(f"{word}{section}", f"{word} thing number {i} of section {section}", body), False)
    for rel, (text, compress) in pages.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode("utf-8")
        with open(path, "wb") as f:
            f.write(gzip.compress(data, mtime=0) if compress else data)
    os.symlink("ls.1.gz", os.path.join(root, "man1", "dir.1.gz"))
    return {rel: rel for rel in pages}


def read_jsonl(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture
def tree(tmp_path) -> str:
    root = str(tmp_path / "man")
    write_tree(root)
    return root


def build(tree: str, out: str, **kwargs) -> dict:
    kwargs.setdefault("eval_fraction", 0.3)
    return build_dataset(out, page_files_from_folder(tree), **kwargs)


# --- roff ---


def test_unescape_turns_roff_escapes_into_plain_text():
    assert unescape(r"\fBls\fR \- list") == "ls - list"
    assert unescape(r"a \(em b \[em] c \(en d") == "a \u2014 b \u2014 c \u2013 d"
    assert unescape(r"\(lqquoted\(rq and it\*(Aqs \(aqhere\(aq") == "\"quoted\" and it's 'here'"
    assert unescape(r"""pod2man \*(L"quotes\*(R" and \*(C`code\*(C' in \*(C+""") == 'pod2man "quotes" and "code" in C++'
    assert unescape(r"caf\[u00E9] \e \&. \s-1SMALL\s0 \f(CWmono\fP \f[B]bold\f[]") == "caf\u00e9 \\ . SMALL mono bold"
    assert unescape(r"a\ b\~c \[unknown-name]d\*[unknown]e") == "a b c de"


def test_name_line_of_man_and_mdoc_pages():
    assert name_line(LS_PAGE) == ("ls", "list directory contents")
    assert name_line(OPEN_PAGE) == ("open, openat, creat", "open and possibly create a file")
    # separator as \(em, names over two lines with a trailing comma, escapes in the description
    assert name_line(PRINTF_PAGE) == ("printf, fprintf, sprintf", "formatted output \"conversion\" of the caller's data")
    assert name_line(MDOC_PAGE) == ("ssh", "OpenSSH remote login client")
    assert name_line(".TH X 1\n.SH DESCRIPTION\nno name\n") is None
    assert name_line(".TH X 1\n.SH NAME\nnothing to split here\n") is None


def test_so_target_finds_link_pages_only():
    assert so_target(".so man2/open.2\n") == "man2/open.2"
    assert so_target('.\\" a comment first\n.so man3/printf.3\n') == "man3/printf.3"
    assert so_target(OPEN_PAGE) is None


def test_body_paragraphs_leave_out_code_definitions_conditionals_and_skipped_sections():
    paragraphs = body_paragraphs(LS_PAGE, ("NAME", "SYNOPSIS", "SEE ALSO"))
    assert paragraphs == [
        "List information about the files in the current directory by default. Entries are sorted "
        "alphabetically if none of -cftuvSUX nor --sort is given.",
        "-a, --all",  # a .TP tag is a paragraph of its own
        "do not ignore entries starting with a dot.",
        "An example:",
        "The exit status is zero when all went well.",
    ]
    assert body_paragraphs(OPEN_PAGE, ("NAME",))[0].startswith("The open() system call opens")


# --- the generator over a folder of pages ---


def test_examples_labels_dedup_and_skipped_pages(tree, tmp_path):
    manifest = build(tree, str(tmp_path / "out"))
    rows = read_jsonl(str(tmp_path / "out" / "train.jsonl")) + read_jsonl(str(tmp_path / "out" / "eval.jsonl"))
    by_text = {row["text"]: row["label"] for row in rows}
    assert len(by_text) == len(rows), "a text appears once over both splits"
    assert set(rows[0]) == {"text", "label"}
    assert by_text["ls - list directory contents"] == "user_command"
    assert by_text["open, openat, creat - open and possibly create a file"] == "system_call"
    assert by_text["printf, fprintf, sprintf - formatted output \"conversion\" of the caller's data"] == "library_function"
    assert by_text["ssh - OpenSSH remote login client"] == "user_command"
    assert by_text["alpha5 - alpha thing number 0 of section 5"] == "file_format"
    assert by_text["alpha7 - alpha thing number 0 of section 7"] == "overview"
    assert by_text["alpha8 - alpha thing number 0 of section 8"] == "admin_command"
    assert len([t for t in by_text if t.lower().startswith("strlen - calculate")]) == 1
    assert not [t for t in by_text if t.startswith(("kill", "null", "creat -", "dir -"))]
    assert not [t for t in by_text if "\\" in t]
    assert len(rows) == 4 + 1 + 6 + 6 * 10
    assert manifest["pages"] == {"listed": 78, "read": 75, "so_link": 1, "symlink": 1, "no_name_line": 1}
    assert manifest["dropped"] == {"conflicting_labels": 2, "duplicates": 1, "section_4_unlabelled": 1}


def test_pages_sharing_a_description_share_a_split_and_the_split_follows_the_seeded_hash(tree, tmp_path):
    out = tmp_path / "out"
    build(tree, str(out), seed=5)
    splits = {name: read_jsonl(str(out / f"{name}.jsonl")) for name in ("train", "eval")}
    assert splits["train"] and splits["eval"]
    shared = {name for name, rows in splits.items() for row in rows if row["text"].startswith("shared_fn")}
    assert len(shared) == 1
    assert sum(row["text"].startswith("shared_fn") for rows in splits.values() for row in rows) == 6
    for name, rows in splits.items():
        for row in rows:
            description = row["text"].split(" - ", 1)[1]
            assert split_of(manpages.description_key(description), 5, 0.3) == name


def test_split_of_puts_about_the_fraction_in_eval_and_depends_on_the_seed():
    keys = [f"description number {i}" for i in range(4000)]
    share = sum(split_of(k, 1234, 0.2) == "eval" for k in keys) / len(keys)
    assert 0.17 < share < 0.23
    assert [split_of(k, 1, 0.2) for k in keys] != [split_of(k, 2, 0.2) for k in keys]


def test_same_pages_and_seed_give_identical_files(tree, tmp_path):
    build(tree, str(tmp_path / "a"), seed=9)
    build(tree, str(tmp_path / "b"), seed=9)
    build(tree, str(tmp_path / "c"), seed=10)
    for name in ("train.jsonl", "eval.jsonl", "unlabeled.txt", "manifest.json", "DATASET.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "eval.jsonl").read_bytes() != (tmp_path / "c" / "eval.jsonl").read_bytes()


def test_corpus_holds_prose_of_train_pages_only_deduplicated(tree, tmp_path):
    out = tmp_path / "out"
    build(tree, str(out))
    corpus = (out / "unlabeled.txt").read_text(encoding="utf-8").splitlines()
    eval_texts = [row["text"] for row in read_jsonl(str(out / "eval.jsonl"))]
    assert len(corpus) == len(set(corpus))
    assert not [line for line in corpus if re.search(r"\\[fs(*]", line)]
    assert not [line for line in corpus if "leak" in line or "code is no prose" in line or "web site" in line]
    seen = {"train": 0, "eval": 0}
    for word in WORDS:
        for section in SECTION_LABELS:
            in_eval = any(t.startswith(f"{word}{section} -") for t in eval_texts)
            seen["eval" if in_eval else "train"] += 1
            in_corpus = any(line.startswith(f"The {word} tool of section {section} does its job number") for line in corpus)
            assert in_corpus is not in_eval, (word, section)
    assert seen["train"] and seen["eval"]
    if not any(t.startswith("ls -") for t in eval_texts):
        assert "The exit status is zero when all went well." in corpus
        assert "do not ignore entries starting with a dot." in corpus


def test_corpus_is_cut_at_max_bytes(tree, tmp_path):
    manifest = build(tree, str(tmp_path / "out"), max_corpus_bytes=300)
    assert 0 < os.path.getsize(tmp_path / "out" / "unlabeled.txt") <= 300
    assert manifest["corpus"]["cut_by_max_bytes"] > 0


def test_manifest_and_dataset_md_give_counts_and_hashes(tree, tmp_path):
    manifest = build(tree, str(tmp_path / "out"))
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["examples"]["train"]["total"] == len(read_jsonl(str(tmp_path / "out" / "train.jsonl")))
    md = (tmp_path / "out" / "DATASET.md").read_text()
    assert manifest["files"]["eval.jsonl"]["sha256"] in md
    assert "| user_command | section 1 |" in md


def test_cli_refuses_a_missing_folder_and_a_bad_fraction(tmp_path, caplog):
    assert manpages.main(["--out", str(tmp_path / "o"), "--from-dir", str(tmp_path / "nowhere")]) == 2
    assert "nowhere is not a folder" in caplog.text
    (tmp_path / "empty" / "man1").mkdir(parents=True)
    assert manpages.main(["--out", str(tmp_path / "o"), "--from-dir", str(tmp_path / "empty")]) == 2
    with pytest.raises(InvalidInputError, match="eval-fraction"):
        build_dataset(str(tmp_path / "o"), [], eval_fraction=1.5)


def test_an_out_that_is_a_file_or_unwritable_is_refused_before_the_pages_are_read(tmp_path, caplog):
    taken = tmp_path / "taken"
    taken.write_text("kept\n")
    root = tmp_path / "man"
    (root / "man1").mkdir(parents=True)
    (root / "man1" / "one.1").write_text(_page("one", "the only page"))
    assert manpages.main(["--out", str(taken), "--from-dir", str(root)]) == 2
    assert "is a file, not a folder" in caplog.text and taken.read_text() == "kept\n"
    # Refused before reading: the single page would otherwise fail as "no eval examples".
    assert "no eval examples" not in caplog.text and "no train examples" not in caplog.text
    with pytest.raises(InvalidInputError, match="--out /proc/distillery-man cannot be written"):
        build_dataset("/proc/distillery-man", page_files_from_folder(str(root)))


def test_no_eval_examples_is_bad_input_naming_the_counts(tmp_path):
    root = tmp_path / "man"
    (root / "man1").mkdir(parents=True)
    (root / "man1" / "one.1").write_text(_page("one", "the only page"))
    with pytest.raises(InvalidInputError, match=r"no (train|eval) examples: 1 pages listed, 1 read"):
        build_dataset(str(tmp_path / "out"), page_files_from_folder(str(root)))


def test_build_teacher_writes_vocab_and_a_random_6_layer_teacher_without_head(tree, tmp_path):
    out = str(tmp_path / "out")
    build(tree, out)
    teacher = tmp_path / "teachers" / "manpages-6l"
    teacher.mkdir(parents=True)
    (teacher / "pytorch_model.bin").write_bytes(b"stale")
    (teacher / "config.json").write_text("{}")
    vocab = build_teacher(out, str(teacher), vocab_size=300)
    tokens = open(vocab, encoding="utf-8").read().split("\n")
    assert tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    config = json.loads((teacher / "config.json").read_text())
    shape = {k: config[k] for k in ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "max_position_embeddings")}
    assert shape == {"num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 6, "intermediate_size": 1536, "max_position_embeddings": 512}
    assert sorted(config["id2label"].values()) == sorted(SECTION_LABELS.values())
    assert not (teacher / "pytorch_model.bin").exists(), "a stale checkpoint file would be loaded with the new one"
    from distillery_trainer.safetensors_io import load_file

    names = set(load_file(str(teacher / "model.safetensors"))[0])
    assert "bert.encoder.layer.5.output.dense.weight" in names and "bert.encoder.layer.6.output.dense.weight" not in names
    assert not [n for n in names if n.startswith("classifier")]


def test_build_teacher_leaves_a_folder_that_is_no_checkpoint_alone(tree, tmp_path):
    out = str(tmp_path / "out")
    build(tree, out)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match="no config.json"):
        build_teacher(out, str(tmp_path / "mine"), vocab_size=300)
    assert (tmp_path / "mine" / "notes.txt").exists()


# --- the real packages ---


def test_install_script_installs_every_package_the_dataset_reads():
    with open(os.path.join(REPO_ROOT, "scripts", "install-system-deps.sh"), encoding="utf-8") as f:
        script = f.read()
    listed = re.search(r"manpage_packages=\(([^)]*)\)", script)
    assert listed is not None
    assert sorted(listed.group(1).split()) == sorted(PACKAGES)


def _missing_packages() -> List[str]:
    if shutil.which("dpkg-query") is None:
        return ["dpkg"]
    missing = []
    for name in PACKAGES:
        status = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", name], capture_output=True, text=True)
        if not status.stdout.startswith("ii"):
            missing.append(name)
    return missing


def test_real_packages_give_at_least_2000_examples_over_4_labels(tmp_path):
    missing = _missing_packages()
    if missing:
        pytest.skip(f"Debian packages not installed: {', '.join(missing)} (bash scripts/install-system-deps.sh installs them)")
    files, packages = manpages.page_files_from_packages(PACKAGES)
    absent = sum(not os.path.lexists(f.path) for f in files)
    if absent > len(files) // 2:
        pytest.skip(f"{absent} of the packages' {len(files)} pages are not on disk (a dpkg path-exclude of /usr/share/man?)")
    manifest = build_dataset(str(tmp_path / "out"), files, packages, max_corpus_bytes=200_000)
    total = manifest["examples"]["train"]["total"] + manifest["examples"]["eval"]["total"]
    labels = {label for split in ("train", "eval") for label, n in manifest["examples"][split]["by_label"].items() if n > 0}
    assert total >= 2000, manifest["examples"]
    assert len(labels) >= 4, labels
    assert [p["version"] for p in manifest["packages"]] and all(p["version"] for p in manifest["packages"])
