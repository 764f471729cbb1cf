"""How many originals should the second hop add per span? A probe (session 37), on validation only.

    python scripts/probe_second_hop.py            # about 15 minutes
    python scripts/probe_second_hop.py --settings 5:10:3,10:20:10 --speed-only

A spinner whose thesaurus differs from ours may have chained through it (the seed article's
"speech" for "exchange": exchange -> conversation -> speech), and the second hop
(`Detector.second_hop`, SECOND_HOP_* in `restore/originals.py`) offers the rewriter the likeliest
originals a step further back: through a span's first VIA candidates, and their EACH likeliest
originals, the EXTRA likeliest of all. Until session 37 that was 5:10:3. This prints, for each
setting VIA:EACH:EXTRA, BLEU (and the share of swaps restored) on validation sentences and whole articles spun
by the training mix, by the chained policy (held out of training) and by a thesaurus we do not
have (Aiksaurus, `bench_foreign.py`; skipped where it is not installed), and the changes to
unspun sentences and articles; then each setting's end-to-end speed on 10,000 words of the
spun validation sentences, the settings taking turns (median of 4 rounds, warm).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from restore import originals
from restore.evaluate import evaluate
from restore.pairs import clean_sentences, spun_articles, valid_pairs, validation_articles
from restore.pipeline import Pipeline
from restore.spin import PRESETS, Spinner
from restore.train import read_docs

sys.path.insert(0, str(Path(__file__).parent))
from bench_foreign import AIKSAURUS, foreign_lexicon  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--settings", default="5:10:3,5:10:10,10:20:10,10:20:20",
                    help="VIA:EACH:EXTRA, comma-separated (SECOND_HOP_* in restore/originals.py)")
    ap.add_argument("--articles", type=int, default=150)
    ap.add_argument("--speed-only", action="store_true", help="the speed table alone (about 3 minutes)")
    args = ap.parse_args()
    docs = read_docs(args.valid)
    n = args.articles
    sets = {
        "sentences, mix": valid_pairs(docs, 1000, seed=5),
        "sentences, chained": valid_pairs(docs, 1000, seed=5, policies="chained"),
        "articles, mix": validation_articles(docs, n)[0],
        "articles, chained": validation_articles(docs, n, "chained")[0],
        "articles, seedlike": validation_articles(docs, n, "seedlike")[0],
    }
    if AIKSAURUS.is_dir():
        sets["articles, Aiksaurus"] = spun_articles(docs[n : 2 * n], Spinner(foreign_lexicon(), PRESETS["seedlike"]), seed=9)
    clean = {"unspun sentences": clean_sentences(docs, 3000, seed=5), "unspun articles": validation_articles(docs, n)[1]}
    pipe = Pipeline()
    settings = args.settings.split(",")
    if not args.speed_only:
        print(f"second hop h = {pipe.detector.second_hop}; BLEU (swapped words restored %)\n")
        print("| VIA:EACH:EXTRA | " + " | ".join(sets) + " | " + " | ".join(f"{c}: changes /1000" for c in clean) + " |")
        print("|---:|" + "---:|" * (len(sets) + len(clean)))
    for setting in [] if args.speed_only else settings:
        use(setting)
        spun = [evaluate(name, pipe.restore_texts, rows, batch_size=8) for name, rows in sets.items()]
        unspun = [evaluate(name, pipe.restore_texts, rows, batch_size=8) for name, rows in clean.items()]
        print(f"| {setting} | " + " | ".join(f"{r.bleu:.2f} ({r.word_acc:.1f})" for r in spun) + " | "
              + " | ".join(f"{r.clean_changes_per_1000:.2f}" for r in unspun) + " |", flush=True)
    words = " ".join(r["spun"] for r in sets["sentences, mix"]).split()[:10_000]
    text = "\n".join(" ".join(words[i : i + 200]) for i in range(0, len(words), 200))
    pipe(text)  # the caches warm
    seconds: dict[str, list[float]] = {s: [] for s in settings}
    for _ in range(4):
        for setting in settings:
            use(setting)
            t0 = time.perf_counter()
            pipe(text)
            seconds[setting].append(time.perf_counter() - t0)
    print(f"\n| VIA:EACH:EXTRA | end to end, {len(words):,} words: seconds (median of 4) | words/s |\n|---:|---:|---:|")
    for setting, ts in seconds.items():
        print(f"| {setting} | {statistics.median(ts):.2f} | {len(words) / statistics.median(ts):,.0f} |")


def use(setting: str) -> None:
    """Set SECOND_HOP_VIA, _EACH and _EXTRA from "VIA:EACH:EXTRA"."""
    originals.SECOND_HOP_VIA, originals.SECOND_HOP_EACH, originals.SECOND_HOP_EXTRA = map(int, setting.split(":"))


if __name__ == "__main__":
    main()
