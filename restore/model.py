"""The seq2seq rewriter: a small T5 that generates only the replacements of marked spans.

Input: the sentence with each flagged span wrapped as `<extra_id_k> span <close>`.
Target: `<extra_id_0> original <extra_id_1> original ... </s>`; the span's own text
is a legal answer ("keep"), so false alarms of the detector cost nothing. Text
outside the spans is never generated, so it is copied by construction.

Our own model uses the detector's sentencepiece tokenizer with the sentinels, the
close marker and </s> appended after its pieces; `--init DIR` instead takes any
local Hugging Face seq2seq checkpoint with its own tokenizer (t5-small style, whose
`<extra_id_k>` tokens serve as sentinels and `<extra_id_99>` as the close marker).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import sentencepiece as spm
import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer, T5Config, T5ForConditionalGeneration

from restore.errors import RestoreError
from restore.io import write_text
from restore.storage import INT8_FILE, STORAGES, load_int8, save_pretrained_int8

N_SENTINELS = 16


class SpanTokenizer:
    """Pieces for text, plus sentinel / close / end-of-sequence ids (sentencepiece or HF tokenizer)."""

    def __init__(self, sp: spm.SentencePieceProcessor | None = None, hf=None):
        self.sp, self.hf = sp, hf
        if sp is not None:
            base = sp.get_piece_size()
            self.pad_id, self.eos_id = 0, base
            self.sentinels = [base + 1 + k for k in range(N_SENTINELS)]
            self.close_id = base + 1 + N_SENTINELS
            self.vocab_size = (self.close_id + 1 + 31) // 32 * 32
        else:
            self.pad_id, self.eos_id = hf.pad_token_id, hf.eos_token_id
            ids = hf.convert_tokens_to_ids([f"<extra_id_{k}>" for k in range(N_SENTINELS)] + ["<extra_id_99>"])
            if hf.unk_token_id in ids:
                raise RestoreError("the --init tokenizer has no <extra_id_N> sentinel tokens (T5-style needed)")
            self.sentinels, self.close_id = ids[:-1], ids[-1]
            self.vocab_size = len(hf)
        self._sentinel_index = {s: k for k, s in enumerate(self.sentinels)}

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self.sp is not None:
            return self.sp.encode(texts)
        return self.hf(texts, add_special_tokens=False)["input_ids"]

    def decode(self, ids: list[int]) -> str:
        if self.sp is not None:
            return self.sp.decode([i for i in ids if i < self.eos_id])
        return self.hf.decode(ids, skip_special_tokens=True)

    # -- the span format ---------------------------------------------------
    def source(self, text: str, spans: list[tuple[int, int]]) -> list[int]:
        """Sentence ids with spans[k] wrapped as <extra_id_k> ... <close> (at most N_SENTINELS spans)."""
        if len(spans) > N_SENTINELS:
            raise ValueError(f"at most {N_SENTINELS} spans per sentence, got {len(spans)}")
        chunks, pos = [], 0
        for a, b in spans:
            chunks += [text[pos:a], text[a:b]]
            pos = b
        chunks.append(text[pos:])
        pieces = self.encode([c for c in chunks])
        ids: list[int] = []
        for k in range(len(spans)):
            ids += pieces[2 * k] + [self.sentinels[k]] + pieces[2 * k + 1] + [self.close_id]
        return ids + pieces[-1] + [self.eos_id]

    def target(self, replacements: list[str]) -> list[int]:
        ids: list[int] = []
        for k, piece_ids in enumerate(self.encode(replacements)):
            ids += [self.sentinels[k]] + piece_ids
        return ids + [self.eos_id]

    def parse(self, ids: list[int], n_spans: int) -> list[str | None]:
        """Generated ids -> the replacement of each span (None where none was generated)."""
        out: list[list[int] | None] = [None] * n_spans
        current = None
        for i in ids:
            if i == self.eos_id:
                break
            if i in self._sentinel_index:
                current = self._sentinel_index[i]
                if current < n_spans:
                    out[current] = []
            elif current is not None and current < n_spans and i != self.pad_id:
                out[current].append(i)  # type: ignore[union-attr]
        return [self.decode(x).strip() if x else None for x in out]


def new_t5(tok: SpanTokenizer, d_model: int = 256, layers: int = 4, decoder_layers: int = 2,
           heads: int = 8, d_ff: int = 1024) -> T5ForConditionalGeneration:
    cfg = T5Config(vocab_size=tok.vocab_size, d_model=d_model, d_kv=d_model // heads, num_heads=heads,
                   d_ff=d_ff, num_layers=layers, num_decoder_layers=decoder_layers,
                   feed_forward_proj="gated-gelu", dropout_rate=0.1, pad_token_id=tok.pad_id,
                   eos_token_id=tok.eos_id, decoder_start_token_id=tok.pad_id, tie_word_embeddings=True)
    return T5ForConditionalGeneration(cfg)


def load_rewriter(path: Path) -> tuple[SpanTokenizer, T5ForConditionalGeneration]:
    """Our own model (tokenizer.model + HF config/safetensors, or its int8 storage) or any local HF
    seq2seq checkpoint."""
    from transformers.utils import logging

    logging.disable_progress_bar()  # no loading bar in the CLI's stderr
    path = Path(path)
    if not (path / "config.json").is_file():
        raise RestoreError(f"no rewriter model at {path}")
    try:
        if (path / "tokenizer.model").is_file() and (path / "restore.json").is_file():
            tok = SpanTokenizer(sp=spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model")))
        else:
            tok = SpanTokenizer(hf=AutoTokenizer.from_pretrained(str(path)))
        if (path / INT8_FILE).is_file():
            model = AutoModelForSeq2SeqLM.from_config(AutoConfig.from_pretrained(str(path))).float()
            load_int8(model, path / INT8_FILE)
        else:
            model = AutoModelForSeq2SeqLM.from_pretrained(str(path), use_safetensors=True, dtype=torch.float32)
    except (OSError, ValueError, SafetensorError) as e:
        raise RestoreError(f"rewriter at {path} is unreadable: {str(e).splitlines()[0]}") from None
    return tok, model.eval()


def save_rewriter(model: T5ForConditionalGeneration, tok: SpanTokenizer, out: Path, meta: dict,
                  storage: str = "float16") -> None:
    """The weights in float16 (HF safetensors shards), or in int8 storage (`save_int8`)."""
    if storage not in STORAGES:
        raise RestoreError(f"rewriter storage must be one of {', '.join(STORAGES)}, not {storage!r}")
    out.mkdir(parents=True, exist_ok=True)
    if storage == "int8":
        save_pretrained_int8(model, out)
    else:  # a float16 copy: the model being trained keeps its float32 weights
        copy.deepcopy(model).to(torch.float16).save_pretrained(str(out), max_shard_size="15MB")
    if tok.sp is not None:
        (out / "tokenizer.model").write_bytes(tok.sp.serialized_model_proto())
    else:
        tok.hf.save_pretrained(str(out))
    write_text(json.dumps(meta, indent=2) + "\n", str(out / "restore.json"))


