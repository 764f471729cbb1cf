"""Does weighing each document's spinner habit help? A probe (sessions 38-40), on validation only.

    python scripts/probe_first_habit.py                       # about 30 minutes
    python scripts/probe_first_habit.py --habits off,0.6 --articles 50

A spinner's habit shows in its text: the seed article's spinner wrote an original's first
substitute (`Lexicon.first`: "in" -> "successful") for 94% of its surely spun words, one that
draws from any sense for about half. With `Detector.first_habit` set (the share of first
substitutes the thesaurus prior assumes), each document's own share (`Habit.read`)
weighs its candidates, the originals whose first substitute is the spun word by the odds of
that share over the habit's (`Habit.first_gain`, session 38), and moves each word's odds of
being spun by how likely that habit makes it (`Habit.odds`, session 39). This prints,
for each habit (off: none), BLEU (and the share of swaps
restored) on validation articles spun by the training mix, the seedlike policy, the chained
policy (held out of training), a first-substitute spinner and an any-sense spinner, and the
changes to unspun articles and the seed article's words changed against the first setting's; then the first-substitute share the detector reads in each set
(the 10th, 50th and 90th percentile over documents) and in the seed article. Since session 40
a spinner's other habit, inflecting (`Habit.read_inflection`), is read with the first; two
more sets are spun by spinners that inflect (first substitute, and seedlike), and
`--no-inflection` reads the first habit alone, as session 39 did.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from restore.habit import FIRST_SURE
from restore.evaluate import evaluate
from restore.lexicon import load_lexicon
from restore.pairs import spun_articles, validation_articles
from restore.pipeline import Pipeline
from restore.spin import Policy, Spinner
from restore.train import read_docs

SEED = Path("seeds/000_218a7ccf3f92d917.txt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--habits", default="off,0.3,0.4,0.45,0.5,0.6,0.7", help="first_habit settings, comma-separated (off: none)")
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument("--no-inflection", action="store_true", help="read the first-substitute habit alone (session 39)")
    args = ap.parse_args()
    docs, n, lex = read_docs(args.valid), args.articles, load_lexicon()
    sets = {
        "mix": validation_articles(docs, n)[0],
        "seedlike": validation_articles(docs, n, "seedlike")[0],
        "chained": validation_articles(docs, n, "chained")[0],
        "first substitute": spun_articles(docs[n : 2 * n], Spinner(lex, Policy(choice="first")), seed=11),
        "any sense": spun_articles(docs[n : 2 * n], Spinner(lex, Policy(choice="any_sense")), seed=11),
        "first, inflecting": spun_articles(docs[n : 2 * n], Spinner(lex, Policy(choice="first", inflect=True)), seed=11),
        "seedlike, inflecting": spun_articles(docs[n : 2 * n], Spinner(lex, Policy(inflect=True)), seed=11),
    }
    unspun = validation_articles(docs, n)[1]
    pipe = Pipeline()
    pipe.detector.inflection_habit = not args.no_inflection
    seed = SEED.read_text(encoding="utf-8")
    print("| first_habit | " + " | ".join(sets) + " | unspun articles: changes /1000 | seed article: words changed vs the first row |")
    print("|---|" + "---:|" * (len(sets) + 2))
    base = None
    for habit in args.habits.split(","):
        pipe.detector.first_habit = None if habit == "off" else float(habit)
        spun = [evaluate(name, pipe.restore_texts, rows, batch_size=8) for name, rows in sets.items()]
        clean = evaluate("unspun", pipe.restore_texts, unspun, batch_size=8)
        out = pipe(seed).restored().split()
        base = base or out
        moved = sum(a != b for a, b in zip(out, base)) if len(out) == len(base) else "?"
        print(f"| {habit} | " + " | ".join(f"{r.bleu:.2f} ({r.word_acc:.1f})" for r in spun)
              + f" | {clean.clean_changes_per_1000:.2f} | {moved} |", flush=True)
    det = pipe.detector
    det.first_habit = None  # the words' scores before the habit moves them
    print(f"\nShare of first substitutes among the words scored at least {FIRST_SURE} "
          "(`Habit.first_substitutes`; documents with at least 5 such words):\n")
    print("| set | documents | 10th | 50th | 90th |\n|---|---:|---:|---:|---:|")
    for name, rows in [*sets.items(), ("seed article", [{"spun": seed}])]:
        shares = []
        for words in det.score_documents([r["spun"] for r in rows], ("combined",), with_hidden=False):
            firsts = det.habit().first_substitutes(words, "combined")
            if len(firsts) >= 5:
                shares.append(sum(firsts) / len(firsts))
        shares.sort()
        q = [shares[int(p * (len(shares) - 1))] if shares else float("nan") for p in (0.1, 0.5, 0.9)]
        print(f"| {name} | {len(shares)} | " + " | ".join(f"{x:.2f}" for x in q) + " |")


if __name__ == "__main__":
    main()
