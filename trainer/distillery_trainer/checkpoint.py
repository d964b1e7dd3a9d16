"""Hugging Face checkpoint folders: config.json, vocab.txt / tokenizer.json, model weights.

Weights come from model.safetensors (our own reader) or pytorch_model.bin, which is only ever
opened with torch.load(weights_only=True): a checkpoint is data, never code.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch

from . import safetensors_io
from .errors import InvalidInputError
from .modeling import BertConfig, BertForDistillation, task_head_prefixes
from .tokenization import WordPieceTokenizer

log = logging.getLogger(__name__)

# Tensors HF checkpoints carry that this model derives or does not use.
_IGNORED_PREFIXES = ("cls.seq_relationship.", "cls.predictions.decoder.weight")
_IGNORED_KEYS = ("bert.embeddings.position_ids",)


def load_torch_file(path: str) -> object:
    """torch.load restricted to tensors and plain containers (no pickled code)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise InvalidInputError(f"cannot load {os.path.basename(path)}: {str(exc).splitlines()[0]}", file=path) from exc
    except Exception as exc:  # the weights-only unpickler raises UnpicklingError for code objects
        raise InvalidInputError(f"refused to load {os.path.basename(path)} (not plain tensors): {exc}", file=path) from exc


def normalize_state_keys(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Maps older/bare HF naming (no "bert." prefix, LayerNorm gamma/beta) onto ours."""
    out: Dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if key.startswith("module."):
            key = key[len("module.") :]
        if key.startswith(("embeddings.", "encoder.", "pooler.")):
            key = "bert." + key
        if key.endswith(".gamma"):
            key = key[: -len(".gamma")] + ".weight"
        elif key.endswith(".beta"):
            key = key[: -len(".beta")] + ".bias"
        if key == "cls.predictions.decoder.bias":
            # Some exports store the MLM output bias only here; it is the same tensor.
            out.setdefault("cls.predictions.bias", value)
            continue
        out[key] = value
    return out


@dataclass
class Checkpoint:
    path: str
    config: BertConfig
    tokenizer: WordPieceTokenizer
    tensors: Dict[str, torch.Tensor]
    weights_file: str

    def has_task_head(self, task: str) -> bool:
        prefixes = task_head_prefixes(task)
        return bool(prefixes) and any(k.startswith(prefixes) for k in self.tensors)

    @property
    def has_mlm_head(self) -> bool:
        return "cls.predictions.transform.dense.weight" in self.tensors


def read_tokenizer(directory: str) -> WordPieceTokenizer:
    tok_json = os.path.join(directory, "tokenizer.json")
    vocab_txt = os.path.join(directory, "vocab.txt")
    if os.path.exists(tok_json):
        return WordPieceTokenizer.from_tokenizer_json(tok_json)
    if os.path.exists(vocab_txt):
        lowercase = True
        cfg_path = os.path.join(directory, "tokenizer_config.json")
        if os.path.exists(cfg_path):
            try:
                with open(cfg_path, encoding="utf-8") as f:
                    cfg = json.load(f)
                lowercase = bool(cfg.get("do_lower_case", True))
            except (OSError, ValueError) as exc:
                raise InvalidInputError(f"cannot read tokenizer_config.json: {exc}", file=cfg_path) from exc
        return WordPieceTokenizer.from_vocab_file(vocab_txt, lowercase=lowercase)
    raise InvalidInputError("checkpoint has neither tokenizer.json nor vocab.txt", file=directory)


def read_checkpoint(directory: str) -> Checkpoint:
    if not os.path.isdir(directory):
        raise InvalidInputError("checkpoint folder does not exist", file=directory)
    config_path = os.path.join(directory, "config.json")
    try:
        with open(config_path, encoding="utf-8") as f:
            config = BertConfig.from_hf_dict(json.load(f), source=config_path)
    except OSError as exc:
        raise InvalidInputError(f"cannot read config.json: {exc.strerror}", file=config_path) from exc
    except ValueError as exc:
        raise InvalidInputError(f"config.json is not valid JSON: {exc}", file=config_path) from exc
    tokenizer = read_tokenizer(directory)
    if len(tokenizer.id_to_token) != config.vocab_size:
        raise InvalidInputError(
            f"vocabulary has {len(tokenizer.id_to_token)} tokens but config vocab_size is {config.vocab_size}",
            file=directory,
        )
    st_path = os.path.join(directory, "model.safetensors")
    bin_path = os.path.join(directory, "pytorch_model.bin")
    if os.path.exists(st_path):
        tensors, _ = safetensors_io.load_file(st_path)
        weights_file = st_path
    elif os.path.exists(bin_path):
        loaded = load_torch_file(bin_path)
        if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
            raise InvalidInputError("pytorch_model.bin is not a flat dict of tensors", file=bin_path)
        tensors, weights_file = dict(loaded), bin_path
    else:
        raise InvalidInputError("checkpoint has neither model.safetensors nor pytorch_model.bin", file=directory)
    return Checkpoint(directory, config, tokenizer, normalize_state_keys(tensors), weights_file)


def load_weights(
    model: torch.nn.Module, tensors: Dict[str, torch.Tensor], source: str, *, optional_prefixes: tuple = ()
) -> List[str]:
    """Copies tensors into model; a missing or mis-shaped tensor is bad input naming it.

    optional_prefixes: parameters that may be absent (kept at their initialization), e.g. a task
    head the teacher is about to be fine-tuned for. Returns the names that were absent.
    """
    expected = model.state_dict()
    absent: List[str] = []
    with torch.no_grad():
        for name, target in expected.items():
            value = tensors.get(name)
            if value is None:
                if name.startswith(optional_prefixes):
                    absent.append(name)
                    continue
                raise InvalidInputError(f"checkpoint lacks tensor {name}", file=source, tensor=name)
            if tuple(value.shape) != tuple(target.shape):
                raise InvalidInputError(
                    f"tensor {name} has shape {list(value.shape)}, expected {list(target.shape)}",
                    file=source,
                    tensor=name,
                )
            if not (value.is_floating_point() or target.dtype == value.dtype):
                raise InvalidInputError(f"tensor {name} has dtype {value.dtype}, expected {target.dtype}", file=source, tensor=name)
            target.copy_(value.to(target.dtype))
    unused = sorted(
        k for k in tensors if k not in expected and not k.startswith(_IGNORED_PREFIXES) and k not in _IGNORED_KEYS
    )
    if unused:
        log.info("ignoring %d tensors not used by this model (e.g. %s)", len(unused), unused[0])
    return absent


def build_from_checkpoint(
    ckpt: Checkpoint, task: str, *, id2label: Optional[Dict[int, str]] = None, with_mlm_head: bool = False
) -> BertForDistillation:
    """Model of the checkpoint's shape; the task head is loaded when present, else freshly initialized."""
    config = BertConfig(**{**ckpt.config.__dict__})
    if task == "classification":
        config.id2label = dict(id2label if id2label is not None else ckpt.config.id2label)
    model = BertForDistillation(config, task, with_mlm_head=with_mlm_head and ckpt.has_mlm_head)
    load_weights(model, ckpt.tensors, ckpt.weights_file, optional_prefixes=task_head_prefixes(task))
    return model


def model_tensors(model: BertForDistillation) -> Dict[str, torch.Tensor]:
    """The float weights of model in HF names (QAT observer buffers and derived buffers excluded)."""
    names = {n for n, _ in model.named_parameters()}
    return {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items() if k in names}


def save_checkpoint(model: BertForDistillation, tokenizer: WordPieceTokenizer, directory: str,
                    *, with_task_head: bool = True) -> None:
    """Writes a Hugging Face checkpoint folder. `with_task_head=False` leaves classifier /
    qa_outputs out, as a pre-trained (not fine-tuned) checkpoint has none, so that
    teacher_finetune "auto" sees it as untrained."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
        json.dump(model.config.to_hf_dict(model.task), f, indent=2, ensure_ascii=False)
    tokenizer.save(directory)
    tensors = model_tensors(model)
    if not with_task_head:
        head = task_head_prefixes(model.task)
        tensors = {k: v for k, v in tensors.items() if not (head and k.startswith(head))}
    safetensors_io.save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
