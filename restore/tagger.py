"""The context model: a small transformer encoder trained from scratch on spun pairs.

Two heads on one encoder, read once per sentence:
- `spun`: is this word a spinner's substitute? (per word, on its first piece)
- `orig`: which original word did it replace? (a softmax over a vocabulary of
  originals: thesaurus headwords and common words), read only where asked.

Weights are safetensors (float16 on disk, float32 in memory), config is plain JSON,
the tokenizer is a sentencepiece model: no pickle anywhere.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import sentencepiece as spm
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from restore.errors import RestoreError
from restore.io import write_text
from restore.text import Token, tokenize

_OTHER_RE = re.compile(r"[^\s\w]|_")
MAX_PIECES = 128
SHARD_BYTES = 15_000_000
HEAD_ROWS = 16  # `Tagger.orig_logits` pads its rows to a multiple of this
PRECISIONS = ("auto", "bf16", "fp32")


def inference_dtype(precision: str = "auto") -> torch.dtype:
    """The encoder's dtype at inference. "auto": bfloat16 where the CPU multiplies it in
    hardware, float32 elsewhere, where bfloat16 would be emulated and slower. In hardware:
    Intel AMX (the encoder twice as fast as in float32 on the machine of sessions 1-30, the
    detector's scores within a few thousandths) or AVX-512 BF16 (AMD Zen 4, session 31's
    machine: `restore clean` 1.5 times as fast as in float32, the same output as on AMX)."""
    if precision not in PRECISIONS:
        raise RestoreError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
    if precision == "auto":
        precision = "bf16" if bf16_in_hardware() else "fp32"
    return torch.bfloat16 if precision == "bf16" else torch.float32


def bf16_in_hardware() -> bool:
    """Does this CPU multiply bfloat16 in hardware (AMX tiles or AVX-512 BF16)?"""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


@dataclass
class TaggerConfig:
    vocab_size: int = 8000
    n_orig: int = 20000
    d_model: int = 192
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 768
    max_len: int = MAX_PIECES
    dropout: float = 0.1
    # True: token embeddings N(0, 1) scaled by sqrt(d_model), which swamps the position
    # embeddings and the blocks' outputs in the residual stream (kept to load old models);
    # False: GPT-style small initialisation, unscaled.
    scale_embeddings: bool = True


class Tagger(nn.Module):
    def __init__(self, cfg: TaggerConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=0)
        self.pos = nn.Embedding(cfg.max_len, cfg.d_model)
        layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.spun_head = nn.Linear(cfg.d_model, 1)
        self.orig_head = nn.Linear(cfg.d_model, cfg.n_orig)
        if not cfg.scale_embeddings:
            nn.init.normal_(self.embed.weight, std=0.02)
            nn.init.normal_(self.pos.weight, std=0.01)
            with torch.no_grad():
                self.embed.weight[0].zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch, length, d_model), float32 whatever the encoder runs in; id 0 is padding."""
        pos = torch.arange(ids.shape[1], device=ids.device)
        scale = math.sqrt(self.cfg.d_model) if self.cfg.scale_embeddings else 1.0
        h = self.embed(ids) * scale + self.pos(pos)
        h = self.encoder(h, src_key_padding_mask=ids.eq(0))
        return self.norm(h).float()

    def encoder_in(self, dtype: torch.dtype) -> "Tagger":
        """Run the embeddings, encoder and originals head in `dtype` (for inference); the spun
        head, which decides the flags, stays float32."""
        for part in (self.embed, self.pos, self.encoder, self.norm, self.orig_head):
            part.to(dtype)
        return self

    def spun_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.spun_head(hidden).squeeze(-1)

    def orig_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The originals head's logits (words, n_orig), float32, multiplied in the head's dtype:
        in bfloat16 0.06 s instead of 0.17 in a profile of 10,000 words' detection, each logit
        within a few hundredths, the same BLEU on validation (session 41). The rows are padded
        to a multiple of HEAD_ROWS: bfloat16 kernels are made and kept per shape, and one of
        each row count from 1 to 128 held 283 MB more (2.2 MB a shape), padded 6 MB."""
        rows = hidden.shape[0]
        padded = hidden.new_zeros(-(-rows // HEAD_ROWS) * HEAD_ROWS, hidden.shape[1])
        padded[:rows] = hidden
        return self.orig_head(padded.to(self.orig_head.weight.dtype))[:rows].float()


@dataclass
class Encoded:
    """One sentence as model input: piece ids and where each word starts."""

    ids: list[int]
    words: list[Token]  # word and number tokens, in order
    first_piece: list[int]  # index into ids of each word's first piece (-1: truncated)


class TaggerBundle:
    """Tokenizer + originals vocabulary + model, as saved in one directory."""

    def __init__(self, sp: spm.SentencePieceProcessor, originals: list[str], model: Tagger):
        self.sp = sp
        self.originals = originals
        self.orig_index = {w: i for i, w in enumerate(originals)}
        self.model = model

    # -- encoding ----------------------------------------------------------
    def encode_many(self, texts: list[str]) -> list[Encoded]:
        """Words and numbers are encoded alone; other non-space characters are their own segments."""
        plans, segments = [], []
        for text in texts:
            words = tokenize(text)
            segs: list[tuple[int, int | None]] = []  # (start, index of word or None)
            for k, w in enumerate(words):
                segs.append((w.start, k))
            for m in _OTHER_RE.finditer(text):
                segs.append((m.start(), None))
            segs.sort(key=lambda s: s[0])
            plans.append((words, segs, len(segments)))
            for start, k in segs:
                segments.append(words[k].text if k is not None else text[start])
        pieces = self.sp.encode(segments) if segments else []
        out = []
        for words, segs, offset in plans:
            ids, first = [], [-1] * len(words)
            for j, (_, k) in enumerate(segs):
                p = pieces[offset + j]
                if len(ids) + len(p) > MAX_PIECES:
                    break
                if k is not None:
                    first[k] = len(ids)
                ids.extend(p)
            out.append(Encoded(ids, words, first))
        return out

    @staticmethod
    def pad(batch: list[Encoded], multiple: int = 1) -> torch.Tensor:
        """Piece ids, padded with 0 to the longest, rounded up to a `multiple`."""
        width = -(-max(1, max(len(e.ids) for e in batch)) // multiple) * multiple
        ids = torch.zeros(len(batch), width, dtype=torch.long)
        for i, e in enumerate(batch):
            ids[i, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
        return ids

    # -- storage -----------------------------------------------------------
    def save(self, out: Path, extra: dict | None = None) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "tokenizer.model").write_bytes(self.sp.serialized_model_proto())
        (out / "originals.txt").write_text("\n".join(self.originals) + "\n", encoding="utf-8")
        cfg = {"model": asdict(self.model.cfg), **(extra or {})}
        save_sharded({k: v.detach().half().contiguous() for k, v in self.model.state_dict().items()}, out)
        write_text(json.dumps(cfg, indent=2) + "\n", str(out / "config.json"))

    @classmethod
    def load(cls, path: Path) -> tuple["TaggerBundle", dict]:
        path = Path(path)
        if not (path / "config.json").is_file():
            raise RestoreError(f"no model at {path} (expected config.json, tokenizer.model, weights)")
        try:
            cfg = json.loads((path / "config.json").read_text())
            sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
            originals = (path / "originals.txt").read_text(encoding="utf-8").splitlines()
            model = Tagger(TaggerConfig(**cfg["model"]))
            state = {k: v.float() for k, v in load_sharded(path).items()}
            model.load_state_dict(state)
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as e:
            raise RestoreError(f"model at {path} is unreadable: {str(e).splitlines()[0]}") from None
        model.eval()
        return cls(sp, originals, model), cfg


def save_sharded(tensors: dict[str, torch.Tensor], out: Path, prefix: str = "model") -> None:
    """Safetensors files of at most SHARD_BYTES each: model-00001.safetensors, ..."""
    for old in out.glob(f"{prefix}-*.safetensors"):
        old.unlink()
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if size and size + nbytes > SHARD_BYTES:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    for i, shard in enumerate(shards, 1):
        tmp = out / f".{prefix}-{i:05d}.safetensors.tmp"
        save_file(shard, str(tmp))
        tmp.replace(out / f"{prefix}-{i:05d}.safetensors")


def load_sharded(path: Path, prefix: str = "model") -> dict[str, torch.Tensor]:
    files = sorted(Path(path).glob(f"{prefix}-*.safetensors"))
    if not files:
        raise RestoreError(f"no {prefix}-*.safetensors weights in {path}")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(str(f)))
    return state

