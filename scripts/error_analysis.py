"""Where the pipeline loses swaps: each spun word of validation sentences in one bucket.

    python scripts/error_analysis.py                 # 1000 spun validation sentences, like build_lm.py
    python scripts/error_analysis.py --articles 450  # build_lm.py's 450 spun validation articles instead
    python scripts/error_analysis.py --ceilings      # what better detection, or a better choice, would give
    python scripts/error_analysis.py --articles 450 --first-habit off  # without the spinner's habit (sessions 38-39)

Buckets, in pipeline order: not scored as spun at all (score < 0.2 or not eligible: names,
capitals), scored below the edit threshold, flagged but its original is not among the
candidates, original among them but kept or another chosen, and restored. Also prints how
many of the kept words the beam saw as doubtful, and examples of each bucket and of edits to
words the spinner did not touch.

--ceilings prints BLEU on the same rows three ways: the pipeline; the beam given the spinner's
own spans as flags (each with the candidates the detector offers there, surely spun); and the
right candidate taken wherever it is among those. The gaps say how much detection and how
much the choice among candidates cost.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from dataclasses import replace

from restore.pairs import valid_pairs, validation_articles
from restore.evaluate import sacre_scores
from restore.pipeline import CandidateRewriter, Document, Pipeline
from restore.train import read_docs

BUCKETS = ["restored", "below threshold, original among candidates", "below threshold, original not among them",
           "not scored (< 0.2) or not eligible", "flagged, original not among candidates",
           "flagged, another candidate chosen", "flagged, kept"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=0,
                    help="whole spun validation articles instead of sentences (each one document: the vote counts)")
    ap.add_argument("--examples", type=int, default=8)
    ap.add_argument("--ceilings", action="store_true", help="BLEU with the spinner's own spans as flags instead")
    ap.add_argument("--first-habit", help="the detector's first_habit (`Habit.read`), or off; default: the shipped one")
    args = ap.parse_args()

    docs = read_docs(args.valid)
    rows = validation_articles(docs, args.articles)[0] if args.articles else valid_pairs(docs, args.n, seed=5)
    what = f"{len(rows):,} validation {'articles' if args.articles else 'sentences'}"
    pipe = Pipeline()
    if args.first_habit:
        pipe.detector.first_habit = None if args.first_habit == "off" else float(args.first_habit)
    surely = pipe.rewriter.w["surely_spun"]
    texts = [r["spun"] for r in rows]
    if args.ceilings:
        ceilings(pipe, rows, what)
        return
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for row, low, found in zip(rows, pipe.detect(texts, threshold=0.2), pipe.detect(texts)):
        doc = pipe.rewriter(found)
        new = {e.start: e.new.lower() for e in doc.edits}
        # a span flagged for the rewriter (in a document surely spun, from its lower threshold) as it
        # was flagged; any other from the run at 0.2
        by_start = {s.start: s for s in low.spans} | {s.start: s for s in found.spans}
        flagged = {s.start for s in found.spans}
        gold = {g["start"] for g in row["spans"]}
        for g in row["spans"]:
            span, orig = by_start.get(g["start"]), g["orig"].lower()
            among = span is not None and orig in [c.text.lower() for c in span.candidates]
            if span is None:
                bucket = BUCKETS[3]
            elif span.start not in flagged:
                bucket = BUCKETS[1] if among else BUCKETS[2]
            elif new.get(span.start) == orig:
                bucket = BUCKETS[0]
            elif not among:
                bucket = BUCKETS[4]
            else:
                bucket = BUCKETS[5] if span.start in new else BUCKETS[6]
            if bucket == BUCKETS[6]:  # why the beam kept it: a doubtful score, in a sentence surely spun?
                counts["kept, score < 0.5"] += span.score < 0.5
                counts["kept, surely spun"] += found.evidence is not None and found.evidence >= surely
            counts[bucket] += 1
            examples[bucket].append(f"{row['spun'][g['start']:g['end']]} (was {g['orig']}) -> "
                                    f"{new.get(g['start'], 'kept')}")
        for e in doc.edits:
            if e.start not in gold:
                counts["edits to words not spun"] += 1
                examples["edits to words not spun"].append(f"{e.old} -> {e.new}")
    total = sum(counts[b] for b in BUCKETS)
    print(f"| {total:,} spun words of {what} | words | % |\n|---|---:|---:|")
    for bucket in BUCKETS:
        print(f"| {bucket} | {counts[bucket]:,} | {100 * counts[bucket] / total:.1f} |")
    print(f"| edits to words not spun | {counts['edits to words not spun']:,} | |")
    print(f"\nOf the {counts[BUCKETS[6]]:,} kept: {counts['kept, score < 0.5']:,} scored below 0.5 "
          f"(lexicon+context, as the beam weighs them), {counts['kept, surely spun']:,} in "
          f"{'articles' if args.articles else 'sentences'} surely spun (evidence >= {surely:g}).")
    for bucket, items in examples.items() if args.examples else ():
        print(f"\n{bucket}: " + "; ".join(items[: args.examples]))


def ceilings(pipe: Pipeline, rows: list[dict], what: str) -> None:
    """The pipeline's BLEU on `rows`, and with the spinner's spans flagged (score 0.99): the beam's
    choice, and the right original wherever it is among the candidates."""
    texts, refs = [r["spun"] for r in rows], [r["clean"] for r in rows]
    beam, oracle = [], []
    for row, found in zip(rows, pipe.detect(texts, threshold=0.0)):  # every eligible word, with candidates
        gold = {g["start"]: g["orig"].lower() for g in row["spans"]}
        spans = [replace(s, score=0.99) for s in found.spans if s.start in gold]
        beam.append(pipe.rewriter(Document(found.text, spans=spans, evidence=found.evidence)).restored())
        right = [replace(s, candidates=[c for c in s.candidates if c.text.lower() == gold[s.start]]) for s in spans]
        oracle.append(CandidateRewriter()(Document(found.text, spans=right)).restored())
    print(f"| {what} | BLEU |\n|---|---:|")
    for name, hyps in (("spun input", texts), ("restore (the pipeline)", pipe.restore_texts(texts)),
                       ("the spinner's spans flagged, the beam chooses", beam),
                       ("the spinner's spans flagged, the right candidate where offered", oracle)):
        print(f"| {name} | {sacre_scores(hyps, refs)['BLEU'][0]:.1f} |")


if __name__ == "__main__":
    main()
