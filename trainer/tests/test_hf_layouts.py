"""Teachers as people have them (issue #10): Hugging Face checkpoint folders written here in
transformers' exact tensor and file names (spelled out below, not taken from modeling.py), and
the label rule that binds their classifier to the data."""

import copy
import json
import logging
import os

import pytest
import torch

from conftest import BASE_SPEC, parse_events, run_cli
from distillery_trainer import checkpoint as ckpt_io
from distillery_trainer import data as data_io
from distillery_trainer import safetensors_io
from distillery_trainer.data import ClassificationExample
from distillery_trainer.errors import InvalidInputError
from distillery_trainer.labels import LabelledFile, TeacherHead, name_labels, resolve_labels
from distillery_trainer.tokenization import WordPieceTokenizer

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "Hello", "world", "World", "my", "order", "please",
         "thanks", "refund", "late", "great", "is", "the", "a", ".", ",", "!", "?", "##s"]
H, LAYERS, HEADS, INTERMEDIATE, POSITIONS = 16, 2, 2, 32, 64

SEQ_CLS, QA, MLM, PRETRAINING, TOKEN_CLS, BARE = (
    "BertForSequenceClassification", "BertForQuestionAnswering", "BertForMaskedLM", "BertForPreTraining",
    "BertForTokenClassification", "BertModel",
)


def hf_config(arch, labels=("LABEL_0", "LABEL_1", "LABEL_2"), **extra):
    """config.json as transformers' save_pretrained writes it for a small BERT."""
    return {
        "_name_or_path": "someone/tiny-bert", "architectures": [arch], "model_type": "bert",
        "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "gradient_checkpointing": False,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE, "layer_norm_eps": 1e-12, "max_position_embeddings": POSITIONS,
        "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "pad_token_id": 0,
        "position_embedding_type": "absolute", "torch_dtype": "float32", "transformers_version": "4.41.2",
        "type_vocab_size": 2, "use_cache": True, "vocab_size": len(VOCAB),
        "id2label": {str(i): name for i, name in enumerate(labels)}, "label2id": {name: i for i, name in enumerate(labels)},
        **extra,
    }


def hf_tensors(arch, *, rows=3, gamma_beta=False, seed=11):
    """The state_dict of transformers' class `arch` (its tensor names exactly, random values)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    prefix = "" if arch == BARE else "bert."
    ln_weight, ln_bias = ("gamma", "beta") if gamma_beta else ("weight", "bias")

    def rand(*shape):
        return torch.randn(*shape, generator=gen) * 0.05

    def linear(name, rows_, cols):
        out[f"{name}.weight"], out[f"{name}.bias"] = rand(rows_, cols), rand(rows_)

    def norm(name, size=H):
        out[f"{name}.{ln_weight}"], out[f"{name}.{ln_bias}"] = 1 + rand(size), rand(size)

    out[prefix + "embeddings.word_embeddings.weight"] = rand(len(VOCAB), H)
    out[prefix + "embeddings.position_embeddings.weight"] = rand(POSITIONS, H)
    out[prefix + "embeddings.token_type_embeddings.weight"] = rand(2, H)
    norm(prefix + "embeddings.LayerNorm")
    for n in range(LAYERS):
        layer = f"{prefix}encoder.layer.{n}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            linear(layer + part, H, H)
        norm(layer + "attention.output.LayerNorm")
        linear(layer + "intermediate.dense", INTERMEDIATE, H)
        linear(layer + "output.dense", H, INTERMEDIATE)
        norm(layer + "output.LayerNorm")
    # add_pooling_layer=False in transformers' QA, MLM and token classification models.
    if arch in (SEQ_CLS, PRETRAINING, BARE):
        linear(prefix + "pooler.dense", H, H)
    if arch == SEQ_CLS:
        linear("classifier", rows, H)
    if arch == TOKEN_CLS:
        linear("classifier", 9, H)
    if arch == QA:
        linear("qa_outputs", 2, H)
    if arch in (MLM, PRETRAINING):
        linear("cls.predictions.transform.dense", H, H)
        norm("cls.predictions.transform.LayerNorm")
        out["cls.predictions.bias"] = rand(len(VOCAB))
        out["cls.predictions.decoder.weight"] = out[prefix + "embeddings.word_embeddings.weight"].clone()
        out["cls.predictions.decoder.bias"] = out["cls.predictions.bias"].clone()
    if arch == PRETRAINING:
        linear("cls.seq_relationship", 2, H)
    return out


def write_weights(folder, tensors, fmt):
    """One file or two shards with an index, as save_pretrained names them."""
    if fmt == "safetensors":
        safetensors_io.save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    elif fmt == "bin":
        torch.save(tensors, os.path.join(folder, "pytorch_model.bin"))
    else:
        names = sorted(tensors)
        halves = [names[: len(names) // 2], names[len(names) // 2:]]
        weight_map = {}
        for i, half in enumerate(halves, start=1):
            if fmt == "safetensors-sharded":
                shard = f"model-{i:05d}-of-00002.safetensors"
                safetensors_io.save_file({k: tensors[k] for k in half}, os.path.join(folder, shard), metadata={"format": "pt"})
            else:
                shard = f"pytorch_model-{i:05d}-of-00002.bin"
                torch.save({k: tensors[k] for k in half}, os.path.join(folder, shard))
            weight_map.update({k: shard for k in half})
        index = "model.safetensors.index.json" if fmt == "safetensors-sharded" else "pytorch_model.bin.index.json"
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        with open(os.path.join(folder, index), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)


def write_tokenizer(folder, files, lowercase=None, config_lowercase=None):
    """files: "vocab" (vocab.txt), "json" (tokenizer.json) or "both"; tokenizer_config.json only
    when config_lowercase is given."""
    if files in ("vocab", "both"):
        with open(os.path.join(folder, "vocab.txt"), "w") as f:
            f.write("\n".join(VOCAB) + "\n")
    if files in ("json", "both"):
        doc = WordPieceTokenizer(VOCAB, lowercase=bool(lowercase)).to_tokenizer_json()
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(doc, f)
    if config_lowercase is not None:
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": config_lowercase, "tokenizer_class": "BertTokenizer", "model_max_length": 512}, f)


def hf_folder(root, arch=SEQ_CLS, *, fmt="safetensors", tensors=None, config=None, tokenizer="vocab", config_lowercase=True):
    folder = str(root / f"{arch}-{fmt}-{len(list(root.iterdir()))}")
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config or hf_config(arch), f)
    write_tokenizer(folder, tokenizer, lowercase=True, config_lowercase=config_lowercase)
    write_weights(folder, tensors if tensors is not None else hf_tensors(arch), fmt)
    return folder


def assert_encoder_loaded(model, tensors, arch):
    prefix = "" if arch == BARE else "bert."
    state = model.state_dict()
    for name, value in tensors.items():
        if name.startswith((prefix + "embeddings.", prefix + "encoder.")):
            assert torch.equal(state["bert." + name[len(prefix):]], value), name


# --- layouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, task, has_head",
    [
        (SEQ_CLS, "classification", True),
        (QA, "qa", True),  # no pooler
        (QA, "classification", False),  # no pooler, no classifier: fine-tuned with fresh ones
        (PRETRAINING, "classification", False),  # pooler, MLM and NSP heads, no classifier
        (TOKEN_CLS, "classification", False),  # a per-token classifier (9 rows) is no sentence classifier
        (BARE, "qa", False),  # bare BertModel: no "bert." prefix
    ],
)
def test_each_transformers_architecture_loads(tmp_path, arch, task, has_head):
    tensors = hf_tensors(arch)
    ckpt = ckpt_io.read_checkpoint(hf_folder(tmp_path, arch, tensors=tensors))
    assert ckpt.has_task_head(task) is has_head
    model = ckpt_io.build_from_checkpoint(ckpt, task, id2label={0: "a", 1: "b", 2: "c"})
    assert_encoder_loaded(model, tensors, arch)
    head = {"classification": "classifier.weight", "qa": "qa_outputs.weight"}[task]
    assert (head in tensors and torch.equal(model.state_dict()[head], tensors[head])) is has_head
    pooler = tensors.get(("" if arch == BARE else "bert.") + "pooler.dense.weight")
    if pooler is not None:
        assert torch.equal(model.bert.pooler.dense.weight, pooler)
    elif task == "classification":  # freshly initialized, as a new classifier is
        assert model.bert.pooler.dense.weight.abs().max() > 0


def test_a_classification_checkpoint_keeps_its_head_and_labels(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS, config=hf_config(SEQ_CLS, labels=("negative", "neutral", "positive")))
    ckpt = ckpt_io.read_checkpoint(folder)
    head = ckpt.classifier_head()
    assert head.rows == 3 and head.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    model = ckpt_io.build_from_checkpoint(ckpt, "classification")
    assert model.config.labels == ["negative", "neutral", "positive"]


def test_a_masked_lm_checkpoint_without_pooler_gives_encoder_and_mlm_head(tmp_path):
    tensors = hf_tensors(MLM)
    ckpt = ckpt_io.read_checkpoint(hf_folder(tmp_path, MLM, tensors=tensors))
    assert ckpt.has_mlm_head
    model = ckpt_io.build_from_checkpoint(ckpt, "encoder", with_mlm_head=True)
    assert_encoder_loaded(model, tensors, MLM)
    assert torch.equal(model.cls.predictions.transform.dense.weight, tensors["cls.predictions.transform.dense.weight"])
    assert torch.equal(model.cls.predictions.bias, tensors["cls.predictions.bias"])


def test_old_names_gamma_beta_and_data_parallel_prefix(tmp_path):
    tensors = {"module." + k: v for k, v in hf_tensors(BARE, gamma_beta=True).items()}
    ckpt = ckpt_io.read_checkpoint(hf_folder(tmp_path, BARE, tensors=tensors, fmt="bin"))
    model = ckpt_io.build_from_checkpoint(ckpt, "qa")
    assert torch.equal(model.bert.embeddings.LayerNorm.weight, tensors["module.embeddings.LayerNorm.gamma"])
    assert torch.equal(model.bert.encoder.layer[1].output.LayerNorm.bias, tensors["module.encoder.layer.1.output.LayerNorm.beta"])


@pytest.mark.parametrize("fmt", ["safetensors", "bin", "safetensors-sharded", "bin-sharded"])
def test_single_and_sharded_weight_files(tmp_path, fmt):
    tensors = hf_tensors(SEQ_CLS)
    folder = hf_folder(tmp_path, SEQ_CLS, fmt=fmt, tensors=tensors)
    ckpt = ckpt_io.read_checkpoint(folder)
    expected = {"safetensors": "model.safetensors", "bin": "pytorch_model.bin",
                "safetensors-sharded": "model.safetensors.index.json", "bin-sharded": "pytorch_model.bin.index.json"}[fmt]
    assert ckpt.weights_file == os.path.join(folder, expected)
    assert set(ckpt.tensors) == set(tensors)
    assert all(torch.equal(ckpt.tensors[k], v) for k, v in tensors.items())
    assert_encoder_loaded(ckpt_io.build_from_checkpoint(ckpt, "classification"), tensors, SEQ_CLS)


def _rewrite_index(folder, change):
    path = os.path.join(folder, "model.safetensors.index.json")
    with open(path) as f:
        index = json.load(f)
    change(index)
    with open(path, "w") as f:
        json.dump(index, f)
    return path


def test_a_missing_shard_is_bad_input_naming_the_file(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS, fmt="safetensors-sharded")
    os.remove(os.path.join(folder, "model-00002-of-00002.safetensors"))
    with pytest.raises(InvalidInputError, match="shard model-00002-of-00002.safetensors named in model.safetensors.index.json is missing") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == os.path.join(folder, "model-00002-of-00002.safetensors")


def test_a_shard_outside_the_folder_is_refused(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS, fmt="safetensors-sharded")
    os.rename(os.path.join(folder, "model-00002-of-00002.safetensors"), str(tmp_path / "elsewhere.safetensors"))

    def point_outside(index):
        index["weight_map"] = {k: ("../elsewhere.safetensors" if v.startswith("model-00002") else v) for k, v in index["weight_map"].items()}

    index_path = _rewrite_index(folder, point_outside)
    with pytest.raises(InvalidInputError, match="'../elsewhere.safetensors', which is not a file in the checkpoint folder") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == index_path


def test_an_index_without_weight_map_or_with_a_tensor_its_shard_lacks(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS, fmt="safetensors-sharded")
    index_path = _rewrite_index(folder, lambda index: index.pop("weight_map"))
    with pytest.raises(InvalidInputError, match="weight_map") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == index_path

    folder = hf_folder(tmp_path, SEQ_CLS, fmt="safetensors-sharded")
    _rewrite_index(folder, lambda index: index["weight_map"].update({"bert.pooler.dense.weight": "model-00001-of-00002.safetensors"}))
    with pytest.raises(InvalidInputError, match="places bert.pooler.dense.weight in model-00001-of-00002.safetensors") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.tensor == "bert.pooler.dense.weight"


def test_weights_of_another_framework_say_how_to_convert(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS)
    os.remove(os.path.join(folder, "model.safetensors"))
    open(os.path.join(folder, "tf_model.h5"), "wb").close()
    with pytest.raises(InvalidInputError, match=r"has tf_model.h5 \(TensorFlow 2\).*from_tf=True") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == folder


def test_a_non_bert_config_is_bad_input_naming_it(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS, config={**hf_config(SEQ_CLS), "model_type": "roberta"})
    with pytest.raises(InvalidInputError, match="model_type 'roberta' is not supported") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == os.path.join(folder, "config.json")


def test_unknown_tensors_are_ignored_with_one_warning_naming_them(tmp_path, caplog):
    tensors = hf_tensors(PRETRAINING)  # cls.* heads: known, only unused
    tensors["bert.embeddings.position_ids"] = torch.arange(POSITIONS).unsqueeze(0)  # transformers < 4.31
    tensors["qa_outputs.weight"] = torch.zeros(2, H)  # another task's head: known
    unknown = sorted(["bert.encoder.layer.2.output.dense.weight", "bert.encoder.layer.0.attention.self.rotary.inv_freq",
                      "lm_head.weight", "roberta.pooler.dense.bias", "teacher.proj.weight", "teacher.proj.bias", "zz.scale"])
    tensors.update({name: torch.zeros(2) for name in unknown})
    with caplog.at_level(logging.INFO, logger="distillery_trainer"):
        ckpt = ckpt_io.read_checkpoint(hf_folder(tmp_path, PRETRAINING, tensors=tensors))
        ckpt_io.build_from_checkpoint(ckpt, "classification", id2label={0: "a", 1: "b"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert f"ignoring 7 tensors of {ckpt.weights_file}" in warnings[0]
    assert warnings[0].endswith(", ".join(unknown[:5]) + " and 2 more")
    for known in ("seq_relationship", "qa_outputs", "position_ids", "cls.predictions"):
        assert known not in warnings[0]


def test_a_missing_required_tensor_still_fails_naming_it(tmp_path):
    tensors = hf_tensors(QA)
    del tensors["bert.encoder.layer.1.attention.output.LayerNorm.weight"]
    ckpt = ckpt_io.read_checkpoint(hf_folder(tmp_path, QA, tensors=tensors))
    with pytest.raises(InvalidInputError, match="lacks tensor") as info:
        ckpt_io.build_from_checkpoint(ckpt, "qa")
    assert info.value.tensor == "bert.encoder.layer.1.attention.output.LayerNorm.weight"


# --- case of the vocabulary --------------------------------------------------------------------


@pytest.mark.parametrize(
    "files, json_lowercase, config_lowercase, lowercase",
    [
        ("vocab", None, False, False),  # vocab.txt + tokenizer_config.json (bert-base-cased)
        ("vocab", None, True, True),
        ("vocab", None, None, True),  # vocab.txt alone: transformers lowercases by default
        ("json", False, None, False),  # tokenizer.json alone: its normalizer decides
        ("json", True, None, True),
        ("both", True, False, False),  # tokenizer_config.json wins, as in BertTokenizerFast
    ],
)
def test_case_comes_from_tokenizer_config_or_tokenizer_json(tmp_path, files, json_lowercase, config_lowercase, lowercase):
    folder = str(tmp_path / "tok")
    os.makedirs(folder)
    write_tokenizer(folder, files, lowercase=json_lowercase, config_lowercase=config_lowercase)
    tokenizer = ckpt_io.read_tokenizer(folder)
    assert tokenizer.lowercase is lowercase
    assert tokenizer.encode("Hello world").tokens[1] == ("hello" if lowercase else "Hello")
    # What export writes for the server (outputs.write_outputs: tokenizer.save) keeps the case.
    tokenizer.save(str(tmp_path))
    with open(tmp_path / "tokenizer.json") as f:
        assert json.load(f)["normalizer"]["lowercase"] is lowercase


def test_a_capitalised_vocab_txt_without_tokenizer_config_warns(tmp_path, caplog):
    folder = str(tmp_path / "tok")
    os.makedirs(folder)
    write_tokenizer(folder, "vocab")
    with caplog.at_level(logging.WARNING, logger="distillery_trainer"):
        ckpt_io.read_tokenizer(folder)
    assert len(caplog.records) == 1 and "2 capitalised tokens (e.g. Hello, World)" in caplog.records[0].getMessage()
    assert '{"do_lower_case": false}' in caplog.records[0].getMessage()


# --- labels ------------------------------------------------------------------------------------


def examples(*labels):
    return [ClassificationExample(f"text {i}", None, label, line=i + 1) for i, label in enumerate(labels)]


def head(names=None, rows=3):
    return TeacherHead(id2label=dict(enumerate(names or [])), rows=rows, config_file="/t/config.json", weights_file="/t/model.safetensors")


GENERIC = ["LABEL_0", "LABEL_1", "LABEL_2"]


def test_integer_labels_index_the_teachers_id2label():
    train = LabelledFile("/d/train.jsonl", examples(0, 2, 1, 1))
    names = resolve_labels(None, head(["negative", "neutral", "positive"]), train)
    assert names == ["negative", "neutral", "positive"]
    assert [ex.label for ex in name_labels(train.examples, names)] == ["negative", "positive", "neutral", "neutral"]


def test_generic_teacher_names_and_string_data_need_labels_in_the_spec():
    with pytest.raises(InvalidInputError) as info:
        resolve_labels(None, head(GENERIC), LabelledFile("/d/train.jsonl", examples("refund", "refund", "late")))
    assert info.value.message == ("data label 'refund' is not one of the teacher's labels LABEL_0..LABEL_2 (config.json id2label); "
                                  "give `labels` in the spec: the 3 class names in the classifier's order")
    assert (info.value.file, info.value.line) == ("/d/train.jsonl", 1)


def test_the_spec_names_the_rows_of_a_generic_teacher():
    train = LabelledFile("/d/train.jsonl", examples("late", "refund", 2))
    with pytest.raises(InvalidInputError, match="mix integers and strings") as info:
        resolve_labels(["refund", "late", "other"], head(GENERIC), train)
    assert info.value.line == 3
    train = LabelledFile("/d/train.jsonl", examples("late", "refund", "other"))
    assert resolve_labels(["refund", "late", "other"], head(GENERIC), train) == ["refund", "late", "other"]
    # Integer data labels index the spec's names then.
    assert resolve_labels(["refund", "late", "other"], head(GENERIC), LabelledFile("/d/t", examples(2, 0))) == ["refund", "late", "other"]


def test_spec_labels_must_fit_the_teachers_classifier():
    with pytest.raises(InvalidInputError, match="labels in the spec has 2 names but the teacher's classifier has 3 rows") as info:
        resolve_labels(["a", "b"], head(GENERIC), LabelledFile("/d/t", examples("a")))
    assert (info.value.file, info.value.tensor) == ("/t/model.safetensors", "classifier.weight")
    with pytest.raises(InvalidInputError, match="puts 'positive' at position 0, but it is row 2") as info:
        resolve_labels(["positive", "neutral", "negative"], head(["negative", "neutral", "positive"]), LabelledFile("/d/t", examples("positive")))
    assert info.value.file == "/t/config.json"
    # New names for every row rename them.
    renamed = resolve_labels(["neg", "mid", "pos"], head(["negative", "neutral", "positive"]), LabelledFile("/d/t", examples("pos")))
    assert renamed == ["neg", "mid", "pos"]


def test_id2label_that_does_not_fit_the_classifier_is_bad_input_naming_config_json():
    with pytest.raises(InvalidInputError, match="config.json id2label has ids 0, 1 but the teacher's classifier") as info:
        resolve_labels(None, head(["a", "b"], rows=3), LabelledFile("/d/t", examples("a")))
    assert info.value.file == "/t/config.json"


def test_named_teacher_and_unknown_data_label():
    with pytest.raises(InvalidInputError) as info:
        resolve_labels(None, head(["negative", "neutral", "positive"]), LabelledFile("/d/t", examples("positive", "1")))
    assert info.value.message == (
        "data label '1' is not one of the teacher's labels (negative, neutral, positive; config.json id2label): use those names in "
        "the data, or give `labels` in the spec to rename the classifier's rows; integer labels index the classifier's rows: "
        'write 1, not "1"'
    )
    assert info.value.line == 2


def test_without_a_teacher_head_the_train_file_names_the_rows():
    no_head = TeacherHead(id2label={0: "LABEL_0", 1: "LABEL_1"}, rows=None)
    train = LabelledFile("/d/train.jsonl", examples("pos", "neg", "pos"))
    assert resolve_labels(None, no_head, train) == ["neg", "pos"]
    with pytest.raises(InvalidInputError, match="label 'meh' does not occur in the train file") as info:
        resolve_labels(None, no_head, train, [LabelledFile("/d/eval.jsonl", examples("neg", "meh"))])
    assert (info.value.file, info.value.line) == ("/d/eval.jsonl", 2)
    # Integers: rows 0..max, named by id2label when it covers them.
    assert resolve_labels(None, no_head, LabelledFile("/d/t", examples(0, 2, 1))) == GENERIC
    named = TeacherHead(id2label={0: "no", 1: "yes"}, rows=None)
    assert resolve_labels(None, named, LabelledFile("/d/t", examples(1, 0))) == ["no", "yes"]
    with pytest.raises(InvalidInputError, match=r"integer label 3 is not a row of the classifier: integer labels index its 2 rows \(0=no, 1=yes\)"):
        resolve_labels(None, named, LabelledFile("/d/t", examples(1, 0)), [LabelledFile("/d/e", examples(3))])


def test_data_files_take_integer_labels(tmp_path):
    path = tmp_path / "glue.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "text_pair": "c", "label": 0}\n')
    assert [ex.label for ex in data_io.load_classification(str(path))] == [1, 0]
    assert [ex.label for ex in data_io.load_classification(str(path), ["x", "y"])] == ["y", "x"]
    path.write_text('{"text": "a", "label": true}\n')
    with pytest.raises(InvalidInputError, match="must be a string .* or an integer"):
        data_io.load_classification(str(path))


# --- a whole run ---------------------------------------------------------------------------------


def test_a_run_from_a_sharded_cased_generic_teacher_serves_readable_labels_and_case(tmp_path):
    """A GLUE-style job: integer labels, a fine-tuned teacher whose id2label says LABEL_0..2, the
    spec's `labels` naming the rows; the teacher cased (tokenizer_config.json overrides its
    tokenizer.json), in two shards. The served files must carry the names and the case."""
    folder = str(tmp_path / "teacher")
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(hf_config(SEQ_CLS), f)
    write_tokenizer(folder, "json", lowercase=True, config_lowercase=False)
    write_weights(folder, hf_tensors(SEQ_CLS), "safetensors-sharded")
    texts = ["Hello , my order is late .", "thanks a great world !", "please refund my order", "Hello world ?"]
    rows = [{"text": text, "label": i % 3} for i, text in enumerate(texts * 3)]
    for name in ("train.jsonl", "eval.jsonl"):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = copy.deepcopy(BASE_SPEC)
    spec.update(
        teacher_path=folder, labels=["late", "thanks", "refund"], max_steps_per_stage=2,
        data={"train": str(tmp_path / "train.jsonl"), "eval": str(tmp_path / "eval.jsonl"), "unlabeled": None},
        student={**BASE_SPEC["student"], "layers": 1, "hidden": 8, "heads": 2, "intermediate": 16},
    )
    for stage in ("teacher_finetune", "general_distill", "augment", "qat"):
        spec["stages"][stage]["enabled"] = False
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = run_cli(["train", "--spec", str(tmp_path / "spec.json"), "--work-dir", str(tmp_path / "work")], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert parse_events(result.stdout)[-1]["type"] == "done"
    out = tmp_path / "work" / "output"
    served = json.loads((out / "config.json").read_text())
    assert served["labels"] == ["late", "thanks", "refund"] and served["do_lower_case"] is False
    assert json.loads((out / "tokenizer.json").read_text())["normalizer"]["lowercase"] is False
    assert json.loads((out / "checkpoint" / "config.json").read_text())["id2label"] == {"0": "late", "1": "thanks", "2": "refund"}
    assert json.loads((out / "training.json").read_text())["labels"] == ["late", "thanks", "refund"]


# --- damaged or hand-edited folders: bad input naming the file, never a crash ----------------


@pytest.mark.parametrize("change, message", [
    (lambda c: None, r"config.json must be a JSON object of BERT settings, got NoneType"),
    (lambda c: {**c, "id2label": ["neg", "pos"]}, r"id2label must be an object of classifier row -> label name, e\.g\. .*got list"),
    (lambda c: {**c, "id2label": {"first": "neg"}}, r"id2label key 'first' is not a row number"),
    (lambda c: {**c, "id2label": {"0": 7}}, r"id2label\['0'\] is 7, not a label name"),
    (lambda c: {**c, "type_vocab_size": "2"}, r"type_vocab_size must be a positive integer, got '2'"),
    (lambda c: {**c, "max_position_embeddings": 0}, r"max_position_embeddings must be a positive integer, got 0"),
    (lambda c: {**c, "num_hidden_layers": True}, r"num_hidden_layers must be a positive integer, got True"),
])
def test_a_config_json_of_the_wrong_form_is_bad_input_naming_it(tmp_path, change, message):
    folder = hf_folder(tmp_path, SEQ_CLS)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(change(hf_config(SEQ_CLS)), f)
    with pytest.raises(InvalidInputError, match=message) as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == os.path.join(folder, "config.json")


def test_a_weight_that_is_nan_or_infinite_is_bad_input_naming_the_tensor(tmp_path):
    tensors = hf_tensors(SEQ_CLS)
    tensors["bert.encoder.layer.1.output.dense.weight"][0, 0] = float("inf")
    ckpt = ckpt_io.read_checkpoint(hf_folder(tmp_path, SEQ_CLS, tensors=tensors))
    with pytest.raises(InvalidInputError, match="holds NaN or infinite values") as info:
        ckpt_io.build_from_checkpoint(ckpt, "classification")
    assert (info.value.tensor, info.value.file) == ("bert.encoder.layer.1.output.dense.weight", ckpt.weights_file)


def test_a_vocabulary_with_a_token_twice_or_without_cls_is_bad_input_naming_the_file(tmp_path):
    folder = hf_folder(tmp_path, SEQ_CLS)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, "w") as f:
        f.write("\n".join(VOCAB[:10] + ["hello"] + VOCAB[11:]) + "\n")
    with pytest.raises(InvalidInputError, match=r"lists 'hello' twice \(ids 5 and 10\)") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == vocab
    with open(vocab, "w") as f:
        f.write("\n".join(t if t != "[CLS]" else "[CLS2]" for t in VOCAB) + "\n")
    with pytest.raises(InvalidInputError, match=r"lacks the special token \[CLS\]") as info:
        ckpt_io.read_checkpoint(folder)
    assert info.value.file == vocab


def test_json_files_with_a_byte_order_mark_are_read_and_bad_ones_named(tmp_path):
    from distillery_trainer.json_files import read_json_file

    good = tmp_path / "config.json"
    good.write_bytes(b"\xef\xbb\xbf" + json.dumps({"hidden_size": 8}).encode())
    assert read_json_file(str(good), "config.json") == {"hidden_size": 8}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInputError, match=r"^config\.json is not valid JSON") as caught:
        read_json_file(str(bad), "config.json")
    assert caught.value.file == str(bad)
    with pytest.raises(InvalidInputError, match=r"^cannot read spec: No such file"):
        read_json_file(str(tmp_path / "missing.json"), "spec")
