import torch

from distillery_trainer.augment import Augmenter, load_wordnet
from distillery_trainer.data import ClassificationExample, QaAnswer, QaExample
from distillery_trainer.modeling import BertConfig, BertForDistillation


def _fake_wordnet(tmp_path) -> str:
    # The WordNet data-file layout: offset lex_filenum ss_type w_cnt(hex) word lex_id ... | gloss
    d = tmp_path / "wn"
    d.mkdir()
    (d / "data.adj").write_text(
        "  1 This software and database is being provided ...\n"
        "00001740 00 a 03 happy 0 glad(a) 0 felicitous 0 000 | enjoying well-being\n"
        "00001999 00 a 02 big 0 large 0 000 | above average in size\n"
        "00002000 00 a 02 new_york 0 apple 0 000 | multi-word lemma skipped\n"
    )
    return str(d)


def test_wordnet_parser(tmp_path):
    syn = load_wordnet(_fake_wordnet(tmp_path))
    assert syn["happy"] == ("felicitous", "glad") and syn["large"] == ("big",)
    assert "new_york" not in syn and "apple" not in syn


def test_wordnet_replacement_keeps_labels_and_qa_spans(tmp_path, tokenizer):
    aug = Augmenter(tokenizer, ["wordnet"], 1.0, seed=1, wordnet_dir=_fake_wordnet(tmp_path))
    out = aug.classification([ClassificationExample("Happy and big", None, "pos")], copies=2, max_examples=10)
    assert len(out) == 2 and all(e.label == "pos" for e in out)
    assert out[0].text.split()[0] in ("Glad", "Felicitous") and out[0].text.split()[2] == "large"
    context = "A happy dog is big."
    ex = QaExample("q1", "Is the dog happy?", context, [QaAnswer("big", context.index("big"))])
    (aug_q,) = aug.qa([ex], copies=1, max_examples=10)
    assert aug_q.question != ex.question and aug_q.context == context
    assert aug_q.context[aug_q.answers[0].start:].startswith("big") and aug_q.qid == "q1-aug1"


def test_mlm_replacement_uses_the_teacher_head(tokenizer):
    cfg = BertConfig(vocab_size=len(tokenizer.id_to_token), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    torch.manual_seed(0)
    mlm = BertForDistillation(cfg, "encoder", with_mlm_head=True).eval()
    aug = Augmenter(tokenizer, ["mlm"], 1.0, seed=3, mlm_model=mlm, wordnet_dir="/nonexistent")
    assert aug.available
    text = "great table love"
    new = aug.augment_text(text)
    assert new != text and len(new.split()) == 3
