"""Build the shipped trigram language model from the train split and tune how the
pipeline weighs it against the detector, on validation sentences.

    python scripts/build_lm.py            # -> models/lm/{lm.safetensors,vocab.txt.gz,config.json}

The LM is counts only (integer arrays keyed by word ids, n-grams seen once dropped) and is
used to choose among the detector's candidates in context (`CandidateRewriter`).
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
from restore.paths import LM_DIR
from restore.pipeline import Pipeline
from restore.train import read_docs

# an earlier, wider grid (lm 1.0/1.5, candidate 0.5/1.0, spun 1-3, 10 candidates) never beat these
GRID = {"min_score": [0.5, 0.6, 0.7], "keep": [0.0, 1.0, 2.0], "lm": [1.0], "spun": [1.0], "candidate": [1.0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus/train.jsonl.gz"))
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR, help="the detector")
    ap.add_argument("--out", type=Path, default=LM_DIR)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--n-valid", type=int, default=1000)
    ap.add_argument("--clean-cost", type=float, default=1.0,
                    help="BLEU points one change per 1000 clean words costs in the tuning objective")
    args = ap.parse_args()

    t0 = time.time()
    lm = KneserNeyTrigram.build(corpus_sentences(args.corpus), min_count=args.min_count)
    lm.save(args.out, {"min_count": args.min_count})
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"LM: {len(lm.vocab):,} words, {len(lm.c3):,} trigrams, {size / 1e6:.1f} MB, {time.time() - t0:.0f}s")

    rows = valid_pairs(read_docs(args.valid), args.n_valid, seed=5)
    pipe = Pipeline(args.model, lm=args.out)
    results = []
    for values in itertools.product(*GRID.values()):
        cfg = dict(zip(GRID, values))
        pipe.detector.threshold = cfg.pop("min_score")
        pipe.rewriter.w.update(cfg)
        r = evaluate("lm", pipe.restore_texts, rows)
        objective = r.bleu - args.clean_cost * r.clean_changes_per_1000
        results.append((objective, values, r))
        print(dict(zip(GRID, values)), f"BLEU {r.bleu:.2f}, changes/1000 clean {r.clean_changes_per_1000:.2f}, "
              f"objective {objective:.2f}", flush=True)
    objective, values, r = max(results, key=lambda x: x[0])
    cfg = dict(zip(GRID, values))
    meta = {"min_count": args.min_count, "min_score": cfg.pop("min_score"), "rewrite": {**cfg, "beam": 8},
            "tuned": {"valid_bleu": round(r.bleu, 2), "valid_changes_per_1000_clean": round(r.clean_changes_per_1000, 2),
                      "n_valid": args.n_valid, "clean_cost": args.clean_cost}}
    lm.save(args.out, meta)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
