"""Would a neural LM beside the trigram help the beam? A probe, not a shipped model.

    python scripts/probe_nlm.py train --minutes 40 --out /tmp/nlm      # a small causal LM, CPU
    python scripts/probe_nlm.py rescore --nlm /tmp/nlm 0 0.25:5 0.5:5   # weight[:keep bonus] ...

The trigram LM sees two words back, so "the North Korean prime on Monday" beats "capital"
(South Korea's prime minister is in its counts, and "prime on" costs little). `train` fits a
GPT-2-shaped transformer (4 layers, d_model 256, 5.2M parameters) on the train split's
sentences as the detector's sentencepiece pieces, on the CPU in bfloat16, for a time budget.
`rescore` decodes the 1,000 validation sentences `build_lm.py` tunes on, and its 3,000 clean
ones, with the shipped pipeline, except that each sentence's beam keeps 4 hypotheses per
two-word history (`beam_hypotheses`) and the final ones are rescored by beam score + weight ·
log P_neural(sentence); weight 0 is the shipped pipeline. Each setting prints validation BLEU,
the share of swaps restored and the changes per 1000 clean words (the keep bonus holds those
within the budget, as in `build_lm.py`).
"""

from __future__ import annotations

import argparse
import math
import random
import time

import sentencepiece as spm
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from restore.evaluate import evaluate
from restore.ngram import beam_hypotheses
from restore.pairs import clean_sentences, valid_pairs
from restore.pipeline import CandidateRewriter, Pipeline
from restore.text import match_case, replace_spans, units
from restore.train import read_docs

TOKENIZER = "models/detector/tokenizer.model"
MAX_PIECES = 64  # sentence start and end included
CONFIG = dict(n_embd=256, n_layer=4, n_head=4, n_inner=1024, batch_size=64, lr=1e-3, warmup=200)


class PieceLM:
    """Sentences as sentencepiece ids between one boundary id (the vocabulary's size)."""

    def __init__(self, model: GPT2LMHeadModel, sp: spm.SentencePieceProcessor):
        self.model, self.sp, self.boundary = model.eval(), sp, sp.get_piece_size()

    def ids(self, text: str) -> list[int]:
        return [self.boundary] + self.sp.encode(text)[: MAX_PIECES - 2] + [self.boundary]

    def batch(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), self.boundary)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)], mask[r, : len(s)] = torch.tensor(s), 1
        return ids, mask

    @torch.inference_mode()
    def logprobs(self, texts: list[str]) -> list[float]:
        """log P of each whole sentence."""
        ids, mask = self.batch([self.ids(t) for t in texts])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
        lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
        return (lp * mask[:, 1:]).sum(1).tolist()


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(0)
    rng = random.Random(0)
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    V = sp.get_piece_size()
    seqs = []
    for text in read_docs(args.corpus):
        for a, b in units(text):
            ids = sp.encode(text[a:b])
            if 3 <= len(ids) <= MAX_PIECES - 2:
                seqs.append([V] + ids + [V])
    print(f"{len(seqs):,} sentences, {sum(map(len, seqs)):,} pieces", flush=True)
    model = GPT2LMHeadModel(GPT2Config(
        vocab_size=V + 1, n_positions=MAX_PIECES, n_embd=CONFIG["n_embd"], n_layer=CONFIG["n_layer"],
        n_head=CONFIG["n_head"], n_inner=CONFIG["n_inner"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=V, eos_token_id=V))
    lm = PieceLM(model, sp)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=CONFIG["lr"], weight_decay=0.01, betas=(0.9, 0.98))
    budget, bs = args.minutes * 60, CONFIG["batch_size"]
    t0, step, pieces = time.time(), 0, 0
    while time.time() - t0 < budget:
        rng.shuffle(seqs)
        for k in range(0, len(seqs) - bs, bs):
            ids, mask = lm.batch(seqs[k : k + bs])
            done = min(1.0, (time.time() - t0) / budget)  # warmup, then cosine to a tenth, by time
            lr = CONFIG["lr"] * min(1.0, (step + 1) / CONFIG["warmup"]) * (0.1 + 0.45 * (1 + math.cos(math.pi * done)))
            for group in opt.param_groups:
                group["lr"] = lr
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step, pieces = step + 1, pieces + int(mask.sum())
            if step % 100 == 0:
                print(f"step {step} loss {loss.item():.3f} lr {lr:.1e} {pieces / (time.time() - t0):,.0f} pieces/s",
                      flush=True)
            if step % 1000 == 0:
                model.save_pretrained(args.out)
            if time.time() - t0 >= budget:
                break
    model.save_pretrained(args.out)
    print(f"{step} steps in {(time.time() - t0) / 60:.1f} minutes -> {args.out}")


def rescoring_rewriter(lm: PieceLM, weight: float, stats: dict[str, int]):
    """CandidateRewriter._choose with the final hypotheses rescored by the neural LM."""

    def choose(self, text, a, b, spans, keep_bonus, votes=None):
        items = self._items(text, a, b, spans, keep_bonus, votes)
        hyps = beam_hypotheses(self.lm, [options for _, options in items], self.w["beam"], self.w["lm"], per_history=4)
        if weight == 0 or len(hyps) < 2:
            return self._edits(items, hyps[0][1])
        edits = [self._edits(items, chosen) for _, chosen in hyps]
        sentences = [replace_spans(text[a:b], ((e.start - a, e.end - a, match_case(e.new, e.old)) for e in es))
                     for es in edits]
        scores = lm.logprobs(sentences)
        best = max(range(len(hyps)), key=lambda j: hyps[j][0] + weight * scores[j])
        stats["rescored"] += 1
        stats["changed"] += best != 0
        return edits[best]

    return choose


def rescore(args: argparse.Namespace) -> None:
    lm = PieceLM(GPT2LMHeadModel.from_pretrained(args.nlm), spm.SentencePieceProcessor(model_file=TOKENIZER))
    docs = read_docs(args.valid)
    spun, clean = valid_pairs(docs, 1000, seed=5), clean_sentences(docs, 3000, seed=5)
    pipe = Pipeline()
    shipped_keep = pipe.rewriter.w["keep"]
    print("| weight | keep | validation BLEU | swaps restored % | changes /1000 clean words | sentences rescored / changed |")
    print("|---:|---:|---:|---:|---:|---:|")
    for setting in args.settings:
        weight, _, keep = setting.partition(":")
        stats = {"rescored": 0, "changed": 0}
        CandidateRewriter._choose = rescoring_rewriter(lm, float(weight), stats)
        pipe.rewriter.w["keep"] = float(keep) if keep else shipped_keep
        r = evaluate(setting, pipe.restore_texts, spun, batch_size=8)
        c = evaluate(setting, pipe.restore_texts, clean, batch_size=8)
        print(f"| {float(weight):g} | {pipe.rewriter.w['keep']:g} | {r.bleu:.2f} | {r.word_acc:.2f} | "
              f"{c.clean_changes_per_1000:.2f} | {stats['rescored']} / {stats['changed']} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train")
    p.add_argument("--corpus", default="../shared/corpus/train.jsonl.gz")
    p.add_argument("--minutes", type=float, default=40.0)
    p.add_argument("--out", default="/tmp/nlm")
    p.set_defaults(func=train)
    p = sub.add_parser("rescore")
    p.add_argument("--nlm", default="/tmp/nlm")
    p.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    p.add_argument("settings", nargs="+", help="weight or weight:keep bonus (default: the shipped keep bonus)")
    p.set_defaults(func=rescore)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
