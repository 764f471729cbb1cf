"""Word forms, by lemminflect: the lemmas an inflected word reads as, and a lemma's inflections.

The detector asks these for thousands of words in the first document it reads (a spun
"gatherings" is read back through "gathering" to "meeting" and on to "meetings"), so every
answer is cached and lemminflect's tables are read without the copies its API makes.
"""

from __future__ import annotations

from functools import lru_cache

from lemminflect import getAllInflections, getAllInflectionsOOV, getAllLemmas
from lemminflect.core.Inflections import Inflections
from lemminflect.core.LexicalUtils import getCapsStyle, pennTagAlts, tagToUPos

VERB_TAGS = ("VBD", "VBG", "VBN", "VBP", "VBZ")
TAGS = {"NOUN": ("NNS",), "VERB": VERB_TAGS, "AUX": VERB_TAGS, "ADJ": ("JJR", "JJS"), "ADV": ("RBR", "RBS")}


@lru_cache(maxsize=200_000)
def inflected_readings(word: str) -> tuple[tuple[str, str], ...]:
    """(lemma, Penn tag) readings of an inflected word, by lemminflect's rules as well as its
    table ("existed" is a participle too, which the table of irregular forms leaves out).
    The spinner's `spin._lemma_and_tags` reads the table only and is left so: widening it
    would change the synthetic pairs, the standard test set among them."""
    return tuple(dict.fromkeys(
        (lemma, tag) for upos, lemmas in getAllLemmas(word).items() for lemma in lemmas if lemma != word
        for tag in TAGS.get(upos, ()) if word in inflections(lemma, tag)))


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> tuple[str, ...]:
    """Every lemma lemminflect reads in a word, by its table or its rules."""
    return tuple(dict.fromkeys(lemma for lemmas in getAllLemmas(word).values() for lemma in lemmas))


@lru_cache(maxsize=200_000)
def regular_stems(word: str) -> tuple[str, ...]:
    """What a word would be the regular form of, by the rules lemminflect inflects unknown words
    with: +s, +es, +d, +ed, +ing, +r, +er, +st, +est, after a dropped e, a doubled consonant or
    y -> i ("defrayals", "demoed", "peachier")."""
    out = []
    for suffix in ("s", "es", "d", "ed", "ing", "r", "er", "st", "est"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and stem:
            undoubled = stem[:-1] if stem[-2:-1] == stem[-1:] else ""
            y = stem[:-1] + "y" if stem.endswith("i") else ""
            out += [x for x in (stem, stem + "e", undoubled, y) if x]
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=200_000)
def inflections(lemma: str, tag: str) -> tuple[str, ...]:
    """lemminflect's forms of a lemma for a Penn tag (not NNP or NNPS), `getInflection`'s answer
    by its own steps: the lemma's table row, its alternative tags ("VBN" for "VBD"), then its
    rules. Both of those it reads once per lemma (`_table_forms`, `_rule_forms`), where
    `getInflection` deep-copies the row and infers the rules' spelling again for every tag."""
    forms = _table_forms(lemma)
    form = forms.get(tag)
    if form is None:
        for alt in pennTagAlts(tag):
            form = forms.get(alt)
            if form:
                break
    if form is None:
        form = _rule_forms(lemma, tagToUPos(tag)).get(tag)
    return form or ()


@lru_cache(maxsize=200_000)
def _table_forms(lemma: str) -> dict[str, tuple[str, ...]]:
    """A lemma's row of lemminflect's table, Penn tag -> forms (cached; not to be changed):
    `getAllInflections(lemma)` without its deep copies of the row and its overrides (0.15 s
    in a profile of the first 10,000 words a detector reads), lowered as it lowers them; a
    lemma with capitals is still asked of it."""
    if getCapsStyle(lemma) != "lower":
        return getAllInflections(lemma)
    tables = Inflections()
    row = {**tables._getInflDict().get(lemma.lower(), {}), **tables._getOverridesDict().get(lemma.lower(), {})}
    return {tag: tuple(f.lower() for f in forms) if isinstance(forms, (list, tuple)) else forms.lower()
            for tag, forms in row.items()}


@lru_cache(maxsize=200_000)
def _rule_forms(lemma: str, upos: str) -> dict[str, tuple[str, ...]]:
    """A lemma's forms by lemminflect's rules for one part of speech, Penn tag -> forms (cached;
    not to be changed)."""
    return getAllInflectionsOOV(lemma, upos)
