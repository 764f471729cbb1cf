"""A small neural language model over sentencepiece pieces, which rescores the beam's final hypotheses.

The trigram LM sees two words back, so in "the North Korean prime on Monday" it prefers
"prime" to "capital" (South Korea's prime minister is in its counts, and "prime on" costs
little). A causal transformer that reads the whole sentence does not make that mistake, but
it is too slow to score every step of the beam: it scores only the few sentences the beam
ends with (`CandidateRewriter`, weight "neural").

The model is a GPT-2-shaped transformer from transformers, trained from scratch on the train
split's clean sentences (`restore train nlm`) and saved as a transformers checkpoint; one id
past the tokenizer's pieces marks both ends of a sentence. The pipeline reads that checkpoint
with `GPT2`, GPT-2's forward pass in plain torch: importing transformers took 2.9 s of the
5.8 s that loading the pipeline took on session 31's machine (the target is 5 s).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import sentencepiece as spm
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from restore.errors import RestoreError
from restore.storage import INT8_FILE, STORAGES, load_state, read_int8, save_pretrained_int8
from restore.tagger import inference_dtype

if TYPE_CHECKING:  # transformers is imported where a model is trained or stored, not where one scores
    from transformers import GPT2LMHeadModel

MAX_PIECES = 64  # sentence ends included; a longer sentence is its first pieces, with no end
OUTPUT_ROWS = 512  # positions per call of the output layer (`PieceLM._piece_logprobs`)
WEIGHTS_FILE = "model.safetensors"  # float16 storage, as transformers saves it


# -- training and storage: transformers' GPT2LMHeadModel ------------------------------------
def new_nlm(sp: spm.SentencePieceProcessor, n_embd: int, n_layer: int, n_head: int, n_inner: int) -> "GPT2LMHeadModel":
    from transformers import GPT2Config, GPT2LMHeadModel

    boundary = sp.get_piece_size()
    return GPT2LMHeadModel(GPT2Config(
        vocab_size=boundary + 1, n_positions=MAX_PIECES, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
        n_inner=n_inner, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=boundary,
        eos_token_id=boundary))


def set_dropout(model: "GPT2LMHeadModel", p: float) -> None:
    """Every dropout of the model at `p`, its config's too (a saved model says what it was trained
    with), for a new model and for one continued (`--init`) alike. The shipped model was trained
    without any: after four passes over the train split its validation loss had begun to rise."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
    model.config.resid_pdrop = model.config.embd_pdrop = model.config.attn_pdrop = p


def read_nlm(path: Path | str) -> tuple[dict, dict[str, torch.Tensor], spm.SentencePieceProcessor]:
    """A neural LM directory's config, weights (float32, by transformers' names) and tokenizer."""
    path = Path(path)
    if not (path / "config.json").is_file() or not (path / "tokenizer.model").is_file():
        raise RestoreError(f"no neural language model at {path}")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
        if (path / INT8_FILE).is_file():
            state = read_int8(path / INT8_FILE)
        else:
            state = {name: t.float() for name, t in load_file(str(path / WEIGHTS_FILE)).items()}
    except (OSError, RuntimeError, ValueError, SafetensorError) as e:
        raise RestoreError(f"neural language model at {path} is unreadable: {str(e).splitlines()[0]}") from None
    return config, state, sp


def hf_nlm(path: Path | str) -> tuple["GPT2LMHeadModel", spm.SentencePieceProcessor]:
    """A neural LM directory as transformers' model, in float32: to train on (`--init`) or store anew."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config, state, sp = read_nlm(path)
    model = GPT2LMHeadModel(GPT2Config.from_dict(config))
    try:
        load_state(model, state, "its weights")
    except ValueError as e:
        raise RestoreError(f"neural language model at {path} is unreadable: {e}") from None
    return model, sp


def save_nlm(model: "GPT2LMHeadModel", sp: spm.SentencePieceProcessor, out: Path, storage: str = "float16") -> None:
    """The weights (the model being trained keeps float32) and the tokenizer, in float16 or in
    int8 storage (`restore.storage`, per-row scales): half the size, at the same validation loss
    to the third decimal (3.8242 and 3.8245 for the shipped model)."""
    if storage not in STORAGES:
        raise RestoreError(f"neural LM storage must be one of {', '.join(STORAGES)}, not {storage!r}")
    out.mkdir(parents=True, exist_ok=True)
    for old in (INT8_FILE, WEIGHTS_FILE):  # one copy of the weights: the load reads int8 first
        (out / old).unlink(missing_ok=True)
    if storage == "int8":
        save_pretrained_int8(model, out)
    else:
        copy.deepcopy(model).to(torch.float16).save_pretrained(str(out))
    (out / "tokenizer.model").write_bytes(sp.serialized_model_proto())


def read_reverse(path: Path) -> bool:
    """Whether the model at `path` reads right to left (its restore.json's training config)."""
    try:
        return bool(json.loads((path / "restore.json").read_text(encoding="utf-8"))["train_config"].get("reverse"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def sentence_ids(sp: spm.SentencePieceProcessor, text: str, reverse: bool = False) -> list[int]:
    """A sentence's pieces between boundary ids (reversed for a right-to-left model), at most MAX_PIECES."""
    pieces, boundary = sp.encode(text), sp.get_piece_size()
    return ([boundary] + (pieces[::-1] if reverse else pieces) + [boundary])[:MAX_PIECES]


def pad(seqs: list[list[int]], pad_id: int, multiple: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and their mask, the width a multiple of `multiple`."""
    width = -(-max(map(len, seqs)) // multiple) * multiple
    ids = torch.full((len(seqs), width), pad_id)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)], mask[r, : len(s)] = torch.tensor(s), 1
    return ids, mask


def piece_logprobs(model: "GPT2LMHeadModel", ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log P of each predicted piece under transformers' model (0 where padded), shape (rows, width - 1):
    what training validates and fine-tunes on."""
    logits = model(input_ids=ids, attention_mask=mask).logits.float()
    return torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0] * mask[:, 1:]


# -- scoring: GPT-2's forward pass in plain torch --------------------------------------------
class GPT2:
    """The hidden states of transformers' GPT2Model for a checkpoint `restore train nlm` saved, the
    same computation op for op (Conv1D's addmm, the "gelu_new" formula, transformers' choice of a
    causal flag or a padding mask for scaled-dot-product attention), so the same scores: a test
    holds it to transformers' model. The linear layers are stored in `dtype` (bfloat16: what
    autocast would cast them to on every call), embeddings and layer norms in float32."""

    def __init__(self, config: dict, state: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32):
        expected = {"activation_function": "gelu_new", "scale_attn_weights": True,
                    "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
                    "add_cross_attention": False}
        odd = [k for k, v in expected.items() if config.get(k, v) != v]
        if config.get("model_type") != "gpt2" or odd:
            raise RestoreError(f"not a GPT-2 checkpoint this scorer reads (model_type {config.get('model_type')!r}"
                               + (f", {', '.join(odd)}" if odd else "") + ")")
        self.d, self.heads, self.eps = config["n_embd"], config["n_head"], config.get("layer_norm_epsilon", 1e-5)
        self.dtype = dtype
        try:
            w = {k.removeprefix("transformer."): v for k, v in state.items()}
            self.wte, self.wpe = w["wte.weight"], w["wpe.weight"]
            self.output = self.wte.to(dtype)  # the output layer, tied to the input embedding
            linear = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
            self.blocks = [{**{f"{n}.{p}": w[f"h.{i}.{n}.{p}"] for n in ("ln_1", "ln_2") for p in ("weight", "bias")},
                            **{f"{n}.weight": w[f"h.{i}.{n}.weight"].to(dtype) for n in linear},
                            **{f"{n}.bias": w[f"h.{i}.{n}.bias"].to(dtype) for n in linear}}
                           for i in range(config["n_layer"])]
            self.ln_f = (w["ln_f.weight"], w["ln_f.bias"])
        except KeyError as e:
            raise RestoreError(f"GPT-2 checkpoint lacks {e.args[0]}") from None

    @staticmethod
    def _conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight).view(*x.shape[:-1], weight.shape[1])

    @staticmethod
    def _gelu_new(x: torch.Tensor) -> torch.Tensor:
        """0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), transformers' formula, each step in
        place: the same bits as its chain of new tensors, in two thirds of the time."""
        y = torch.pow(x, 3.0).mul_(0.044715).add_(x).mul_(math.sqrt(2.0 / math.pi)).tanh_().add_(1.0)
        return y.mul_(x).mul_(0.5)

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        x = self.wte[ids] + self.wpe[torch.arange(T)][None]
        padded = not bool(mask.all())
        # transformers passes no mask (the causal flag) where nothing is padded, else causal & padding
        attn_mask = (torch.ones(T, T, dtype=torch.bool).tril()[None, None] & mask.bool()[:, None, None, :]
                     if padded else None)
        hd = self.d // self.heads
        for b in self.blocks:
            h = torch.nn.functional.layer_norm(x, (self.d,), b["ln_1.weight"], b["ln_1.bias"], self.eps)
            q, k, v = (t.view(B, T, self.heads, hd).transpose(1, 2)
                       for t in self._conv1d(h, b["attn.c_attn.weight"], b["attn.c_attn.bias"]).split(self.d, dim=2))
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=not padded,
                                                                 scale=hd ** -0.5)
            a = a.transpose(1, 2).reshape(B, T, self.d).contiguous()
            x = self._conv1d(a, b["attn.c_proj.weight"], b["attn.c_proj.bias"]) + x
            h = torch.nn.functional.layer_norm(x, (self.d,), b["ln_2.weight"], b["ln_2.bias"], self.eps)
            h = self._gelu_new(self._conv1d(h, b["mlp.c_fc.weight"], b["mlp.c_fc.bias"]))
            x = self._conv1d(h, b["mlp.c_proj.weight"], b["mlp.c_proj.bias"]) + x
        return torch.nn.functional.layer_norm(x, (self.d,), *self.ln_f, self.eps)


class PieceLM:
    """log P of whole sentences, as pieces between boundary ids."""

    def __init__(self, net: GPT2, sp: spm.SentencePieceProcessor, reverse: bool = False):
        """`reverse`: the model reads each sentence's pieces right to left (trained so: `restore
        train nlm --set reverse=true`), so each word is judged by what follows it."""
        self.net, self.sp, self.boundary, self.reverse = net, sp, sp.get_piece_size(), reverse
        self.dtype = net.dtype

    @classmethod
    def load(cls, path: Path | str, precision: str = "auto") -> "PieceLM":
        config, state, sp = read_nlm(path)
        return cls(GPT2(config, state, inference_dtype(precision)), sp, reverse=read_reverse(Path(path)))

    def ids(self, text: str) -> list[int]:
        return sentence_ids(self.sp, text, self.reverse)

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
            ids, mask = pad([seqs[i] for i in rows], self.boundary, multiple=16)
            predicted = mask[:, 1:].bool()
            targets = ids[:, 1:][predicted]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == torch.bfloat16):
                hidden = self.net(ids, mask)
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
            logits = torch.nn.functional.linear(h, self.net.output).float()
            # log_softmax, then the target's: half the time of logsumexp on this CPU, within 1e-6
            parts.append(torch.log_softmax(logits, -1).gather(1, t[:, None])[:, 0])
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
