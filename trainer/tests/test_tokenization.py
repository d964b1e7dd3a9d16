import json

from conftest import run_cli
from distillery_trainer.tokenization import WordPieceTokenizer, normalize, pre_tokenize
from distillery_trainer.vocab import build_vocab, count_words

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "un", "##believ", "##able", "cafe", ",", "!", "日", "本", "a", "##a"]


def test_normalization_pipeline_and_offsets():
    tok = WordPieceTokenizer(VOCAB)
    text = "Héllo,\tWORLD! Café 日本 unbelievable"
    enc = tok.encode(text)
    assert enc.tokens == ["[CLS]", "hello", ",", "world", "!", "cafe", "日", "本", "un", "##believ", "##able", "[SEP]"]
    spans = [text[s:e] for s, e in enc.offsets[1:-1]]
    assert spans == ["Héllo", ",", "WORLD", "!", "Café", "日", "本", "un", "believ", "able"]


def test_control_chars_removed_and_long_words_unknown():
    tok = WordPieceTokenizer(VOCAB)
    assert tok.encode("hel\u0000lo\u200b").tokens[1:-1] == ["hello"]
    assert tok.encode("a" * 100).ids[1:-1] != [tok.unk_id]
    assert tok.encode("a" * 101).ids[1:-1] == [tok.unk_id]


def test_special_tokens_in_text_and_pairs():
    tok = WordPieceTokenizer(VOCAB)
    enc = tok.encode("hello [MASK]", "world")
    assert enc.tokens == ["[CLS]", "hello", "[MASK]", "[SEP]", "world", "[SEP]"]
    assert enc.type_ids == [0, 0, 0, 0, 1, 1]
    assert enc.offsets[2] == (6, 12) and enc.offsets[4] == (0, 5)


def test_no_lowercase_keeps_case_and_accents():
    chars = normalize("Café", lowercase=False)
    assert "".join(c for c, _ in chars) == "Café"
    assert ["".join(c for c, _ in w) for w in pre_tokenize(normalize("a,b  c"))] == ["a", ",", "b", "c"]


def test_build_vocab_is_deterministic_and_covers_characters(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat\nthe cats sat on the mat\n")
    out1, out2 = tmp_path / "v1.txt", tmp_path / "v2.txt"
    for out in (out1, out2):
        result = run_cli(["build-vocab", "--corpus", str(corpus), "--size", "30", "--out", str(out)])
        assert result.returncode == 0, result.stderr
        done = json.loads(result.stdout.splitlines()[-1])
        assert done["type"] == "done" and done["summary"]["size"] == 30
    assert out1.read_text() == out2.read_text()
    vocab = out1.read_text().splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and len(vocab) == 30
    for ch in "thecasmo":
        assert ch in vocab and "##" + ch in vocab
    assert "the" in vocab  # the most frequent word
    tok = WordPieceTokenizer(vocab)
    assert tok.unk_id not in tok.encode("the mat cats").ids
    words = count_words([str(corpus)])
    assert build_vocab(words, 30) == vocab


def test_tokenize_command(tmp_path):
    vocab = tmp_path / "v.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    lines = [json.dumps({"text": "hello world"}), json.dumps({"text": "cafe", "text_pair": "日本"})]
    result = run_cli(["tokenize", "--vocab", str(vocab)], input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0] == {"ids": [2, 5, 6, 3], "type_ids": [0, 0, 0, 0], "offsets": [[0, 0], [0, 5], [6, 11], [0, 0]]}
    assert rows[1]["type_ids"] == [0, 0, 0, 1, 1, 1]


def _fast_path_vocab():
    """A vocabulary built from varied English so that words split into several pieces and some
    characters are unknown ([UNK] words), besides the specials."""
    words = ("the order ships within two business days refunds returns password account express standard "
             "shipping costs apply store pickup call support warranty claim under_score file.txt C++ x86_64").split()
    pieces = set()
    for w in words:
        w = w.lower()
        pieces.add(w[:3])
        pieces.update("##" + w[i:i + 2] for i in range(3, len(w), 2))
        pieces.update(ch for ch in w)
        pieces.update("##" + ch for ch in w)
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(pieces)]


def test_token_ids_fast_path_matches_tokenize():
    # token_ids takes a regex path for ASCII text (the pre-training corpora): its ids must be the
    # per-character pipeline's on every ASCII character, controls, DEL, specials and long words included.
    import random

    rng = random.Random(7)
    cases = [
        "The order ships within TWO business days.", "tab\tand\nnewline\rcr", "vt\x0bff\x0cfs\x1cus\x1fdel\x7fnul\x00",
        "under_score file.txt C++ x86_64 [MASK] [mask] [CLS]x [UNK]", "a" * 101, "a" * 100 + " b", "", "   ", "!!!???",
        "café 日本 mixed ascii and not", "express\u00a0standard", "ünïcödé",
    ]
    alphabet = [chr(c) for c in range(128)] + ["the ", "order ", "ships ", "[MASK]", "[SEP]", "under_score", "x86_64 "]
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    for lowercase in (True, False):
        tok = WordPieceTokenizer(_fast_path_vocab(), lowercase=lowercase)
        for text in cases:
            assert tok.token_ids(text) == [t.id for t in tok.tokenize(text)], repr(text)
            # The word cache answers the second time alike.
            assert tok.token_ids(text) == [t.id for t in tok.tokenize(text)], repr(text)
