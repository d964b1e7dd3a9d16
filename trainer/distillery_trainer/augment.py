"""Data augmentation for distillation: WordNet synonyms and the teacher's masked-LM predictions.

For each word chosen (probability replace_prob), a single-word-piece word is re-predicted by the
teacher's MLM head when "mlm" is enabled and the teacher has cls.predictions tensors (TinyBERT's
choice); otherwise, or when the MLM proposes nothing, a WordNet synonym replaces it. Labels are
kept. For QA only the question changes, so the context and answer spans stay valid.
"""

from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import replace
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .data import ClassificationExample, QaExample
from .modeling import BertForDistillation
from .tokenization import WordPieceTokenizer

log = logging.getLogger(__name__)

WORDNET_DIR = os.environ.get("DISTILLERY_WORDNET_DIR", "/usr/share/wordnet")
# Words are runs of letters (any script, so "naïve" stays whole); everything else is kept as is.
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|[\W\d_]+")
MLM_TOP_K = 8


@lru_cache(maxsize=4)
def load_wordnet(directory: str = WORDNET_DIR) -> Dict[str, Tuple[str, ...]]:
    """Synonyms by lowercase lemma, from WordNet's data.{noun,verb,adj,adv} files.

    A data line is: synset_offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ...
    Lines starting with spaces are the license header. Multi-word lemmas (with "_") are skipped:
    they would change the token count in ways a synonym should not."""
    synonyms: Dict[str, set] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(directory, f"data.{pos}")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                fields = line.split(" ")
                if len(fields) < 5:
                    continue
                try:
                    count = int(fields[3], 16)
                except ValueError:
                    continue
                # Adjective lemmas may carry a syntactic marker such as "(a)" or "(p)".
                lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * k]).lower() for k in range(count) if 4 + 2 * k < len(fields)]
                words = [w for w in lemmas if w.isalpha()]
                for w in words:
                    synonyms.setdefault(w, set()).update(x for x in words if x != w)
    return {w: tuple(sorted(s)) for w, s in synonyms.items() if s}


def _match_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


class Augmenter:
    def __init__(
        self,
        tokenizer: WordPieceTokenizer,
        methods: Sequence[str],
        replace_prob: float,
        seed: int,
        mlm_model: Optional[BertForDistillation] = None,
        device: Optional[torch.device] = None,
        wordnet_dir: str = WORDNET_DIR,
    ) -> None:
        self.tokenizer = tokenizer
        self.replace_prob = replace_prob
        self.rng = random.Random(seed)
        self.mlm = mlm_model if "mlm" in methods and mlm_model is not None and mlm_model.cls is not None else None
        self.device = device or torch.device("cpu")
        self.wordnet = load_wordnet(wordnet_dir) if "wordnet" in methods else {}
        if "wordnet" in methods and not self.wordnet:
            log.warning("WordNet not found in %s: synonym replacement disabled", wordnet_dir)
        # Candidate MLM predictions: whole-word vocabulary entries made of letters.
        self._mlm_ok = torch.tensor(
            [t.isalpha() and not t.startswith("##") for t in tokenizer.id_to_token], dtype=torch.bool
        )

    @property
    def available(self) -> bool:
        return self.mlm is not None or bool(self.wordnet)

    def augment_text(self, text: str) -> str:
        parts = _WORD_RE.findall(text)
        chosen = [i for i, p in enumerate(parts) if p[0].isalpha() and self.rng.random() < self.replace_prob]
        if not chosen:
            return text
        mlm_slots = [i for i in chosen if self.mlm is not None and parts[i].lower() in self.tokenizer.vocab]
        replacements: Dict[int, str] = self._mlm_predict(parts, mlm_slots) if mlm_slots else {}
        for i in chosen:
            if i in replacements:
                continue
            options = self.wordnet.get(parts[i].lower())
            if options:
                replacements[i] = self.rng.choice(options)
        for i, word in replacements.items():
            parts[i] = _match_case(parts[i], word)
        return "".join(parts)

    @torch.no_grad()
    def _mlm_predict(self, parts: List[str], slots: List[int]) -> Dict[int, str]:
        """Masks every slot at once (one forward) and samples among the teacher's top predictions."""
        assert self.mlm is not None
        tok = self.tokenizer
        ids = [tok.cls_id]
        positions: Dict[int, int] = {}
        for i, part in enumerate(parts):
            if i in slots and tok.mask_id is not None:
                positions[i] = len(ids)
                ids.append(tok.mask_id)
            else:
                ids.extend(t.id for t in tok.tokenize(part))
        ids = ids[: self.mlm.config.max_position_embeddings - 1] + [tok.sep_id]
        input_ids = torch.tensor([ids], device=self.device)
        mask = torch.ones_like(input_ids)
        out = self.mlm(input_ids, mask, torch.zeros_like(input_ids))
        logits = self.mlm.mlm_logits(out.sequence_output)[0].float().cpu()
        logits[:, ~self._mlm_ok] = float("-inf")
        result: Dict[int, str] = {}
        for i, pos in positions.items():
            if pos >= len(ids) - 1:
                continue
            top = torch.topk(logits[pos], MLM_TOP_K).indices.tolist()
            words = [tok.id_to_token[t] for t in top if tok.id_to_token[t] != parts[i].lower()]
            if words:
                result[i] = self.rng.choice(words)
        return result

    def classification(self, examples: Sequence[ClassificationExample], copies: int, max_examples: int) -> List[ClassificationExample]:
        out: List[ClassificationExample] = []
        for _ in range(copies):
            for ex in examples:
                if len(out) >= max_examples:
                    return out
                text = self.augment_text(ex.text)
                pair = self.augment_text(ex.text_pair) if ex.text_pair is not None else None
                if text != ex.text or pair != ex.text_pair:
                    out.append(replace(ex, text=text, text_pair=pair, line=0))
        return out

    def qa(self, examples: Sequence[QaExample], copies: int, max_examples: int) -> List[QaExample]:
        out: List[QaExample] = []
        for copy in range(copies):
            for ex in examples:
                if len(out) >= max_examples:
                    return out
                question = self.augment_text(ex.question)
                if question != ex.question:
                    out.append(replace(ex, qid=f"{ex.qid}-aug{copy + 1}", question=question))
        return out
