"""A spinner's habits, read from one document's surely spun words.

Spinners differ in how they pick a substitute: the seed article's took an original's first
substitute (`Lexicon.first`) for 94% of its surely spun words, a spinner of any sense for about
half; and only some lemmatise, spin and inflect again. What a document's words show of both
moves each of its words' odds of being spun and weighs its spans' candidates (`Detector.weigh`,
`Detector.candidates_many`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from restore.originals import Originals

if TYPE_CHECKING:
    from restore.detect import WordScore

# `Habit.read` reads the first-substitute habit from a document's words scored at least
# FIRST_SURE (smoothed by FIRST_PSEUDO words towards FIRST_HABIT, the share the thesaurus prior is
# taken to assume); `first_gain` weighs the originals whose first substitute a span is by the
# odds of the two, within FIRST_GAINS, and `odds` moves each word's odds of being spun by how
# likely the habit makes it. FIRST_HABIT since session 38 (`scripts/probe_first_habit.py`:
# validation articles of every first-substitute spinner gain, those of an any-sense spinner
# tie), the word odds since session 39
FIRST_SURE, FIRST_PSEUDO, FIRST_GAINS, FIRST_HABIT = 0.9, 5, (0.25, 10.0), 0.5
# Whether a spinner inflects is a habit too. Only one that lemmatises, spins and inflects again
# writes an inflected form the inverse index lacks ("gatherings"); of the training mix's surely
# spun words INFLECT_SHARE are such forms (0.062 on 60 validation articles), of a spinner that
# inflects about 0.09, of one that does not 0.001, of the seed article's none. `read_inflection`
# reads a document's share the way `read` does, and `odds` moves such a word's odds by its
# ratio to INFLECT_SHARE, within INFLECT_RATIOS; in a document at least as given to inflecting
# as the mix (`inflecting`), such a form may be an inflecting spinner's first substitute
# (`Originals.inflected_firsts`). The floor is not lower because a spinner whose surely spun
# words show no inflection may still inflect now and then: the seed article's "utilizing"
# (using) is one, and at 0.25 it was no longer restored (session 40)
INFLECT_SHARE, INFLECT_RATIOS = 0.06, (0.5, 10.0)


def smoothed_share(hits: list[bool], prior: float) -> float:
    """The share of `hits` among a document's surely spun words, smoothed by FIRST_PSEUDO words
    towards `prior`: a few words move a document's habit little."""
    return (sum(hits) + FIRST_PSEUDO * prior) / (len(hits) + FIRST_PSEUDO)


def inflecting(inflects: float | None) -> bool:
    """Is a document's spinner at least as given to inflecting as the training mix's
    (`Habit.read_inflection`'s ratio at least 1)? Then its inflected forms that the inverse
    index lacks may be its first substitutes (`Originals.inflected_firsts`); in a document that
    shows no inflection they are the writer's own words."""
    return inflects is not None and inflects >= 1.0


@dataclass(frozen=True)
class Habit:
    """Reads a document's habits against `first_habit`, the first-substitute share the thesaurus
    prior assumes (`Detector.first_habit`)."""

    originals: Originals
    first_habit: float = FIRST_HABIT

    def first_substitutes(self, words: list[WordScore], judge: str, inflecting: bool = False) -> list[bool]:
        """Of one document's surely spun words (`judge`'s probability at least FIRST_SURE) that the
        thesaurus leads back from, whether each is the first substitute (`Originals.writes_first`,
        as the spinner is `inflecting` or not) of its likeliest original by the thesaurus."""
        return [first for ws in words if ws.probs[judge] >= FIRST_SURE
                for first, _ in [self.originals.first_of(ws.token.text.lower(), inflecting)] if first is not None]

    def read(self, words: list[WordScore], judge: str, inflecting: bool = False) -> float:
        """The share of first substitutes among one document's surely spun words
        (`first_substitutes`), smoothed by FIRST_PSEUDO words towards `first_habit`: its
        spinner's habit. Spinners differ: the seed article's took the first substitute for 94%
        of such words, a spinner of any sense for about half."""
        return smoothed_share(self.first_substitutes(words, judge, inflecting), self.first_habit)

    def read_inflection(self, words: list[WordScore], judge: str) -> float:
        """How much likelier than the training mix's spinners one document's spinner writes inflected
        forms the inverse index lacks (`Originals.inflected_only`): the share of its surely spun
        words (`judge`'s probability at least FIRST_SURE) that are such forms, smoothed by
        FIRST_PSEUDO words towards INFLECT_SHARE, over INFLECT_SHARE, within INFLECT_RATIOS."""
        share = smoothed_share([self.originals.inflected_only(ws.token.text.lower()) for ws in words
                                if ws.probs[judge] >= FIRST_SURE], INFLECT_SHARE)
        return min(max(share / INFLECT_SHARE, INFLECT_RATIOS[0]), INFLECT_RATIOS[1])

    def first_gain(self, share: float) -> float:
        """How much likelier than the thesaurus prior says a document's spinner, whose habit is
        `share` (`read`), takes an original's first substitute: the odds of its share over
        those of `first_habit`, the share the prior assumes; within FIRST_GAINS."""
        odds = share / (1 - share) / (self.first_habit / (1 - self.first_habit))
        return min(max(odds, FIRST_GAINS[0]), FIRST_GAINS[1])

    def odds(self, key: str, share: float, inflects: float | None = None) -> float:
        """How much likelier a spinner whose habits are `share` (`read`) and `inflects`
        (`read_inflection`) writes the word `key` than one of `first_habit`'s and the training
        mix's, the factor its odds of being spun move by: over its originals by the thesaurus,
        those whose first substitute it is (`Originals.writes_first`, the spinner `inflecting` as
        `inflects` says) by `first_gain` times as much as the rest, and the rest by (1 - share) /
        (1 - first_habit); an inflected form the inverse index lacks (`Originals.inflected_only`)
        also by `inflects` (None: not read, as before session 40). In the seed article, whose
        spinner took the first substitute for 94% of its surely spun words, "combat" (nobody's
        first substitute, and the writer's own) becomes less likely spun, "successful" (in's)
        more. A word the thesaurus offers no way back to is left as it is."""
        moved = inflects if inflects is not None and self.originals.inflected_only(key) else 1.0
        if share == self.first_habit:
            return moved
        is_first, firsts = self.originals.first_of(key, inflecting(inflects))
        if is_first is None:
            return moved
        return moved * (1 - share) / (1 - self.first_habit) * (1 - firsts + self.first_gain(share) * firsts)
