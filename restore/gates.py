"""Document gates: is a text spun at all, and at what rate?

A spinner spins a whole document at one rate, about a quarter of its words; a clean document
has rate 0. The detector scores words one by one, calibrated at the calibration data's rate;
`RatePrior` reads a document's own rate from those scores, moves each word's odds to it, and
judges whether the document is unspun, spun too lightly to be a spinner's work, or has its
words with punctuation attached left alone (a whitespace-splitting spinner). The constants
are the gates chosen by `scripts/bench_gate.py`; each comment says by which table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def logit(p: float) -> float:
    """log odds, the probability clipped to [1e-4, 1 - 1e-4] so that a sure score stays finite."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def logits(probs: list[float]) -> np.ndarray:
    """`logit` of many at once."""
    p = np.clip(np.asarray(probs, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


# The gate's alternative: a spinner spun the document at some rate from MIN_RATE to 0.5, each
# equally likely. 0.04 (0.02 until session 14) is the highest of scripts/bench_gate.py's third
# table that withholds no more right edits from spun validation text than 0.02 does: a long
# clean article with a few words that look spun is likelier unspun than spun at 2%, but no
# spinner we model spins a document that lightly, and the spun articles' evidence hardly moves.
MIN_RATE = 0.04
# A document whose evidence of being spun at all is below this (a log Bayes factor: odds of
# e, about 2.7 to 1, for unspun) has nothing flagged: the lowest gate of scripts/bench_gate.py's
# grid at which no unspun validation article is edited (15 of 300 without a gate, 1 at -1.25),
# so that a clean article comes back byte for byte; it withholds 3 right edits from spun
# validation text (900 articles, 1,000 sentences). Session 11-12's -1.5 withheld 1 and left 4 edited.
GATE = -1.0
# A spinner that splits its input on whitespace never swaps a word with punctuation attached
# ("month,", "“aggression”"): the seed article's spinner left all 29 such lowercase words alone.
# Where a document's attached words together say they are not spun like its other words (log
# Bayes factor below ATTACHED_GATE, `RatePrior.attached_evidence`), none of them is flagged.
# The evidence counts confident scores (at least ATTACHED_HIGH) rather than multiplying
# likelihood ratios: on a real spinner's text the detector's mid-range scores are not calibrated
# (the seed's attached words: "treaty," 0.84, “aggression” 0.71, "region," 0.60 gave the
# likelihood +0.90, spun), while its bare words set the rate of confident scores to expect.
# scripts/bench_gate.py's second table: ATTACHED_CLEAN_RATE is the share of the (all clean)
# attached words of bare-spun validation articles that score at least 0.9; -4.0 is the most
# permissive gate that withholds no right edit from mix, token and chained validation articles
# or validation sentences (-3.0 withholds 2); on bare-spun articles it withholds 45 wrong edits
# and 2 right ones (session 14's likelihood at -2.0: 41 and 2), and the seed's evidence is -5.3.
ATTACHED_GATE = -4.0
ATTACHED_HIGH = 0.9
ATTACHED_CLEAN_RATE = 0.0151
# A text of at least LIGHT_WORDS scored words whose words look spun at a rate below LIGHT_RATE
# (`RatePrior.rate`) has nothing flagged either. Spinners swap about a quarter of the words; a
# long text in which a few in a hundred look spun, each surely, is one whose own vocabulary our
# news corpus seldom writes (technical prose: "expression", "module", "attribute"), and the
# evidence gate, which trusts each word's score, calls it spun; shorter texts (sentences) are too
# few words to tell a rate. scripts/bench_gate.py's fourth table: of its grid's gates that
# withhold at most one in 1000 of the right edits from the spun validation articles (7 of
# 27,483 here, 2 without it), the one that leaves the most of the installed packages'
# descriptions untouched (6 of the 8 edited without it) and withholds the fewest right edits
# (0.05 ties, gating the same documents; the higher rate is taken).
LIGHT_WORDS = 100
LIGHT_RATE = 0.06
# ... and only if it also reads unlike news: the trigram LM, which learnt the train split's news,
# finds its words at least LIGHT_NATS nats surprising each on average (`KneserNeyTrigram.nats_per_word`).
# News spun lightly (a spinner set to swap a tenth of the words, or one whose swaps our lexicon
# mostly misses) looks as lightly spun as technical prose by its scores, but reads as news: by
# its rate alone (session 35) the light gate left 91 of 300 validation articles spun by seedlike
# at 0.15 as they were, withholding 568 of their 2,775 right edits. scripts/bench_gate.py's fourth
# table: of the gates that leave as many package descriptions untouched as the rate alone did
# (35 of 36), the one that withholds the fewest right edits from those articles (6.75: 37, of which
# the unspun gate withholds 31 anyway; 6.5: 39; 7.0 lets a package description through).
LIGHT_NATS = 6.75
# A text of at least DOCUMENTATION_WORDS scored words of which at least DOCUMENTATION_SHARE of
# the strings between spaces are code (`code_share`) is documentation, not an article a spinner
# spun, and has nothing flagged. Its prose is technical through and through, dense with words
# that look spun to models that learnt news (the Python language reference's topics:
# "attribute" → "time", "module" → "will", at rates the light gate cannot tell from a light
# spinner's), and a spinner's thesaurus would break its code. No article of the valid split
# comes within a fifth of 0.02 (its highest share is 0.004; the test split's 0.009).
DOCUMENTATION_WORDS = 100
DOCUMENTATION_SHARE = 0.02


@dataclass
class RatePrior:
    """A spinner spins a whole document at one rate; clean documents have rate 0.

    Word scores are calibrated at the spin rate of the calibration data (`base`). For
    each document we estimate its own rate by EM over its words' scores (with a
    Beta(a, b) prior, which keeps short texts near the base rate) and move every
    word's odds by the ratio of the two rates: a clean article, whose words mostly
    score low, loses its few mid-scoring false flags; a heavily spun one gains.
    A document whose words together say it is unspun (`unspun`, below `gate`) loses
    all its flags: a long clean article still has a word or two that scores high alone. So
    may a long one spun, by its words' rate, more lightly than spinners spin (`light`; the
    detector also asks whether it reads unlike news, `Detector.reads_unlike_news`).
    """

    base: float
    a: float
    b: float
    gate: float | None = None  # log Bayes factor; None: no gate (calibrations before session 11)
    attached_gate: float | None = None  # the same for words with punctuation attached (`ATTACHED_GATE`)
    attached_high: float = ATTACHED_HIGH  # what `attached_evidence` counts as a confident score
    attached_clean_rate: float = ATTACHED_CLEAN_RATE  # the share of clean words in spun text scoring that
    min_rate: float = 0.02  # the alternative's lowest spin rate (`MIN_RATE`; 0.02 in calibrations before session 15)
    light_words: int = LIGHT_WORDS  # how long a text `light` judges
    light_rate: float | None = None  # `LIGHT_RATE`; None: no such gate (calibrations before session 35)

    def rate(self, probs: list[float], iters: int = 50) -> float:
        """The document's spin rate: EM over its words' (base-rate calibrated) scores."""
        lr = logits(probs) - logit(self.base)
        rate = self.a / (self.a + self.b)
        for _ in range(iters):
            post = 1 / (1 + np.exp(-(lr + logit(rate))))
            rate, prev = (self.a + post.sum()) / (self.a + self.b + len(lr)), rate
            if abs(rate - prev) < 1e-5:
                break
        return float(rate)

    def evidence(self, probs: list[float], rates: np.ndarray | None = None) -> float:
        """log Bayes factor of "spun at a rate of `rates` (default: 25 from `min_rate` to 0.5),
        each equally likely" against "unspun" (rate 0): each word's odds against the base
        rate's are its likelihood ratio, so n words have likelihood prod(1 - r + r * ratio) at
        rate r, and 1 unspun."""
        if not probs:
            return 0.0
        if rates is None:
            rates = np.linspace(self.min_rate, 0.5, 25)
        ratio = np.exp(logits(probs) - logit(self.base))
        ll = np.log1p(np.asarray(rates)[:, None] * (ratio[None, :] - 1)).sum(axis=1)
        return float(np.logaddexp.reduce(ll) - math.log(len(rates)))

    def attached_evidence(self, probs: list[float], attached: list[bool]) -> float:
        """log Bayes factor of "the words with punctuation attached are spun like the document's
        other words" against "they are not spun" (a whitespace-splitting spinner never swaps
        them), from counts of confident scores (at least `attached_high`): spun, they are
        confident as often as the other words are (smoothed); unspun, as often as clean words in
        spun text are (`attached_clean_rate`)."""
        n_a = sum(attached)
        k_a = sum(p >= self.attached_high for p, a in zip(probs, attached) if a)
        k_b = sum(p >= self.attached_high for p, a in zip(probs, attached) if not a)
        q, clean = (k_b + 0.5) / (len(probs) - n_a + 1), self.attached_clean_rate
        return k_a * math.log(q / clean) + (n_a - k_a) * math.log((1 - q) / (1 - clean))

    def unspun(self, probs: list[float]) -> bool:
        """Do the words say, together, that nobody spun this document (its evidence below the gate)?"""
        return bool(probs) and self.gated(self.evidence(probs))

    def light(self, probs: list[float]) -> bool:
        """Is this a long text whose words look spun at a rate spinners seldom swap at (`LIGHT_RATE`),
        so that the words that look spun are more likely its own vocabulary than swaps?"""
        return self.light_rate is not None and len(probs) >= self.light_words and self.rate(probs) < self.light_rate

    def gated(self, evidence: float) -> bool:
        return self.gate is not None and evidence < self.gate

    def attached_gated(self, evidence: float) -> bool:
        return self.attached_gate is not None and evidence < self.attached_gate

    def apply(self, probs: list[float]) -> list[float]:
        """The words' probabilities re-weighed from the base rate to the document's rate."""
        if not probs:
            return []
        shifted = logits(probs) + logit(self.rate(probs)) - logit(self.base)
        return (1 / (1 + np.exp(-shifted))).tolist()
