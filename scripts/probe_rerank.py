"""Can the neural LM learn to choose among the beam's sentences? A probe (session 32): it did not.

    python scripts/probe_rerank.py --run runs/rerank3     # session 32's last run; about 30 minutes

The neural LM rescores the beam's final sentences (`CandidateRewriter`): of those within the
margin of the beam's best, the best by beam score + 0.5 · log P_neural wins. On 1,000 spun
validation sentences it leaves 6.87% of the words of the sentences where its choices differ
wrong, where the beam's best alone leaves 7.68% and the least wrong choice 5.17%. This script
fine-tunes it (transformers' GPT-2, from --init) on those choices as a reranker: per spun train
sentence, the softmax over its choices of beam score + weight · log P_neural is to put its mass on
those with the fewest wrong words (listwise), plus the LM loss on the clean sentence (weight
`lm_weight`), in the shared training loop (`restore.train.fit`: checkpoints, --resume, the
validation figure every `eval_every` steps, the best exported only when it beats the starting model).

The choices are made on the odd-numbered train documents with a trigram LM of the even-numbered
ones (`held_out_lm`, built into the run directory): the shipped LM has counted every train
sentence, and on them its beam left 3.8% of the words wrong, against 7.6% on validation (a
`/tmp` count in session 32, with the keep bonus of the pipeline without the neural LM).
Then the script's `valid_wrong` (the share the neural LM's choices get wrong, at the shipped
margin; `beam_wrong`, `least_wrong` beside it) can be compared with the starting model's (step 0).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
from pathlib import Path

import torch
from tqdm import tqdm

from restore.errors import RestoreError
from restore.evaluate import words_changed
from restore.io import write_text
from restore.ngram import KneserNeyTrigram, corpus_sentences
from restore.nlm import hf_nlm, pad, piece_logprobs, read_reverse, save_nlm, sentence_ids
from restore.pairs import valid_pairs
from restore.pipeline import Pipeline
from restore.train import NLM_CONFIG, BatchStream, apply_overrides, fit, read_docs, start_state

RERANK_CONFIG = dict(
    corpus=NLM_CONFIG["corpus"],
    valid=NLM_CONFIG["valid"],
    out="runs/rerank/nlm",  # then: python scripts/build_lm.py --neural-only --out COPY_OF_LM --nlm runs/rerank/nlm
    run="runs/rerank",
    init="models/nlm",  # the neural LM to teach (`restore train nlm`)
    detector="models/detector",
    lm="models/lm",  # the trigram LM and the rewriter's weights, the neural one's among them
    # the choices are made on the odd-numbered train documents with a trigram LM of the even-numbered ones
    # (built into the run directory): the shipped LM has counted every train sentence
    held_out=True,
    margin=4.0,  # the beam's sentences this far behind its best are the choices (the shipped margin: 4)
    max_choices=6,  # per sentence: those with the fewest wrong words and the best-scored others
    lm_weight=1.0,  # + the LM loss on the clean sentences, so the model stays a language model
    storage="float16",
    batch_size=64,  # spun sentences; about half have choices that differ in what they get right
    accum=1,
    lr=1.5e-4,
    warmup=50,
    max_steps=2000,
    max_minutes=30.0,
    eval_every=150,
    ckpt_minutes=5.0,
    clean_share=0.15,
    policies=NLM_CONFIG["policies"],
    n_valid=1000,
    seed=0,
    device=NLM_CONFIG["device"],
    cpu_bf16=True,
    workers=0,  # the pipeline that makes the choices runs in the loop's process
)


def rerank_pools(pipe: Pipeline, rows: list[dict], max_choices: int) -> list[tuple[list[float], list[str], list[int], str]]:
    """The choices the neural LM has in the first pass over each spun sentence (a row that is one
    sentence unit with flagged spans): (beam scores, sentences, wrong words of each against the
    clean sentence, clean sentence); only those whose choices differ in how many words they get
    wrong teach anything. At most `max_choices`: the least wrong (up to half) and the best-scored others."""
    out = []
    docs = pipe.detect([r["spun"] for r in rows])
    for row, units in zip(rows, pipe.rewriter.pools(docs)):
        if len(units) != 1 or units[0][:2] != (0, len(row["spun"])) or len(units[0][2]) < 2:
            continue
        scores, texts = map(list, zip(*units[0][2]))
        wrong = [words_changed(t, row["clean"]) for t in texts]
        if len(set(wrong)) < 2:
            continue
        best = [j for j, w in enumerate(wrong) if w == min(wrong)][: max_choices // 2]
        keep = sorted(best + [j for j in range(len(texts)) if j not in best][: max_choices - len(best)])
        out.append(([scores[j] for j in keep], [texts[j] for j in keep], [wrong[j] for j in keep], row["clean"]))
    return out


def held_out_lm(docs: list[str], lm: Path, out: Path) -> Path:
    """A trigram LM directory at `out` with the counts of `docs` and `lm`'s config (the pipeline's
    settings), built once: the beam is to choose on other documents as on text it never saw. On
    train sentences the shipped LM, which counted them all, chooses far better than on validation
    sentences (module docstring), and a model taught to fix such choices would learn to trust the
    beam too much."""
    config = json.loads((lm / "config.json").read_text(encoding="utf-8"))
    if not (out / "lm.safetensors").is_file():
        out.mkdir(parents=True, exist_ok=True)
        corpus = out / "documents.jsonl.gz"
        with gzip.open(corpus, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": d}) + "\n" for d in docs)
        counts = KneserNeyTrigram.build(corpus_sentences(corpus, config.get("min_name_count", 50)),
                                        min_count=config.get("min_count", 1))
        counts.save(out, config)
        corpus.unlink()
    return out


def train_rerank(cfg: dict, resume: bool = False) -> None:
    """Teach the neural LM to choose among the beam's final sentences (`CandidateRewriter.pools`):
    per spun sentence, the softmax over its choices of beam score + weight · log P_neural puts its
    mass on those with the fewest wrong words (listwise), plus the LM loss on the clean sentence.
    A trained LM scores every sentence alike; this one learns where the beam's choices go wrong."""
    torch.manual_seed(cfg["seed"])
    device = cfg["device"]
    run, out = Path(cfg["run"]), Path(cfg["out"])
    run.mkdir(parents=True, exist_ok=True)
    if read_reverse(Path(cfg["init"])):
        raise RestoreError(f"{cfg['init']} reads right to left: the rewriter judges with a left-to-right model")
    model, sp = hf_nlm(cfg["init"])
    model = model.to(device).train()
    boundary = sp.get_piece_size()
    pipe = Pipeline(cfg["detector"], lm=cfg["lm"], precision="fp32", nlm=None)
    weights = json.loads((Path(cfg["lm"]) / "config.json").read_text(encoding="utf-8"))["rewrite"]
    if not weights.get("neural"):
        raise RestoreError(f"{cfg['lm']}/config.json gives the neural LM no weight: tune one first (scripts/build_lm.py)")
    pipe.rewriter.w.update(weights)  # as the pipeline weighs the choices with the neural LM (its keep bonus)
    weight = weights["neural"]
    # validation: the choices at the shipped margin, all of them (build_lm.py tunes on the same sentences)
    valid = rerank_pools(pipe, valid_pairs(read_docs(cfg["valid"]), cfg["n_valid"], seed=5, policies=cfg["policies"]),
                         max_choices=10**6)
    docs = read_docs(cfg["corpus"])
    if cfg["held_out"]:
        pipe = Pipeline(cfg["detector"], lm=held_out_lm(docs[::2], Path(cfg["lm"]), run / "lm-even"), precision="fp32",
                        nlm=None)
        pipe.rewriter.w.update(weights)
        docs = docs[1::2]
    pipe.rewriter.w["margin"] = cfg["margin"]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01, betas=(0.9, 0.98))
    state = start_state(run, model, opt, resume, best=-math.inf)

    def sentence_logprobs(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = pad([sentence_ids(sp, t) for t in texts], boundary)
        ids, mask = ids.to(device), mask.to(device)
        return piece_logprobs(model, ids, mask).sum(1), mask[:, 1:].sum(1)

    def collate(rows: list[dict], rng: random.Random) -> list:
        return rerank_pools(pipe, rows, cfg["max_choices"])

    def step_loss(pools: list) -> tuple[torch.Tensor, dict]:
        if not pools:  # a batch with no sentence to learn from
            return torch.zeros((), requires_grad=True), {}
        lp, pieces = sentence_logprobs([t for _, texts, _, _ in pools for t in texts] + [p[3] for p in pools])
        rank, i = lp.new_zeros(()), 0
        for scores, texts, wrong, _ in pools:
            z = torch.tensor(scores, device=lp.device) + weight * lp[i : i + len(texts)]
            rank = rank + z.logsumexp(0) - z[torch.tensor(wrong) == min(wrong)].logsumexp(0)
            i += len(texts)
        rank = rank / len(pools)
        lm = -lp[i:].sum() / pieces[i:].sum()
        beam_right = sum(wrong[0] == min(wrong) for _, _, wrong, _ in pools) / len(pools)
        return rank + cfg["lm_weight"] * lm, {"rank": rank.item(), "lm": lm.item(), "beam_right": beam_right}

    @torch.no_grad()
    def evaluate() -> tuple[dict, float]:
        """The share of the validation sentences' words the neural LM's choices get wrong, at the
        shipped margin (the beam's best alone: `beam_wrong`; the best choice: `least_wrong`)."""
        model.eval()
        texts = [t for _, ts, _, _ in valid for t in ts]
        lps = [v for k in range(0, len(texts), 128) for v in sentence_logprobs(texts[k : k + 128])[0].tolist()]
        chosen = beam = least = words = i = 0
        for scores, ts, wrong, clean in valid:
            z = [s + weight * lp for s, lp in zip(scores, lps[i : i + len(ts)])]
            chosen += wrong[max(range(len(ts)), key=z.__getitem__)]
            beam, least, words, i = beam + wrong[0], least + min(wrong), words + len(clean.split()), i + len(ts)
        model.train()
        words = max(words, 1)
        return {"valid_wrong": chosen / words, "beam_wrong": beam / words, "least_wrong": least / words}, -chosen / words

    def export(entry: dict) -> None:
        save_nlm(model, sp, out, cfg["storage"])
        write_text(json.dumps({"trained": entry, "train_config": cfg}, indent=2) + "\n", str(out / "restore.json"))

    if state["step"] == 0:  # only a model that chooses better than the one it started from is exported
        metrics, state["best"] = evaluate()
        entry = json.dumps({"step": 0, "minutes": 0.0, **{k: round(v, 4) for k, v in metrics.items()}})
        with (run / "log.jsonl").open("a") as log:
            log.write(entry + "\n")
        tqdm.write(entry)
    stream = BatchStream(docs, cfg["seed"] + 3, state["doc"], cfg["clean_share"],
                         cfg["batch_size"], collate, cfg["policies"])
    fit(cfg, model, opt, state, stream, step_loss, evaluate, export, "train rerank")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path(RERANK_CONFIG["run"]), help="run directory: checkpoints, log.jsonl")
    ap.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help=f"any config entry: {', '.join(RERANK_CONFIG)}")
    args = ap.parse_args()
    try:
        cfg = apply_overrides(dict(RERANK_CONFIG, run=str(args.run), out=str(args.run / "nlm")), args.set)
    except RestoreError as e:
        ap.error(str(e))
    train_rerank(cfg, resume=args.resume)


if __name__ == "__main__":
    main()
