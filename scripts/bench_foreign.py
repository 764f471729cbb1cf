"""Restoration of articles spun with a thesaurus we do not have (Aiksaurus), on the test split.

Real spinners use thesauri that differ from ours (the seed article's "quality" for "news",
"speech" for "exchange"). This spins whole test articles with the seedlike policy drawing from
Debian's Aiksaurus thesaurus (Moby-derived; `apt-get install libaiksaurus-1.2-data`, at
benchmark time only), and restores them with the shipped models, which never saw it:

    python scripts/bench_foreign.py                     # test split, articles 200-300
    python scripts/bench_foreign.py --split valid       # for tuning

Prints markdown tables: identity, naive reversal and restore, with the share of swaps restored;
the detector's precision and recall on the same articles; and restore on them spun from ours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from restore.evaluate import evaluate, format_table, identity, naive_reversal
from restore.lexicon import Lexicon, load_lexicon, parse_aiksaurus
from restore.pairs import spun_articles
from restore.pipeline import Pipeline
from restore.spin import PRESETS, Spinner
from restore.train import read_docs

sys.path.insert(0, str(Path(__file__).parent))
from bench_detect import quality  # noqa: E402

AIKSAURUS = Path("/usr/share/aiksaurus")


def foreign_lexicon(root: Path = AIKSAURUS) -> Lexicon:
    """Aiksaurus as a forward table, with our corpus counts (the spinner reads no more of it)."""
    entries = parse_aiksaurus((root / "words.dat").read_bytes(), (root / "meanings.dat").read_bytes())
    return Lexicon(entries, {}, load_lexicon().freq)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=["test", "valid"])
    ap.add_argument("--first", type=int, default=200, help="the first article (bench_restore's articles)")
    ap.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    if not AIKSAURUS.is_dir():
        raise SystemExit(f"error: {AIKSAURUS} not found (apt-get install libaiksaurus-1.2-data)")
    docs = read_docs(f"../shared/corpus/{args.split}.jsonl.gz")[args.first : args.first + args.n]
    foreign = foreign_lexicon()
    rows = spun_articles(docs, Spinner(foreign, PRESETS["seedlike"]))
    ours = spun_articles(docs, Spinner(load_lexicon(), PRESETS["seedlike"]))
    pipe = Pipeline()
    n_words = sum(len(r["spun"].split()) for r in rows)
    swaps = sum(len(r["spans"]) for r in rows)
    print(f"## {args.n} {args.split} articles ({n_words:,} words) spun seedlike from Aiksaurus "
          f"({len(foreign.entries):,} headwords): {swaps:,} swaps, {100 * swaps / n_words:.1f} per 100 words\n")
    reports = [evaluate(name, fn, rows, batch_size=8) for name, fn in
               (("identity", identity), ("naive reversal (our thesaurus)", naive_reversal(load_lexicon())),
                ("restore", pipe.restore_texts))]
    print(format_table(reports))
    print("\n## Detection on them (each article one document, threshold 0.5)\n")
    print(quality(pipe.detector, rows))
    print(f"\n## The same articles spun seedlike from our thesaurus, for comparison "
          f"({sum(len(r['spans']) for r in ours):,} swaps)\n")
    print(format_table([evaluate(name, fn, ours, batch_size=8) for name, fn in
                        (("identity", identity), ("restore", pipe.restore_texts))]))


if __name__ == "__main__":
    main()
