"""The detector's document rate prior and eligibility rules (no trained model needed)."""

from __future__ import annotations

import pytest

from restore.detect import RatePrior
from restore.spin import Policy, Spinner
from restore.text import glued, tokenize

PRIOR = RatePrior(base=0.25, a=0.5, b=4.5)


def test_a_clean_looking_document_gets_a_low_rate_and_loses_its_mid_scores():
    probs = [0.02] * 300 + [0.6, 0.7]
    assert PRIOR.rate(probs) < 0.05
    after = PRIOR.apply(probs)
    assert after[-2] < 0.5 and after[-1] < 0.5
    assert all(b <= a for a, b in zip(probs, after))


def test_a_heavily_spun_document_keeps_or_gains():
    probs = [0.95] * 40 + [0.05] * 60 + [0.45]
    after = PRIOR.apply(probs)
    assert after[-1] > 0.45
    assert after[0] >= 0.95


def test_empty_document():
    assert PRIOR.apply([]) == []


@pytest.mark.parametrize("text, word", [("the 11th meeting", "th"), ("a 5km race", "km")])
def test_glued_tokens_are_not_words_a_spinner_swaps(text, word, lexicon):
    tok = next(t for t in tokenize(text) if t.text == word)
    assert glued(text, tok)
    assert not glued(text, tokenize(text)[0])
    spinner = Spinner(lexicon, Policy(rate=1.0, choice="first"))
    assert spinner.spin(text.replace("meeting", "city"), seed=0).spun.split()[1] == text.split()[1]
