"""Masked-LM pre-training's pieces: BERT's token masking, the loss at the masked positions and
the held-out evaluation (Devlin et al. 2019, "BERT", section 3.1 and appendix A.1).

Masking is drawn from a generator seeded by (seed, step) alone, never from the global random
state, so a run resumed at step k masks step k's batch exactly as the uninterrupted run did.
"""

from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F

from .features import Feature
from .loop import iterate_batches
from .modeling import BertForDistillation
from .tokenization import SPECIAL_TOKENS, WordPieceTokenizer

# Label of a position the loss ignores (torch's cross_entropy ignore_index default).
IGNORE = -100
# BERT's split of the chosen positions: 80 % [MASK], 10 % a random token, 10 % left as they are.
MASK_SHARE, RANDOM_SHARE = 0.8, 0.1


class TokenMasker:
    """Chooses each maskable token with probability mask_prob and replaces it as BERT does.

    Maskable: every token but the tokenizer's special ones ([PAD], [UNK], [CLS], [SEP], [MASK]);
    random replacements are drawn uniformly from the non-special vocabulary."""

    def __init__(self, tokenizer: WordPieceTokenizer, mask_prob: float) -> None:
        if tokenizer.mask_id is None:
            raise ValueError("the vocabulary has no [MASK] token")
        self.mask_id, self.mask_prob = tokenizer.mask_id, mask_prob
        special = sorted({tokenizer.vocab[t] for t in SPECIAL_TOKENS if t in tokenizer.vocab})
        self.special = torch.tensor(special, dtype=torch.long)
        is_special = torch.zeros(len(tokenizer.id_to_token), dtype=torch.bool)
        is_special[self.special] = True
        self.replacements = torch.nonzero(~is_special).flatten()

    def __call__(self, input_ids: torch.Tensor, generator: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
        """(masked input ids, labels) for input_ids [batch, seq] (on the CPU): labels hold the
        original id at chosen positions and IGNORE elsewhere. At least one position of the batch
        is chosen when any is maskable, so the loss is never a mean over nothing."""
        maskable = ~torch.isin(input_ids, self.special)
        draws = torch.rand(input_ids.shape, generator=generator)
        chosen = maskable & (draws < self.mask_prob)
        if not bool(chosen.any()) and bool(maskable.any()):
            chosen.view(-1)[int(torch.nonzero(maskable.view(-1))[0])] = True
        how = torch.rand(input_ids.shape, generator=generator)
        random_ids = self.replacements[torch.randint(len(self.replacements), input_ids.shape, generator=generator)]
        masked = input_ids.clone()
        masked[chosen & (how < MASK_SHARE)] = self.mask_id
        use_random = chosen & (how >= MASK_SHARE) & (how < MASK_SHARE + RANDOM_SHARE)
        masked[use_random] = random_ids[use_random]
        labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
        return masked, labels


def step_generator(seed: int, step: int) -> torch.Generator:
    """The masking generator of one step (or of one held-out batch, with a negative step)."""
    g = torch.Generator()
    g.manual_seed((seed * 1000003 + 7919 * step) % (2**63 - 1))
    return g


def masked_logits(model: BertForDistillation, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  token_type_ids: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(logits [masked positions, vocab], their labels [masked positions]).

    The decoder (hidden x vocab, the largest matrix of a small BERT with an 8k-30k vocabulary)
    runs only at the ~15 % masked positions, not at all of them."""
    out = model(input_ids, attention_mask, token_type_ids)
    where = labels != IGNORE
    return model.mlm_logits(out.sequence_output[where]), labels[where]


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy at the masked positions; 0 (no gradient) for a batch with none, e.g. a
    batch whose every word piece is [UNK], where the mean over nothing would be NaN and fail the run."""
    if not labels.numel():
        return logits.float().sum() * 0.0
    return F.cross_entropy(logits.float(), labels)


def maskable_count(tokenizer: WordPieceTokenizer, ids: torch.Tensor) -> int:
    """How many of `ids` TokenMasker may choose: every id but the special tokens'."""
    special = torch.tensor(sorted({tokenizer.vocab[t] for t in SPECIAL_TOKENS if t in tokenizer.vocab}), dtype=ids.dtype)
    return int((~torch.isin(ids, special)).sum())


@torch.no_grad()
def evaluate_mlm(model: BertForDistillation, features: Sequence[Feature], masker: TokenMasker, *, seed: int,
                 batch_size: int, pad_id: int, device: torch.device, autocast) -> Dict[str, float]:
    """Masked-token accuracy, mean loss and perplexity (exp of the loss, in nats) over the
    held-out sequences, masked the same way at every evaluation so they compare."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for index, batch in enumerate(iterate_batches(features, batch_size, pad_id, "encoder")):
        masked, labels = masker(batch.input_ids, step_generator(seed, -1 - index))
        with autocast():
            logits, gold = masked_logits(model, masked.to(device), batch.attention_mask.to(device),
                                         batch.token_type_ids.to(device), labels.to(device))
        total_loss += float(F.cross_entropy(logits.float(), gold, reduction="sum"))
        correct += int((logits.argmax(-1) == gold).sum())
        count += int(gold.numel())
    loss = total_loss / max(1, count)
    return {"masked_accuracy": round(correct / max(1, count), 6), "mlm_loss": round(loss, 6),
            "perplexity": round(math.exp(min(loss, 50.0)), 4), "masked_tokens": count}
