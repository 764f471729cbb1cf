"""End-to-end restoration benchmark: one table on the standard test set, speed, clean articles.

    python scripts/bench_restore.py                 # all restorers, incl. the KN-trigram baseline
    python scripts/bench_restore.py --no-strong     # skip the slow classical baseline

Restorers: identity, naive reversal, noisy channel (KN trigram LM from the train
split + inverse thesaurus, beam 8), and restore's pipeline (detector + candidates chosen
in context by the shipped LM and neural LM; with its left-to-right model only; without the
neural LM; without either), on the standard test set
(sentences), on many clean test sentences, and on whole spun and unspun test articles (spun
by the training mix, by the held-out policy bare and, lightly, by seedlike at a rate of 0.15,
bench_gate.py's LIGHT_SPIN;
and hard-wrapped at 72 columns).
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

from datasets import disable_progress_bars

from bench_gate import LIGHT_SPIN
from restore.detect import DEFAULT_DIR
from restore.gates import LIGHT_NATS
from restore.evaluate import evaluate, format_table, identity, median_seconds, naive_reversal
from restore.lexicon import load_lexicon
from restore.nlm import BothWays
from restore.pairs import build_pairs, clean_sentences, load_pairs, spun_articles
from restore.paths import LM_DIR, NLM_DIR
from restore.pipeline import CandidateRewriter, Pipeline
from restore.spin import PRESETS, Spinner, with_rate
from restore.train import read_docs


def hard_wrap(text: str, width: int = 72) -> str:
    """Each line cut at its last space before `width`, the space made a line end (same offsets)."""
    out = []
    for line in text.split("\n"):
        chars, start = list(line), 0
        while len(line) - start > width and (cut := line.rfind(" ", start, start + width + 1)) > start:
            chars[cut], start = "\n", cut + 1
        out.append("".join(chars))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--lm", type=Path, default=LM_DIR, help="the language model and its tuned weights")
    ap.add_argument("--nlm", type=Path, default=NLM_DIR, help="the neural LM that rescores the beam's sentences")
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs/test"))
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus/train.jsonl.gz"))
    ap.add_argument("--test-corpus", default="../shared/corpus/test.jsonl.gz")
    ap.add_argument("--no-strong", action="store_true")
    ap.add_argument("--clean-sentences", type=int, default=3000, help="unspun test sentences to measure changes on")
    ap.add_argument("--clean-docs", type=int, default=200, help="unspun test articles to check byte for byte")
    ap.add_argument("--spun-docs", type=int, default=100, help="whole test articles to spin and restore")
    args = ap.parse_args()
    disable_progress_bars()  # the pair sets it builds would interleave bars with the tables

    if not args.pairs.is_dir():
        build_pairs(Path(args.test_corpus), args.pairs, seed=0, n=2000)
    rows = list(load_pairs(args.pairs))
    t0 = time.perf_counter()
    pipe = Pipeline(args.model, lm=args.lm, nlm=args.nlm)  # cold: loads the lexicon and the model
    load_s = time.perf_counter() - t0
    spun_words = " ".join(r["spun"] for r in rows).split()[:10_000]
    text = "\n".join(" ".join(spun_words[i : i + 200]) for i in range(0, len(spun_words), 200))
    first_s = median_seconds(lambda: pipe(text), runs=1)  # what `restore clean` of a new file pays: caches empty
    lex = load_lexicon()
    restorers = {"identity": identity, "naive reversal": naive_reversal(lex)}
    if not args.no_strong:
        from restore.ngram import KneserNeyTrigram, NoisyChannel, corpus_sentences

        restorers["noisy channel (KN trigram)"] = NoisyChannel(KneserNeyTrigram.build(corpus_sentences(args.corpus)), lex)
    restorers["restore without the LM (--no-lm)"] = Pipeline(args.model, lm=None).restore_texts
    ours = "restore: detector + candidates + LM" + (" + neural LM" if pipe.rewriter.nlm else "")
    if pipe.rewriter.nlm:
        restorers["restore without the neural LM (--no-nlm)"] = Pipeline(args.model, lm=args.lm, nlm=None).restore_texts
    if isinstance(pipe.rewriter.nlm, BothWays):  # what the right-to-left model adds: the same weights without it
        forward = copy.copy(pipe)
        forward.rewriter = CandidateRewriter(pipe.rewriter.lm, pipe.rewriter.w, pipe.rewriter.nlm.forward)
        restorers["restore with the left-to-right neural LM only"] = forward.restore_texts
    restorers[ours] = pipe.restore_texts
    reports = [evaluate(name, fn, rows) for name, fn in restorers.items()]
    print("## Restoration, standard test set (2000 sentences)\n")
    print(format_table(reports))

    print("\n## A spinner whose thesaurus differs (2000 test sentences per policy)\n")
    print("Seedlike spins as the training mix's main policy; chained takes a fifth of its swaps one "
          "step further through the substitute's own entry (new -> fresh -> caller), as the real seed "
          "article does: no policy of the training mix does that.\n")
    print("| policy | identity BLEU | restore BLEU | swapped words restored % | changes /1000 clean words |\n"
          "|---|---:|---:|---:|---:|")
    for policy in ("seedlike", "chained"):
        path = args.pairs.parent / f"test-{policy}"
        if not path.is_dir():
            build_pairs(Path(args.test_corpus), path, seed=0, n=2000, policy=policy)
        prow = list(load_pairs(path))
        base, got = evaluate("identity", identity, prow), evaluate("restore", pipe.restore_texts, prow)
        print(f"| {policy} | {base.bleu:.1f} | {got.bleu:.1f} | {got.word_acc:.1f} | {got.clean_changes_per_1000:.1f} |")

    all_docs = read_docs(args.test_corpus)
    clean = clean_sentences(all_docs, args.clean_sentences, seed=0)
    n_words = sum(len(r["clean"].split()) for r in clean)
    print(f"\n## Clean test sentences ({len(clean):,} unspun sentences, {n_words:,} words)\n")
    print("| restorer | changed words /1000 | sentences changed % |\n|---|---:|---:|")
    for name, fn in restorers.items():
        r = evaluate(name, fn, clean)
        print(f"| {name} | {r.clean_changes_per_1000:.2f} | {100 - r.exact:.1f} |")
    articles = spun_articles(all_docs[args.clean_docs : args.clean_docs + args.spun_docs], Spinner(lex))
    reports = [evaluate(name, fn, articles, batch_size=8) for name, fn in restorers.items()]
    print(f"\n## Restoration, whole spun test articles ({len(articles)} articles, policy mix)\n")
    print(format_table(reports))
    bare = spun_articles(all_docs[args.clean_docs : args.clean_docs + args.spun_docs], Spinner(lex, PRESETS["bare"]))
    prior = pipe.detector.calibration["prior"]
    gate = prior.pop("attached_gate", None)  # the attached gate's ablation, with the same pipeline
    ablation = evaluate("restore without the attached gate", pipe.restore_texts, bare, batch_size=8)
    prior["attached_gate"] = gate
    reports = [evaluate("identity", identity, bare, batch_size=8), ablation,
               evaluate(ours, pipe.restore_texts, bare, batch_size=8)]
    print("\n## The same articles spun by a whitespace-splitting spinner (policy bare, held out of training)\n")
    print("Seedlike, but a word with punctuation attached is never swapped, as in the seed article.\n")
    print(format_table(reports))
    light = spun_articles(all_docs[args.clean_docs : args.clean_docs + args.spun_docs],
                          Spinner(lex, with_rate(PRESETS["seedlike"], LIGHT_SPIN)))
    pipe.detector.light_nats = 0.0  # session 35's light gate: by the words' rate alone
    ablation = evaluate("restore, light gate by the rate alone", pipe.restore_texts, light, batch_size=8)
    pipe.detector.light_nats = LIGHT_NATS
    reports = [evaluate("identity", identity, light, batch_size=8), ablation,
               evaluate(ours, pipe.restore_texts, light, batch_size=8)]
    print(f"\n## The same articles spun lightly (seedlike at a rate of {LIGHT_SPIN}: about a tenth of the scored words)\n")
    print("A spinner set to swap fewer words, or one whose swaps our lexicon mostly misses. The light gate "
          f"leaves a text alone only if it also reads unlike news (at least {LIGHT_NATS} nats a word to the LM).\n")
    print(format_table(reports))

    docs = all_docs[: args.clean_docs]
    t = time.perf_counter()
    unchanged = sum(pipe(d).restored() == d for d in docs)
    words = sum(len(d.split()) for d in docs)
    edits = sum(len(pipe(d).edits) for d in docs[:50])
    print(f"\n## Unspun test articles\n\n{unchanged}/{len(docs)} returned byte for byte "
          f"({words:,} words, {words / (time.perf_counter() - t):,.0f} words/s); "
          f"{edits} edits in the first 50")

    wrapped = [{**row, "spun": hard_wrap(row["spun"])} for row in articles]
    reports = [evaluate(name, fn, wrapped, batch_size=8) for name, fn in
               (("identity", identity), (ours, pipe.restore_texts))]
    kept = sum(pipe(hard_wrap(d)).restored() == hard_wrap(d) for d in docs)
    print("\n## The same articles hard-wrapped at 72 columns (as plain-text mail and many scrapes are)\n")
    print("Line ends fall mid-sentence; BLEU reads them as spaces, and exact match does not.\n")
    print(format_table(reports))
    print(f"\nUnspun test articles hard-wrapped: {kept}/{len(docs)} returned byte for byte")

    dt = median_seconds(lambda: pipe(text))
    print(f"\n## Speed\n\n10,000-word input end to end: {first_s:.2f} s = {10_000 / first_s:,.0f} words/s "
          f"the first time after load; {dt:.2f} s = {10_000 / dt:,.0f} words/s warm (median of 5); "
          f"model + lexicon load {load_s:.2f} s; the tagger's encoder in {pipe.detector.dtype}")


if __name__ == "__main__":
    main()
