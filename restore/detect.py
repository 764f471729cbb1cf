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

Per document, the words' scores are then weighed by what the whole text says: its spin rate
and gates (`restore.gates`) and its spinner's habits (`restore.habit`); what the thesaurus says
of a word, read backwards, is `restore.originals`.
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

import torch

from restore.errors import RestoreError
from restore.forms import inflected_readings
from restore.gates import DOCUMENTATION_SHARE, DOCUMENTATION_WORDS, LIGHT_NATS, RatePrior, logit
from restore.habit import FIRST_HABIT, Habit, inflecting
from restore.originals import DIGITS, NUMERALS, Originals, is_number
from restore.lexicon import Lexicon, load_lexicon
from restore.ngram import BOS, EOS, KneserNeyTrigram
from restore.paths import DETECTOR_DIR, LM_DIR
from restore.tagger import TaggerBundle, inference_dtype
from restore.text import (Token, bare, block_spans, code_share, glued, grouped, hard_wrapped, match_case, not_prose,
                          tokenize, units)

DEFAULT_DIR = DETECTOR_DIR
T = TypeVar("T")
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


def _mean(values: Iterable[float]) -> float:
    xs = list(values)
    return sum(xs) / len(xs)


def _judge(signals: tuple[str, ...]) -> str:
    """The signal whose scores decide a document-level step for every signal: one verdict for all."""
    return "combined" if "combined" in signals else signals[0]


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
    return logit((spun + NEIGHBOUR_PRIOR * p_word) / (spun + natural + NEIGHBOUR_PRIOR)) - logit(p_word)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


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
        self.originals = Originals(self.lex)
        self.threshold = threshold
        self.assume_spun = assume_spun
        self.light_nats = LIGHT_NATS  # the light gate's news test (`reads_unlike_news`); 0: the words' rate alone
        self.n_candidates = CANDIDATES  # originals offered per span; the pipeline sets its tuned number
        self.second_hop = 0.0  # the chance that a spinner chained (`Originals.second_hop`); the pipeline sets it
        self.first_habit: float | None = FIRST_HABIT  # the share `Habit` reads a document's against; None: off
        self.inflection_habit = True  # `Habit.read_inflection` (with `first_habit`); False: session 39's habit alone
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
            return (w in DIGITS and not (before[:1].isupper() and before.isalpha())
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
                    f = {"lex": logit(p_lex), "unseen": float(unseen), "ctx": logit(p_ctx), "initial": initial}
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
        `first_habit`, the spinner's habits (`Habit.read_inflection` and `Habit.read`, whose ratio
        and share it returns; None without), which move every word's odds (`Habit.odds`)."""
        if in_full:
            self._rule_out(words)
        documentation = len(words) >= DOCUMENTATION_WORDS and code_share(text) >= DOCUMENTATION_SHARE
        evidence, attached = self.apply_prior(words, signals, gated=documentation, text=text)
        if not self.first_habit:
            return evidence, attached, None, None
        judge = _judge(signals)
        habit = self.habit()
        inflects = habit.read_inflection(words, judge) if self.inflection_habit else None
        share = habit.read(words, judge, inflecting(inflects))
        for ws in words:
            factor = habit.odds(ws.token.text.lower(), share, inflects)
            if factor != 1.0:
                ws.probs = {name: _odds_times(p, factor) for name, p in ws.probs.items()}
        return evidence, attached, share, inflects

    def habit(self) -> Habit:
        """The reader of a document's habits, against the detector's `first_habit` (not None)."""
        return Habit(self.originals, self.first_habit)

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
            if key in DIGITS:
                found = [DIGITS[key]]
            else:
                found = [o for o, _ in self.lex.originals(key)] or list(self.originals.prior(key)[0])  # its cache, shared
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
        first substitute a word is (`Originals.writes_first`, as its document's spinner is
        `inflecting` or not) are weighed by `first_gain`, its document's habit's (`Habit.first_gain`)."""
        probs: list[dict[str, float]] = []
        for i in range(0, len(words), chunk):
            with torch.inference_mode():
                logits = self.bundle.model.orig_logits(torch.stack(states[i : i + chunk]))
            probs += [self._ruled_probs(w, g, k, ruled_out, raised)
                      for w, g in zip(words[i : i + chunk], HeadGuess.rows(logits, k))]
        return [self._ranked(w, p, k, ruled_out, first_gain, inflecting) for w, p in zip(words, probs)]

    def candidates(self, word: str, head: "HeadGuess | None", k: int = CANDIDATES) -> list[Candidate]:
        """Originals for a flagged word, best first: its own k likeliest (`original_probs`), and with
        `second_hop` those a second step back adds (`Originals.second_hop`)."""
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
        writes_first = self.originals.writes_first
        if first_gain != 1.0 and (firsts := {c: first_gain for c in probs if writes_first(c, key, inflecting)}):
            probs = _raise(probs, firsts)
        mags = [probs[c] for c in probs if c in MAGNITUDES]
        if sum(mags) >= 0.5 and max(mags) < MAGNITUDE_ODDS * sum(mags):
            probs = {}  # most likely a magnitude, but which is a guess: the span is left as it is
        best = sorted(probs, key=lambda c: -probs[c])[:k]
        if self.second_hop:
            probs, extra = self.originals.second_hop(key, probs, best, self.second_hop)
            best = sorted(best + [c for c in extra if c not in (ruled_out or {})], key=lambda c: -probs[c])
        return [Candidate(match_case(c, word), round(min(probs[c], 1.0), 4)) for c in best]

    def original_probs(self, key: str, head: "HeadGuess | None", k: int = CANDIDATES,
                       beta: float | None = None) -> dict[str, float]:
        """P(original | spun word, context) of each original the thesaurus or the head (its k best) offers,
        by the product of the inverse thesaurus prior and the originals head (context),
        normalised over every original either knows: a candidate only the head proposes keeps
        the head's own, modest probability instead of looking certain for being alone in the top
        k. Without the head, the prior alone. `beta`: the prior's weight (default `_beta`)."""
        prior, base_of, forms_of = self.originals.prior(key)
        if not prior and not self.originals.stem_has_originals(key):
            return {}  # no way back through the thesaurus: the head's guess would be a guess
        if head is None:
            total = sum(p for c, p in prior.items() if c != key) or 1.0
            return {c: p / total for c, p in prior.items() if c != key}
        beta = self._beta if beta is None else beta
        vocab = self.bundle.orig_index
        top = [self.bundle.originals[i] for i in head.top[:k]]
        # in a fixed order (ties keep it); the head's "use" is "using" for "utilizing"
        cands = list(dict.fromkeys(list(prior) + [f for c in top for f in forms_of.get(c, [c])
                                                  if f in prior or self.originals.reaches(f, key)]))
        looked_up = [c for c in dict.fromkeys(cands + list(forms_of)) if c in vocab]
        lp = dict(zip(looked_up, head.logprobs([vocab[c] for c in looked_up])))  # one gather, not one per word
        # an inflected original also takes its base form's guess
        guess = {c: max(lp.get(c, -12.0), lp.get(base_of.get(c, c), -12.0)) for c in cands}
        scores = {c: guess[c] + beta * math.log(prior.get(c, 0.0) + 1e-4) for c in cands
                  if c not in (key, "<unk>") and not (key in NUMERALS and is_number(c))}
        # log Z over the whole originals space: the head sums to 1, each at the floor but the prior's
        floor = beta * math.log(1e-4)
        z = math.log(math.exp(floor) + sum(math.exp(guess[c]) * ((p + 1e-4) ** beta - math.exp(floor))
                                           for c, p in prior.items()))
        return {c: math.exp(s - z) for c, s in scores.items()}

    def _figure_of_magnitude(self, text: str, run: list[WordScore]) -> bool:
        """"2 million", or a spinner's "2 cardinal": how a text written in full writes a figure."""
        return run[0].token.text in DIGITS and self._magnitude.match(text, run[-1].token.end) is not None

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
                evidence, attached, share, inflects = self.weigh(part, words, signals, in_full)
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
                                              first_gain=1.0 if share is None else self.habit().first_gain(share),
                                              inflecting=inflecting(inflects))
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
