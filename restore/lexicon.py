"""The thesaurus lexicon: what a spinner may write for a word, and back.

Forward table: headword -> senses -> ordered (term, relation) pairs, parsed from
the MyThes `th_en_US_v2` thesaurus (WordNet-derived), plus extra substitutes from
WordNet itself, because real spinners use thesauri that differ from MyThes.
Inverse index: surface form -> the originals a spinner could have replaced with
it, each with a prior P(original | surface).

The shipped lexicon is built by `scripts/build_lexicon.py` into
`models/lexicon.json.gz`; nothing here needs apt or the network.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, TextIO

from restore.errors import RestoreError
from restore.paths import LEXICON_PATH

DEFAULT_PATH = LEXICON_PATH

# Relation codes: synonym, similar term, generic term (hypernym), related term.
RELATIONS = {"synonym": "s", "similar term": "m", "generic term": "g", "related term": "r"}
_REL_RE = re.compile(r"^(.*?) \((similar term|generic term|related term|antonym)\)$")
_TERM_RE = re.compile(r"^[A-Za-z][A-Za-z' -]*[A-Za-z]$|^[A-Za-z]$")

Sense = tuple[str, list[tuple[str, str]]]  # (part of speech, [(term, relation)])


def parse_mythes(lines: Iterable[str]) -> dict[str, list[Sense]]:
    """Parse MyThes .dat text: `word|nsenses` then nsenses lines `(pos)|term|term (rel)|...`.

    Antonyms are dropped; terms with digits or odd characters are skipped.
    """
    entries: dict[str, list[Sense]] = {}
    it = iter(lines)
    first = next(it, "").strip()
    if "|" in first:  # no encoding line
        it = _chain([first], it)
    for line in it:
        line = line.rstrip("\n")
        if not line or line.startswith("("):
            continue
        head, _, count = line.partition("|")
        senses: list[Sense] = []
        for _ in range(int(count or 0)):
            fields = next(it, "").rstrip("\n").split("|")
            pos = fields[0].strip("()")
            terms: list[tuple[str, str]] = []
            for raw in fields[1:]:
                m = _REL_RE.match(raw)
                term, rel = (m.group(1), m.group(2)) if m else (raw, "synonym")
                if rel == "antonym" or not _TERM_RE.match(term) or term == head:
                    continue
                terms.append((term, RELATIONS[rel]))
            senses.append((pos, terms))
        entries[head] = senses
    return entries


def parse_aiksaurus(words_dat: bytes, meanings_dat: bytes) -> dict[str, list[Sense]]:
    """Parse Aiksaurus's two files (Debian `libaiksaurus-1.2-data`, Moby-derived): a thesaurus
    unlike ours, for spinning text the shipped models have never seen (`bench_foreign.py`).
    words.dat holds each word (":" for a space, NUL-ended) and its meanings' ids, meanings.dat
    each meaning's word ids (its two title words first, the rest alphabetical), all big-endian
    16-bit, every list ended by 0xFFFF. Each lowercase word's meanings become its senses, in its
    own order, every other word of a meaning a synonym ("s"); terms as `parse_mythes` keeps them."""
    words: list[str] = []
    meanings_of: list[list[int]] = []
    i = 0
    while i < len(words_dat):
        j = words_dat.index(b"\0", i)
        words.append(words_dat[i:j].decode("latin-1").replace(":", " "))
        ids, i = [], j + 1
        while (x := struct.unpack_from(">H", words_dat, i)[0]) != 0xFFFF:
            ids.append(x)
            i += 2
        meanings_of.append(ids)
        i += 2
    meanings: list[list[int]] = [[]]
    for (x,) in struct.iter_unpack(">H", meanings_dat):
        if x == 0xFFFF:
            meanings.append([])
        else:
            meanings[-1].append(x)
    entries: dict[str, list[Sense]] = {}
    for head, ids in zip(words, meanings_of):
        if not head.islower():
            continue
        senses = [("", [(t, "s") for t in dict.fromkeys(words[k] for k in meanings[m])
                        if t != head and _TERM_RE.match(t)]) for m in ids]
        if senses := [s for s in senses if s[1]]:
            entries[head] = senses
    return entries


def _chain(first: list[str], rest: Iterable[str]) -> Iterable[str]:
    yield from first
    yield from rest


@dataclass
class Lexicon:
    """Forward thesaurus table, WordNet extras, corpus frequencies and inverse index."""

    entries: dict[str, list[Sense]]
    wordnet: dict[str, list[str]] = field(default_factory=dict)
    freq: dict[str, int] = field(default_factory=dict)
    inverse: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    max_phrase_words: int = 3
    _first: dict[str | tuple[str, str], str | None] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.inverse:
            self.inverse = build_inverse(self)
        self.max_phrase_words = max((h.count(" ") + 1 for h in self.entries), default=1)

    # -- forward -----------------------------------------------------------
    def senses(self, headword: str) -> list[Sense]:
        return self.entries.get(headword, [])

    def substitutes(self, headword: str) -> dict[str, float]:
        """Approximate P(term | headword) of a mix of spinner policies.

        Half the mass on the first single-word term of the first sense (what the
        observed spinner does most), the rest spread over the first sense, all
        senses (weighted to early ones) and WordNet extras.
        """
        senses = self.entries.get(headword, [])
        weights: dict[str, float] = defaultdict(float)
        firsts = self._firsts(headword)
        if firsts:
            weights[firsts[0]] += 0.5
            for t in firsts:
                weights[t] += 0.2 / len(firsts)
        every = [(i, t) for i, (_, terms) in enumerate(senses) for t, _ in terms if t.islower()]
        norm = sum(1 / (i + 1) for i, _ in every)
        for i, t in every:
            weights[t] += 0.2 / (i + 1) / norm
        extras = self.wordnet.get(headword, [])
        for t in extras:
            weights[t] += 0.1 / len(extras)
        total = sum(weights.values())
        return {t: w / total for t, w in weights.items()} if total else {}

    def _firsts(self, headword: str, pos: str | None = None) -> list[str]:
        """The single-word lowercase terms of the headword's first sense that has any (of `pos`'s senses)."""
        single = ([t for t, _ in terms if " " not in t and t.islower()] for p, terms in self.entries.get(headword, [])
                  if pos is None or p == pos)
        return next((s for s in single if s), [])

    def first(self, headword: str, pos: str | None = None) -> str | None:
        """The substitute a first-term spinner writes for `headword` ("in" -> "successful"), or None.
        With `pos` ("noun", "verb", "adj", "adv"), the first of that part of speech's senses: what
        a spinner that lemmatises and inflects again writes for a form of it ("meetings" ->
        meeting's first noun substitute, "gathering" -> "gatherings")."""
        key = headword if pos is None else (headword, pos)
        if key not in self._first:
            self._first[key] = next(iter(self._firsts(headword, pos)), None)
        return self._first[key]

    # -- inverse -----------------------------------------------------------
    def originals(self, surface: str) -> list[tuple[str, float]]:
        """Originals a spinner may have replaced with `surface` (lowercase), best first."""
        return self.inverse.get(surface, [])

    def count(self, word: str) -> int:
        return self.freq.get(word, 0)

    # -- storage -----------------------------------------------------------
    def save(self, path: Path, notice: str = "") -> None:
        """Write the lexicon as gzipped JSON, carrying the licence notice of its sources."""
        data = {
            "format": "restore-lexicon/1",
            "notice": notice,
            "entries": self.entries,
            "wordnet": self.wordnet,
            "freq": self.freq,
            "inverse": {k: [[o, round(p, 5)] for o, p in v] for k, v in self.inverse.items()},
        }
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))

    @classmethod
    def read(cls, f: TextIO) -> "Lexicon":
        data = json.load(f)
        if data.get("format") != "restore-lexicon/1":
            raise RestoreError("not a restore lexicon file")
        entries = {h: [(p, [tuple(t) for t in terms]) for p, terms in s] for h, s in data["entries"].items()}
        inverse = {k: [tuple(x) for x in v] for k, v in data["inverse"].items()}
        return cls(entries, data["wordnet"], data["freq"], inverse)  # type: ignore[arg-type]


def build_inverse(lex: Lexicon, keep: int = 20) -> dict[str, list[tuple[str, float]]]:
    """P(original | surface) ∝ count(original) · P(surface | original) over all headwords."""
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for head in lex.entries:
        prior = lex.freq.get(head, 0) + 0.5
        for term, p in lex.substitutes(head).items():
            scores[term.lower()][head] = scores[term.lower()].get(head, 0.0) + prior * p
    inverse = {}
    for surface, cands in scores.items():
        total = sum(cands.values())
        best = sorted(cands.items(), key=lambda kv: -kv[1])[:keep]
        inverse[surface] = [(h, s / total) for h, s in best]
    return inverse


@lru_cache(maxsize=4)
def load_lexicon(path: Path | str = DEFAULT_PATH) -> Lexicon:
    """Load a built lexicon (cached: the pipeline and detector share one)."""
    path = Path(path)
    if not path.is_file():
        raise RestoreError(f"lexicon not found: {path} (build it with scripts/build_lexicon.py)")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return Lexicon.read(f)
    except (OSError, ValueError, KeyError) as e:
        raise RestoreError(f"lexicon {path} is unreadable: {e}") from None
