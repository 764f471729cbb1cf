"""Spinner speed and swap share on a corpus split, per policy.

    python scripts/bench_spin.py --corpus ../shared/corpus/test.jsonl.gz
"""

from __future__ import annotations

import argparse
import time

from restore.lexicon import load_lexicon
from restore.spin import PRESETS, Spinner
from restore.train import read_docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="../shared/corpus/test.jsonl.gz")
    args = ap.parse_args()
    docs = read_docs(args.corpus)
    lex = load_lexicon()
    words = sum(len(d.split()) for d in docs)
    print("| policy | words | words/s | words swapped % | word count change % |")
    print("|---|---:|---:|---:|---:|")
    for name, policy in PRESETS.items():
        spinner = Spinner(lex, policy)
        t = time.perf_counter()
        results = [spinner.spin(d, seed=i) for i, d in enumerate(docs)]
        dt = time.perf_counter() - t
        swapped = sum(len(e.clean.split()) for r in results for e in r.edits)
        out_words = sum(len(r.spun.split()) for r in results)
        print(f"| {name} | {words:,} | {words / dt:,.0f} | {100 * swapped / words:.1f} | "
              f"{100 * (out_words - words) / words:+.1f} |")


if __name__ == "__main__":
    main()
