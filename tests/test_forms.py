"""Word forms (`restore.forms`): lemminflect's readings and inflections, read its own way."""

import pytest
from lemminflect import getInflection

from restore.forms import TAGS, inflected_readings, inflections
from restore.lexicon import load_lexicon


@pytest.mark.parametrize("word, reading", [
    ("existed", ("exist", "VBN")),  # a regular participle, missing from lemminflect's table of forms
    ("existed", ("exist", "VBD")),
    ("gatherings", ("gathering", "NNS")),
    ("bigger", ("big", "JJR")),
])
def test_inflected_readings_include_the_regular_forms(word, reading):
    assert reading in inflected_readings(word)


@pytest.mark.parametrize("lemma, tag, forms", [
    ("be", "VBD", ("was", "were")),  # in the lemma's table row
    ("exist", "VBN", ("existed",)),  # not in it: lemminflect's alternative tag (VBD)
    ("defrayal", "NNS", ("defrayals",)),  # no row at all: its rules
    ("peachy", "JJR", ("peachier",)),
    ("iPhone", "NNS", ("iphones",)),  # read from the table directly, lowered as lemminflect lowers it
    ("Go", "VBD", ("Went",)),  # capitals: lemminflect's own read, which keeps their style
    ("ATM", "NNS", ("ATMS",)),
])
def test_inflections_read_from_the_row_are_lemminflects_own_answer(lemma, tag, forms):
    assert inflections(lemma, tag) == getInflection(lemma, tag) == forms


def test_inflections_equal_lemminflects_answer_across_the_shipped_lexicon():
    """`inflections` retraces `getInflection`'s steps with its reads cached: the same answer for
    a spread of the thesaurus's words (rows, alternative tags, rules) and every tag it is asked."""
    words = sorted(w for w in load_lexicon().entries if " " not in w)[::40]
    tags = sorted({t for ts in TAGS.values() for t in ts})
    assert len(words) > 300
    assert [inflections(w, t) for w in words for t in tags] == [getInflection(w, t) or () for w in words for t in tags]


def test_an_uninflected_word_has_no_inflected_reading():
    assert inflected_readings("exist") == ()
