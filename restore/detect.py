"""Synonym-swap detector: which words did a spinner put there, and what did they replace?

Two kinds of evidence, combined by a logistic regression fitted on validation pairs
(so a score of 0.5 means even odds):
- lexicon: how often a surface word is spinner output versus natural text, counted
  by spinning the train split (`lexsignal.json.gz`): "betwixt" is nearly always spun;
  and how often next to its left and right neighbours (`neighbours.json.gz`): "successful
  the" nearly always, "a successful" rarely;
- context: the tagger's `spun` head reading the whole sentence, which tells
  "successful the latest" from "a successful launch";
- the language model (the shipped trigram LM): how much better the word's best thesaurus
  original fits its neighbours than the word itself, asked only where the first two leave
  the word in doubt (it costs time).
Candidates for a flagged word come from the inverse thesaurus (prior) and the
tagger's `orig` head (context), scored together.
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import numpy as np
import torch

from restore.errors import RestoreError
from restore.forms import inflected_readings, inflections, lemmas, regular_stems
from restore.lexicon import Lexicon, load_lexicon
from restore.ngram import BOS, EOS, KneserNeyTrigram
from restore.paths import DETECTOR_DIR, LM_DIR
from restore.spin import NUMBER_WORDS
from restore.tagger import TaggerBundle, inference_dtype
from restore.text import (Token, bare, block_spans, code_share, glued, grouped, hard_wrapped, match_case, not_prose,
                          tokenize, units)

DEFAULT_DIR = DETECTOR_DIR
T = TypeVar("T")
_DIGITS = {v: k for k, v in NUMBER_WORDS.items()}
# A number word is never restored as another number ("several million" is not "several
# billion"): the surest way to damage a text is to change its figures.
_NUMERALS = set(NUMBER_WORDS) | set(
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
    "seventy eighty ninety hundred thousand million billion trillion dozen".split())
# The train split's newswire (Reuters, 1987) writes shorthand that a modern article writes in
# full ("rose 5 pct"), so the thesaurus's "pct" looks the likeliest original of every "percent":
# these originals are offered only in a document that writes shorthand itself. Where such a
# text writes the full form and the spinner turns it into the same words ("percent" and "pct"
# both become "percentage"), the shorthand's share goes to the full form instead: "4.8
# percentage" is still spun, from "percent", and only "percent" itself is then not spun.
SHORTHAND: dict[str, str | None] = {"pct": "percent", "corp": None, "inc": None, "co": None, "yr": None}
_WRITES_SHORTHAND = re.compile(r"\b(?:pct|mln|bln|dlrs|cts|shr|qtr|mths)\b")
# An original that the newswire mostly writes in shorthand ("mln" 12,885 times in the train
# split, "million" 495) is, in a text written in full, as frequent as both forms together: its
# inverse-thesaurus prior is raised by that ratio there ("2 cardinal" is then "2 million", not
# the "2 billion" of a split that writes "billion" in full).
WRITTEN_SHORT = {"million": "mln", "dollars": "dlrs", "cents": "cts"}
# a percentage is written in figures ("5 percent", "5%"): such a digit is no spun number word
_PERCENTAGE = re.compile(r"\s*(?:%|percent(?:age)?\b|per cent\b|pct\b)")
# a figure that is part of a larger one (`_in_larger_figure`): what follows it, what precedes it
_PART_OF_FIGURE = re.compile(r"[-–/:]\d|\s*[ap]\.?m\b", re.IGNORECASE)
_PART_OF_FIGURE_BEFORE = re.compile(r"\d[-–/:]$")
_LINE_END_GAP = re.compile(r"[ \t]*\r?\n[ \t]*")  # between two words of a hard-wrapped sentence
# So is a digit before a magnitude in a text written in full ("2 million"), and before what a
# spinner writes for one ("2 cardinal" is "2 million" spun); the newswire that writes "mln"
# spells out "two mln", and there a "2 mln" is likelier spun.
MAGNITUDES = ("million", "billion", "trillion")
# A spun word that likeliest stands for a magnitude is restored only if one magnitude holds
# this share of their probability: "£2 cardinal" left as it is reads as spun, "£2 billion" for
# "£2 million" reads as a fact.
MAGNITUDE_ODDS = 0.9
FEATURES = {
    "lexicon": ["lex", "unseen"],
    "context": ["ctx"],
    "lexicon+context": ["lex", "unseen", "ctx", "lex_x_ctx", "initial", "lex_left", "lex_right"],
    "combined": ["lex", "unseen", "ctx", "lex_x_ctx", "initial", "lex_left", "lex_right",
                 "lm_gain", "lm_none", "lm_asked"],
}
# A word's spin rate next to a given neighbour ("successful the": nearly always spun; "a
# successful": natural) is pulled towards the word's own rate by this many pseudo-counts;
# pairs seen fewer than `restore.calibrate.MIN_PAIR` times when the train split was spun are not kept.
NEIGHBOUR_PRIOR = 5.0
# The language model is asked about a word only when the lexicon+context logit lies here: outside
# it the LM changes few decisions (standard-set F1 0.8811 here, 0.8815 with (-3, 2): a fifth of the words
# asked instead of a quarter).
LM_BAND = (-2.5, 1.5)
MAX_PHRASE = 4  # words in the longest multiword substitute read as one span (the thesaurus has a few longer)
SURE = 0.9  # a neighbour this likely spun (lexicon+context) is read by the LM as its likeliest original
# the tagger's batches are padded to a multiple of this many pieces: fewer shapes, so the
# CPU kernels compiled and cached per shape (bfloat16) stay few; the encoder's states are the
# same bit for bit at any padding, in float32 and in bfloat16 (Zen 4, session 40). Batches cut
# where the padded width changes, padded to a multiple of 8, did a fifth less work on the
# speed input but made so many shapes that a 50,000-word input's peak memory rose by a tenth
# (session 40, HISTORY)
PAD_MULTIPLE = 16
HEAD_CHUNK = 128  # words per read of the originals head (128 x 20,000 logits: 10 MB)
CANDIDATES = 5  # originals offered per flagged span by `restore detect` (`Detector.n_candidates`)
# A spinner whose thesaurus differs from ours may have gone a step further than our inverse index
# reaches (new -> fresh -> caller): with `Detector.second_hop` h, a span's originals are
# (1 - h) P(x) + h sum_x P(x) P(y | x), x its own candidates, P(y | x) the inverse prior of x;
# through its first SECOND_HOP_VIA candidates and their SECOND_HOP_EACH likeliest originals,
# single words and no numbers, of which the SECOND_HOP_EXTRA likeliest join the span's own.
# 10, 20, 10 since session 37 (5, 10, 3 before; `scripts/probe_second_hop.py`): text spun by
# the held-out chained policy gains, the training mix's ties, and the seed's "speech" (via
# "conversation", its eighth candidate in context) comes back "exchange".
SECOND_HOP_VIA, SECOND_HOP_EACH, SECOND_HOP_EXTRA = 10, 20, 10
# A spinner has a habit: the seed article's took an original's first substitute (`Lexicon.first`)
# for 94% of its surely spun words, a spinner of any sense for about half. `Detector.read_habit`
# reads it from a document's words scored at least FIRST_SURE (smoothed by FIRST_PSEUDO words
# towards FIRST_HABIT, the share the thesaurus prior is taken to assume); `first_gain` weighs
# the originals whose first substitute a span is by the odds of the two, within FIRST_GAINS, and
# `habit_odds` moves each word's odds of being spun by how likely the habit makes it. FIRST_HABIT
# since session 38 (`scripts/probe_first_habit.py`: validation articles of every first-substitute
# spinner gain, those of an any-sense spinner tie), the word odds since session 39
FIRST_SURE, FIRST_PSEUDO, FIRST_GAINS, FIRST_HABIT = 0.9, 5, (0.25, 10.0), 0.5
# Whether a spinner inflects is a habit too. Only one that lemmatises, spins and inflects again
# writes an inflected form the inverse index lacks ("gatherings"); of the training mix's surely
# spun words INFLECT_SHARE are such forms (0.062 on 60 validation articles), of a spinner that
# inflects about 0.09, of one that does not 0.001, of the seed article's none. `read_inflection`
# reads a document's share the way `read_habit` does, and `habit_odds` moves such a word's odds
# by its ratio to INFLECT_SHARE, within INFLECT_RATIOS; in a document at least as given to
# inflecting as the mix (`_inflecting`), such a form may be an inflecting spinner's first
# substitute (`Detector._inflected_firsts`). The floor is not lower because a spinner whose
# surely spun words show no inflection may still inflect now and then: the seed article's
# "utilizing" (using) is one, and at 0.25 it was no longer restored (session 40)
INFLECT_SHARE, INFLECT_RATIOS = 0.06, (0.5, 10.0)


@dataclass
class Candidate:
    text: str
    score: float


@dataclass
class Span:
    """A flagged word or phrase: text[start:end] == span.text (Python string offsets)."""

    start: int
    end: int
    text: str
    score: float
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Detection:
    """One document's flagged spans, and its evidence of being spun (`RatePrior.evidence` of
    its words, a log Bayes factor; None without a calibrated prior)."""

    spans: list[Span]
    evidence: float | None
    attached: float | None = None  # the same for its words with punctuation attached (`RatePrior.attached_evidence`)


@dataclass
class HeadGuess:
    """The originals head on one word: its logits, their log normaliser, its best guesses."""

    logits: torch.Tensor  # (n_orig,)
    lse: float
    top: list[int]  # indices into the originals, best first

    @staticmethod
    def rows(logits: torch.Tensor, k: int) -> list["HeadGuess"]:
        """One guess per row of a (words, n_orig) logits matrix; the top k of each."""
        with torch.inference_mode():
            lse = torch.logsumexp(logits, -1).tolist()
            top = torch.topk(logits, min(k, logits.shape[-1]), dim=-1).indices.tolist()
        return [HeadGuess(row, z, t) for row, z, t in zip(logits, lse, top)]

    def logprobs(self, indices: list[int]) -> list[float]:
        return [x - self.lse for x in self.logits[indices].tolist()]


@dataclass
class WordScore:
    """Everything the detector knows about one eligible word (before thresholding)."""

    token: Token
    features: dict[str, float]
    probs: dict[str, float]  # lexicon / context / combined
    hidden: torch.Tensor | None  # encoder state of the word's first piece, when asked for
    bare: bool = True  # nothing attached (`text.bare`): "month", not "month," or "“aggression”"


def _raise(probs: dict[str, float], gain: dict[str, float]) -> dict[str, float]:
    """`probs` with those of `gain`'s keys multiplied by their factors, normalised again."""
    z = 1 + sum(probs[c] * (g - 1) for c, g in gain.items())
    return {c: p * gain.get(c, 1.0) / z for c, p in probs.items()}


def _in_larger_figure(text: str, tok: Token) -> bool:
    """Is this figure part of a score, a fraction, a range or a time ("1-0", "1/3", "24/7", "1 a.m."),
    or a note or list item ("[1]", "(1)")? There "one" would be no original."""
    return bool(_PART_OF_FIGURE.match(text, tok.end) or _PART_OF_FIGURE_BEFORE.search(text, 0, tok.start)
                or (text[tok.start - 1 : tok.start] in ("[", "(") and text[tok.end : tok.end + 1] in ("]", ")")))


_ROMAN = re.compile(r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})\Z")  # i to xxxix


def _enumerator(text: str, tok: Token) -> bool:
    """Is this a lowercase roman numeral that labels a list item or a clause ("(ii)", "ii)", or "ii."
    opening a line)? A spinner's "two" would be a word of the sentence, not a label."""
    if not _ROMAN.match(tok.text):
        return False
    after = text[tok.end : tok.end + 1]
    return after == ")" or (after == "." and not text[text.rfind("\n", 0, tok.start) + 1 : tok.start].strip())


def _is_number(word: str) -> bool:
    return word in _NUMERALS or word.replace(",", "").replace(".", "").isdigit()


_MYTHES_POS = {"N": "noun", "V": "verb", "J": "adj", "R": "adv"}  # a Penn tag's first letter -> MyThes'


def _forms_for(original: str, tag: str) -> list[str]:
    """The forms of a single-word original that a spun word with `tag` may stand for: every form
    but a noun's uncountable plural ("meeting" as well as "meetings"); none for a phrase."""
    forms = inflections(original, tag) if " " not in original else ()
    return [f for k, f in enumerate(forms) if k == 0 or f != original]


def _mean(values: Iterable[float]) -> float:
    xs = list(values)
    return sum(xs) / len(xs)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _logits(probs: list[float]) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _judge(signals: tuple[str, ...]) -> str:
    """The signal whose scores decide a document-level step for every signal: one verdict for all."""
    return "combined" if "combined" in signals else signals[0]


def _smoothed_share(hits: list[bool], prior: float) -> float:
    """The share of `hits` among a document's surely spun words, smoothed by FIRST_PSEUDO words
    towards `prior`: a few words move a document's habit little."""
    return (sum(hits) + FIRST_PSEUDO * prior) / (len(hits) + FIRST_PSEUDO)


def _inflecting(inflects: float | None) -> bool:
    """Is a document's spinner at least as given to inflecting as the training mix's
    (`Detector.read_inflection`'s ratio at least 1)? Then its inflected forms that the inverse
    index lacks may be its first substitutes (`Detector._inflected_firsts`); in a document that
    shows no inflection they are the writer's own words."""
    return inflects is not None and inflects >= 1.0


def _odds_times(p: float, factor: float) -> float:
    """A probability whose odds are multiplied by `factor` (P(spun | its original is none of some
    ruled out): factor 1 - the share they held)."""
    moved = p * factor
    return moved / (moved + 1 - p) if moved + 1 - p > 0 else 0.0


def count_shift(counts: Sequence[int] | None, p_word: float) -> float:
    """How far a word's (spun, natural) counts in some context, pulled towards its own rate
    `p_word` by NEIGHBOUR_PRIOR pseudo-counts, move its spin log-odds; 0 without counts."""
    if counts is None:
        return 0.0
    spun, natural = counts
    return _logit((spun + NEIGHBOUR_PRIOR * p_word) / (spun + natural + NEIGHBOUR_PRIOR)) - _logit(p_word)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


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
        lr = _logits(probs) - _logit(self.base)
        rate = self.a / (self.a + self.b)
        for _ in range(iters):
            post = 1 / (1 + np.exp(-(lr + _logit(rate))))
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
        ratio = np.exp(_logits(probs) - _logit(self.base))
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
        shifted = _logits(probs) + _logit(self.rate(probs)) - _logit(self.base)
        return (1 / (1 + np.exp(-shifted))).tolist()


class Detector:
    """Loads the tagger, the lexicon signal and the calibration from one model directory."""

    def __init__(self, model_dir: Path | str = DEFAULT_DIR, lexicon: Lexicon | None = None,
                 threshold: float = 0.5, calibrated: bool = True, lm_dir: Path | str = LM_DIR,
                 precision: str | None = None, assume_spun: bool = False):
        """`precision` of the tagger's encoder (`inference_dtype`): default $RESTORE_PRECISION, else "auto".
        `assume_spun`: the user knows each text is spun, so no document-level gate (`apply_prior`)
        withholds its flags: the unspun and light gates, and the documentation rule."""
        model_dir = Path(model_dir)
        self.bundle, self.config = TaggerBundle.load(model_dir)
        self.dtype = inference_dtype(precision or os.environ.get("RESTORE_PRECISION", "auto"))
        self.bundle.model.encoder_in(self.dtype)
        self.lex = lexicon or load_lexicon()
        self.lm = KneserNeyTrigram.load(Path(lm_dir))
        self._lm_originals: dict[str, tuple[int, ...]] = {}
        self._priors: dict[str, tuple[dict[str, float], dict[str, str], dict[str, list[str]]]] = {}
        self._reach: dict[tuple[str, str], bool] = {}  # (original, spun word): a thesaurus path between them
        self._subs: dict[str, frozenset[str]] = {}
        self._firsts: dict[tuple[str, bool], tuple[bool | None, float]] = {}  # `_first_of`
        self._inflected: dict[str, frozenset[str]] = {}  # `_inflected_firsts`
        self.threshold = threshold
        self.assume_spun = assume_spun
        self.light_nats = LIGHT_NATS  # the light gate's news test (`reads_unlike_news`); 0: the words' rate alone
        self.n_candidates = CANDIDATES  # originals offered per span; the pipeline sets its tuned number
        self.second_hop = 0.0  # the chance that a spinner chained (SECOND_HOP_VIA); the pipeline sets its tuned one
        self.first_habit: float | None = FIRST_HABIT  # `first_gain`'s; None: off
        self.inflection_habit = True  # `read_inflection` (with `first_habit`); False: session 39's habit alone
        # the weight of the inverse-thesaurus prior against the originals head (`original_probs`); None:
        # the calibrated one, best for the top candidate alone; the pipeline sets the one its beam was tuned with
        self.prior_weight: float | None = None
        self.signal = load_signal(model_dir / "lexsignal.json.gz")
        self.neighbours = load_neighbours(model_dir / "neighbours.json.gz")
        # of the inverse index's multiword terms: the first words (only these can start a phrase),
        # and those that end in a figure ("atomic number 49", the spinner's "in"), by that figure,
        # which is then part of a spun phrase, not a number of the text
        self._phrase_starts: set[str] = set()
        self._figure_phrases: dict[str, list[str]] = {}
        for key in self.lex.inverse:
            if " " in key:
                self._phrase_starts.add(key.split(" ", 1)[0])
                last = key.rsplit(" ", 1)[1]
                if last.isdigit():
                    self._figure_phrases.setdefault(last, []).append(key)
        units = {*MAGNITUDES, *(s for u in MAGNITUDES for s in self.lex.substitutes(u) if " " not in s)}
        self._in_full = {o: (self.lex.count(o) + self.lex.count(short)) / max(self.lex.count(o), 1)
                         for o, short in WRITTEN_SHORT.items()}
        self._magnitude = re.compile(r"\s+(?:" + "|".join(sorted(units)) + r")\b")
        calib = model_dir / "calibration.json"
        if calibrated and not calib.is_file():
            raise RestoreError(f"{calib} missing: run scripts/calibrate_detector.py")
        try:
            self.calibration = json.loads(calib.read_text(encoding="utf-8")) if calibrated else None
        except (OSError, ValueError) as e:
            raise RestoreError(f"{calib} is unreadable: {e}") from None
        # lemminflect reads its tables (0.4 s) on first use, which would fall in the first document
        inflected_readings("existed")
        # What is loaded now lives as long as the process: hundreds of thousands of objects that
        # every full collection of the cyclic GC would scan again (one, 0.3-0.45 s, fell in each
        # detection of 10,000 words). Frozen, collections leave them out: 2.08 -> 1.79 s.
        gc.freeze()

    # -- evidence ----------------------------------------------------------
    def lexicon_prob(self, word: str) -> tuple[float, bool]:
        """(P(spun | surface) from spinning the train split, unseen-word flag)."""
        key = word.lower()
        spun, natural = self.signal.get(key, (0, self.lex.count(key)))
        if spun == 0 and natural == 0:
            return 0.0, True
        return (spun + 0.05) / (spun + natural + 0.1), False

    def neighbour_shift(self, word: str, p_word: float, side: str, neighbour: str) -> float:
        """How far one neighbour moves the word's spin log-odds, as counted when the train split
        was spun: the lexicon signal with a little context, from far more text than the tagger
        saw ("successful the" is spun, "a successful" natural); 0 for pairs too rare to keep."""
        return count_shift(self.neighbours[side].get(word, {}).get(neighbour), p_word)

    def eligible(self, text: str, tok: Token) -> bool:
        """Could a spinner have written this token? Names, acronyms and long numbers: no.

        A capitalised word counts only at a sentence start and only if its lowercase
        form is something a spinner writes ("Successful", not "Moscow").
        """
        w = tok.text
        if glued(text, tok) or not_prose(text, tok):
            return False
        if not tok.is_word:  # "1" for "one"; but not "November 6", "Article 5" or "5 percent"
            if self._ends_figure_phrase(text, tok):
                return True
            before = text[: tok.start].rstrip().rsplit(" ", 1)[-1]
            return (w in _DIGITS and not (before[:1].isupper() and before.isalpha())
                    and not _PERCENTAGE.match(text, tok.end) and not _in_larger_figure(text, tok))
        if w.islower():
            return not _enumerator(text, tok)
        initial = not text[: tok.start].strip(" \t\"“‘'([")
        return (initial and w[:1].isupper() and (w[1:].islower() or len(w) == 1)
                and (w.lower() in self.lex.inverse or w.lower() in self.signal))

    def _ends_figure_phrase(self, text: str, tok: Token) -> bool:
        """Is this figure the last word of a multiword term that ends in one ("atomic number 49"
        spelt out, lowercase, one space or a wrapped line end apart), so that `phrases` can read the
        term as one span?"""
        for key in self._figure_phrases.get(tok.text, ()):
            lo = max(0, tok.end - 2 * len(key))
            window = _LINE_END_GAP.sub(" ", text[lo : tok.end])
            start = len(window) - len(key)
            if start >= 0 and window[start:] == key and (not window[start - 1].isalnum() if start else lo == 0):
                return True
        return False

    def score_units(self, pieces: list[str], signals: tuple[str, ...] = tuple(FEATURES),
                    with_hidden: bool = True, batch_size: int = 64) -> list[list[WordScore]]:
        """Raw word scores (no document prior) for each piece, offsets relative to the piece.

        Pieces are sentence-sized; they are batched sorted by their number of model pieces
        (a quarter less padding than sorting by characters)."""
        asks_lm = any("lm_gain" in FEATURES[name] for name in signals)
        all_encs = self.bundle.encode_many(pieces)
        order = sorted(range(len(pieces)), key=lambda i: len(all_encs[i].ids))
        results: list[list[WordScore]] = [[] for _ in pieces]
        model = self.bundle.model
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            encs = [all_encs[i] for i in idx]
            with torch.inference_mode():
                hidden = model(self.bundle.pad(encs, PAD_MULTIPLE))
                ctx = torch.sigmoid(model.spun_logits(hidden)).tolist()  # lists: per-word tensor indexing is slow
            for row, (i, enc) in enumerate(zip(idx, encs)):
                words = []
                for w, tok in enumerate(enc.words):
                    if enc.first_piece[w] < 0 or not self.eligible(pieces[i], tok):
                        continue
                    p_lex, unseen = self.lexicon_prob(tok.text)
                    p_ctx = ctx[row][enc.first_piece[w]]
                    initial = float(not tok.text.islower() and tok.is_word)
                    f = {"lex": _logit(p_lex), "unseen": float(unseen), "ctx": _logit(p_ctx), "initial": initial}
                    f["lex_x_ctx"] = f["lex"] * f["ctx"] / 10
                    key = tok.text.lower()
                    left = enc.words[w - 1].text.lower() if w else BOS
                    right = enc.words[w + 1].text.lower() if w + 1 < len(enc.words) else EOS
                    f["lex_left"] = self.neighbour_shift(key, p_lex, "left", left)
                    f["lex_right"] = self.neighbour_shift(key, p_lex, "right", right)
                    state = hidden[row, enc.first_piece[w]] if with_hidden else None
                    words.append(WordScore(tok, f, {}, state, bare(pieces[i], tok)))
                if asks_lm:
                    self.lm_evidence(pieces[i], words, enc.words)
                for ws in words:
                    ws.probs = {name: self._combine(name, ws.features) for name in signals}
                results[i] = words
        return results

    def score_documents(self, texts: list[str], signals: tuple[str, ...] = tuple(FEATURES),
                        with_hidden: bool = True, prior: bool = True) -> list[list[WordScore]]:
        """Word scores for each document, offsets into it, with the document's spin-rate prior."""
        pieces, owner = [], []
        for d, text in enumerate(texts):
            for a, b in units(text):
                pieces.append(text[a:b])
                owner.append((d, a))
        docs: list[list[WordScore]] = [[] for _ in texts]
        for (d, a), words in zip(owner, self.score_units(pieces, signals, with_hidden)):
            for ws in words:
                ws.token = Token(ws.token.text, a + ws.token.start, a + ws.token.end)
                docs[d].append(ws)
        if prior:
            for text, words in zip(texts, docs):
                self.weigh(text, words, signals, in_full=not _WRITES_SHORTHAND.search(text))
        return docs

    def weigh(self, text: str, words: list[WordScore], signals: tuple[str, ...],
              in_full: bool) -> tuple[float | None, float | None, float | None, float | None]:
        """The document-level steps, in order, on one document's word scores: in a text written in
        full (`in_full`: no newswire shorthand, `_WRITES_SHORTHAND`), the shorthand rule
        (`_rule_out`); then the rate prior and its gates (`apply_prior`, whose evidence it
        returns), documentation (DOCUMENTATION_SHARE of it code) among them; then, with
        `first_habit`, the spinner's habits (`read_inflection` and `read_habit`, whose ratio and
        share it returns; None without), which move every word's odds (`habit_odds`)."""
        if in_full:
            self._rule_out(words)
        documentation = len(words) >= DOCUMENTATION_WORDS and code_share(text) >= DOCUMENTATION_SHARE
        evidence, attached = self.apply_prior(words, signals, gated=documentation, text=text)
        if not self.first_habit:
            return evidence, attached, None, None
        judge = _judge(signals)
        inflects = self.read_inflection(words, judge) if self.inflection_habit else None
        share = self.read_habit(words, judge, _inflecting(inflects))
        for ws in words:
            factor = self.habit_odds(ws.token.text.lower(), share, inflects)
            if factor != 1.0:
                ws.probs = {name: _odds_times(p, factor) for name, p in ws.probs.items()}
        return evidence, attached, share, inflects

    def reads_unlike_news(self, text: str) -> bool:
        """Does the trigram LM find `text` at least `light_nats` (LIGHT_NATS) nats a word surprising?"""
        return self.lm.nats_per_word(text) >= self.light_nats

    def apply_prior(self, words: list[WordScore], signals: tuple[str, ...], gated: bool = False,
                    text: str | None = None) -> tuple[float | None, float | None]:
        """Move one document's word probabilities to its own spin rate (see `RatePrior`); returns
        the document's evidence of being spun and its attached words' evidence of being spun at
        its rate (`RatePrior.evidence`, `attached_evidence`; None if not calibrated, the second
        also when the document is gated or has no attached word). The document has nothing
        flagged below the unspun gate; when spun too lightly to be a spinner's work
        (`RatePrior.light`) if its `text` (when given) reads unlike news (`reads_unlike_news`);
        and when `gated` whatever its words say (documentation, `weigh`). Below the attached
        gate none of its attached words is flagged. A detector that `assume_spun` keeps only the
        attached gate, which tells a whitespace spinner's text, not whether a text was spun."""
        if not self.calibration or "prior" not in self.calibration:
            return None, None
        rate_prior = RatePrior(**self.calibration["prior"])
        judge = _judge(signals)
        raw = [ws.probs[judge] for ws in words]
        evidence = rate_prior.evidence(raw)
        if words and not self.assume_spun and (
                gated or rate_prior.gated(evidence)
                or rate_prior.light(raw) and (text is None or self.reads_unlike_news(text))):
            for ws in words:
                ws.probs = dict.fromkeys(ws.probs, 0.0)
            return evidence, None
        attached = [not ws.bare for ws in words]
        attached_evidence = rate_prior.attached_evidence(raw, attached) if any(attached) else None
        for name in signals:
            for ws, p in zip(words, rate_prior.apply([ws.probs[name] for ws in words])):
                ws.probs[name] = p
        if attached_evidence is not None and rate_prior.attached_gated(attached_evidence):
            for ws in words:
                if not ws.bare:
                    ws.probs = dict.fromkeys(ws.probs, 0.0)
        return evidence, attached_evidence

    def lm_evidence(self, text: str, words: list[WordScore], tokens: list[Token] | None = None) -> None:
        """Set the LM features of the words of one sentence (offsets into `text`): lm_gain, how
        many nats of pointwise mutual information with the trigram window the word's best
        single-word thesaurus original has over the word itself ("in the latest" against
        "successful the latest"), reading the neighbours that lexicon and context call surely
        spun (SURE) as their likeliest originals; lm_none, no original to try; lm_asked, whether
        the LM was asked (only within LM_BAND of the lexicon+context logit, once that is
        calibrated). `tokens`: tokenize(text), when the caller has it."""
        for ws in words:
            ws.features.update(lm_gain=0.0, lm_none=0.0, lm_asked=0.0)
        if not self.calibration or "lexicon+context" not in self.calibration:
            return
        low, high = _sigmoid(LM_BAND[0]), _sigmoid(LM_BAND[1])
        sure = [self._combine("lexicon+context", ws.features) for ws in words]
        todo = [ws for ws, p in zip(words, sure) if low <= p <= high]
        if not todo:
            return
        lm = self.lm
        toks = tokenize(text) if tokens is None else tokens
        seq = lm.ids(toks)
        where = {t.start: k + 2 for k, t in enumerate(toks)}
        for ws, p in zip(words, sure):  # "successful Moscow astatine the": the window reads "at the"
            if p >= SURE:
                originals = self._single_word_originals(ws.token.text.lower())
                if originals:
                    seq[where[ws.token.start]] = originals[0]
        lp, uni = lm.logprob_ids, lm.unigram_logprob_id
        for ws in todo:
            j = where[ws.token.start]
            a, b, after = seq[j - 2], seq[j - 1], seq[j + 1 : j + 3]

            def fit(x: int) -> float:
                s, h = lp(a, b, x) - uni(x), (b, x)
                for y in after:
                    s, h = s + lp(h[0], h[1], y), (h[1], y)
                return s

            ws.features["lm_asked"] = 1.0
            originals = self._single_word_originals(ws.token.text.lower())
            if originals:
                ws.features["lm_gain"] = min(max(max(map(fit, originals)) - fit(seq[j]), -15.0), 15.0)
            else:
                ws.features["lm_none"] = 1.0

    def _single_word_originals(self, key: str) -> tuple[int, ...]:
        """LM ids of the top 5 single-word originals the thesaurus offers for a word (cached)."""
        if key not in self._lm_originals:
            if key in _DIGITS:
                found = [_DIGITS[key]]
            else:
                found = [o for o, _ in self.lex.originals(key)] or list(self._prior(key)[0])  # its cache, shared
            self._lm_originals[key] = tuple(self.lm.index.get(o, -1) for o in found if " " not in o)[:5]
        return self._lm_originals[key]

    def _combine(self, name: str, f: dict[str, float]) -> float:
        if self.calibration is None:
            return _sigmoid(f["ctx"]) if name != "lexicon" else _sigmoid(f["lex"])
        c = self.calibration[name]
        return _sigmoid(c["bias"] + sum(w * f[k] for k, w in zip(FEATURES[name], c["weights"])))

    # -- candidates --------------------------------------------------------
    def candidates_many(self, words: list[str], states: list[torch.Tensor], k: int = CANDIDATES,
                        chunk: int = HEAD_CHUNK, ruled_out: Mapping[str, str | None] | None = None,
                        raised: dict[str, float] | None = None, first_gain: float = 1.0,
                        inflecting: bool = False) -> list[list[Candidate]]:
        """`ruled_candidates` for many words, the originals head read in chunks of `chunk` words: a
        chunk's logits (chunk x 20,000 floats) are normalised, searched and dropped while they are
        still in cache, and a long document never holds the whole matrix. The originals whose
        first substitute a word is (`_writes_first`, as its document's spinner is `inflecting` or
        not) are weighed by `first_gain`, its document's habit's (`Detector.first_gain`)."""
        probs: list[dict[str, float]] = []
        for i in range(0, len(words), chunk):
            with torch.inference_mode():
                logits = self.bundle.model.orig_logits(torch.stack(states[i : i + chunk]))
            probs += [self._ruled_probs(w, g, k, ruled_out, raised)
                      for w, g in zip(words[i : i + chunk], HeadGuess.rows(logits, k))]
        return [self._ranked(w, p, k, ruled_out, first_gain, inflecting) for w, p in zip(words, probs)]

    def candidates(self, word: str, head: "HeadGuess | None", k: int = CANDIDATES) -> list[Candidate]:
        """Originals for a flagged word, best first: its own k likeliest (`original_probs`), and with
        `second_hop` those a second step back adds (SECOND_HOP_VIA)."""
        return self.ruled_candidates(word, head, k)

    def ruled_candidates(self, word: str, head: "HeadGuess | None", k: int = CANDIDATES,
                         ruled_out: Mapping[str, str | None] | None = None,
                         raised: dict[str, float] | None = None) -> list[Candidate]:
        """`candidates` when the originals `ruled_out` cannot be the word's (nor a step on the way
        to it; its P(spun) was moved for them before, `_rule_out`), each one's probability going to
        the full form it maps to (if any, and not the word itself), with the priors of the
        originals `raised` multiplied by their factors."""
        return self._ranked(word, self._ruled_probs(word, head, k, ruled_out, raised), k, ruled_out)

    def _ruled_probs(self, word: str, head: "HeadGuess | None", k: int,
                     ruled_out: Mapping[str, str | None] | None,
                     raised: dict[str, float] | None) -> dict[str, float]:
        """`original_probs` with the originals `ruled_out` moved and those `raised` raised."""
        key = word.lower()
        probs = self.original_probs(key, head, k)
        ruled_out = ruled_out or {}
        for c in ruled_out.keys() & probs.keys():
            p, full = probs.pop(c), ruled_out[c]
            if full and full != key:
                probs[full] = probs.get(full, 0.0) + p
        # the head learnt the same split's habit, so it is moved as much as the prior: f times f ** beta
        if raised and (gain := {c: f ** (1 + self._beta) for c, f in raised.items() if c in probs}):
            probs = _raise(probs, gain)
        return probs

    def _ranked(self, word: str, probs: dict[str, float], k: int,
                ruled_out: Mapping[str, str | None] | None, first_gain: float = 1.0,
                inflecting: bool = False) -> list[Candidate]:
        """A span's candidates from its originals' probabilities: those whose first substitute is the
        word times `first_gain`, a likely magnitude left as it is, the k best and the second hop's."""
        key = word.lower()
        if first_gain != 1.0 and (firsts := {c: first_gain for c in probs if self._writes_first(c, key, inflecting)}):
            probs = _raise(probs, firsts)
        mags = [probs[c] for c in probs if c in MAGNITUDES]
        if sum(mags) >= 0.5 and max(mags) < MAGNITUDE_ODDS * sum(mags):
            probs = {}  # most likely a magnitude, but which is a guess: the span is left as it is
        best = sorted(probs, key=lambda c: -probs[c])[:k]
        if self.second_hop:
            probs, extra = self._second_hop(key, probs, best)
            best = sorted(best + [c for c in extra if c not in (ruled_out or {})], key=lambda c: -probs[c])
        return [Candidate(match_case(c, word), round(min(probs[c], 1.0), 4)) for c in best]

    def first_substitutes(self, words: list[WordScore], judge: str, inflecting: bool = False) -> list[bool]:
        """Of one document's surely spun words (`judge`'s probability at least FIRST_SURE) that the
        thesaurus leads back from, whether each is the first substitute (`_writes_first`, as the
        spinner is `inflecting` or not) of its likeliest original by the thesaurus."""
        return [first for ws in words if ws.probs[judge] >= FIRST_SURE
                for first, _ in [self._first_of(ws.token.text.lower(), inflecting)] if first is not None]

    def read_habit(self, words: list[WordScore], judge: str, inflecting: bool = False) -> float:
        """The share of first substitutes among one document's surely spun words
        (`first_substitutes`), smoothed by FIRST_PSEUDO words towards `first_habit`: its
        spinner's habit. Spinners differ: the seed article's took the first substitute for 94%
        of such words, a spinner of any sense for about half."""
        return _smoothed_share(self.first_substitutes(words, judge, inflecting), self.first_habit)

    def read_inflection(self, words: list[WordScore], judge: str) -> float:
        """How much likelier than the training mix's spinners one document's spinner writes inflected
        forms the inverse index lacks (`_inflected_only`): the share of its surely spun words
        (`judge`'s probability at least FIRST_SURE) that are such forms, smoothed by FIRST_PSEUDO
        words towards INFLECT_SHARE, over INFLECT_SHARE, within INFLECT_RATIOS."""
        share = _smoothed_share([self._inflected_only(ws.token.text.lower()) for ws in words
                                 if ws.probs[judge] >= FIRST_SURE], INFLECT_SHARE)
        return min(max(share / INFLECT_SHARE, INFLECT_RATIOS[0]), INFLECT_RATIOS[1])

    def first_gain(self, share: float) -> float:
        """How much likelier than the thesaurus prior says a document's spinner, whose habit is
        `share` (`read_habit`), takes an original's first substitute: the odds of its share over
        those of `first_habit`, the share the prior assumes; within FIRST_GAINS."""
        odds = share / (1 - share) / (self.first_habit / (1 - self.first_habit))
        return min(max(odds, FIRST_GAINS[0]), FIRST_GAINS[1])

    def habit_odds(self, key: str, share: float, inflects: float | None = None) -> float:
        """How much likelier a spinner whose habits are `share` (`read_habit`) and `inflects`
        (`read_inflection`) writes the word `key` than one of `first_habit`'s and the training
        mix's, the factor its odds of being spun move by: over its originals by the thesaurus,
        those whose first substitute it is (`_writes_first`, the spinner `_inflecting` as
        `inflects` says) by `first_gain` times as much as the rest, and the rest by (1 - share) /
        (1 - first_habit); an inflected form the inverse index lacks (`_inflected_only`) also by
        `inflects` (None: not read, as before session 40). In the seed article, whose spinner took
        the first substitute for 94% of its surely spun words, "combat" (nobody's first
        substitute, and the writer's own) becomes less likely spun, "successful" (in's) more. A
        word the thesaurus offers no way back to is left as it is."""
        moved = inflects if inflects is not None and self._inflected_only(key) else 1.0
        if share == self.first_habit:
            return moved
        is_first, firsts = self._first_of(key, _inflecting(inflects))
        if is_first is None:
            return moved
        return moved * (1 - share) / (1 - self.first_habit) * (1 - firsts + self.first_gain(share) * firsts)

    def _first_of(self, key: str, inflecting: bool = False) -> tuple[bool | None, float]:
        """Of a spun word's originals by the thesaurus alone (`_prior`, the word itself left out):
        is it the first substitute of the likeliest (`_writes_first`), and the share of their
        probability whose first substitute it is (cached; None, 0: the thesaurus offers no way
        back to it)."""
        if (key, inflecting) not in self._firsts:
            originals = {c: p for c, p in self._prior(key)[0].items() if c != key}
            total = sum(originals.values())
            writes = [c for c in originals if self._writes_first(c, key, inflecting)]
            self._firsts[key, inflecting] = ((next(iter(originals)) in writes,
                                              sum(originals[c] for c in writes) / total) if total else (None, 0.0))
        return self._firsts[key, inflecting]

    def _writes_first(self, original: str, key: str, inflecting: bool = False) -> bool:
        """Is the word `key` what a first-substitute spinner writes for `original`: its first
        substitute (`Lexicon.first`), or, for a spinner that is `inflecting` and an inflected form
        the inverse index lacks, what it writes (`_inflected_firsts`)?"""
        return self.lex.first(original) == key or inflecting and original in self._inflected_firsts(key)

    def _inflected_only(self, key: str) -> bool:
        """Is `key` an inflected form the inverse index lacks, whose originals are inflected forms
        of its lemma's ("gatherings": "meetings"): a word only an inflecting spinner writes?"""
        return bool(self._prior(key)[1])

    def _inflected_firsts(self, key: str) -> frozenset[str]:
        """For an inflected form the inverse index lacks (`_inflected_only`), the originals a
        spinner that lemmatises, takes the first substitute of that part of speech
        (`Lexicon.first`) and inflects again would have made it of: "gatherings" of "meetings"
        (meeting's first noun substitute is "gathering"). Empty for any other word (cached)."""
        if key not in self._inflected:
            self._inflected[key] = frozenset(
                form for lemma, tag in (inflected_readings(key) if self._inflected_only(key) else ())
                for orig, _ in self.lex.originals(lemma)
                if self.lex.first(orig, _MYTHES_POS[tag[0]]) == lemma for form in _forms_for(orig, tag))
        return self._inflected[key]

    def original_probs(self, key: str, head: "HeadGuess | None", k: int = CANDIDATES,
                       beta: float | None = None) -> dict[str, float]:
        """P(original | spun word, context) of each original the thesaurus or the head (its k best) offers,
        by the product of the inverse thesaurus prior and the originals head (context),
        normalised over every original either knows: a candidate only the head proposes keeps
        the head's own, modest probability instead of looking certain for being alone in the top
        k. Without the head, the prior alone. `beta`: the prior's weight (default `_beta`)."""
        prior, base_of, forms_of = self._prior(key)
        if not prior and not self._stem_has_originals(key):
            return {}  # no way back through the thesaurus: the head's guess would be a guess
        if head is None:
            total = sum(p for c, p in prior.items() if c != key) or 1.0
            return {c: p / total for c, p in prior.items() if c != key}
        beta = self._beta if beta is None else beta
        vocab = self.bundle.orig_index
        top = [self.bundle.originals[i] for i in head.top[:k]]
        # in a fixed order (ties keep it); the head's "use" is "using" for "utilizing"
        cands = list(dict.fromkeys(list(prior) + [f for c in top for f in forms_of.get(c, [c])
                                                  if f in prior or self._reaches(f, key)]))
        looked_up = [c for c in dict.fromkeys(cands + list(forms_of)) if c in vocab]
        lp = dict(zip(looked_up, head.logprobs([vocab[c] for c in looked_up])))  # one gather, not one per word
        # an inflected original also takes its base form's guess
        guess = {c: max(lp.get(c, -12.0), lp.get(base_of.get(c, c), -12.0)) for c in cands}
        scores = {c: guess[c] + beta * math.log(prior.get(c, 0.0) + 1e-4) for c in cands
                  if c not in (key, "<unk>") and not (key in _NUMERALS and _is_number(c))}
        # log Z over the whole originals space: the head sums to 1, each at the floor but the prior's
        floor = beta * math.log(1e-4)
        z = math.log(math.exp(floor) + sum(math.exp(guess[c]) * ((p + 1e-4) ** beta - math.exp(floor))
                                           for c, p in prior.items()))
        return {c: math.exp(s - z) for c, s in scores.items()}

    def _reaches(self, original: str, key: str) -> bool:
        """Whether the thesaurus leads from `original` to the spun word: the word or a lemma of it
        is a substitute of the original or of a lemma of it ("tell" -> "state": "told" for
        "stated", which the inverse index, cut at 20 originals a word, does not list). Else the
        originals head proposed it alone, and its guess ("spend" for "password") is no original."""
        if (original, key) not in self._reach:
            ours = {key, *lemmas(key), *regular_stems(key)}
            self._reach[original, key] = any(not ours.isdisjoint(self._substitutes(o))
                                             for o in {original, *lemmas(original)})
        return self._reach[original, key]

    def _substitutes(self, headword: str) -> frozenset[str]:
        """A headword's substitutes in the forward table (cached: `Lexicon.substitutes` weighs them anew)."""
        if headword not in self._subs:
            self._subs[headword] = frozenset(self.lex.substitutes(headword))
        return self._subs[headword]

    def _stem_has_originals(self, key: str) -> bool:
        """Whether a word the thesaurus and lemminflect cannot read back is a regular form of one
        the thesaurus can: the spinner inflects by rule what lemminflect does not know ("defrayal"
        -> "defrayals", "demo" -> "demoed", "peachy" -> "peachier"), and the head learnt those.
        Without one ("cryptocurrency", "solana") the word is none of our spinner's, and the head's
        best original for it ("airline", "so") no better than a guess."""
        return any(self.lex.originals(stem) for stem in regular_stems(key))

    def _figure_of_magnitude(self, text: str, run: list[WordScore]) -> bool:
        """"2 million", or a spinner's "2 cardinal": how a text written in full writes a figure."""
        return run[0].token.text in _DIGITS and self._magnitude.match(text, run[-1].token.end) is not None

    @property
    def _beta(self) -> float:
        """The weight of the inverse-thesaurus prior against the originals head: `prior_weight`, or
        the calibrated one, which makes the top original likeliest right on its own (`calibrate`)."""
        if self.prior_weight is not None:
            return self.prior_weight
        return self.calibration["beta"] if self.calibration else 1.0

    def _rule_out(self, words: list[WordScore]) -> None:
        """In a text written in full, each word's probabilities become those of being spun from
        something other than the SHORTHAND ruled out for it (all of it but a shorthand whose full
        form, not the word itself, takes its share), before the document's rate prior and gates
        weigh them: by the share s of its originals' probability that those hold (with the
        originals head where the word's encoder state was kept, else by the thesaurus alone),
        p(1 - s) / (p(1 - s) + 1 - p). The thesaurus prior counts at its full weight (beta 1),
        not the calibrated one that picks the likeliest original best (0.25 since session 24):
        the rule is there for fidelity, and the full weight makes the newswire's habit the
        sharper, so the rule the surer; at 0.25 the tests' modern central-bank story came back
        with two "percent" made "percentage". Until session 22 this was done to the flagged
        spans after the prior, and a clean modern story with four "percent" (nearly always spun
        from "pct" in the train split) looked surely spun to the prior (evidence +12.5; -3.3
        with "%")."""
        # only an inverse entry of its own offers shorthand (no inflected form of one is shorthand)
        some = [ws for ws in words if any(o in SHORTHAND for o, _ in self.lex.originals(ws.token.text.lower()))]
        if not some:
            return
        heads: list[HeadGuess | None] = [None] * len(some)
        if some[0].hidden is not None:  # a document's words all keep their state, or none does
            with torch.inference_mode():
                heads = HeadGuess.rows(self.bundle.model.orig_logits(torch.stack([ws.hidden for ws in some])), CANDIDATES)
        for ws, head in zip(some, heads):
            key = ws.token.text.lower()
            probs = self.original_probs(key, head, beta=1.0)
            share = min(sum(probs.get(c, 0.0) for c, full in SHORTHAND.items() if full in (None, key)), 1.0)
            ws.probs = {name: _odds_times(p, 1 - share) for name, p in ws.probs.items()}

    def _second_hop(self, key: str, probs: dict[str, float], best: list[str]) -> tuple[dict[str, float], list[str]]:
        """The mixture of SECOND_HOP_VIA over a span's originals `probs` (its k `best`), and the
        SECOND_HOP_EXTRA likeliest originals it adds."""
        h = self.second_hop
        mixed = {c: (1 - h) * p for c, p in probs.items()}
        for x in best[:SECOND_HOP_VIA]:
            if _is_number(x):
                continue
            for y, q in self.lex.originals(x)[:SECOND_HOP_EACH]:
                if y != key and " " not in y and not _is_number(y):
                    mixed[y] = mixed.get(y, 0.0) + h * probs[x] * q
        own = set(probs)
        extra = sorted((y for y in mixed if y not in own), key=lambda y: -mixed[y])[:SECOND_HOP_EXTRA]
        return mixed, extra

    def _prior(self, key: str) -> tuple[dict[str, float], dict[str, str], dict[str, list[str]]]:
        """A spun word's originals by the thesaurus alone (cached, not to be changed): the
        inverse-index prior, and for an inflected word that the index lacks, each form's base
        ("were" -> "be") and each base's forms."""
        if key not in self._priors:
            prior = dict(self.lex.originals(key))
            base_of: dict[str, str] = {}
            if not prior:
                prior, base_of = self._inflected_originals(key)
            if key in _DIGITS:
                prior = {_DIGITS[key]: 1.0}
            if key in _NUMERALS:
                prior = {o: p for o, p in prior.items() if not _is_number(o)}
            forms_of: dict[str, list[str]] = {}
            for form, base in base_of.items():
                forms_of.setdefault(base, []).append(form)
            self._priors[key] = prior, base_of, forms_of
        return self._priors[key]

    def _inflected_originals(self, key: str) -> tuple[dict[str, float], dict[str, str]]:
        """'gatherings' -> lemma 'gathering' -> 'meeting' -> 'meetings'; 'existed' -> 'exist'
        (past or participle) -> 'be' -> 'was', 'were', 'been'. With each form's base, so the
        head's base-form guesses get the word's inflection."""
        out: dict[str, float] = {}
        base_of: dict[str, str] = {}
        for lemma, tag in inflected_readings(key):
            for orig, p in self.lex.originals(lemma):
                for form in _forms_for(orig, tag):
                    out[form] = max(out.get(form, 0.0), p)
                    base_of.setdefault(form, orig)
        return dict(sorted(out.items(), key=lambda kv: -kv[1])), base_of  # likeliest first, as `originals`

    # -- the API -----------------------------------------------------------
    def detect_pieces(self, texts: list[str], signal: str = "combined", with_candidates: bool = True,
                      scored_by: str | None = None, threshold: float | None = None,
                      surely: tuple[float, float] | None = None) -> list[Detection]:
        """Each text read as one document (cut a long one first, as `detect_many` does): its
        flagged spans, ordered and not overlapping, the words and multiword substitutes (`phrases`)
        whose `signal` probability is at least `threshold` (default: the detector's), each scored
        by `scored_by`'s probability (default: the same signal); and its evidence of being spun.
        `surely` (evidence, threshold): a document whose evidence is at least the first is
        flagged from the second threshold instead (the rewriter's own say on a doubtful word).
        In a text written in full (no newswire shorthand), each word's probabilities are those of
        being spun from something other than SHORTHAND (`_rule_out`: "percent" is then seldom
        spun at all), and its candidates lack them ("percentage" offers "percent" for "pct").
        Texts are scored about GROUP_CHARS at a time, so that memory stays bounded (every word's
        scores and encoder state are held until its group is done)."""
        scored_by = scored_by or signal
        threshold = self.threshold if threshold is None else threshold
        signals = tuple(dict.fromkeys((signal, scored_by)))
        out: list[Detection] = []
        for group in grouped([(i, 0, len(text)) for i, text in enumerate(texts)]):
            parts = [texts[i] for i, _, _ in group]
            for part, words in zip(parts, self.score_documents(parts, signals, with_candidates, prior=False)):
                in_full = not _WRITES_SHORTHAND.search(part)
                evidence, attached, habit, inflects = self.weigh(part, words, signals, in_full)
                least = surely[1] if surely and evidence is not None and evidence >= surely[0] else threshold
                ruled_out, raised = (SHORTHAND, self._in_full) if in_full else (None, None)
                flagged = [run for run in self.phrases(part, words)
                           if _mean(ws.probs[signal] for ws in run) >= least
                           and not (in_full and self._figure_of_magnitude(part, run))]
                where = [(run[0].token.start, run[-1].token.end) for run in flagged]
                # the originals head was trained to name a phrase's original on its first word
                cands = (self.candidates_many([" ".join(part[a:b].split()) for a, b in where],
                                              [run[0].hidden for run in flagged],
                                              self.n_candidates, ruled_out=ruled_out, raised=raised,
                                              first_gain=1.0 if habit is None else self.first_gain(habit),
                                              inflecting=_inflecting(inflects))
                         if with_candidates else [[] for _ in where])
                spans = [Span(a, b, part[a:b], round(_mean(ws.probs[scored_by] for ws in run), 4), cs)
                         for run, (a, b), cs in zip(flagged, where, cands)]
                out.append(Detection(spans, evidence, attached))
        return out

    def detect_many(self, texts: list[str], signal: str = "combined", with_candidates: bool = True,
                    scored_by: str | None = None, threshold: float | None = None) -> list[list[Span]]:
        """Flagged spans of each document (`detect_pieces`), offsets into it. A long document is
        read in pieces of about BLOCK_CHARS (`block_spans`), each with its own rate prior."""
        pieces = [(d, a, b) for d, text in enumerate(texts) for a, b in block_spans(text)]
        found = self.detect_pieces([texts[d][a:b] for d, a, b in pieces], signal, with_candidates,
                                   scored_by, threshold)
        out: list[list[Span]] = [[] for _ in texts]
        for (d, a, _), piece in zip(pieces, found):
            out[d] += [replace(s, start=a + s.start, end=a + s.end) for s in piece.spans]
        return out

    def phrases(self, text: str, words: list[WordScore]) -> list[list[WordScore]]:
        """The scored words of one document in runs: consecutive words that spell a multiword
        term of the thesaurus ("information technology" for "it", "angstrom unit" for "a") are
        one run, so the phrase is flagged and restored as a whole (longest first); every other
        word is a run of its own. A run is scored by the mean of its words' probabilities (a
        natural "operating room" with one doubtful word scores lower than a phrase all spun;
        validation BLEU within the clean budget 86.51, scored by the likeliest word 86.18).
        In a hard-wrapped text a phrase may run over a line end ("information processing\nsystem")."""
        wrapped = hard_wrapped(text.splitlines())

        def joined(gap: str) -> bool:
            return gap == " " or (wrapped and _LINE_END_GAP.fullmatch(gap) is not None)

        runs: list[list[WordScore]] = []
        i = 0
        while i < len(words):
            longest = min(MAX_PHRASE, len(words) - i) if words[i].token.text.lower() in self._phrase_starts else 1
            spaced = 1  # words from i on, one space (or a wrapped line end) apart
            while spaced < longest and joined(text[words[i + spaced - 1].token.end : words[i + spaced].token.start]):
                spaced += 1
            for n in range(spaced, 1, -1):
                run = words[i : i + n]
                if " ".join(ws.token.text for ws in run).lower() in self.lex.inverse:
                    break
            else:
                run = words[i : i + 1]
            runs.append(run)
            i += len(run)
        return runs

    def detect(self, text: str, signal: str = "combined", with_candidates: bool = True) -> list[Span]:
        """Flagged spans of one document."""
        return self.detect_many([text], signal, with_candidates)[0]


_DETECTORS: dict[tuple[str, float, bool], Detector] = {}


def detect(text: str, model_dir: Path | str = DEFAULT_DIR, threshold: float = 0.5,
           assume_spun: bool = False) -> list[Span]:
    """Flag spun words in `text` with the shipped detector (loaded once); `assume_spun`: see `Detector`."""
    key = (str(model_dir), threshold, assume_spun)
    if key not in _DETECTORS:
        _DETECTORS[key] = Detector(model_dir, threshold=threshold, assume_spun=assume_spun)
    return _DETECTORS[key].detect(text)


# -- the model files ------------------------------------------------------------
def _read_json_gz(path: Path, convert: Callable[[Any], T]) -> T:
    """A gzipped JSON model file through `convert`; a missing or malformed one is a one-line error."""
    if not path.is_file():
        raise RestoreError(f"{path} missing: run scripts/calibrate_detector.py")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return convert(json.load(f))
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise RestoreError(f"{path} is unreadable: {str(e).splitlines()[0]}") from None


def load_signal(path: Path) -> dict[str, tuple[int, int]]:
    """{word: (spun, natural)}"""
    return _read_json_gz(path, lambda table: {w: (s, n) for w, (s, n) in table.items()})


def load_neighbours(path: Path) -> dict[str, dict[str, dict[str, tuple[int, int]]]]:
    """{"left"|"right": {word: {neighbour: (spun, natural)}}}: tuples, not JSON's lists, for the
    213,000 pairs (smaller, and the cyclic GC stops tracking a tuple of ints)."""
    return _read_json_gz(path, lambda table: {side: {w: {n: (s, k) for n, (s, k) in pairs.items()}
                                                     for w, pairs in table[side].items()}
                                              for side in ("left", "right")})
