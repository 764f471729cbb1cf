"""`restore.habit`: a spinner's habits read from a document's surely spun words, on the tests' thesaurus."""

from __future__ import annotations

import pytest

from restore.detect import WordScore
from restore.habit import Habit
from restore.originals import Originals
from restore.text import Token


def _habit_reader(lexicon, habit: float) -> Habit:
    """A document's habit reader on the tests' thesaurus, against this `first_habit`."""
    return Habit(Originals(lexicon), habit)


def _sure(words: list[str], p: float) -> list[WordScore]:
    return [WordScore(Token(w, 0, len(w)), {}, {"combined": p}, None) for w in words]


def test_a_documents_habit_is_read_from_its_surely_spun_words(lexicon):
    """`Habit.read`: the share of a document's surely spun words (FIRST_SURE) that are the
    first substitute of their likeliest original, smoothed towards `first_habit`: a few words
    move it little; `first_gain`, its odds over the habit's, stays within FIRST_GAINS."""
    from restore.habit import FIRST_GAINS, FIRST_PSEUDO, FIRST_SURE

    det = _habit_reader(lexicon, 0.6)
    # "successful" is the first substitute of "in"; "authorities" is not of "state" ("government" is)
    share = det.read(_sure(["successful"] * 8 + ["authorities"] * 2, 0.95), "combined")
    assert share == pytest.approx((8 + FIRST_PSEUDO * 0.6) / (10 + FIRST_PSEUDO))
    assert det.first_gain(share) == pytest.approx(share / (1 - share) / (0.6 / 0.4))
    assert det.read(_sure(["successful"] * 10, FIRST_SURE - 0.01), "combined") == 0.6  # none sure
    assert det.read(_sure(["minister"] * 10, 0.99), "combined") == 0.6  # no way back: no say
    assert det.first_gain(det.read(_sure(["successful"] * 200, 0.99), "combined")) == FIRST_GAINS[1]
    assert det.first_gain(det.read(_sure(["authorities"] * 200, 0.99), "combined")) == FIRST_GAINS[0]
    assert 1.0 < det.first_gain(det.read(_sure(["successful"], 0.99), "combined")) < 1.6  # one word
    assert det.read([], "combined") == 0.6 and det.first_gain(0.6) == pytest.approx(1.0)


def test_a_documents_habit_moves_each_words_odds_of_being_spun(lexicon):
    """`Habit.odds`: the likelihood ratio of a word under the document's habit against the
    prior's. Where the spinner takes first substitutes, a word that is one ("successful", in's
    only) becomes likelier spun, one that is none ("authorities") less; at the prior's habit,
    or for a word the thesaurus offers no way back to, nothing moves."""
    det = _habit_reader(lexicon, 0.5)
    share = 0.9
    assert det.odds("successful", share) == pytest.approx(share / 0.5)
    assert det.odds("authorities", share) == pytest.approx((1 - share) / 0.5)
    assert det.odds("successful", 0.2) < 1 < det.odds("authorities", 0.2)  # an any-sense spinner
    assert det.odds("successful", 0.5) == det.odds("authorities", 0.5) == 1.0
    assert det.odds("minister", share) == 1.0


def test_an_inflecting_spinners_first_substitutes_are_read_through_the_part_of_speech(lexicon):
    """"gatherings" is not in the inverse index: only a spinner that lemmatises, takes meeting's
    first noun substitute ("gathering") and inflects it again writes it, for "meetings". In a
    document whose spinner inflects it counts as a first substitute for the habit, in one whose
    spinner does not it is none; "encounters" (meeting's second sense) is none in either."""
    det = _habit_reader(lexicon, 0.5)
    assert det.originals.inflected_only("gatherings") and not det.originals.inflected_only("gathering")
    assert det.originals.inflected_firsts("gatherings") == {"meetings"}
    assert det.originals.writes_first("meetings", "gatherings", inflecting=True)
    assert not det.originals.writes_first("meetings", "gatherings", inflecting=False)
    assert det.originals.first_of("gatherings", True) == (True, 1.0) and det.originals.first_of("gatherings") == (False, 0.0)
    assert det.originals.inflected_firsts("encounters") == frozenset() and det.originals.first_of("encounters", True) == (False, 0.0)
    assert det.originals.inflected_firsts("successful") == frozenset()  # in the index: `Lexicon.first` says
    sure = _sure(["gatherings"] * 10, 0.95)
    assert det.read(sure, "combined", inflecting=True) == pytest.approx((10 + 5 * 0.5) / 15)
    assert det.read(sure, "combined") == pytest.approx(5 * 0.5 / 15)


def test_a_documents_share_of_inflected_forms_moves_their_odds_only(lexicon):
    """`read_inflection`: a document whose surely spun words include inflected forms the inverse
    index lacks was spun by a spinner that inflects (the ratio of its smoothed share to the
    training mix's INFLECT_SHARE, within INFLECT_RATIOS); `odds` moves those forms' odds by
    it, and no other word's, and reads them as first substitutes only where it is at least 1."""
    from restore.habit import FIRST_PSEUDO, INFLECT_RATIOS, INFLECT_SHARE, inflecting

    det = _habit_reader(lexicon, 0.5)
    inflects = det.read_inflection(_sure(["gatherings"] * 3 + ["successful"] * 7, 0.95), "combined")
    assert inflects == pytest.approx((3 + FIRST_PSEUDO * INFLECT_SHARE) / (10 + FIRST_PSEUDO) / INFLECT_SHARE)
    assert det.read_inflection(_sure(["successful"] * 30, 0.95), "combined") == INFLECT_RATIOS[0]  # none
    assert det.read_inflection(_sure(["gatherings"] * 30, 0.95), "combined") == INFLECT_RATIOS[1]
    assert det.read_inflection(_sure(["gatherings"] * 30, 0.5), "combined") == pytest.approx(1.0)  # none sure
    assert inflecting(inflects) and not inflecting(INFLECT_RATIOS[0]) and not inflecting(None)
    assert det.odds("gatherings", 0.5, 2.0) == 2.0 and det.odds("successful", 0.5, 2.0) == 1.0
    assert det.odds("gatherings", 0.9, 2.0) == pytest.approx(2.0 * 0.9 / 0.5)  # inflecting: a first
    assert det.odds("gatherings", 0.9, 0.5) == pytest.approx(0.5 * (1 - 0.9) / 0.5)  # not: none
    assert det.odds("gatherings", 0.9) == pytest.approx((1 - 0.9) / 0.5)  # not read: session 39's habit
    assert det.odds("gatherings", 0.9, 1.0) == pytest.approx(0.9 / 0.5)  # the mix's ratio: inflecting
    assert det.odds("successful", 0.9, 2.0) == det.odds("successful", 0.9, 0.5) == pytest.approx(0.9 / 0.5)
