"""A spun word's originals by the thesaurus alone: the inverse index, read through word forms.

The inverse index lists what a spinner may have replaced with each word it writes. A spinner
that inflects writes forms the index lacks ("gatherings": meeting's first noun substitute,
inflected), read back through lemminflect (`restore.forms`); a chaining spinner went a step
further than the index reaches (`second_hop`). What the thesaurus says of a word never changes,
so every answer is cached for the process. The detector weighs these originals with the
tagger's originals head; the habit reader (`restore.habit`) asks which are first substitutes.
"""

from __future__ import annotations

from restore.forms import inflected_readings, inflections, lemmas, regular_stems
from restore.lexicon import Lexicon
from restore.spin import NUMBER_WORDS

DIGITS = {v: k for k, v in NUMBER_WORDS.items()}
# A number word is never restored as another number ("several million" is not "several
# billion"): the surest way to damage a text is to change its figures.
NUMERALS = set(NUMBER_WORDS) | set(
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
    "seventy eighty ninety hundred thousand million billion trillion dozen".split())
# A spinner whose thesaurus differs from ours may have gone a step further than our inverse index
# reaches (new -> fresh -> caller): with `Detector.second_hop` h, a span's originals are
# (1 - h) P(x) + h sum_x P(x) P(y | x), x its own candidates, P(y | x) the inverse prior of x;
# through its first SECOND_HOP_VIA candidates and their SECOND_HOP_EACH likeliest originals,
# single words and no numbers, of which the SECOND_HOP_EXTRA likeliest join the span's own.
# 10, 20, 10 since session 37 (5, 10, 3 before; `scripts/probe_second_hop.py`): text spun by
# the held-out chained policy gains, the training mix's ties, and the seed's "speech" (via
# "conversation", its eighth candidate in context) comes back "exchange".
SECOND_HOP_VIA, SECOND_HOP_EACH, SECOND_HOP_EXTRA = 10, 20, 10
MYTHES_POS = {"N": "noun", "V": "verb", "J": "adj", "R": "adv"}  # a Penn tag's first letter -> MyThes'


def is_number(word: str) -> bool:
    return word in NUMERALS or word.replace(",", "").replace(".", "").isdigit()


def forms_for(original: str, tag: str) -> list[str]:
    """The forms of a single-word original that a spun word with `tag` may stand for: every form
    but a noun's uncountable plural ("meeting" as well as "meetings"); none for a phrase."""
    forms = inflections(original, tag) if " " not in original else ()
    return [f for k, f in enumerate(forms) if k == 0 or f != original]


class Originals:
    """The thesaurus read backwards, for the detector: a spun word's originals and the paths
    between words, cached per word."""

    def __init__(self, lex: Lexicon):
        self.lex = lex
        self._priors: dict[str, tuple[dict[str, float], dict[str, str], dict[str, list[str]]]] = {}
        self._reach: dict[tuple[str, str], bool] = {}  # (original, spun word): a thesaurus path between them
        self._subs: dict[str, frozenset[str]] = {}
        self._firsts: dict[tuple[str, bool], tuple[bool | None, float]] = {}  # `first_of`
        self._inflected: dict[str, frozenset[str]] = {}  # `inflected_firsts`

    def prior(self, key: str) -> tuple[dict[str, float], dict[str, str], dict[str, list[str]]]:
        """A spun word's originals by the thesaurus alone (cached, not to be changed): the
        inverse-index prior, and for an inflected word that the index lacks, each form's base
        ("were" -> "be") and each base's forms."""
        if key not in self._priors:
            prior = dict(self.lex.originals(key))
            base_of: dict[str, str] = {}
            if not prior:
                prior, base_of = self._inflected_originals(key)
            if key in DIGITS:
                prior = {DIGITS[key]: 1.0}
            if key in NUMERALS:
                prior = {o: p for o, p in prior.items() if not is_number(o)}
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
                for form in forms_for(orig, tag):
                    out[form] = max(out.get(form, 0.0), p)
                    base_of.setdefault(form, orig)
        return dict(sorted(out.items(), key=lambda kv: -kv[1])), base_of  # likeliest first, as `originals`

    def reaches(self, original: str, key: str) -> bool:
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

    def stem_has_originals(self, key: str) -> bool:
        """Whether a word the thesaurus and lemminflect cannot read back is a regular form of one
        the thesaurus can: the spinner inflects by rule what lemminflect does not know ("defrayal"
        -> "defrayals", "demo" -> "demoed", "peachy" -> "peachier"), and the head learnt those.
        Without one ("cryptocurrency", "solana") the word is none of our spinner's, and the head's
        best original for it ("airline", "so") no better than a guess."""
        return any(self.lex.originals(stem) for stem in regular_stems(key))

    def first_of(self, key: str, inflecting: bool = False) -> tuple[bool | None, float]:
        """Of a spun word's originals by the thesaurus alone (`prior`, the word itself left out):
        is it the first substitute of the likeliest (`writes_first`), and the share of their
        probability whose first substitute it is (cached; None, 0: the thesaurus offers no way
        back to it)."""
        if (key, inflecting) not in self._firsts:
            originals = {c: p for c, p in self.prior(key)[0].items() if c != key}
            total = sum(originals.values())
            writes = [c for c in originals if self.writes_first(c, key, inflecting)]
            self._firsts[key, inflecting] = ((next(iter(originals)) in writes,
                                              sum(originals[c] for c in writes) / total) if total else (None, 0.0))
        return self._firsts[key, inflecting]

    def writes_first(self, original: str, key: str, inflecting: bool = False) -> bool:
        """Is the word `key` what a first-substitute spinner writes for `original`: its first
        substitute (`Lexicon.first`), or, for a spinner that is `inflecting` and an inflected form
        the inverse index lacks, what it writes (`inflected_firsts`)?"""
        return self.lex.first(original) == key or inflecting and original in self.inflected_firsts(key)

    def inflected_only(self, key: str) -> bool:
        """Is `key` an inflected form the inverse index lacks, whose originals are inflected forms
        of its lemma's ("gatherings": "meetings"): a word only an inflecting spinner writes?"""
        return bool(self.prior(key)[1])

    def inflected_firsts(self, key: str) -> frozenset[str]:
        """For an inflected form the inverse index lacks (`inflected_only`), the originals a
        spinner that lemmatises, takes the first substitute of that part of speech
        (`Lexicon.first`) and inflects again would have made it of: "gatherings" of "meetings"
        (meeting's first noun substitute is "gathering"). Empty for any other word (cached)."""
        if key not in self._inflected:
            self._inflected[key] = frozenset(
                form for lemma, tag in (inflected_readings(key) if self.inflected_only(key) else ())
                for orig, _ in self.lex.originals(lemma)
                if self.lex.first(orig, MYTHES_POS[tag[0]]) == lemma for form in forms_for(orig, tag))
        return self._inflected[key]

    def second_hop(self, key: str, probs: dict[str, float], best: list[str], h: float) -> tuple[dict[str, float], list[str]]:
        """The mixture of SECOND_HOP_VIA, at the chance `h` that the spinner chained, over a span's
        originals `probs` (its k `best`), and the SECOND_HOP_EXTRA likeliest originals it adds."""
        mixed = {c: (1 - h) * p for c, p in probs.items()}
        for x in best[:SECOND_HOP_VIA]:
            if is_number(x):
                continue
            for y, q in self.lex.originals(x)[:SECOND_HOP_EACH]:
                if y != key and " " not in y and not is_number(y):
                    mixed[y] = mixed.get(y, 0.0) + h * probs[x] * q
        own = set(probs)
        extra = sorted((y for y in mixed if y not in own), key=lambda y: -mixed[y])[:SECOND_HOP_EXTRA]
        return mixed, extra
