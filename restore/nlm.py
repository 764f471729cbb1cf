"""A small neural language model over sentencepiece pieces, which rescores the beam's final hypotheses.

The trigram LM sees two words back, so in "the North Korean prime on Monday" it prefers
"prime" to "capital" (South Korea's prime minister is in its counts, and "prime on" costs
little). A causal transformer that reads the whole sentence does not make that mistake, but
it is too slow to score every step of the beam: it scores only the few sentences the beam
ends with (`CandidateRewriter`, weight "neural").

The model is a GPT-2-shaped transformer from transformers, trained from scratch on the train
split's clean sentences (`restore train nlm`); one id past the tokenizer's pieces marks both
ends of a sentence.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

import sentencepiece as spm
import torch
from safetensors import SafetensorError

from restore.errors import RestoreError
from restore.storage import INT8_FILE, STORAGES, load_int8, save_int8
from restore.tagger import inference_dtype

if TYPE_CHECKING:  # transformers is imported where a model is made or loaded: a second of import time
    from transformers import GPT2LMHeadModel

MAX_PIECES = 64  # sentence ends included; a longer sentence is its first pieces, with no end
OUTPUT_ROWS = 512  # positions per call of the output layer (`PieceLM._piece_logprobs`)


def new_nlm(sp: spm.SentencePieceProcessor, n_embd: int, n_layer: int, n_head: int, n_inner: int) -> "GPT2LMHeadModel":
    from transformers import GPT2Config, GPT2LMHeadModel

    boundary = sp.get_piece_size()
    return GPT2LMHeadModel(GPT2Config(
        vocab_size=boundary + 1, n_positions=MAX_PIECES, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
        n_inner=n_inner, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=boundary,
        eos_token_id=boundary))


def read_reverse(path: Path) -> bool:
    """Whether the model at `path` reads right to left (its restore.json's training config)."""
    try:
        return bool(json.loads((path / "restore.json").read_text(encoding="utf-8"))["train_config"].get("reverse"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


class PieceLM:
    """log P of whole sentences, as pieces between boundary ids."""

    def __init__(self, model: "GPT2LMHeadModel", sp: spm.SentencePieceProcessor, precision: str = "auto",
                 reverse: bool = False):
        """`reverse`: the model reads each sentence's pieces right to left (trained so: `restore
        train nlm --set reverse=true`), so each word is judged by what follows it."""
        self.model, self.sp, self.boundary, self.reverse = model, sp, sp.get_piece_size(), reverse
        self.dtype = inference_dtype(precision)
        self.output = model.lm_head.weight  # tied to the input embedding; `cast_layers` stores a cast copy

    @classmethod
    def load(cls, path: Path | str, precision: str = "auto") -> "PieceLM":
        from transformers import GPT2Config, GPT2LMHeadModel
        from transformers.utils import logging

        logging.disable_progress_bar()
        path = Path(path)
        if not (path / "config.json").is_file() or not (path / "tokenizer.model").is_file():
            raise RestoreError(f"no neural language model at {path}")
        try:
            sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
            if (path / INT8_FILE).is_file():
                model = GPT2LMHeadModel(GPT2Config.from_pretrained(str(path)))
                load_int8(model, path / INT8_FILE)
            else:
                model = GPT2LMHeadModel.from_pretrained(str(path), use_safetensors=True, dtype=torch.float32)
        except (OSError, RuntimeError, ValueError, SafetensorError) as e:
            raise RestoreError(f"neural language model at {path} is unreadable: {str(e).splitlines()[0]}") from None
        lm = cls(model.eval(), sp, precision, reverse=read_reverse(path))
        lm.cast_layers()
        return lm

    def cast_layers(self) -> None:
        """The transformer's linear layers stored in the inference dtype: autocast would cast
        them on every call (about a tenth of the time of the rewriter's many small batches), to the same
        values. Only for inference: a model being trained keeps float32."""
        from transformers.pytorch_utils import Conv1D

        for module in self.model.transformer.modules():
            if isinstance(module, Conv1D):
                module.to(self.dtype)
        self.output = self.output.detach().to(self.dtype)

    def save(self, out: Path, storage: str = "float16") -> None:
        """The weights (the model being trained keeps float32) and the tokenizer, in float16 or
        in int8 storage (`restore.storage`, per-row scales): half the size, at the same
        validation loss to the third decimal (3.8242 and 3.8245 for the shipped model)."""
        if storage not in STORAGES:
            raise RestoreError(f"neural LM storage must be one of {', '.join(STORAGES)}, not {storage!r}")
        out.mkdir(parents=True, exist_ok=True)
        for old in (INT8_FILE, "model.safetensors"):  # one copy of the weights: the load reads int8 first
            (out / old).unlink(missing_ok=True)
        if storage == "int8":
            self.model.config.save_pretrained(str(out))
            self.model.generation_config.save_pretrained(str(out))
            save_int8(self.model, out / INT8_FILE)
        else:
            copy.deepcopy(self.model).to(torch.float16).save_pretrained(str(out))
        (out / "tokenizer.model").write_bytes(self.sp.serialized_model_proto())

    def ids(self, text: str) -> list[int]:
        pieces = self.sp.encode(text)
        return ([self.boundary] + (pieces[::-1] if self.reverse else pieces) + [self.boundary])[:MAX_PIECES]

    def batch(self, seqs: list[list[int]], multiple: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ids and their mask, the width a multiple of `multiple`."""
        width = -(-max(map(len, seqs)) // multiple) * multiple
        ids = torch.full((len(seqs), width), self.boundary)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)], mask[r, : len(s)] = torch.tensor(s), 1
        return ids, mask

    @torch.inference_mode()
    def logprobs(self, texts: list[str], batch_size: int = 64) -> list[float]:
        """The natural log-probability of each whole sentence (batched by length: less padding; the
        output layer only where a piece is predicted)."""
        seqs = [self.ids(t) for t in texts]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = [0.0] * len(seqs)
        for k in range(0, len(order), batch_size):
            rows = order[k : k + batch_size]
            # few shapes: CPU kernels are made and cached per shape (as the tagger's, `restore.detect`)
            ids, mask = self.batch([seqs[i] for i in rows], multiple=16)
            predicted = mask[:, 1:].bool()
            targets = ids[:, 1:][predicted]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == torch.bfloat16):
                hidden = self.model.transformer(input_ids=ids, attention_mask=mask).last_hidden_state
                lp = self._piece_logprobs(hidden[:, :-1][predicted], targets)
            row = torch.arange(len(rows))[:, None].expand_as(predicted)[predicted]
            for i, v in zip(rows, torch.zeros(len(rows)).index_add_(0, row, lp).tolist()):
                out[i] = v
        return out

    def _piece_logprobs(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log P of each target piece, the output layer over OUTPUT_ROWS positions at a time: the
        logits of a whole batch (4,000 positions × 8,001 pieces, several copies) were most of the
        memory `restore clean` needed. Few row counts, few cached CPU kernels: a small batch (the
        vote's second pass asks about a few sentences at a time) pads to 64, 128 or 256 rows,
        not 512: the same scores, and the 105 small calls for a 10,000-word input take 0.58 s, not 0.83."""
        n = len(targets)
        rows = min(OUTPUT_ROWS, max(64, 1 << (n - 1).bit_length()))  # a small batch pads to 64, 128 or 256
        hidden = torch.cat([hidden, hidden.new_zeros(-n % rows, hidden.shape[1])])
        targets = torch.cat([targets, targets.new_zeros(-n % rows)])
        parts = []
        for h, t in zip(hidden.split(rows), targets.split(rows)):
            logits = torch.nn.functional.linear(h, self.output).float()
            parts.append(logits.gather(1, t[:, None])[:, 0] - logits.logsumexp(-1))
        return torch.cat(parts)[:n]


class BothWays:
    """log P of a sentence as the mean of a left-to-right and a right-to-left model's. Each is an
    estimate of the same number, with its own errors: the forward model judges a word by what
    came before it and learns what follows only through the words it predicts next; the reverse
    model reads the sentence the other way."""

    def __init__(self, forward: PieceLM, backward: PieceLM):
        self.forward, self.backward = forward, backward

    def logprobs(self, texts: list[str]) -> list[float]:
        return [(f + b) / 2 for f, b in zip(self.forward.logprobs(texts), self.backward.logprobs(texts))]


NeuralLM = PieceLM | BothWays
REVERSE_SUBDIR = "reverse"  # a right-to-left model inside a neural LM's directory


def load_neural(path: Path | str, precision: str = "auto") -> NeuralLM:
    """The neural LM at `path`, and with it the right-to-left model in its `reverse/` if there
    is one (`restore train nlm --set reverse=true --out <path>/reverse`): then both, averaged."""
    forward = PieceLM.load(path, precision)
    reverse = Path(path) / REVERSE_SUBDIR
    if not reverse.is_dir():
        return forward
    backward = PieceLM.load(reverse, precision)
    if forward.reverse or not backward.reverse:
        raise RestoreError(f"neural language model at {path}: expected a left-to-right model there "
                           f"and a right-to-left one in {reverse}")
    return BothWays(forward, backward)


class CachedNLM:
    """Sentence scores, each computed once: the vote's second pass decides sentences again that the
    first pass scored (about three in ten of the neural LM's sentences), and `build_lm.py`'s grid
    settings share most of theirs. Anything with `logprobs(texts)` can be wrapped."""

    def __init__(self, nlm: NeuralLM):
        self.nlm, self.seen = nlm, {}

    def logprobs(self, texts: list[str]) -> list[float]:
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            self.seen.update(zip(new, self.nlm.logprobs(new)))
        return [self.seen[t] for t in texts]
