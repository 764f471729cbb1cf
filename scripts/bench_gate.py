"""The unspun-document gates on validation data: what each gate would keep and what it would lose.

    python scripts/bench_gate.py            # prints the four tables the model card quotes (about 10 minutes)

A document whose words together say it is unspun (`RatePrior.evidence`, a log Bayes factor,
below the gate) has nothing flagged. The pipeline runs once without a gate; a gated document
then comes back as it went in, so each gate's outputs follow from that run and each
document's evidence (which the pipeline hands to its rewriter). Unspun validation articles
should come back untouched; what a gate costs is the right edits it withholds from the spun
articles and sentences it gates (the wrong ones it withholds there are a gain too).

The third table varies the unspun gate's alternative (`RatePrior.min_rate`: spun at a rate
from it to 0.5) with the gate at `GATE`, read from the same run and each document's raw word
scores; the run itself uses the shipped `min_rate` (for the rewriter's `surely_spun`).

The fourth table varies the light gate (`RatePrior.light`: a text of at least so many scored
words whose words look spun at a rate below so much has nothing flagged, if the trigram LM
finds it at least so many nats a word surprising: `KneserNeyTrigram.nats_per_word`, none: any),
read from the same run; it adds the prose of the installed packages' descriptions
(`bench_modern.package_prose`: technical text, far from the corpus), unspun and spun by the
training mix, and validation articles spun lightly (the seedlike spinner at a rate of 0.15,
about a tenth of the scored words), to the validation sets.

The second table does the same for the attached gate: where a document's words with
punctuation attached together say they are not spun like its other words
(`RatePrior.attached_evidence` below the gate), none of them is flagged, as a whitespace-splitting
spinner (policy `bare`) never swaps them. A gated document's edits to such words are dropped
from the same run's output. It compares the shipped evidence, from counts of confident scores,
at three levels of confidence (each with its clean rate, measured on the bare-spun articles'
attached words, which are all clean), with session 15's likelihood of the attached words' scores.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from datasets import disable_progress_bars

from bench_modern import package_prose
from restore.detect import DEFAULT_DIR
from restore.evaluate import edit_outcomes, evaluate
from restore.gates import ATTACHED_GATE, ATTACHED_HIGH, GATE, LIGHT_NATS, LIGHT_RATE, LIGHT_WORDS, MIN_RATE, RatePrior
from restore.lexicon import load_lexicon
from restore.pairs import clean_sentences, spun_articles, valid_pairs, validation_articles
from restore.pipeline import Pipeline
from restore.spin import PRESETS, Spinner, presets, with_rate
from restore.text import Token, bare
from restore.train import read_docs

GATES = [None, -0.5, -0.75, -1.0, -1.25, -1.5, -2.0, -3.0, -4.0]
ATTACHED_GATES = [None, 2.0, 1.0, 0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -5.0]
MIN_RATES = [0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1]
ATTACHED_HIGHS = [None, 0.8, 0.9, 0.95]
LIGHT = [None, *((words, rate, None) for words in (50, 100, 200) for rate in (0.04, 0.05, 0.06, 0.08, 0.1)),
         *((100, rate, nats) for rate in (0.06, 0.1) for nats in (6.5, 6.75, 7.0, 7.25, 7.5))]
LIGHT_SPIN = 0.15  # the light-spun articles' seedlike rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--articles", type=int, default=300, help="unspun articles, and spun ones per policy")
    args = ap.parse_args()
    disable_progress_bars()

    docs = read_docs(args.valid)
    pipe = Pipeline(args.model)
    # run without the gates; each gate's outputs follow below
    pipe.detector.calibration["prior"].update(gate=None, attached_gate=None, light_rate=None)
    mix, unspun = validation_articles(docs, args.articles)
    sets = {"unspun articles": unspun, "mix articles": mix}
    for policy in ("token", "chained", "bare"):
        sets[f"{policy} articles"] = validation_articles(docs, args.articles, policy)[0]
    sets["spun sentences"] = valid_pairs(docs, 1000, seed=5)  # build_lm.py's tuning sentences
    sets["clean sentences"] = clean_sentences(docs, 3000, seed=5)
    prose = package_prose()
    sets["package prose"] = [{"spun": d, "clean": d, "spans": []} for d in prose]
    sets["package prose spun"] = spun_articles(prose, Spinner(load_lexicon(), presets("mix")))
    light_spinner = Spinner(load_lexicon(), with_rate(PRESETS["seedlike"], LIGHT_SPIN))
    sets["light articles"] = spun_articles(docs[args.articles : 2 * args.articles], light_spinner, seed=9)
    runs, attached, raw, nats = {}, {}, {}, {}
    for name, rows in sets.items():
        texts = [r["spun"] for r in rows]
        runs[name] = [(r, doc, doc.evidence, edit_outcomes(r, doc.edits)[0])
                      for r, doc in zip(rows, pipe.run(texts))]
        raw[name] = [([ws.probs["combined"] for ws in words], [not ws.bare for ws in words])
                     for words in pipe.detector.score_documents(texts, ("combined",), with_hidden=False, prior=False)]
        attached[name] = [[e for e in doc.edits if not bare(doc.text, Token(e.old, e.start, e.end))]
                          for _, doc, _, _ in runs[name]]
        nats[name] = [pipe.detector.lm.nats_per_word(text) for text in texts]

    def gated(gate: float | None, min_rate: float | None = None,
              light: tuple[int, float, float | None] | None = None) -> dict[str, list[bool]]:
        """Per set, per document: is its evidence below the gate? The evidence is the run's, or
        with `min_rate` recomputed from the document's raw word scores. With `light` (words,
        rate, nats), also: is it that long, its words' rate below that (`RatePrior.light`) and
        the LM's nats per word at least that (None: whatever they are)?"""
        if gate is None:
            return {name: [False] * len(rs) for name, rs in runs.items()}
        if min_rate is None and light is None:
            return {name: [ev < gate for _, _, ev, _ in rs] for name, rs in runs.items()}
        prior = RatePrior(**{**pipe.detector.calibration["prior"], "gate": gate, "min_rate": min_rate or MIN_RATE})
        if light is None:
            return {name: [prior.unspun(p) for p, _ in raw[name]] for name in runs}
        prior = replace(prior, light_words=light[0], light_rate=light[1])
        return {name: [prior.gated(prior.evidence(p)) or prior.light(p) and (light[2] is None or n >= light[2])
                       for (p, _), n in zip(raw[name], nats[name])] for name in runs}

    def held(names: list[str], g: dict[str, list[bool]]) -> tuple[int, int, int]:
        """(documents gated, right edits withheld, wrong edits withheld) over the named sets."""
        docs = [(doc, right) for name in names for (_, doc, _, right), x in zip(runs[name], g[name]) if x]
        right = sum(r for _, r in docs)
        return len(docs), right, sum(len(doc.edits) for doc, _ in docs) - right

    def restorer(name: str, g: dict[str, list[bool]]):
        out = {r["spun"]: r["spun"] if x else doc.restored() for (r, doc, _, _), x in zip(runs[name], g[name])}
        return lambda texts: [out[t] for t in texts]

    spun_sets = ["mix articles", "token articles", "chained articles"]

    def gate_table(first: str, rows: list[tuple[str, dict[str, list[bool]]]]) -> None:
        print(f"| {first} | unspun articles edited (of {args.articles}) | spun articles gated (of {3 * args.articles}) "
              "| their edits withheld: right / wrong | validation sentences gated (of 1000): right / wrong edits withheld "
              "| sentences BLEU | changes /1000 clean sentence words |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, g in rows:
            unspun = sum(bool(doc.edits) and not x for (_, doc, _, _), x in zip(runs["unspun articles"], g["unspun articles"]))
            n_art, art_right, art_wrong = held(spun_sets, g)
            n_sent, sent_right, sent_wrong = held(["spun sentences"], g)
            bleu = evaluate("s", restorer("spun sentences", g), sets["spun sentences"]).bleu
            clean = evaluate("c", restorer("clean sentences", g), sets["clean sentences"]).clean_changes_per_1000
            print(f"| {label} | {unspun} | {n_art} | {art_right} / {art_wrong} "
                  f"| {n_sent}: {sent_right} / {sent_wrong} | {bleu:.2f} | {clean:.2f} |")

    def mark(value: float | None, shipped: float) -> str:
        text = "none" if value is None else str(value)
        return f"**{text}**" if value == shipped else text

    gate_table("gate", [(mark(gate, GATE), gated(gate)) for gate in GATES])
    print("\nlowest evidence of a spun article: "
          + ", ".join(f"{name} {min(ev for _, _, ev, _ in runs[name]):.2f}" for name in spun_sets))

    prior = RatePrior(**pipe.detector.calibration["prior"])
    # clean words in spun text: the attached words of bare-spun articles, none of them swapped
    scores = [p for ps, att in raw["bare articles"] for p, a in zip(ps, att) if a]
    clean_rate = {high: sum(p >= high for p in scores) / len(scores) for high in ATTACHED_HIGHS if high}
    print("\nshare of the attached words of bare-spun articles (all clean) scoring at least "
          + ", ".join(f"{high}: {rate:.4f}" for high, rate in clean_rate.items()))

    def statistic(name: str, high: float | None) -> list[float | None]:
        """Each document's attached evidence (None where it has none): from counts of scores at least
        `high` (`RatePrior.attached_evidence`), or with high None session 15's likelihood of its
        attached words' scores at the document's rate (`RatePrior.evidence` at that one rate)."""
        if high is None:
            return [prior.evidence([x for x, y in zip(p, a) if y], np.array([prior.rate(p)])) if any(a) else None
                    for p, a in raw[name]]
        counts = replace(prior, attached_high=high, attached_clean_rate=clean_rate[high])
        return [counts.attached_evidence(p, a) if any(a) else None for p, a in raw[name]]

    def attached_held(name: str, evidence: list[float | None], gate: float | None) -> tuple[int, int, int]:
        """(documents whose attached words are gated, right and wrong edits to them withheld); the
        documents the unspun gate (`GATE`) takes whole are left out."""
        docs = [(row, edits) for (row, _, ev, _), edits, att in zip(runs[name], attached[name], evidence)
                if gate is not None and att is not None and att < gate and not ev < GATE]
        right = sum(edit_outcomes(row, edits)[0] for row, edits in docs)
        return len(docs), right, sum(len(edits) for _, edits in docs) - right

    def bleu(name: str, evidence: list[float | None], gate: float | None) -> float:
        out = {}
        for (row, doc, ev, _), edits, att in zip(runs[name], attached[name], evidence):
            keep = (doc.edits if gate is None or att is None or att >= gate
                    else [e for e in doc.edits if e not in edits])
            out[row["spun"]] = row["spun"] if ev < GATE else replace(doc, edits=keep).restored()
        return evaluate(name, lambda texts: [out[t] for t in texts], sets[name]).bleu

    print(f"\n| attached evidence | attached gate | bare articles (of {args.articles}): gated, right / wrong edits withheld | BLEU "
          f"| mix, token, chained articles (of {3 * args.articles}): gated, right / wrong withheld | mix BLEU "
          "| validation sentences (of 1000): gated, right / wrong withheld | sentences BLEU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for high in ATTACHED_HIGHS:
        evidence = {name: statistic(name, high) for name in ["bare articles", *spun_sets, "spun sentences"]}
        for gate in ATTACHED_GATES:
            n_bare, bare_right, bare_wrong = attached_held("bare articles", evidence["bare articles"], gate)
            held3 = [attached_held(name, evidence[name], gate) for name in spun_sets]
            n_sent, sent_right, sent_wrong = attached_held("spun sentences", evidence["spun sentences"], gate)
            label = "likelihood (session 15)" if high is None else f"counts at {high}"
            print(f"| {label} | {mark(gate, ATTACHED_GATE if high == ATTACHED_HIGH else math.nan)} "
                  f"| {n_bare}: {bare_right} / {bare_wrong} "
                  f"| {bleu('bare articles', evidence['bare articles'], gate):.2f} | {sum(h[0] for h in held3)}: "
                  f"{sum(h[1] for h in held3)} / {sum(h[2] for h in held3)} "
                  f"| {bleu('mix articles', evidence['mix articles'], gate):.2f} | {n_sent}: {sent_right} / {sent_wrong} "
                  f"| {bleu('spun sentences', evidence['spun sentences'], gate):.2f} |", flush=True)

    print(f"\n(gate {GATE}, its alternative spun at a rate from:)")
    gate_table("lowest spin rate", [(mark(m, MIN_RATE), gated(GATE, m)) for m in MIN_RATES])

    right_total = sum(r for name in spun_sets for _, _, _, r in runs[name])
    light_total = sum(r for _, _, _, r in runs["light articles"])
    print(f"\n(gate {GATE}; of the spun articles' {right_total:,} right edits, one in 1000 is {right_total / 1000:.1f}; "
          f"the light-spun articles' right edits: {light_total:,}; "
          f"{len(prose)} package descriptions, {sum(len(d.split()) for d in prose):,} words)\n")
    print(f"| light gate: words, rate, nats | unspun articles edited (of {args.articles}) | spun articles gated (of "
          f"{3 * args.articles}): right / wrong edits withheld | bare articles gated: right / wrong withheld "
          f"| light-spun articles gated (of {args.articles}): right / wrong withheld "
          "| validation sentences gated | package descriptions edited: edits | spun package descriptions gated: "
          "right / wrong withheld |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for light in LIGHT:
        g = gated(GATE, light=light)
        unspun = sum(bool(doc.edits) and not x for (_, doc, _, _), x in zip(runs["unspun articles"], g["unspun articles"]))
        kept = [doc for (_, doc, _, _), x in zip(runs["package prose"], g["package prose"]) if not x]
        n_art, art_right, art_wrong = held(spun_sets, g)
        n_bare, bare_right, bare_wrong = held(["bare articles"], g)
        n_light, light_right, light_wrong = held(["light articles"], g)
        n_pkg, pkg_right, pkg_wrong = held(["package prose spun"], g)
        label = "none" if light is None else ", ".join("any" if x is None else str(x) for x in light)
        print(f"| {f'**{label}**' if light == (LIGHT_WORDS, LIGHT_RATE, LIGHT_NATS) else label} | {unspun} "
              f"| {n_art}: {art_right} / {art_wrong} | {n_bare}: {bare_right} / {bare_wrong} "
              f"| {n_light}: {light_right} / {light_wrong} "
              f"| {held(['spun sentences'], g)[0]} | {sum(bool(doc.edits) for doc in kept)}: "
              f"{sum(len(doc.edits) for doc in kept)} | {n_pkg}: {pkg_right} / {pkg_wrong} |", flush=True)


if __name__ == "__main__":
    main()
