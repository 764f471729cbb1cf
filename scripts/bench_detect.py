"""Detector benchmark on the standard test set: lexicon vs context vs combined, speed, seed article.

    python scripts/bench_detect.py            # builds data/pairs/test first if missing

Prints markdown tables (the model card quotes them).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from restore.calibrate import labelled_words
from restore.detect import DEFAULT_DIR, FEATURES, Detector
from restore.gates import RatePrior
from restore.evaluate import median_seconds
from restore.lexicon import load_lexicon
from restore.pairs import build_pairs, clean_sentences, load_pairs, spun_articles
from restore.spin import Spinner
from restore.text import tokenize
from restore.train import read_docs

SEED_SWAPS = ["successful", "betwixt", "person", "astatine", "arsenic", "connected", "authorities",
              "instrumentality", "portion"]


def standard_test_set(path: Path):
    if not path.is_dir():
        build_pairs(Path("../shared/corpus/test.jsonl.gz"), path, seed=0, n=2000)
    return list(load_pairs(path))


def quality(det: Detector, rows: list[dict]) -> str:
    """Token-level precision/recall/F1 over all spun words, each row its own document, and flags
    on the rows left unspun (if any)."""
    words = labelled_words(det, rows)
    clean_ids = {i for i, r in enumerate(rows) if not r["spans"]}
    clean_scores = [w.ws for w in words if w.row in clean_ids]
    tokens = [tokenize(r["spun"]) for r in rows]
    gold_total = sum(sum(any(s["start"] <= t.start < s["end"] for s in r["spans"]) for t in toks)
                     for r, toks in zip(rows, tokens))
    clean_words = sum(len(toks) for r, toks in zip(rows, tokens) if not r["spans"])
    flags_column = " flags /1000 words of clean sentences |" if clean_words else ""
    lines = ["| signal | precision | recall | F1 |" + flags_column,
             "|---|---:|---:|---:|" + ("---:|" if clean_words else "")]
    for name in FEATURES:
        tp = sum(1 for w in words if w.label and w.ws.probs[name] >= det.threshold)
        fp = sum(1 for w in words if not w.label and w.ws.probs[name] >= det.threshold)
        flags = sum(1 for ws in clean_scores if ws.probs[name] >= det.threshold)
        p, r = tp / max(tp + fp, 1), tp / max(gold_total, 1)
        f1 = 2 * p * r / max(p + r, 1e-9)
        lines.append(f"| {name} | {p:.4f} | {r:.4f} | {f1:.4f} |"
                     + (f" {1000 * flags / clean_words:.2f} |" if clean_words else ""))
    words_total = sum(map(len, tokens))
    return "\n".join(lines) + (f"\n\n{len(rows)} rows, {words_total:,} words, {gold_total} spun"
                               + (f"; {clean_words} words in {len(clean_ids)} clean sentences." if clean_words else "."))


def clean_test_sentences(det: Detector, docs: list[str], n: int = 3000) -> str:
    """Flags per 1000 words of many unspun test sentences, each one document, per signal."""
    rows = clean_sentences(docs, n, seed=0)
    words = labelled_words(det, rows)
    n_words = sum(len(tokenize(r["spun"])) for r in rows)
    rates = {name: 1000 * sum(w.ws.probs[name] >= det.threshold for w in words) / n_words for name in FEATURES}
    return (f"{n} unspun test sentences ({n_words:,} words), flags per 1000 words: "
            + ", ".join(f"{name} {rate:.2f}" for name, rate in rates.items()))


def clean_articles(det: Detector, docs: list[str], n: int = 200) -> str:
    """Flags on whole unspun test articles, each one document (where the rate prior helps most)."""
    docs = docs[:n]
    flags = sum(len(spans) for spans in det.detect_many(docs, with_candidates=False))
    words = sum(len(tokenize(d)) for d in docs)
    return (f"{flags} flags in {n} unspun test articles ({words:,} words): "
            f"{1000 * flags / words:.2f} per 1000 words")


def speed(det: Detector, load: float, rows: list[dict]) -> str:
    """The first 10,000 words after load (what one `restore detect` of a new file pays: the
    per-word caches are empty), then the median of 5 passes once they are warm. Run before
    anything else reads text with `det`, so that the first pass is a cold one."""
    words = " ".join(r["spun"] for r in rows).split()[:10_000]
    text = " ".join(words)
    first = median_seconds(lambda: det.detect(text), runs=1)
    out = ["| mode | words | seconds | words/s |", "|---|---:|---:|---:|",
           f"| flags + candidates, first pass after load | {len(words):,} | {first:.2f} | {len(words) / first:,.0f} |"]
    for label, cands in (("flags only", False), ("flags + candidates", True)):
        dt = median_seconds(lambda: det.detect(text, with_candidates=cands))
        out.append(f"| {label} (median of 5, warm) | {len(words):,} | {dt:.2f} | {len(words) / dt:,.0f} |")
    return "\n".join(out) + f"\n\nmodel + lexicon load: {load:.2f} s; the tagger's encoder in {det.dtype} ($RESTORE_PRECISION)"


def seed_check(det: Detector, path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    spans = det.detect(text)
    flagged = {(s.start, s.end) for s in spans}
    missed = [t.text for t in tokenize(text) if t.text in SEED_SWAPS and (t.start, t.end) not in flagged]
    bad = [s.text for s in spans if not s.text.islower() and s.text not in ("1",)
           and not s.text.istitle()] + [s.text for s in spans if any(c.isdigit() for c in s.text) and s.text != "1"]
    caps = [s.text for s in spans if s.text[:1].isupper()]
    lines = [
        f"seed article {path.name}: {len(spans)} flagged of {len(tokenize(text))} tokens",
        f"listed obvious swaps ({', '.join(SEED_SWAPS)}): "
        f"{sum(t.text in SEED_SWAPS for t in tokenize(text)) - len(missed)} of "
        f"{sum(t.text in SEED_SWAPS for t in tokenize(text))} occurrences flagged; missed: {missed or 'none'}",
        f"names/numbers flagged: {bad or 'none'}; capitalised (sentence-initial) flagged: {caps or 'none'}",
        "flagged: " + ", ".join(f"{s.text}->{s.candidates[0].text if s.candidates else '?'}" for s in spans),
    ]
    found = det.detect_pieces([text], with_candidates=False)[0]
    if found.attached is not None:  # the attached gate's verdict (`RatePrior.attached_evidence`)
        words = det.score_documents([text], ("combined",), False, prior=False)[0]
        raw = [ws.probs["combined"] for ws in words]
        top = sorted(((p, text[ws.token.start - 1 : ws.token.end + 1].strip()) for ws, p in zip(words, raw)
                      if not ws.bare and ws.token.text.islower()), reverse=True)[:5]
        prior = RatePrior(**det.calibration["prior"])
        confident = [p >= prior.attached_high for ws, p in zip(words, raw) if not ws.bare]
        lines.append(f"attached words' evidence of being spun like the others: {found.attached:+.2f} "
                     f"(gate {prior.attached_gate}; {sum(confident)} of {len(confident)} score at least "
                     f"{prior.attached_high}); "
                     "their highest scores before the prior: " + ", ".join(f"{w} {p:.2f}" for p, w in top))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs/test"))
    ap.add_argument("--test-corpus", default="../shared/corpus/test.jsonl.gz")
    ap.add_argument("--seed-article", type=Path, default=next(Path("seeds").glob("*.txt")))
    args = ap.parse_args()
    rows = standard_test_set(args.pairs)
    load_lexicon.cache_clear()  # time a cold load of lexicon and model
    t0 = time.perf_counter()
    det = Detector(args.model)
    speeds = speed(det, time.perf_counter() - t0, rows)  # first, while the process is cold
    print("## Detection quality (standard test set, threshold 0.5)\n")
    print(quality(det, rows))
    docs = read_docs(args.test_corpus)
    print("\n" + clean_test_sentences(det, docs))
    print("\n" + clean_articles(det, docs))
    # the tool's use: a whole article is one document, and its rate prior reads every word of it
    print("\n## Detection quality, whole spun test articles (the 100 of `bench_restore.py`, policy mix, "
          "each one document, threshold 0.5)\n")
    print(quality(det, spun_articles(docs[200:300], Spinner(det.lex))))
    print("\n## Speed (10,000 words, 2-core CPU)\n")
    print(speeds)
    print("\n## Seed article\n")
    print(seed_check(det, args.seed_article))


if __name__ == "__main__":
    main()
