"""`restore.originals`: a spun word's originals by the thesaurus alone, on the tests' thesaurus."""

from __future__ import annotations

import pytest

from restore.originals import SECOND_HOP_EXTRA, Originals, forms_for, is_number


@pytest.fixture()
def originals(lexicon) -> Originals:
    return Originals(lexicon)


def test_an_indexed_word_reads_back_to_its_originals(originals):
    """The inverse index's own entry, with no forms to map: "betwixt" is only ever "between"."""
    assert originals.prior("betwixt") == ({"between": 1.0}, {}, {})
    assert originals.prior("told") == ({}, {}, {})  # no way back
    assert not originals.inflected_only("betwixt")


def test_an_inflected_word_the_index_lacks_reads_back_through_its_lemma(originals):
    """"gatherings" is no entry: its lemma's original, inflected the same way ("meetings"), with the
    form's base so that the originals head's guess of "meeting" counts for it."""
    prior, base_of, forms_of = originals.prior("gatherings")
    assert prior == {"meetings": 1.0} and base_of == {"meetings": "meeting"} and forms_of == {"meeting": ["meetings"]}
    assert originals.inflected_only("gatherings") and originals.prior("metropolises")[0] == {"cities": 1.0}


def test_a_digit_reads_back_only_as_its_number_word(originals):
    """A lone "1" may be a spun "one", and nothing else; a number word is never offered for another."""
    assert originals.prior("1")[0] == {"one": 1.0}
    assert is_number("one") and is_number("10,000") and is_number("2.5") and not is_number("once")


def test_the_thesaurus_reaches_a_word_from_its_originals_or_not(originals):
    """`reaches`: a path from the original (or a lemma of it) to the word (or a lemma of it)."""
    assert originals.reaches("between", "betwixt") and originals.reaches("meetings", "gatherings")
    assert not originals.reaches("city", "betwixt")
    assert originals.stem_has_originals("gatheringed") and not originals.stem_has_originals("solana")


def test_first_substitutes_are_told_from_the_others(originals):
    """`Lexicon.first`("state") is "government": a first-substitute spinner writes it, not "province"."""
    assert originals.first_of("government") == (True, 1.0) and originals.first_of("province") == (False, 0.0)
    assert originals.writes_first("state", "government") and not originals.writes_first("state", "province")
    assert originals.first_of("told") == (None, 0.0)


def test_the_second_hop_mixes_in_the_originals_of_a_spans_candidates(originals):
    """With chance h a chaining spinner went one step further: each candidate lends h of its
    probability to its own originals ("government" and "province" both lead back to "state"),
    which join the span's own; a number lends nothing."""
    probs = {"government": 0.6, "province": 0.4, "10": 0.0}
    mixed, extra = originals.second_hop("authorities", probs, list(probs), h=0.5)
    assert extra == ["state"] and len(extra) <= SECOND_HOP_EXTRA
    assert mixed == pytest.approx({"government": 0.3, "province": 0.2, "10": 0.0, "state": 0.5})
    assert originals.second_hop("state", probs, list(probs), h=0.5)[1] == []  # the word itself is no original


def test_an_originals_forms_for_a_tag_leave_out_the_uncountable_plural():
    """forms_for: the forms of an original that a spun word with the tag may stand for; lemminflect
    also offers a noun's plural as the singular itself ("meeting"), which is left out; a phrase
    has none."""
    assert forms_for("meeting", "NNS") == ["meetings"]
    assert forms_for("be", "VBD") == ["was", "were"]
    assert forms_for("take part", "VBD") == []
