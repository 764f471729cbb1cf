"""Is the detector's combiner the limit? Richer combiners against the shipped one, held out.

    python scripts/probe_combiner.py        # about 1 minute
    python scripts/probe_combiner.py --nlm  # and the neural LM's evidence: about 6 minutes more
    python scripts/probe_combiner.py --counts 1  # and wider counts of the spun train split: 1 minute more
    python scripts/probe_combiner.py --reread 0.6  # and the tagger's second reading: 1 minute more

The shipped combined signal is a logistic regression over ten features (`FEATURES["combined"]`
in `restore/detect.py`), fitted on 3,000 spun validation sentences. This fits, on those same
sentences, the same regression, one with twelve more features (interactions, squares, hinges,
how often the lexicon saw the word, whether punctuation is attached) and a small MLP over
each feature set; then scores them on 3,000 other validation sentences, before the rate prior,
by log loss and by precision, recall and F1 at 0.5. If the richer ones do no better, the
information is not in the features, and better detection needs a better context model.

`--nlm` adds the shipped neural LM's view (`restore.nlm`) to the shipped features: how many nats
of log P the whole sentence gains when the word is replaced by the best of its first three
single-word thesaurus originals (those the trigram's lm_gain tries), and whether it has none.

`--counts N` adds wider context counted as the shipped neighbour counts are (one spin of the
train split, `restore.calibrate.spun_sentences`), keeping what was seen at least N times: the
word between both its neighbours at once ("successful the latest") and next to the words two
to its left and two to its right, each as a shift of the word's log-odds as the neighbour
counts move it (`restore.detect.count_shift`; the triple's from the rate its two neighbour
shifts give), and whether the triple was seen at all.

`--reread S` reads each sentence a second time with every word that lexicon + context score at
least S replaced by its likeliest single-word thesaurus original, as the LM's evidence reads a
doubtful word's surely spun neighbours, and adds the tagger's context logit in that reading
(and whether the word itself was replaced).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from restore.calibrate import Labelled, fit_logistic, labelled_words, spun_sentences
from restore.detect import FEATURES, Detector, count_shift
from restore.lexicon import load_lexicon
from restore.ngram import BOS, EOS
from restore.nlm import NeuralLM, load_neural
from restore.pairs import valid_pairs
from restore.paths import NLM_DIR
from restore.text import match_case, tokenize
from restore.train import read_docs


def shipped(det: Detector, w: Labelled) -> list[float]:
    return [w.ws.features[k] for k in FEATURES["combined"]]


def rich(det: Detector, w: Labelled) -> list[float]:
    f, key = w.ws.features, w.ws.token.text.lower()
    spun, natural = det.signal.get(key, (0, det.lex.count(key)))
    seen = math.log1p(spun + natural)
    c, lex, gain = f["ctx"], f["lex"], f["lm_gain"]
    return shipped(det, w) + [seen, seen * lex / 10, c * c / 10, lex * lex / 10, c * gain / 10, lex * gain / 10,
                              max(c, 0.0), max(lex, 0.0), f["lex_left"] * c / 10, f["lex_right"] * c / 10,
                              f["lex_left"] * f["lex_right"], float(w.ws.bare)]


def add_neural_gain(det: Detector, nlm: NeuralLM, rows: list[dict], words: list[Labelled]) -> None:
    """Set features nlm_gain (clipped to ±15 nats, as lm_gain) and nlm_none of each word."""
    texts = [r["spun"] for r in rows]  # row i's own log P is texts[i]
    tried: list[tuple[int, int]] = []  # (word, text)
    for k, w in enumerate(words):
        spun = rows[w.row]["spun"]
        for o in [det.lm.vocab[i] for i in det._single_word_originals(w.ws.token.text.lower()) if i >= 0][:3]:
            tried.append((k, len(texts)))
            texts.append(spun[: w.start] + match_case(o, w.ws.token.text) + spun[w.end :])
    lp = nlm.logprobs(texts)
    best: dict[int, float] = {}
    for k, t in tried:
        best[k] = max(best.get(k, -math.inf), lp[t])
    for k, w in enumerate(words):
        gain = best.get(k)
        w.ws.features["nlm_gain"] = 0.0 if gain is None else min(max(gain - lp[w.row], -15.0), 15.0)
        w.ws.features["nlm_none"] = float(gain is None)


Counts = dict[tuple[str, ...], list[int]]


def count_contexts(docs: list[str], least: int) -> tuple[Counts, Counts, Counts]:
    """(word, left, right), (word, two to the left), (word, two to the right) -> [spun, natural]
    in one spin of the train split (the shipped counts' seed and mix), seen at least `least` times."""
    tables: tuple[Counts, Counts, Counts] = ({}, {}, {})
    for sentence, flags in spun_sentences(docs, load_lexicon()):
        words = [BOS, BOS, *sentence, EOS, EOS]
        for j, spun in enumerate(flags):
            w = words[j + 2]
            for table, key in zip(tables, ((w, words[j + 1], words[j + 3]), (w, words[j]), (w, words[j + 4]))):
                table.setdefault(key, [0, 0])[0 if spun else 1] += 1
    return tuple({k: v for k, v in t.items() if sum(v) >= least} for t in tables)  # type: ignore[return-value]


def add_context_counts(tables: tuple[Counts, Counts, Counts], rows: list[dict], words: list[Labelled]) -> None:
    """Set features lex_both, both_seen, lex_left2 and lex_right2 of each word."""
    def shift(counts: list[int] | None, logit: float) -> float:
        return count_shift(counts, 1 / (1 + math.exp(-logit)))

    sentences: dict[int, tuple[list[str], dict[int, int]]] = {}
    for w in words:
        if w.row not in sentences:
            toks = tokenize(rows[w.row]["spun"])
            words_of = [BOS, BOS, *(t.text.lower() for t in toks), EOS, EOS]
            sentences[w.row] = words_of, {t.start: j for j, t in enumerate(toks)}
        ctx, at = sentences[w.row]
        j, f, key = at[w.start], w.ws.features, w.ws.token.text.lower()
        both = tables[0].get((key, ctx[j + 1], ctx[j + 3]))
        f["lex_both"] = shift(both, f["lex"] + f["lex_left"] + f["lex_right"])
        f["both_seen"] = float(both is not None)
        f["lex_left2"] = shift(tables[1].get((key, ctx[j])), f["lex"])
        f["lex_right2"] = shift(tables[2].get((key, ctx[j + 4])), f["lex"])


def with_counts(det: Detector, w: Labelled) -> list[float]:
    return shipped(det, w) + [w.ws.features[k] for k in ("lex_both", "both_seen", "lex_left2", "lex_right2")]


def add_reread(det: Detector, rows: list[dict], words: list[Labelled], sure: float) -> None:
    """Set features ctx2 and replaced of each word (`--reread`)."""
    by_row: dict[int, list[Labelled]] = {}
    for w in words:
        by_row.setdefault(w.row, []).append(w)
    texts, moved = [], []
    for r, ws in by_row.items():
        text, parts, pos, where = rows[r]["spun"], [], 0, {}
        for w in ws:
            orig = None
            if w.ws.probs["lexicon+context"] >= sure:
                orig = next((o for o in det.originals.prior(w.ws.token.text.lower())[0] if " " not in o), None)
            parts.append(text[pos : w.start])
            where[w.start] = (sum(map(len, parts)), orig is not None)
            parts.append(match_case(orig, w.ws.token.text) if orig else text[w.start : w.end])
            pos = w.end
        texts.append("".join(parts + [text[pos:]]))
        moved.append(where)
    for (r, ws), where, again in zip(by_row.items(), moved,
                                     det.score_documents(texts, ("context",), with_hidden=False, prior=False)):
        ctx = {x.token.start: x.features["ctx"] for x in again}
        for w in ws:
            start, replaced = where[w.start]
            w.ws.features["ctx2"] = ctx.get(start, w.ws.features["ctx"]) if not replaced else w.ws.features["ctx"]
            w.ws.features["replaced"] = float(replaced)


def with_reread(det: Detector, w: Labelled) -> list[float]:
    return shipped(det, w) + [w.ws.features["ctx2"], w.ws.features["replaced"]]


def with_neural(det: Detector, w: Labelled) -> list[float]:
    return shipped(det, w) + [w.ws.features["nlm_gain"], w.ws.features["nlm_none"]]


def logistic(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray) -> np.ndarray:
    w = fit_logistic(xa, ya)
    return 1 / (1 + np.exp(-(w[0] + xb @ w[1:])))


def mlp(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, hidden: int = 32, steps: int = 300) -> np.ndarray:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(xa.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    x, y = torch.tensor(xa, dtype=torch.float32), torch.tensor(ya, dtype=torch.float32)
    for _ in range(steps):  # full batch: 56,000 words
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(x).squeeze(-1), y).backward()
        opt.step()
    with torch.no_grad():
        return torch.sigmoid(net(torch.tensor(xb, dtype=torch.float32)).squeeze(-1)).numpy()


def row(name: str, p: np.ndarray, y: np.ndarray) -> str:
    p = p.clip(1e-6, 1 - 1e-6)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    flagged = p >= 0.5
    tp = float((flagged & (y == 1)).sum())
    prec, rec = tp / max(flagged.sum(), 1), tp / max(y.sum(), 1)
    return f"| {name} | {loss:.4f} | {prec:.4f} | {rec:.4f} | {2 * prec * rec / max(prec + rec, 1e-9):.4f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--nlm", nargs="?", const=NLM_DIR, type=Path, help="also the neural LM's gain (default models/nlm)")
    ap.add_argument("--corpus", default="../shared/corpus/train.jsonl.gz", help="the split --counts counts")
    ap.add_argument("--counts", type=int, metavar="N",
                    help="also context counts of the spun train split seen at least N times (the shipped pairs: 3)")
    ap.add_argument("--reread", type=float, metavar="S",
                    help="also the tagger's reading with the words scoring S or more restored (lexicon + context)")
    args = ap.parse_args()
    docs = read_docs(args.valid)
    det = Detector()
    fit_rows, held_rows = valid_pairs(docs, args.n), valid_pairs(docs, args.n, seed=7)  # the first: the calibration's
    fit_words, held_out = labelled_words(det, fit_rows, prior=False), labelled_words(det, held_rows, prior=False)
    ya = np.array([w.label for w in fit_words], dtype=float)
    yb = np.array([w.label for w in held_out], dtype=float)
    print(f"| combiner ({len(fit_words):,} words to fit, {len(held_out):,} held out) | log loss | precision | "
          "recall | F1 |\n|---|---:|---:|---:|---:|")
    features: dict[str, Callable[[Detector, Labelled], list[float]]] = {
        f"{len(FEATURES['combined'])} shipped features": shipped, "22 features": rich}
    if args.nlm:
        nlm = load_neural(args.nlm)
        add_neural_gain(det, nlm, fit_rows, fit_words)
        add_neural_gain(det, nlm, held_rows, held_out)
        features[f"{len(FEATURES['combined'])} shipped + 2 neural LM features"] = with_neural
    if args.counts:
        tables = count_contexts(read_docs(args.corpus), args.counts)
        add_context_counts(tables, fit_rows, fit_words)
        add_context_counts(tables, held_rows, held_out)
        features[f"{len(FEATURES['combined'])} shipped + 4 count features (seen {args.counts}+ times)"] = with_counts
    if args.reread:
        add_reread(det, fit_rows, fit_words, args.reread)
        add_reread(det, held_rows, held_out, args.reread)
        label = f"{len(FEATURES['combined'])} shipped + the second reading (words scoring {args.reread}+ restored)"
        features[label] = with_reread
    for label, feats in features.items():
        xa = np.array([feats(det, w) for w in fit_words])
        xb = np.array([feats(det, w) for w in held_out])
        mu, sd = xa.mean(0), xa.std(0) + 1e-9  # standardised, so one L2 penalty fits every feature
        xa, xb = (xa - mu) / sd, (xb - mu) / sd
        print(row(f"logistic regression, {label}", logistic(xa, ya, xb), yb))
        print(row(f"MLP (32 tanh units), {label}", mlp(xa, ya, xb), yb))


if __name__ == "__main__":
    main()
