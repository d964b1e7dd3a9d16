"""A BERT encoder with Hugging Face parameter names, built for distillation and ONNX export.

Parameter names match transformers' BertFor{SequenceClassification,QuestionAnswering}, so HF
checkpoints load directly and our checkpoints load in HF (except the low-rank FFN, see below).

Low-rank feed-forward (config.ffn_rank = r): the intermediate projection W (hidden x
intermediate) is factored into
    bert.encoder.layer.N.intermediate.dense_u   Linear(hidden -> r), no bias     (U, h x r)
    bert.encoder.layer.N.intermediate.dense_v   Linear(r -> intermediate), bias  (V, r x I)
instead of intermediate.dense. The output projection is unchanged.

forward() never branches on tensor values, so tracing for ONNX records the whole graph;
GELU is the exact erf form (HF's "gelu").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .errors import InvalidInputError

TASKS = ("classification", "qa", "encoder")
# Additive mask value for padded keys: large enough to zero their softmax weight, small enough
# to stay finite in fp16; the published TinyBERT code treats scores <= -100 as masked.
MASK_VALUE = -10000.0


@dataclass
class BertConfig:
    vocab_size: int
    hidden_size: int = 312
    num_hidden_layers: int = 4
    num_attention_heads: int = 12
    intermediate_size: int = 1200
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02
    ffn_rank: Optional[int] = None
    id2label: Dict[int, str] = field(default_factory=dict)
    pad_token_id: int = 0

    def validate(self, source: Optional[str] = None) -> None:
        def bad(msg: str) -> InvalidInputError:
            return InvalidInputError(msg, file=source)

        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            # bool is an int to Python, not to a config: `true` layers is a typo, not 1.
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise bad(f"config {name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise bad(f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}")
        if self.ffn_rank is not None and (not isinstance(self.ffn_rank, int) or self.ffn_rank <= 0):
            raise bad(f"ffn_rank must be a positive integer or null, got {self.ffn_rank!r}")

    @property
    def labels(self) -> List[str]:
        return [self.id2label[i] for i in sorted(self.id2label)]

    def to_hf_dict(self, task: str, *, masked_lm: bool = False) -> Dict[str, Any]:
        """transformers' config.json; an encoder with an MLM head (masked_lm) is a BertForMaskedLM."""
        encoder = "BertForMaskedLM" if masked_lm else "BertModel"
        arch = {"classification": "BertForSequenceClassification", "qa": "BertForQuestionAnswering"}.get(task, encoder)
        out: Dict[str, Any] = {
            "architectures": [arch],
            "model_type": "bert",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": "gelu",
            "hidden_dropout_prob": self.hidden_dropout_prob,
            "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "initializer_range": self.initializer_range,
            "layer_norm_eps": self.layer_norm_eps,
            "pad_token_id": self.pad_token_id,
            "position_embedding_type": "absolute",
            "ffn_rank": self.ffn_rank,
        }
        if task == "classification":
            out["id2label"] = {str(i): label for i, label in sorted(self.id2label.items())}
            out["label2id"] = {label: i for i, label in sorted(self.id2label.items())}
        return out

    @classmethod
    def from_hf_dict(cls, data: Dict[str, Any], source: Optional[str] = None) -> "BertConfig":
        """A transformers config.json's BERT fields (its defaults for absent ones).

        Errors: InvalidInputError naming source when it is not a JSON object, not BERT, or a field
        has the wrong type or value."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"config.json must be a JSON object of BERT settings, got {type(data).__name__}", file=source)
        model_type = data.get("model_type", "bert")
        if model_type != "bert":
            # Other encoders (roberta, distilbert, electra ...) name and shape their tensors differently.
            raise InvalidInputError(f"model_type {model_type!r} is not supported: the teacher must be a BERT checkpoint (model_type \"bert\")", file=source)
        if data.get("hidden_act", "gelu") not in ("gelu", "gelu_python"):
            raise InvalidInputError(f"hidden_act {data.get('hidden_act')!r} is not supported (only exact gelu)", file=source)
        if data.get("position_embedding_type", "absolute") != "absolute":
            raise InvalidInputError("only absolute position embeddings are supported", file=source)
        id2label = _read_id2label(data.get("id2label"), source)
        try:
            config = cls(
                vocab_size=data["vocab_size"],
                hidden_size=data.get("hidden_size", 768),
                num_hidden_layers=data.get("num_hidden_layers", 12),
                num_attention_heads=data.get("num_attention_heads", 12),
                intermediate_size=data.get("intermediate_size", 3072),
                max_position_embeddings=data.get("max_position_embeddings", 512),
                type_vocab_size=data.get("type_vocab_size", 2),
                layer_norm_eps=float(data.get("layer_norm_eps", 1e-12)),
                hidden_dropout_prob=float(data.get("hidden_dropout_prob", 0.1)),
                attention_probs_dropout_prob=float(data.get("attention_probs_dropout_prob", 0.1)),
                initializer_range=float(data.get("initializer_range", 0.02)),
                ffn_rank=data.get("ffn_rank"),
                id2label=id2label,
                pad_token_id=int(data.get("pad_token_id", 0) or 0),
            )
        except KeyError as exc:
            raise InvalidInputError(f"config.json lacks {exc.args[0]}", file=source) from exc
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"config.json has a bad value: {exc}", file=source) from exc
        config.validate(source)
        return config


def _read_id2label(value: Any, source: Optional[str]) -> Dict[int, str]:
    """config.json's id2label, {"0": "neg", ...} as transformers writes it; absent or null: none."""
    if value is None:
        return {}
    example = 'an object of classifier row -> label name, e.g. {"0": "neg", "1": "pos"}'
    if not isinstance(value, dict):
        raise InvalidInputError(f"config.json id2label must be {example}, got {type(value).__name__}", file=source)
    out: Dict[int, str] = {}
    for key, name in value.items():
        row = int(key) if key.strip().isdigit() else None
        if row is None:
            raise InvalidInputError(f"config.json id2label key {key!r} is not a row number: id2label must be {example}", file=source)
        if not isinstance(name, str):
            raise InvalidInputError(f"config.json id2label[{key!r}] is {name!r}, not a label name: id2label must be {example}", file=source)
        out[row] = name
    return out


@dataclass
class ModelOutputs:
    """What forward() returns. Internals are filled only with output_internals=True."""

    logits: Optional[torch.Tensor] = None  # classification [B, labels]
    start_logits: Optional[torch.Tensor] = None  # qa [B, S]
    end_logits: Optional[torch.Tensor] = None
    embedding_output: Optional[torch.Tensor] = None  # [B, S, H]
    hidden_states: List[torch.Tensor] = field(default_factory=list)  # embeddings + every layer
    attention_scores: List[torch.Tensor] = field(default_factory=list)  # per layer, [B, heads, S, S]
    sequence_output: Optional[torch.Tensor] = None


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # Not persistent: HF checkpoints may or may not carry it, and it is derivable.
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).unsqueeze(0), persistent=False)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        seq_len = input_ids.size(1)
        positions = self.position_ids[:, :seq_len]
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        # Set only on an INT8 export copy (quantization.fuse_qkv_for_export): one projection
        # hidden -> 3 * hidden, so the graph quantizes the shared input once per layer.
        self.fused_qkv: Optional[nn.Module] = None

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        return x.view(b, s, self.num_heads, self.head_size).transpose(1, 2)

    def forward(self, hidden: torch.Tensor, additive_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.fused_qkv is not None:
            size = self.num_heads * self.head_size
            q, k, v = (self._heads(x) for x in self.fused_qkv(hidden).split(size, dim=-1))
        else:
            q = self._heads(self.query(hidden))
            k = self._heads(self.key(hidden))
            v = self._heads(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        scores = scores + additive_mask  # pre-softmax scores with the mask applied (distillation target)
        probs = self.dropout(torch.softmax(scores, dim=-1))
        context = torch.matmul(probs, v).transpose(1, 2).contiguous()
        b, s = context.shape[0], context.shape[1]
        return context.view(b, s, self.num_heads * self.head_size), scores


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig, in_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config, config.hidden_size)

    def forward(self, hidden: torch.Tensor, additive_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        context, scores = self.self(hidden, additive_mask)
        return self.output(context, hidden), scores


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.low_rank = config.ffn_rank is not None
        if config.ffn_rank is not None:
            self.dense_u = nn.Linear(config.hidden_size, config.ffn_rank, bias=False)
            self.dense_v = nn.Linear(config.ffn_rank, config.intermediate_size)
        else:
            self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense_v(self.dense_u(x)) if self.low_rank else self.dense(x)
        return F.gelu(x)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertSelfOutput(config, config.intermediate_size)

    def forward(self, hidden: torch.Tensor, additive_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        attended, scores = self.attention(hidden, additive_mask)
        return self.output(self.intermediate(attended), attended), scores


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(sequence[:, 0]))


class BertModel(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)


class BertLMPredictionHead(nn.Module):
    """cls.predictions.*: trained by mlm_pretrain, used by augment to propose replacement words."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        # decoder.weight is tied to the word embeddings in HF; it is not a separate parameter here.


class BertMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)


class BertForDistillation(nn.Module):
    """BERT plus the task head: classifier (pooled [CLS]) or qa_outputs (per token start/end)."""

    def __init__(self, config: BertConfig, task: str, *, with_mlm_head: bool = False) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown task {task}")
        config.validate()
        self.config = config
        self.task = task
        self.bert = BertModel(config)
        if task == "classification":
            if not config.id2label:
                raise InvalidInputError("a classification model needs at least one label")
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.classifier = nn.Linear(config.hidden_size, len(config.id2label))
        elif task == "qa":
            self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.cls: Optional[BertMLMHead] = BertMLMHead(config) if with_mlm_head else None
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        output_internals: bool = False,
    ) -> ModelOutputs:
        out = ModelOutputs()
        hidden = self.bert.embeddings(input_ids, token_type_ids)
        # [B, 1, 1, S]: 0 where attended, MASK_VALUE at padded keys.
        additive_mask = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * MASK_VALUE
        if output_internals:
            out.embedding_output = hidden
            out.hidden_states.append(hidden)
        for layer in self.bert.encoder.layer:
            hidden, scores = layer(hidden, additive_mask)
            if output_internals:
                out.hidden_states.append(hidden)
                out.attention_scores.append(scores)
        out.sequence_output = hidden
        if self.task == "classification":
            pooled = self.bert.pooler(hidden)
            out.logits = self.classifier(self.dropout(pooled))
        elif self.task == "qa":
            start_end = self.qa_outputs(hidden)
            out.start_logits = start_end[..., 0]
            out.end_logits = start_end[..., 1]
        return out

    def mlm_logits(self, sequence_output: torch.Tensor) -> torch.Tensor:
        if self.cls is None:
            raise RuntimeError("model has no MLM head")
        transform = self.cls.predictions.transform
        # Under CPU bf16 autocast (PyTorch 1.13) layer_norm is not cast to fp32 and refuses a bf16
        # input with fp32 weights; the encoder's norms get fp32 from their residual sum, this one not.
        x = transform.LayerNorm(F.gelu(transform.dense(sequence_output)).float())
        return F.linear(x, self.bert.embeddings.word_embeddings.weight, self.cls.predictions.bias)

    def encoder_parameter_count(self) -> int:
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("cls."))


class OnnxExportWrapper(nn.Module):
    """Returns plain tensors (logits, or start/end logits) so torch.onnx.export can name them."""

    def __init__(self, model: BertForDistillation) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor):  # type: ignore[override]
        out = self.model(input_ids, attention_mask, token_type_ids)
        if self.model.task == "qa":
            return out.start_logits, out.end_logits
        return out.logits


def task_head_prefixes(task: str) -> Tuple[str, ...]:
    return {"classification": ("classifier.",), "qa": ("qa_outputs.",)}.get(task, ())
