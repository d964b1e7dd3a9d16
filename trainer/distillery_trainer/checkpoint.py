"""Hugging Face checkpoint folders: config.json, vocab.txt / tokenizer.json, model weights.

Accepted as transformers writes them: BertFor{SequenceClassification,QuestionAnswering,MaskedLM,
PreTraining,TokenClassification} (tensors under "bert.") or a bare BertModel (no prefix), with or
without the pooler (QA and MLM models have none), in one weight file or sharded
(weight_files.py). Tensors this BERT does not have are ignored with one warning.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional

import torch

from . import safetensors_io
from .errors import InvalidInputError
from .json_files import read_json_file
from .labels import TeacherHead
from .modeling import BertConfig, BertForDistillation, task_head_prefixes
from .tokenization import WordPieceTokenizer
from .weight_files import find_weights, read_weights
from .weight_files import load_torch_file  # noqa: F401  (re-exported: run_models, state and the tests read weights through checkpoint)

log = logging.getLogger(__name__)

# Tensors HF checkpoints carry that this model derives or does not use.
_IGNORED_PREFIXES = ("cls.seq_relationship.", "cls.predictions.decoder.weight")
_IGNORED_KEYS = ("bert.embeddings.position_ids",)
POOLER_PREFIX = "bert.pooler."
_LAYER_KEY = re.compile(r"^bert\.encoder\.layer\.(\d+)\.")
# How many unknown tensor names the warning spells out before it only counts.
_NAMED_UNKNOWN = 5


def normalize_state_keys(tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Maps older/bare HF naming (no "bert." prefix, LayerNorm gamma/beta) onto ours."""
    out: Dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if key.startswith("module."):
            key = key[len("module.") :]
        if key.startswith(("embeddings.", "encoder.", "pooler.")):  # bare BertModel
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
        """Whether the checkpoint has a trained head for task. A sequence classifier reads the
        pooled [CLS], so it counts only with the pooler it was trained on: a classifier without
        one is BertForTokenClassification's per-token head."""
        prefixes = task_head_prefixes(task)
        if not prefixes or not any(k.startswith(prefixes) for k in self.tensors):
            return False
        return task != "classification" or POOLER_PREFIX + "dense.weight" in self.tensors

    def classifier_head(self) -> TeacherHead:
        """What the labels rule (labels.resolve_labels) needs to know of this checkpoint."""
        rows = self.tensors["classifier.weight"].shape[0] if self.has_task_head("classification") else None
        return TeacherHead(
            id2label=dict(self.config.id2label), rows=rows,
            config_file=os.path.join(self.path, "config.json"), weights_file=self.weights_file,
        )

    @property
    def has_mlm_head(self) -> bool:
        return "cls.predictions.transform.dense.weight" in self.tensors


def _tokenizer_settings(directory: str) -> Dict[str, object]:
    path = os.path.join(directory, "tokenizer_config.json")
    if not os.path.exists(path):
        return {}
    settings = read_json_file(path, "tokenizer_config.json")
    if not isinstance(settings, dict):
        raise InvalidInputError("tokenizer_config.json is not a JSON object", file=path)
    return settings


def _capitalised_tokens(tokenizer: WordPieceTokenizer) -> List[str]:
    words = (t[2:] if t.startswith("##") else t for t in tokenizer.id_to_token if not (t.startswith("[") and t.endswith("]")))
    return [w for w in words if w != w.lower()]


def read_tokenizer(directory: str) -> WordPieceTokenizer:
    """The folder's WordPiece tokenizer, from tokenizer.json or else vocab.txt.

    Case: tokenizer_config.json's do_lower_case (and strip_accents) win when present, as in
    transformers' BertTokenizerFast, which rebuilds tokenizer.json's normalizer when they
    disagree; else tokenizer.json's normalizer "lowercase"; a vocab.txt alone lowercases
    (transformers' default), with a warning when its tokens are capitalised. The served
    tokenizer.json is written from the result, so a cased teacher serves cased.
    Errors: InvalidInputError naming the file (neither file, unreadable JSON, not WordPiece)."""
    settings = _tokenizer_settings(directory)
    tok_json = os.path.join(directory, "tokenizer.json")
    vocab_txt = os.path.join(directory, "vocab.txt")
    if os.path.exists(tok_json):
        tokenizer = WordPieceTokenizer.from_tokenizer_json(tok_json)
    elif os.path.exists(vocab_txt):
        tokenizer = WordPieceTokenizer.from_vocab_file(vocab_txt)
        if "do_lower_case" not in settings:
            capitalised = _capitalised_tokens(tokenizer)
            if len(capitalised) * 100 >= len(tokenizer.id_to_token):
                log.warning(
                    "vocab.txt has %d capitalised tokens (e.g. %s) but no tokenizer_config.json says do_lower_case: "
                    "lowercasing, as transformers does by default, so they never match; if the teacher is cased, "
                    "add tokenizer_config.json with {\"do_lower_case\": false}", len(capitalised), ", ".join(capitalised[:3]),
                )
    else:
        raise InvalidInputError("checkpoint has neither tokenizer.json nor vocab.txt", file=directory)
    if "do_lower_case" in settings:
        tokenizer.lowercase = bool(settings["do_lower_case"])
    if "strip_accents" in settings:
        strip = settings["strip_accents"]
        tokenizer.strip_accents = None if strip is None else bool(strip)
    return tokenizer


@functools.lru_cache(maxsize=2)
def _known_tensor_names(low_rank: bool) -> FrozenSet[str]:
    """Every tensor name a BERT of this project can have, with layer number 0."""
    tiny = BertConfig(vocab_size=8, hidden_size=2, num_hidden_layers=1, num_attention_heads=1, intermediate_size=2,
                      max_position_embeddings=2, type_vocab_size=1, ffn_rank=1 if low_rank else None, id2label={0: "x"})
    names = set(_IGNORED_KEYS)
    with torch.random.fork_rng(devices=[]):  # building the models must not move the job's random stream
        for task in ("classification", "qa"):
            names.update(BertForDistillation(tiny, task, with_mlm_head=True).state_dict())
    return frozenset(names)


def unknown_tensors(names: List[str], config: BertConfig) -> List[str]:
    """Names (after normalize_state_keys) that are no tensor of a BERT of config's shape: other
    architectures' tensors, layers beyond num_hidden_layers. HF tensors we merely do not use
    (MLM / NSP heads, another task's head, position_ids) are known. Sorted."""
    known = _known_tensor_names(config.ffn_rank is not None)
    unknown = []
    for name in names:
        match = _LAYER_KEY.match(name)
        generic = name
        if match and int(match.group(1)) < config.num_hidden_layers:
            generic = "bert.encoder.layer.0." + name[match.end():]
        if generic not in known and not name.startswith(_IGNORED_PREFIXES):
            unknown.append(name)
    return sorted(unknown)


def read_checkpoint(directory: str) -> Checkpoint:
    """Reads config.json, the tokenizer and every weight tensor (names normalized to ours).

    Errors: InvalidInputError naming the file (missing folder or files, bad JSON, a non-BERT
    model_type, vocabulary size not config's vocab_size, unreadable weights, missing shards)."""
    if not os.path.isdir(directory):
        raise InvalidInputError("checkpoint folder does not exist", file=directory)
    config_path = os.path.join(directory, "config.json")
    config = BertConfig.from_hf_dict(read_json_file(config_path, "config.json"), source=config_path)
    tokenizer = read_tokenizer(directory)
    if len(tokenizer.id_to_token) != config.vocab_size:
        raise InvalidInputError(
            f"vocabulary has {len(tokenizer.id_to_token)} tokens but config vocab_size is {config.vocab_size}",
            file=directory,
        )
    weights_file = find_weights(directory)
    tensors = normalize_state_keys(read_weights(weights_file))
    unknown = unknown_tensors(list(tensors), config)
    if unknown:
        more = f" and {len(unknown) - _NAMED_UNKNOWN} more" if len(unknown) > _NAMED_UNKNOWN else ""
        log.warning("ignoring %d tensors of %s that a BERT of this config does not have: %s%s",
                    len(unknown), weights_file, ", ".join(unknown[:_NAMED_UNKNOWN]), more)
    return Checkpoint(directory, config, tokenizer, tensors, weights_file)


def load_weights(
    model: torch.nn.Module, tensors: Dict[str, torch.Tensor], source: str, *, optional_prefixes: tuple = ()
) -> List[str]:
    """Copies tensors into model; a missing, mis-shaped or non-finite tensor is bad input naming it.

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
            # A NaN or inf weight makes every loss NaN at the first step: bad input, not a crash.
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise InvalidInputError(f"tensor {name} holds NaN or infinite values: the checkpoint is damaged (re-save or re-download it)",
                                        file=source, tensor=name)
            target.copy_(value.to(target.dtype))
    return absent


def build_from_checkpoint(
    ckpt: Checkpoint, task: str, *, id2label: Optional[Dict[int, str]] = None, with_mlm_head: bool = False
) -> BertForDistillation:
    """Model of the checkpoint's shape. The task head is loaded when the checkpoint has a trained
    one (Checkpoint.has_task_head), else freshly initialized, and so is a missing pooler (QA and
    MLM checkpoints have none). Errors: InvalidInputError naming a missing or mis-shaped tensor."""
    config = BertConfig(**{**ckpt.config.__dict__})
    if task == "classification":
        config.id2label = dict(id2label if id2label is not None else ckpt.config.id2label)
    model = BertForDistillation(config, task, with_mlm_head=with_mlm_head and ckpt.has_mlm_head)
    head = task_head_prefixes(task)
    tensors = ckpt.tensors
    if head and not ckpt.has_task_head(task):
        # e.g. a token classifier's rows: not this task's head, so not loaded into it.
        tensors = {k: v for k, v in tensors.items() if not k.startswith(head)}
    absent = load_weights(model, tensors, ckpt.weights_file, optional_prefixes=head + (POOLER_PREFIX,))
    if task == "classification" and any(name.startswith(POOLER_PREFIX) for name in absent):
        log.info("%s has no pooler (bert.pooler.*): the classification model starts with a fresh one", ckpt.weights_file)
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
        json.dump(model.config.to_hf_dict(model.task, masked_lm=model.cls is not None), f, indent=2, ensure_ascii=False)
    tokenizer.save(directory)
    tensors = model_tensors(model)
    if not with_task_head:
        head = task_head_prefixes(model.task)
        tensors = {k: v for k, v in tensors.items() if not (head and k.startswith(head))}
    safetensors_io.save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
