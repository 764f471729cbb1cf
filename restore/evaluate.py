"""Scores: sacrebleu BLEU/chrF with signatures, and the pair-set harness.

The harness runs restorers (callables: list of spun texts -> list of restored texts)
on a pair set and reports corpus BLEU/chrF, sentence exact match, word-level
restoration accuracy on the swapped words, and how many words of the *unspun*
inputs were changed per 1000 words (the damage a restorer does to clean text).
"""

from __future__ import annotations

import difflib
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from sacrebleu.metrics import BLEU, CHRF

from restore.lexicon import Lexicon
from restore.text import match_case, replace_spans, tokenize

Restorer = Callable[[list[str]], list[str]]


def sacre_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, tuple[float, str]]:
    """{'BLEU': (score, signature), 'chrF': (score, signature)} as sacrebleu computes them."""
    out = {}
    for metric in (BLEU(), CHRF()):
        score = metric.corpus_score(list(hyps), [list(refs)])
        out[metric.__class__.__name__.replace("CHRF", "chrF")] = (score.score, str(metric.get_signature()))
    return out


def format_sacre(hyps: Sequence[str], refs: Sequence[str]) -> str:
    """The lines `restore eval --hyp --ref` prints."""
    return "\n".join(f"{name} = {score:.2f}  {sig}" for name, (score, sig) in sacre_scores(hyps, refs).items())


def _edit_cost(a: list[str], b: list[str]) -> tuple[int, set[int]]:
    """(words changed, indices of `a` kept unchanged in `b`) by difflib alignment."""
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    cost, kept = 0, set()
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            kept.update(range(i1, i2))
        else:
            cost += max(i2 - i1, j2 - j1)
    return cost, kept


def words_changed(hyp: str, ref: str) -> int:
    """How many whitespace words of `hyp` differ from `ref` (`_edit_cost`)."""
    return _edit_cost(hyp.split(), ref.split())[0]


def _gold_word_indices(clean: str, spans: list[dict]) -> set[int]:
    """Indices of the clean sentence's whitespace words that the spinner replaced."""
    ranges, shift = [], 0
    for s in spans:
        start = s["start"] - shift
        ranges.append((start, start + len(s["orig"])))
        shift += (s["end"] - s["start"]) - len(s["orig"])
    gold, pos = set(), 0
    for idx, word in enumerate(clean.split()):
        pos = clean.index(word, pos)
        if any(a < pos + len(word) and pos < b for a, b in ranges):
            gold.add(idx)
        pos += len(word)
    return gold


@dataclass
class Report:
    name: str
    bleu: float
    chrf: float
    exact: float
    word_acc: float
    clean_changes_per_1000: float
    words_per_s: float
    signature: str
    clean_words: int = 0  # in the rows the spinner left alone: the changes rate's base


def evaluate(name: str, restorer: Restorer, pairs: Sequence[dict], batch_size: int = 64) -> Report:
    """Run one restorer over a pair set (rows with spun, clean, spans)."""
    spun = [p["spun"] for p in pairs]
    t0 = time.perf_counter()
    hyps: list[str] = []
    for i in range(0, len(spun), batch_size):
        hyps.extend(restorer(spun[i : i + batch_size]))
    elapsed = max(time.perf_counter() - t0, 1e-9)
    refs = [p["clean"] for p in pairs]
    scores = sacre_scores(hyps, refs)
    gold_total = gold_ok = clean_words = clean_changed = 0
    for p, hyp in zip(pairs, hyps):
        ref_words = p["clean"].split()
        cost, kept = _edit_cost(ref_words, hyp.split())
        if p["spans"]:
            gold = _gold_word_indices(p["clean"], p["spans"])
            gold_total += len(gold)
            gold_ok += len(gold & kept)
        else:
            clean_words += len(ref_words)
            clean_changed += cost
    n_words = sum(len(s.split()) for s in spun)
    return Report(
        name=name,
        bleu=scores["BLEU"][0],
        chrf=scores["chrF"][0],
        exact=100 * sum(h == r for h, r in zip(hyps, refs)) / max(len(refs), 1),
        word_acc=100 * gold_ok / max(gold_total, 1),
        clean_changes_per_1000=1000 * clean_changed / max(clean_words, 1),
        words_per_s=math.nan if restorer is identity else n_words / elapsed,  # doing nothing has no speed
        signature=scores["BLEU"][1],
        clean_words=clean_words,
    )


def edit_outcomes(row: dict, edits: Iterable) -> tuple[int, int]:
    """(edits that put back a swap's original, edits to words the spinner left alone) of one pair
    row's restoration; `edits` have `start` and `new` (`pipeline.Edit`). An edit inside a swap
    that gives another word is neither."""
    gold = {s["start"]: s["orig"].lower() for s in row["spans"]}
    inside = [(s["start"], s["end"]) for s in row["spans"]]
    right = wrong = 0
    for e in edits:
        if not any(a <= e.start < b for a, b in inside):
            wrong += 1
        elif gold.get(e.start) == e.new.lower():
            right += 1
    return right, wrong


def median_seconds(fn: Callable[[], object], runs: int = 5) -> float:
    """Median wall time of `runs` calls (one timing on a shared machine is noisy)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[runs // 2]


def format_table(reports: list[Report], title: str = "") -> str:
    head = "| restorer | BLEU | chrF | exact % | swapped words restored % | changes /1000 clean words | words/s |"
    rows = [title, head, "|---|---:|---:|---:|---:|---:|---:|"] if title else [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for r in reports:
        changes = f"{r.clean_changes_per_1000:.1f}" if r.clean_words else "—"  # a set of spun rows only
        rows.append(f"| {r.name} | {r.bleu:.1f} | {r.chrf:.1f} | {r.exact:.1f} | {r.word_acc:.1f} | "
                    f"{changes} | {'—' if math.isnan(r.words_per_s) else f'{r.words_per_s:,.0f}'} |")
    if reports:
        rows.append(f"\nBLEU signature: {reports[0].signature}")
    return "\n".join(rows)


# -- baselines ---------------------------------------------------------------
def identity(texts: list[str]) -> list[str]:
    """Do nothing: the score of the spun input itself."""
    return list(texts)


def naive_reversal(lexicon: Lexicon) -> Restorer:
    """Replace every word found in the inverse index by its most likely original."""

    def run(texts: list[str]) -> list[str]:
        def edits(text: str):
            for tok in tokenize(text):
                cands = lexicon.originals(tok.text.lower()) if tok.is_word else []
                if cands:
                    yield tok.start, tok.end, match_case(cands[0][0], tok.text)

        return [replace_spans(text, edits(text)) for text in texts]

    return run
