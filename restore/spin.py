"""Synthetic article spinner: clean text in, spun text out, with an exact alignment.

It imitates what we observed of real spinners (see README): whole-word swaps for
thesaurus terms, decided per word *type* within a document, mostly the first
single-word term of the first sense, capitalised words and numbers spared. Other
policies cover smarter or sloppier spinners. Every swap is recorded as an `Edit`
so that `unspin(spun, edits)` gives the clean text back exactly.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from lemminflect import getAllInflections, getAllLemmas, getInflection

from restore.errors import RestoreError
from restore.lexicon import Lexicon
from restore.text import Token, bare, glued, match_case, replace_spans, tokenize

NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_INITIAL_RE = re.compile(r"(?:^|[.!?:\n])[\s\"“‘'(\[]*$")
_UPOS = {"noun": "NOUN", "verb": "VERB", "adj": "ADJ", "adv": "ADV"}


@dataclass(frozen=True, slots=True)
class Edit:
    """One swap: clean[clean_start:clean_end] became spun[spun_start:spun_end]."""

    clean_start: int
    clean_end: int
    spun_start: int
    spun_end: int
    clean: str
    spun: str


@dataclass(frozen=True)
class Policy:
    """How one spinner behaves; `Policy.sample` draws one per document."""

    rate: float = 0.55  # share of eligible word types (or tokens) swapped
    choice: str = "seed"  # first | first_sense | any_sense | seed (73% first, else any sense)
    relations: str = "smgr"  # allowed relation codes (synonym, similar, generic, related)
    per_type: bool = True  # one decision and one substitute per word type per document
    multiword: bool = False  # swap multiword headwords as a unit ("last month")
    multiword_terms: bool = False  # allow substitutes with spaces
    capitals: bool = False  # also swap capitalised sentence-initial words, keeping the capital
    numbers: bool = True  # number words -> digits ("one" -> "1")
    inflect: bool = False  # lemmatise, spin, re-inflect ("meetings" -> "gatherings")
    wordnet: float = 0.15  # chance a swap draws from WordNet extras instead of MyThes
    lowercase_terms: bool = True  # skip capitalised terms ("In", "Indiana")
    hops: float = 0.0  # chance a substitute is swapped again for its own (state -> government -> authorities)
    bare_only: bool = False  # swap only words with nothing attached ("month", never "month," or "“aggression”")

    @classmethod
    def sample(cls, rng: random.Random) -> "Policy":
        """A random policy from the mix used to make training data."""
        return cls(
            rate=rng.uniform(0.2, 0.8),
            choice=rng.choices(["seed", "first", "first_sense", "any_sense"], [0.4, 0.25, 0.2, 0.15])[0],
            relations=rng.choice(["smgr", "smgr", "smg", "sm", "s"]),
            per_type=rng.random() < 0.75,
            multiword=rng.random() < 0.3,
            multiword_terms=rng.random() < 0.2,
            capitals=rng.random() < 0.3,
            numbers=rng.random() < 0.7,
            inflect=rng.random() < 0.3,
            wordnet=rng.choice([0.0, 0.15, 0.3]),
        )


PRESETS: dict[str, Policy | None] = {
    "mix": None,  # sampled per document
    "seedlike": Policy(),
    "token": Policy(per_type=False, rate=0.35),
    "smart": Policy(choice="any_sense", inflect=True, capitals=True, multiword=True, rate=0.4),
    # seedlike, but a fifth of the swaps chain through the substitute's own entry, as several
    # of the seed article's do (new -> fresh -> caller, exchange -> conversation -> speech):
    # a thesaurus that differs from ours, held out of the training mix
    "chained": Policy(hops=0.2),
    # seedlike, but a word with punctuation attached is never swapped, as in the seed article
    # (its spinner left all 29 such lowercase words alone, "month," and "between”" among them):
    # a spinner that splits on whitespace; held out of the training mix
    "bare": Policy(bare_only=True),
}
MAX_HOPS = 3


def presets(spec: str) -> list[Policy | None]:
    """The presets named in `spec`, comma-separated: "bare", or "mix,mix,bare" for a spinner that
    draws one per document (a name repeated weighs it; "mix" is the training mix, None here,
    itself sampled per document). How training and pair sets take up a new spin pattern."""
    names = [name.strip() for name in spec.split(",")]
    unknown = next((name for name in names if name not in PRESETS), None)
    if unknown is not None:
        raise RestoreError(f"unknown policy {unknown!r} in {spec!r}; one of {', '.join(PRESETS)}, comma-separated")
    return [PRESETS[name] for name in names]


@dataclass
class SpinResult:
    clean: str
    spun: str
    edits: list[Edit] = field(default_factory=list)
    policy: Policy | None = None


def unspin(spun: str, edits: list[Edit]) -> str:
    """Apply the alignment backwards: the clean text, exactly."""
    return replace_spans(spun, ((e.spun_start, e.spun_end, e.clean) for e in edits))


@lru_cache(maxsize=200_000)
def _lemma_and_tags(word: str) -> tuple[tuple[str, str, str], ...]:
    """(lemma, upos, penn tag) readings of an inflected word ("meetings" -> meeting NOUN NNS)."""
    out = []
    for upos, lemmas in getAllLemmas(word).items():
        for lemma in lemmas:
            if lemma == word:
                continue
            for tag, forms in getAllInflections(lemma, upos).items():
                if word in forms:
                    out.append((lemma, upos, tag))
    return tuple(out)


class Spinner:
    """Spins documents with a lexicon; deterministic for a seed.

    `policy`: one policy, None (one sampled from the training mix per document), or a list of
    them (`presets`) of which each document draws one."""

    def __init__(self, lexicon: Lexicon, policy: Policy | None | Sequence[Policy | None] = None):
        self.lex = lexicon
        self.policies = list(policy) if isinstance(policy, (list, tuple)) else [policy]

    def spin(self, text: str, seed: int = 0) -> SpinResult:
        rng = random.Random(seed)
        # the draw has its own generator, so a spinner of one policy spins as it always has
        policy = self.policies[0] if len(self.policies) == 1 else random.Random(~seed).choice(self.policies)
        policy = policy or Policy.sample(rng)
        tokens = tokenize(text)
        chosen: dict[str, str | None] = {}  # per-type decisions
        out: list[str] = []
        edits: list[Edit] = []
        pos = spun_len = 0
        i = 0
        while i < len(tokens):
            span, sub = self._swap_at(text, tokens, i, policy, rng, chosen)
            if sub is None:
                i += 1
                continue
            start, end = tokens[i].start, tokens[i + span - 1].end
            gap = text[pos:start]
            out.append(gap)
            spun_len += len(gap)
            out.append(sub)
            edits.append(Edit(start, end, spun_len, spun_len + len(sub), text[start:end], sub))
            spun_len += len(sub)
            pos = end
            i += span
        out.append(text[pos:])
        return SpinResult(text, "".join(out), edits, policy)

    # -- one position ------------------------------------------------------
    def _swap_at(self, text: str, tokens: list[Token], i: int, policy: Policy,
                 rng: random.Random, chosen: dict[str, str | None]) -> tuple[int, str | None]:
        """(number of tokens consumed, substitute or None) at token i."""
        if policy.multiword:
            for n in range(min(self.lex.max_phrase_words, len(tokens) - i), 1, -1):
                toks = tokens[i : i + n]
                phrase = text[toks[0].start : toks[-1].end]
                if (phrase.islower() and phrase in self.lex.entries
                        and all(a.end + 1 == b.start for a, b in zip(toks, toks[1:]))
                        and (not policy.bare_only or bare(text, Token(phrase, toks[0].start, toks[-1].end)))):
                    sub = self._decide(phrase, phrase, policy, rng, chosen)
                    if sub is not None:
                        return n, sub
        tok = tokens[i]
        word = tok.text
        if not tok.is_word or glued(text, tok) or (policy.bare_only and not bare(text, tok)):
            return 1, None
        key = word.lower()
        if not word.islower():
            initial = _INITIAL_RE.search(text, 0, tok.start) is not None
            if not (policy.capitals and initial and word[:1].isupper() and word[1:].islower()):
                return 1, None
        if policy.numbers and key in NUMBER_WORDS:
            return 1, self._decide_number(key, word, policy, rng, chosen)
        sub = self._decide(key, word, policy, rng, chosen)
        return 1, sub

    def _decide_number(self, key: str, word: str, policy: Policy, rng: random.Random,
                       chosen: dict[str, str | None]) -> str | None:
        if policy.per_type and key in chosen:
            return chosen[key]
        sub = NUMBER_WORDS[key] if rng.random() < policy.rate else None
        if policy.per_type:
            chosen[key] = sub
        return sub

    def _decide(self, key: str, word: str, policy: Policy, rng: random.Random,
                chosen: dict[str, str | None]) -> str | None:
        if policy.per_type and key in chosen:
            sub = chosen[key]
        else:
            sub = None
            if rng.random() < policy.rate:
                sub = self._pick(key, policy, rng)
            if policy.per_type:
                chosen[key] = sub
        return match_case(sub, word) if sub else None

    def _pick(self, key: str, policy: Policy, rng: random.Random) -> str | None:
        if key in self.lex.entries:
            sub = self._term(key, policy, rng)
            for _ in range(MAX_HOPS - 1):
                if not (sub in self.lex.entries and policy.hops and rng.random() < policy.hops):
                    break
                again = self._term(sub, policy, rng)
                if again is None or again == key:
                    break
                sub = again
            return sub
        if policy.inflect:
            for lemma, upos, tag in _lemma_and_tags(key):
                if lemma not in self.lex.entries:
                    continue
                base = self._term(lemma, policy, rng, pos=upos)
                if base and " " not in base:
                    forms = getInflection(base, tag)
                    if forms and forms[0] != key:
                        return forms[0]
        return None

    def _term(self, head: str, policy: Policy, rng: random.Random, pos: str | None = None) -> str | None:
        """A substitute for a headword under the policy."""
        extras = self.lex.wordnet.get(head)
        if extras and rng.random() < policy.wordnet:
            ok = [t for t in extras if policy.multiword_terms or " " not in t]
            if ok:
                return ok[0] if policy.choice in ("first", "seed") else rng.choice(ok)
        senses = [
            [t for t, rel in terms if rel in policy.relations
             and (policy.multiword_terms or " " not in t)
             and (not policy.lowercase_terms or t.islower())]
            for p, terms in self.lex.senses(head)
            if pos is None or _UPOS.get(p) == pos
        ]
        senses = [s for s in senses if s]
        if not senses:
            return None
        choice = policy.choice
        if choice == "seed":
            choice = "first" if rng.random() < 0.73 else "any_sense"
        if choice == "first":
            return senses[0][0]
        if choice == "first_sense":
            return rng.choice(senses[0])
        sense = rng.choices(senses, [1 / (k + 1) for k in range(len(senses))])[0]
        return rng.choice(sense)


def with_rate(policy: Policy, rate: float) -> Policy:
    return replace(policy, rate=rate)
