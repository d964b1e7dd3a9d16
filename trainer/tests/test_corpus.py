"""The pre-training corpus: cleaning rules, packing, dedup, the readers' markup stripping,
balancing, determinism, the manifest and the CLI's refusals."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from typing import Dict, List, Sequence

import pytest
from conftest import REPO_ROOT

from distillery_trainer.datasets import corpus
from distillery_trainer.datasets.corpus import CORPUS_PACKAGES, Source, build_from_packages, source_budgets
from distillery_trainer.datasets.corpus_clean import Deduplicator, clean_segments, pack, segment_verdict
from distillery_trainer.datasets.corpus_sources import foldoc_entry, gcide_entry, html_paragraphs, wordnet_line
from distillery_trainer.datasets.debian import InstalledPackage
from distillery_trainer.errors import InvalidInputError

PROSE = "The scheduler takes the bucket whose head waited longest and forms a batch under the token budget of the model."


def test_prose_passes_and_each_rule_names_what_it_drops():
    assert segment_verdict(PROSE) is None
    assert segment_verdict("ls -la /tmp | grep foo; echo $HOME") == "code"
    assert segment_verdict("for (i = 0; i < n; i++) {") == "code"
    assert segment_verdict(">>> import os, sys, json") == "code"
    assert segment_verdict("name    size    owner\nfoo     12      root") == "table"
    assert segment_verdict("| a | b | c |") == "table"
    assert segment_verdict("See also") == "too_short"
    assert segment_verdict("9.5 12.0 13.1 -- 44 % 1.1 2.2 3.3 7.7") == "symbols"
    assert segment_verdict("The file /usr/share/doc/averyveryverylongpackagename/examples/configuration.txt is read.") == "long_word"
    assert segment_verdict("Der schnelle braune Fuchs springt über den faulen Hund und läuft weg, während ärger wächst.") == "non_ascii"
    assert segment_verdict("Apples oranges pears bananas grapes melons cherries plums peaches lemons.") == "not_english"
    assert segment_verdict("options list", sentences_only=True) == "too_short"
    assert segment_verdict("do not ignore entries starting with a dot and list them all", sentences_only=True) == "not_sentence"
    assert segment_verdict("do not ignore entries starting with a dot and list them all") is None


def test_clean_segments_cuts_url_sentences_and_normalises():
    counts: Counter = Counter()
    kept = clean_segments(["Cafe\u0301  menus are\n served at noon. See https://example.org/menu for more of the list of the day.",
                           "int main(void) { return 0; }"], counts)
    assert kept == ["Caf\u00e9 menus are served at noon."]
    assert counts == Counter({"url": 1, "code": 1})


def test_pack_joins_short_segments_splits_long_ones_and_drops_leftovers():
    counts: Counter = Counter()
    short = ["one two three four five six seven eight nine ten."] * 3
    passages = pack(short, counts)
    assert len(passages) == 1 and len(passages[0].split()) == 20  # two segments reach 20; the third alone is too short
    assert counts["short_passage"] == 1
    long_text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(60))  # 420 words
    long_passages = pack([long_text], Counter())
    assert len(long_passages) == 3
    assert all(20 <= len(p.split()) <= 200 for p in long_passages)
    assert all(p.endswith("words.") for p in long_passages)


def test_dedup_is_exact_after_folding_and_catches_same_first_words():
    dedup = Deduplicator()
    first = "The quick brown fox jumps over the lazy dog near the river bank today."
    assert dedup.verdict(first) is None
    assert dedup.verdict("  THE quick brown fox jumps over the lazy dog near the river bank today.") == "duplicate"
    assert dedup.verdict("The quick brown fox jumps over the lazy dog near the old mill instead.") == "near_duplicate"
    assert dedup.verdict("A quick brown fox jumps over the lazy dog near the river bank today.") is None


def test_readers_strip_their_markup():
    line = "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 000 | a member of the genus Canis; \"the dog barked\"  "
    assert wordnet_line(line) == 'dog, domestic dog, Canis familiaris: a member of the genus Canis; "the dog barked"'
    assert wordnet_line("  1 This software and database is being provided") is None
    gcide = ["Calorimeter \\Cal`o*rim\"e*ter\\, n. [L. calor heat + -meter; cf.", "F. calorim[`e]tre.]",
             "1. (Physiol.) An apparatus for measuring the amount of heat {contained} in bodies.", "[1913 Webster]"]
    assert gcide_entry(gcide) == ["Calorimeter: An apparatus for measuring the amount of heat contained in bodies."]
    foldoc = ["mailing list", "", "<messaging> An {electronic mail address} that is an alias.", "", "(1996-02-26)"]
    assert foldoc_entry(foldoc) == ["mailing list: An electronic mail address that is an alias."]
    page = ('<html><head><title>T</title></head><body><div class="sphinxsidebar"><p>Previous topic</p></div>'
            '<p>The <code>open()</code> call\n  opens a file.</p><pre><p>not prose</p></pre>'
            '<table><tr><td><p>cell</p></td></tr></table><div class="para">A DocBook paragraph.</div></body></html>')
    assert html_paragraphs(page) == ["The open() call opens a file.", "A DocBook paragraph."]


def test_budgets_fill_the_cap_and_keep_every_source_at_most_half():
    budgets = source_budgets({"big": 1000, "mid": 300, "small": 100}, max_bytes=10_000)
    assert budgets == {"big": 400, "mid": 300, "small": 100}  # big capped at the others' sum
    budgets = source_budgets({"a": 1000, "b": 1000, "c": 1000}, max_bytes=1500)
    assert budgets == {"a": 500, "b": 500, "c": 500}


# --- whole builds on hand-made sources (no packages needed) ---

SENTENCES = [
    f"Passage {i} tells how the {w} of the system reads its settings, checks them and then starts the service again."
    for i, w in enumerate(["scheduler", "worker", "server", "queue", "tokenizer", "registry", "watcher", "publisher"] * 5)
]
TEST_SOURCES = (
    Source("alpha", ("pkg-alpha",), "MIT", "hand-made prose"),
    Source("beta", ("pkg-beta",), "GPL-2+", "hand-made prose and code"),
)


def _reader(source: Source, packages: Sequence[InstalledPackage], counts: Dict[str, int], seed: int) -> List[List[str]]:
    if source.name == "alpha":
        return [SENTENCES[:20], ["x = 1; y = 2;"]]
    return [SENTENCES[20:] + SENTENCES[:2], ["Short."]]


@pytest.fixture
def fake_packages(monkeypatch):
    monkeypatch.setattr(corpus, "installed_package", lambda name: InstalledPackage(name, "1.0-1", [], ["MIT"], f"/usr/share/doc/{name}/copyright"))


def _build(out, **kwargs):
    return build_from_packages(str(out), sources=TEST_SOURCES, reader=_reader, **kwargs)


def test_two_builds_are_identical_and_the_manifest_records_sources(tmp_path, fake_packages):
    extra = tmp_path / "support.txt"
    extra.write_text("How do I reset my password?\n\n" + SENTENCES[0] + "\nHow do I reset my password?\n", encoding="utf-8")
    first = _build(tmp_path / "a", extra=[str(extra)], max_bytes=3000)
    _build(tmp_path / "b", extra=[str(extra)], max_bytes=3000)
    for name in ("corpus.txt", "corpus.json", "CORPUS.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    lines = (tmp_path / "a" / "corpus.txt").read_text(encoding="utf-8").splitlines()
    sources = {s["name"]: s for s in first["sources"]}
    assert set(sources) == {"alpha", "beta", "extra:support.txt"}
    assert sources["alpha"]["packages"][0] == {"name": "pkg-alpha", "version": "1.0-1", "licenses": ["MIT"], "copyright": "/usr/share/doc/pkg-alpha/copyright"}
    assert sources["alpha"]["license"] == "MIT" and sources["beta"]["license"] == "GPL-2+"
    assert sources["alpha"]["dropped"]["code"] == 1
    assert sources["beta"]["dropped"]["duplicate"] == 2  # its two copies of alpha's sentences
    assert sources["extra:support.txt"]["dropped"] == {"duplicate": 2}  # alpha's sentence and the repeat
    assert lines[-1] == "How do I reset my password?"  # extra lines come last
    assert sum(s["bytes"] for s in first["sources"]) == first["total"]["bytes"] == len((tmp_path / "a" / "corpus.txt").read_bytes())
    assert all(s["bytes"] <= 0.5 * (sources["alpha"]["bytes"] + sources["beta"]["bytes"]) + 200 for s in first["sources"][:2])
    assert sources["alpha"]["bytes"] + sources["beta"]["bytes"] <= 3000
    manifest = json.loads((tmp_path / "a" / "corpus.json").read_text(encoding="utf-8"))
    assert manifest["total"]["sha256"] == first["total"]["sha256"]
    assert "pkg-beta" in (tmp_path / "a" / "CORPUS.md").read_text(encoding="utf-8")


def test_bad_arguments_give_a_clear_error(tmp_path, fake_packages, caplog):
    with pytest.raises(InvalidInputError, match="--extra .*missing.txt is not a file"):
        _build(tmp_path / "out", extra=[str(tmp_path / "missing.txt")])
    with pytest.raises(InvalidInputError, match="--max-mb must be more than 0"):
        _build(tmp_path / "out", max_bytes=0)
    for cap in ("-1", "0", "1e-9", "nan", "inf", "1e400"):
        caplog.clear()
        assert corpus.main(["--out", str(tmp_path / "out"), "--max-mb", cap]) == 2, cap
        assert "--max-mb must be a number of megabytes from 1e-06 (one byte) to 1e+06" in caplog.text, cap
    assert corpus.main(["--out", str(tmp_path / "out"), "--extra", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt is not a file" in caplog.text
    assert not (tmp_path / "out").exists()


def test_an_extra_file_that_is_not_utf8_is_refused_before_any_reading(tmp_path, fake_packages, caplog):
    latin1 = tmp_path / "faq-latin1.txt"
    latin1.write_bytes("How do I pay?\nCaf\u00e9 orders ship in 3 days.\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match=r"faq-latin1.txt is not UTF-8 \(line 2, byte 4 of the line\); convert it") as raised:
        build_from_packages(str(tmp_path / "out"), sources=TEST_SOURCES, reader=_no_reading, extra=[str(latin1)])
    assert raised.value.line == 2
    assert corpus.main(["--out", str(tmp_path / "out"), "--extra", str(latin1)]) == 2
    assert "is not UTF-8" in caplog.text
    assert not (tmp_path / "out").exists()


def _no_reading(*args):
    raise AssertionError("the build read its sources before checking --out")


@pytest.mark.parametrize("kind", ["file", "unwritable", "proc"])
def test_an_out_that_cannot_take_the_corpus_is_refused_before_reading(tmp_path, fake_packages, kind):
    if kind == "file":
        out = tmp_path / "corpus.txt"
        out.write_text("a passage someone keeps\n", encoding="utf-8")
        expected = "is a file, not a folder"
    elif kind == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o500)
        out, expected = tmp_path / "ro" / "corpus", "cannot be written"
    else:
        out, expected = "/proc/distillery-corpus", "cannot be written"
    with pytest.raises(InvalidInputError, match=f"--out .* {expected}"):
        build_from_packages(str(out), sources=TEST_SOURCES, reader=_no_reading)
    if kind == "file":
        assert out.read_text(encoding="utf-8") == "a passage someone keeps\n"


def test_a_failed_write_leaves_the_previous_corpus_whole(tmp_path, fake_packages, monkeypatch):
    _build(tmp_path / "out", max_bytes=3000)
    before = (tmp_path / "out" / "corpus.txt").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        _build(tmp_path / "out", max_bytes=2000)
    assert (tmp_path / "out" / "corpus.txt").read_bytes() == before
    assert sorted(os.listdir(tmp_path / "out")) == ["CORPUS.md", "corpus.json", "corpus.txt"]  # no temporary left


def test_install_script_installs_every_package_the_corpus_reads():
    with open(os.path.join(REPO_ROOT, "scripts", "install-system-deps.sh"), encoding="utf-8") as f:
        script = f.read()
    listed = re.search(r"corpus_packages=\(([^)]*)\)", script)
    assert listed is not None
    assert sorted(listed.group(1).split()) == sorted(CORPUS_PACKAGES)
