"""Fitting the detector's files: the lexicon signal and neighbour counts (the train split,
spun), and `calibration.json` (validation pairs): the logistic regressions, the rate prior,
the prior weight beta and the `--no-lm` edit threshold. `scripts/calibrate_detector.py` runs
it; the detector only reads what it writes.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from restore.detect import FEATURES, Detector, WordScore
from restore.evaluate import sacre_scores
from restore.gates import (ATTACHED_CLEAN_RATE, ATTACHED_GATE, ATTACHED_HIGH, GATE, LIGHT_RATE, LIGHT_WORDS, MIN_RATE,
                           RatePrior)
from restore.io import write_text
from restore.lexicon import Lexicon, load_lexicon
from restore.ngram import BOS, EOS
from restore.spin import Spinner, presets
from restore.text import replace_spans, tokenize, units

MIN_PAIR = 3  # a neighbour pair seen fewer times in the spun train split is not kept


def write_json_gz(path: Path, data: dict) -> None:
    """Compact gzipped JSON, byte for byte the same for the same data (no time in the header)."""
    with open(path, "wb") as out, gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as raw:
        raw.write(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def spun_sentences(docs: Iterable[str], lex: Lexicon, seed: int = 0,
                   policies: str = "mix") -> Iterator[tuple[list[str], list[bool]]]:
    """Spin documents with the policy mix (or `policies`, `restore.spin.presets`), document i
    with seed `seed` * 1,000,003 + i, and give each sentence of the spun text as the detector
    reads it: its lowercase words, and for each whether the spinner wrote it."""
    spinner = Spinner(lex, presets(policies))
    for i, doc in enumerate(docs):
        res = spinner.spin(doc, seed=seed * 1_000_003 + i)
        inside = [(e.spun_start, e.spun_end) for e in res.edits]
        k = 0
        for a, b in units(res.spun):
            toks = tokenize(res.spun[a:b])
            flags = []
            for tok in toks:
                start = a + tok.start
                while k < len(inside) and inside[k][1] <= start:
                    k += 1
                flags.append(k < len(inside) and inside[k][0] <= start < inside[k][1])
            yield [t.text.lower() for t in toks], flags


def count_signal(docs: Iterable[str], lex: Lexicon, seed: int = 0,
                 policies: str = "mix") -> tuple[dict[str, tuple[int, int]], dict]:
    """Count each surface word of the spun documents (`spun_sentences`) as spun or natural,
    alone (the lexicon signal) and, for words a spinner writes, next to each neighbour within
    its sentence (BOS/EOS at the ends), keeping pairs seen at least MIN_PAIR times."""
    spun_c: Counter[str] = Counter()
    nat_c: Counter[str] = Counter()
    pairs: dict[tuple[str, str, str], list[int]] = {}
    for sentence, flags in spun_sentences(docs, lex, seed, policies):
        words = [BOS, *sentence, EOS]
        for j, spun in enumerate(flags):
            (spun_c if spun else nat_c)[words[j + 1]] += 1
            for pair in (("left", words[j + 1], words[j]), ("right", words[j + 1], words[j + 2])):
                counts = pairs.setdefault(pair, [0, 0])
                counts[0 if spun else 1] += 1
    neighbours: dict[str, dict[str, dict[str, list[int]]]] = {"left": {}, "right": {}}
    for (side, word, ctx), counts in sorted(pairs.items()):
        if word in spun_c and sum(counts) >= MIN_PAIR:
            neighbours[side].setdefault(word, {})[ctx] = counts
    return {w: (spun_c[w], nat_c[w]) for w in spun_c}, neighbours


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Newton's method for L2-regularised logistic regression; returns [bias, weights...]."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + l2 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


@dataclass
class Labelled:
    """An eligible word of a pair row with its gold label and original."""

    ws: WordScore
    label: int
    orig: str | None  # set on the first word of a gold span
    row: int
    start: int  # offset in the row's spun text
    end: int


def labelled_words(det: Detector, rows: list[dict], prior: bool = True) -> list[Labelled]:
    """Every eligible word of the pair rows (each row its own document), scored, with its gold label."""
    scored = det.score_documents([r["spun"] for r in rows], prior=prior)
    out = []
    for i, (r, words) in enumerate(zip(rows, scored)):
        gold = {(s["start"], s["end"]): s["orig"] for s in r["spans"]}
        for ws in words:
            hit = next((o for (s, e), o in gold.items() if s <= ws.token.start < e), None)
            first = next((o for (s, e), o in gold.items() if s == ws.token.start), None)
            out.append(Labelled(ws, int(hit is not None), first, i, ws.token.start, ws.token.end))
    return out


def calibrate(model_dir: Path, train_docs: list[str] | None, valid_rows: list[dict],
              clean_rows: list[dict], seed: int = 0, flag_budget: float = 1.5, clean_budget: float = 0.75,
              policies: str = "mix") -> dict:
    """Write lexsignal.json.gz and neighbours.json.gz (counted on train_docs spun by `policies`; None keeps the files) and
    calibration.json (fitted on valid pairs). Fidelity first: on the clean validation
    sentences `clean_rows` the rate prior may flag at most `flag_budget` words per 1000, and
    the `--no-lm` edit threshold may change at most `clean_budget`."""
    lex = load_lexicon()
    if train_docs is not None:
        signal, neighbours = count_signal(train_docs, lex, seed=seed, policies=policies)
        write_json_gz(model_dir / "lexsignal.json.gz", {w: list(v) for w, v in sorted(signal.items())})
        write_json_gz(model_dir / "neighbours.json.gz", neighbours)
    # float32 whatever the CPU: the fit then rebuilds the same everywhere (bfloat16's few
    # thousandths flip some of its grid choices; the detector it calibrates runs in either)
    det = Detector(model_dir, lexicon=lex, calibrated=False, precision="fp32")
    calib: dict = {}
    for stage in ("without the LM", "with it"):  # the LM is asked where lexicon+context are unsure
        words = labelled_words(det, valid_rows, prior=False)
        y = np.array([w.label for w in words], dtype=float)
        for name, feats in FEATURES.items():
            if stage == "with it" and name != "combined":
                continue
            x = np.array([[w.ws.features[f] for f in feats] for w in words])
            w = fit_logistic(x, y)
            calib[name] = {"bias": float(w[0]), "weights": [float(v) for v in w[1:]]}
        det.calibration = {**calib, "beta": 1.0}
    clean_words = labelled_words(det, clean_rows, prior=False)
    calib["prior"] = det.calibration["prior"] = fit_prior(det, words, clean_words, clean_rows, flag_budget)
    rescore(det, words)
    rescore(det, clean_words)
    flagged = [(w.ws, w.orig) for w in words if w.orig is not None]
    best = (-1.0, 1.0)
    for beta in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        det.calibration["beta"] = beta
        found = det.candidates_many([ws.token.text for ws, _ in flagged], [ws.hidden for ws, _ in flagged], k=1)
        ok = sum(bool(c) and c[0].text.lower() == o.lower() for (_, o), c in zip(flagged, found))
        best = max(best, (ok / max(len(flagged), 1), beta))
    calib["beta"] = det.calibration["beta"] = best[1]
    calib["valid_top1"] = round(best[0], 4)
    calib["clean_threshold"], calib["valid_bleu"] = choose_clean_threshold(
        det, words, valid_rows, clean_words, clean_rows, clean_budget)
    calib["n_words"] = len(words)
    write_text(json.dumps(calib, indent=2) + "\n", str(model_dir / "calibration.json"))
    return calib


def _by_row(words: list[Labelled]) -> dict[int, list[Labelled]]:
    by_row: dict[int, list[Labelled]] = {}
    for w in words:
        by_row.setdefault(w.row, []).append(w)
    return by_row


def rescore(det: Detector, words: list[Labelled]) -> None:
    """Recompute every signal's probability from the features, with each row's rate prior."""
    for row in _by_row(words).values():
        for w in row:
            w.ws.probs = {name: det._combine(name, w.ws.features) for name in FEATURES}
        det.apply_prior([w.ws for w in row], tuple(FEATURES))


def fit_prior(det: Detector, words: list[Labelled], clean_words: list[Labelled], clean_rows: list[dict],
              flag_budget: float) -> dict:
    """The rate prior with the best validation F1 among those that flag at most
    `flag_budget` words per 1000 of clean sentences (fidelity first); if none does,
    the one that flags least."""
    n_clean = sum(len(tokenize(r["spun"])) for r in clean_rows)
    positives = sum(w.label for w in words)

    def rows_of(ws: list[Labelled]) -> list[tuple[list[float], list[int]]]:
        return [([det._combine("combined", w.ws.features) for w in row], [w.label for w in row])
                for row in _by_row(ws).values()]

    def flagged(prior: RatePrior, rows: list[tuple[list[float], list[int]]]) -> list[int]:
        """The labels of the words flagged."""
        return [y for raw, labels in rows if not prior.unspun(raw) for y, p in zip(labels, prior.apply(raw)) if p >= 0.5]

    spun_rows, clean = rows_of(words), rows_of(clean_words)

    results = []
    for base in (0.15, 0.2, 0.25, 0.3):
        for mean in (0.01, 0.02, 0.03, 0.05, 0.1):
            for strength in (2.5, 5.0, 10.0, 20.0):
                params = {"base": base, "a": mean * strength, "b": (1 - mean) * strength, "gate": GATE,
                          "attached_gate": ATTACHED_GATE, "attached_high": ATTACHED_HIGH,
                          "attached_clean_rate": ATTACHED_CLEAN_RATE, "min_rate": MIN_RATE,
                          "light_words": LIGHT_WORDS, "light_rate": LIGHT_RATE}
                prior = RatePrior(**params)
                hits = flagged(prior, spun_rows)
                prec, rec = sum(hits) / max(len(hits), 1), sum(hits) / max(positives, 1)
                f1 = 2 * prec * rec / max(prec + rec, 1e-9)
                rate = 1000 * len(flagged(prior, clean)) / max(n_clean, 1)
                results.append((rate <= flag_budget, f1, rate, params))
    feasible = [r for r in results if r[0]]
    return (max(feasible, key=lambda r: r[1]) if feasible else min(results, key=lambda r: r[2]))[3]


def choose_clean_threshold(det: Detector, words: list[Labelled], rows: list[dict], clean_words: list[Labelled],
                           clean_rows: list[dict], budget: float = 0.75) -> tuple[float, float]:
    """The edit threshold of `restore clean --no-lm`: the best BLEU on validation rows among
    thresholds that edit at most `budget` words per 1000 of the clean sentences."""
    maybe = [w for w in words + clean_words if w.ws.probs["combined"] >= 0.2]
    best_cand = {id(w): (c[0].text if c else None)
                 for w, c in zip(maybe, det.candidates_many([w.ws.token.text for w in maybe],
                                                            [w.ws.hidden for w in maybe], k=1))}
    n_clean = sum(len(r["clean"].split()) for r in clean_rows)

    def edited(ws: list[Labelled], t: float) -> list[Labelled]:
        return [w for w in ws if w.ws.probs["combined"] >= t and best_cand.get(id(w))]

    results = []
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        edits: dict[int, list[Labelled]] = {}
        for w in edited(words, t):
            edits.setdefault(w.row, []).append(w)
        clean_edits = len(edited(clean_words, t))
        hyps = [replace_spans(r["spun"], ((w.start, w.end, best_cand[id(w)]) for w in edits.get(i, [])))
                for i, r in enumerate(rows)]
        bleu = sacre_scores(hyps, [r["clean"] for r in rows])["BLEU"][0]
        results.append((1000 * clean_edits / max(n_clean, 1) <= budget, bleu, t))
    _, bleu, t = max(results)
    return t, round(bleu, 2)
