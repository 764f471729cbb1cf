"""Rewriter designs side by side: detector + candidates (the default), detector + T5 span
infilling, and the T5 rewriting every sentence whole; one table on the standard test set,
speeds on one 10,000-word input in the same run, and each T5's learning curve.

    python scripts/bench_rewriters.py \
        --spans models/rewriter-spans --sentence models/rewriter-sentence
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from restore.detect import DEFAULT_DIR
from restore.evaluate import evaluate, format_table, identity, median_seconds
from restore.pairs import build_pairs, load_pairs
from restore.pipeline import Pipeline


def learning_curve(model_dir: Path) -> str:
    """'minutes: BLEU' of each validation in the model's training log."""
    log = model_dir / "train_log.jsonl"
    if not log.is_file():
        return "(no train_log.jsonl)"
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return ", ".join(f"{e['minutes']:.1f} min / step {e['step']}: BLEU {e['bleu']:.1f}" for e in entries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR, help="the detector")
    ap.add_argument("--spans", type=Path, required=True, help="T5 trained in span mode")
    ap.add_argument("--sentence", type=Path, required=True, help="T5 trained in sentence mode")
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs/test"))
    ap.add_argument("--test-corpus", type=Path, default=Path("../shared/corpus/test.jsonl.gz"))
    args = ap.parse_args()

    if not args.pairs.is_dir():
        build_pairs(args.test_corpus, args.pairs, seed=0, n=2000)
    rows = list(load_pairs(args.pairs))
    pipes = {
        "detector + candidates (default)": Pipeline(args.model),
        "detector + T5 span infilling": Pipeline(args.model, rewriter=args.spans),
        "T5 full-sentence rewrite": Pipeline(args.model, rewriter=args.sentence),
    }
    reports = [evaluate("identity", identity, rows)]
    reports += [evaluate(name, pipe.restore_texts, rows) for name, pipe in pipes.items()]
    print(f"## Rewriters, standard test set ({len(rows)} sentences)\n")
    print(format_table(reports))

    spun_words = " ".join(r["spun"] for r in rows).split()[:10_000]
    text = "\n".join(" ".join(spun_words[i : i + 200]) for i in range(0, len(spun_words), 200))
    print("\n## Speed, one 10,000-word input end to end (median of 3, same run)\n")
    print("| rewriter | seconds | words/s |\n|---|---:|---:|")
    seconds = {}
    for name, pipe in pipes.items():
        pipe(text[:3000])  # warm up
        seconds[name] = median_seconds(lambda: pipe(text), runs=3)
        print(f"| {name} | {seconds[name]:.2f} | {10_000 / seconds[name]:,.0f} |")
    full = seconds["T5 full-sentence rewrite"]
    print(f"\nthe default is {full / seconds['detector + candidates (default)']:.1f}x as fast as full-sentence "
          f"rewriting; span infilling {full / seconds['detector + T5 span infilling']:.1f}x (T5s of the same size)")

    print("\n## Learning curves (validation BLEU, oracle-marked spans for span mode)\n")
    for name, path in (("span infilling", args.spans), ("full sentence", args.sentence)):
        print(f"- {name} ({path}): {learning_curve(path)}")


if __name__ == "__main__":
    main()
