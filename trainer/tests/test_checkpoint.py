import json
import os

import pytest
import torch

from distillery_trainer import checkpoint as ckpt_io
from distillery_trainer import safetensors_io
from distillery_trainer.errors import InvalidInputError
from distillery_trainer.modeling import BertConfig, BertForDistillation


def _model(tokenizer, task="classification", **kw):
    cfg = BertConfig(vocab_size=len(tokenizer.id_to_token), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, id2label={0: "x", 1: "y"}, **kw)
    torch.manual_seed(3)
    return BertForDistillation(cfg, task)


def test_checkpoint_round_trip(tmp_path, tokenizer):
    model = _model(tokenizer, ffn_rank=4)
    out = str(tmp_path / "ckpt")
    ckpt_io.save_checkpoint(model, tokenizer, out)
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"]
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["id2label"] == {"0": "x", "1": "y"} and config["label2id"] == {"x": 0, "y": 1}
    assert config["ffn_rank"] == 4 and config["architectures"] == ["BertForSequenceClassification"]
    ckpt = ckpt_io.read_checkpoint(out)
    assert ckpt.has_task_head("classification") and not ckpt.has_task_head("qa")
    loaded = ckpt_io.build_from_checkpoint(ckpt, "classification")
    for (n1, p1), (n2, p2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)


def test_missing_tensor_is_bad_input_naming_it(tmp_path, tokenizer):
    model = _model(tokenizer)
    out = str(tmp_path / "ckpt")
    ckpt_io.save_checkpoint(model, tokenizer, out)
    path = os.path.join(out, "model.safetensors")
    tensors, _ = safetensors_io.load_file(path)
    del tensors["bert.encoder.layer.1.attention.self.key.weight"]
    safetensors_io.save_file(tensors, path)
    with pytest.raises(InvalidInputError) as info:
        ckpt_io.build_from_checkpoint(ckpt_io.read_checkpoint(out), "classification")
    assert info.value.tensor == "bert.encoder.layer.1.attention.self.key.weight"
    assert info.value.file == path


def test_wrong_shape_is_bad_input_naming_it(tmp_path, tokenizer):
    model = _model(tokenizer)
    out = str(tmp_path / "ckpt")
    ckpt_io.save_checkpoint(model, tokenizer, out)
    path = os.path.join(out, "model.safetensors")
    tensors, _ = safetensors_io.load_file(path)
    tensors["bert.pooler.dense.weight"] = torch.zeros(16, 15)
    safetensors_io.save_file(tensors, path)
    with pytest.raises(InvalidInputError, match="shape") as info:
        ckpt_io.build_from_checkpoint(ckpt_io.read_checkpoint(out), "classification")
    assert info.value.tensor == "bert.pooler.dense.weight"


def test_pytorch_bin_with_hf_legacy_names_loads_weights_only(tmp_path, tokenizer):
    model = _model(tokenizer)
    out = str(tmp_path / "ckpt")
    ckpt_io.save_checkpoint(model, tokenizer, out)
    os.remove(os.path.join(out, "model.safetensors"))
    # Old BERT exports: no "bert." prefix on a bare BertModel, LayerNorm gamma/beta.
    legacy = {}
    for k, v in ckpt_io.model_tensors(model).items():
        k = k[len("bert."):] if k.startswith("bert.") else k
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        legacy[k] = v
    torch.save(legacy, os.path.join(out, "pytorch_model.bin"))
    loaded = ckpt_io.build_from_checkpoint(ckpt_io.read_checkpoint(out), "classification")
    assert torch.equal(loaded.bert.embeddings.LayerNorm.weight, model.bert.embeddings.LayerNorm.weight)


def test_pickled_code_is_refused(tmp_path, tokenizer):
    model = _model(tokenizer)
    out = str(tmp_path / "ckpt")
    ckpt_io.save_checkpoint(model, tokenizer, out)
    os.remove(os.path.join(out, "model.safetensors"))
    torch.save({"weights": ckpt_io.model_tensors(model), "fn": os.getcwd}, os.path.join(out, "pytorch_model.bin"))
    with pytest.raises(InvalidInputError):
        ckpt_io.read_checkpoint(out)


def test_task_head_is_optional_only_when_asked(tmp_path, tokenizer):
    model = _model(tokenizer, task="encoder")
    out = str(tmp_path / "ckpt")
    ckpt_io.save_checkpoint(model, tokenizer, out)
    ckpt = ckpt_io.read_checkpoint(out)
    assert not ckpt.has_task_head("qa")
    qa = ckpt_io.build_from_checkpoint(ckpt, "qa")  # head initialized, encoder loaded
    assert torch.equal(qa.bert.pooler.dense.weight, model.bert.pooler.dense.weight)


def test_a_checkpoint_saved_without_its_head_reads_as_untrained(tmp_path, tokenizer):
    # init-model saves this way, so teacher_finetune "auto" fine-tunes a random teacher.
    model = _model(tokenizer)
    ckpt_io.save_checkpoint(model, tokenizer, str(tmp_path / "bare"), with_task_head=False)
    ckpt_io.save_checkpoint(model, tokenizer, str(tmp_path / "full"))
    assert not ckpt_io.read_checkpoint(str(tmp_path / "bare")).has_task_head("classification")
    assert ckpt_io.read_checkpoint(str(tmp_path / "full")).has_task_head("classification")
