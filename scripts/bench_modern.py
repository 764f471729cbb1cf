"""Out of the corpus's time: restore on news written in today's style for this check.

    python scripts/bench_modern.py                      # scripts/modern/*.txt, 4 policies x 5 seeds
    python scripts/bench_modern.py --texts DIR --seeds 10

The corpus is 1987 Reuters and 2004-05 BBC, and every test figure inherits its habits ("5
pct", "two mln", "e-mail"). The articles in scripts/modern/ were written for this benchmark
(AI phones, a spending bill, Covid, a rail closure: nothing copied from the corpus), so they
show what the corpus cannot: whether restore leaves a modern text alone, and how well it
undoes a spin of one. Each article is spun whole by each policy with several seeds and
restored as one document; the table gives BLEU against the article, the share of swaps put
back, and the edits to words the spinner left alone, per 1000 such words. Unspun, each article
is also restored whole and paragraph by paragraph.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from restore.evaluate import edit_outcomes, sacre_scores
from restore.lexicon import load_lexicon
from restore.pipeline import Pipeline
from restore.spin import Spinner, presets

HERE = Path(__file__).parent / "modern"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=Path, default=HERE, help="a directory of clean .txt articles")
    ap.add_argument("--policies", default="seedlike,mix,bare,chained")
    ap.add_argument("--seeds", type=int, default=5, help="spins of each article per policy")
    args = ap.parse_args()

    docs = [p.read_text(encoding="utf-8") for p in sorted(args.texts.glob("*.txt"))]
    words = sum(len(d.split()) for d in docs)
    pipe, lex = Pipeline(), load_lexicon()
    unspun = [pipe(d) for d in docs]
    same = sum(doc.restored() == d for doc, d in zip(unspun, docs))
    paragraphs = [p for d in docs for p in d.split("\n") if p.strip()]  # where the unspun gate has less to go on
    para_edits = sum(len(doc.edits) for doc in pipe.run(paragraphs))
    print(f"## {len(docs)} modern articles ({words:,} words), unspun\n\n"
          f"{same}/{len(docs)} returned byte for byte; {sum(len(doc.edits) for doc in unspun)} edits; "
          f"their {len(paragraphs)} paragraphs restored one by one: {para_edits} edits\n")
    print(f"## The same articles spun ({args.seeds} seeds per policy, each article one document)\n")
    print("| policy | swaps | identity BLEU | restore BLEU | swaps restored % | edits to unspun words /1000 |\n"
          "|---|---:|---:|---:|---:|---:|")
    for name in args.policies.split(","):
        spinner = Spinner(lex, presets(name))
        spun, refs, hyps = [], [], []
        swaps = right = wrong = kept_words = 0
        for seed in range(args.seeds):
            for i, clean in enumerate(docs):
                res = spinner.spin(clean, seed=seed * 1_000_003 + i)
                row = {"spans": [{"start": e.spun_start, "end": e.spun_end, "orig": e.clean} for e in res.edits]}
                doc = pipe(res.spun)
                r, w = edit_outcomes(row, doc.edits)
                swaps, right, wrong = swaps + len(res.edits), right + r, wrong + w
                kept_words += len(clean.split()) - sum(len(e.clean.split()) for e in res.edits)
                spun.append(res.spun)
                refs.append(clean)
                hyps.append(doc.restored())
        base, ours = sacre_scores(spun, refs)["BLEU"][0], sacre_scores(hyps, refs)["BLEU"][0]
        print(f"| {name} | {swaps:,} | {base:.1f} | {ours:.1f} | {100 * right / max(swaps, 1):.1f} | "
              f"{1000 * wrong / max(kept_words, 1):.1f} |")
    print(f"\nBLEU: sacrebleu, {sacre_scores(['a'], ['a'])['BLEU'][1]}")


if __name__ == "__main__":
    main()
