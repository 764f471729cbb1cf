"""Build the shipped trigram language model from the train split and tune how the
pipeline weighs it against the detector, on validation sentences.

    python scripts/build_lm.py            # -> models/lm/{lm.safetensors,vocab.txt.gz,config.json}

The LM is counts only (integer arrays keyed by word ids, n-grams seen once dropped, names
seen fewer than --min-name-count times one token, <cap>) and is used to choose among the
detector's candidates in context (`CandidateRewriter`).
Fidelity first: the chosen setting is the one with the best validation BLEU among those
that change at most --clean-budget words per 1000 of clean validation sentences.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from restore.detect import DEFAULT_DIR, valid_pairs
from restore.evaluate import evaluate
from restore.ngram import KneserNeyTrigram, corpus_sentences
from restore.pairs import clean_sentences
from restore.paths import LM_DIR
from restore.pipeline import Document, Pipeline
from restore.train import read_docs

# Probed and left out: threshold 0.2 (+0.1-0.2 BLEU, slower), 0.4-0.6 and spun weight 1 (worse at the
# budget), LM weights 0.7-1.4, candidate weights 0.5-1.5, 10 candidates (no better than 1, 1 and 5).
GRID = {"min_score": [0.3], "spun": [2.0, 3.0], "frequency": [0.0, 0.5, 1.0],
        "keep": [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus/train.jsonl.gz"))
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR, help="the detector")
    ap.add_argument("--out", type=Path, default=LM_DIR)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--min-name-count", type=int, default=50,
                    help="capitalised words rarer than this inside sentences share the LM token <cap>")
    ap.add_argument("--n-valid", type=int, default=1000, help="spun validation sentences")
    ap.add_argument("--n-clean", type=int, default=3000, help="clean validation sentences")
    ap.add_argument("--clean-budget", type=float, default=0.75,
                    help="most changed words per 1000 clean validation words a setting may make")
    args = ap.parse_args()

    t0 = time.time()
    lm = KneserNeyTrigram.build(corpus_sentences(args.corpus, args.min_name_count), min_count=args.min_count)
    lm.save(args.out, {"min_count": args.min_count, "min_name_count": args.min_name_count})
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"LM: {len(lm.vocab):,} words, {len(lm.c3):,} trigrams, {size / 1e6:.1f} MB, {time.time() - t0:.0f}s")

    docs = read_docs(args.valid)
    spun, clean = valid_pairs(docs, args.n_valid, seed=5), clean_sentences(docs, args.n_clean, seed=5)
    pipe = Pipeline(args.model, lm=args.out)
    texts = [r["spun"] for r in spun + clean]
    results = []
    for min_score in GRID["min_score"]:
        found = dict(zip(texts, pipe.detect(texts, threshold=min_score)))  # detect once per threshold
        for weights in itertools.product(*list(GRID.values())[1:]):
            pipe.rewriter.w.update(dict(zip(list(GRID)[1:], weights)))

            def restore(batch: list[str]) -> list[str]:
                return [pipe.rewriter(Document(t, found[t])).restored() for t in batch]

            bleu = evaluate("lm", restore, spun).bleu
            changes = evaluate("lm", restore, clean).clean_changes_per_1000
            values = (min_score, *weights)
            results.append((changes <= args.clean_budget, bleu, -changes, values))
            print(", ".join(f"{k} {v}" for k, v in zip(GRID, values))
                  + f": BLEU {bleu:.2f}, changes/1000 clean {changes:.2f}", flush=True)
    _, bleu, changes, values = max(results)
    cfg = dict(zip(GRID, values))
    meta = {"min_count": args.min_count, "min_name_count": args.min_name_count, "min_score": cfg.pop("min_score"),
            "rewrite": {"lm": 1.0, "candidate": 1.0, **cfg, "beam": 8},
            "tuned": {"valid_bleu": round(bleu, 2), "valid_changes_per_1000_clean": round(-changes, 2),
                      "n_valid": args.n_valid, "n_clean": args.n_clean, "clean_budget": args.clean_budget}}
    lm.save(args.out, meta)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
