"""The unspun-document gate on validation data: what each gate would keep and what it would lose.

    python scripts/bench_gate.py            # prints the table the model card quotes (about 6 minutes)

A document whose words together say it is unspun (`RatePrior.evidence`, a log Bayes factor,
below the gate) has nothing flagged. The pipeline runs once without a gate; a gated document
then comes back as it went in, so each gate's outputs follow from that run and each
document's evidence (which the pipeline hands to its rewriter). Unspun validation articles
should come back untouched; what a gate costs is the right edits it withholds from the spun
articles and sentences it gates (the wrong ones it withholds there are a gain too).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from datasets import disable_progress_bars

from restore.detect import DEFAULT_DIR, GATE, valid_pairs
from restore.evaluate import edit_outcomes, evaluate
from restore.lexicon import load_lexicon
from restore.pairs import clean_sentences, spun_articles
from restore.pipeline import Pipeline
from restore.spin import PRESETS, Spinner
from restore.train import read_docs

GATES = [None, -0.5, -0.75, -1.0, -1.25, -1.5, -2.0, -3.0, -4.0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--articles", type=int, default=300, help="unspun articles, and spun ones per policy")
    args = ap.parse_args()
    disable_progress_bars()

    docs = read_docs(args.valid)
    pipe = Pipeline(args.model)
    pipe.detector.calibration["prior"]["gate"] = None  # run without a gate; each gate's outputs follow below
    sets = {"unspun articles": [{"spun": d, "clean": d, "spans": []} for d in docs[: args.articles]]}
    for policy in ("mix", "token", "chained"):
        spinner = Spinner(load_lexicon(), PRESETS[policy])
        sets[f"{policy} articles"] = spun_articles(docs[args.articles : 2 * args.articles], spinner, seed=9)
    sets["spun sentences"] = valid_pairs(docs, 1000, seed=5)  # build_lm.py's tuning sentences
    sets["clean sentences"] = clean_sentences(docs, 3000, seed=5)
    runs = {}
    for name, rows in sets.items():
        texts = [r["spun"] for r in rows]
        runs[name] = [(r, doc, doc.evidence, edit_outcomes(r, doc.edits)[0])
                      for r, doc in zip(rows, pipe.run(texts))]

    def held(names: list[str], gate: float | None) -> tuple[int, int, int]:
        """(documents gated, right edits withheld, wrong edits withheld) over the named sets."""
        gated = [(doc, right) for name in names for _, doc, ev, right in runs[name] if gate is not None and ev < gate]
        right = sum(r for _, r in gated)
        return len(gated), right, sum(len(doc.edits) for doc, _ in gated) - right

    def restorer(name: str, gate: float | None):
        out = {r["spun"]: r["spun"] if gate is not None and ev < gate else doc.restored() for r, doc, ev, _ in runs[name]}
        return lambda texts: [out[t] for t in texts]

    spun_sets = ["mix articles", "token articles", "chained articles"]
    print(f"| gate | unspun articles edited (of {args.articles}) | spun articles gated (of {3 * args.articles}) "
          "| their edits withheld: right / wrong | validation sentences gated (of 1000): right / wrong edits withheld "
          "| sentences BLEU | changes /1000 clean sentence words |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for gate in GATES:
        unspun = sum(bool(doc.edits) and not (gate is not None and ev < gate) for _, doc, ev, _ in runs["unspun articles"])
        n_art, art_right, art_wrong = held(spun_sets, gate)
        n_sent, sent_right, sent_wrong = held(["spun sentences"], gate)
        bleu = evaluate("s", restorer("spun sentences", gate), sets["spun sentences"]).bleu
        clean = evaluate("c", restorer("clean sentences", gate), sets["clean sentences"]).clean_changes_per_1000
        mark = "**" if gate == GATE else ""
        print(f"| {mark}{gate if gate is not None else 'none'}{mark} | {unspun} | {n_art} | {art_right} / {art_wrong} "
              f"| {n_sent}: {sent_right} / {sent_wrong} | {bleu:.2f} | {clean:.2f} |")
    print("\nlowest evidence of a spun article: "
          + ", ".join(f"{name} {min(ev for _, _, ev, _ in runs[name]):.2f}" for name in spun_sets))


if __name__ == "__main__":
    main()
