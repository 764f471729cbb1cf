import random

from hypothesis import given, settings
from hypothesis import strategies as st

from restore.spin import Edit, Policy, Spinner, unspin
from tests.conftest import TEXT

WORDS = ["in", "the", "city", "between", "at", "state", "meeting", "meetings", "good", "take", "part",
         "In", "Moscow", "one", "10,000", "“quoted”", "—", "a"]


def test_deterministic_for_a_seed(lexicon):
    s = Spinner(lexicon)  # policy sampled per document
    assert s.spin(TEXT, seed=3).spun == s.spin(TEXT, seed=3).spun
    outs = {s.spin(TEXT, seed=k).spun for k in range(8)}
    assert len(outs) > 1


def test_seedlike_policy_swaps_per_type_and_spares_names(lexicon):
    r = Spinner(lexicon, Policy(rate=1.0, wordnet=0.0)).spin(TEXT, seed=1)
    assert "successful the city" not in r.spun  # city is swapped too
    assert r.spun.count("successful") == TEXT.count(" in ")  # every "in", none of "In"
    assert "betwixt" in r.spun and "astatine" in r.spun
    assert "10,000" in r.spun and "Officials" in r.spun and "\r\n" in r.spun
    assert " 1 million" in r.spun  # number word -> digits
    assert unspin(r.spun, r.edits) == TEXT
    for e in r.edits:
        assert r.spun[e.spun_start:e.spun_end] == e.spun and TEXT[e.clean_start:e.clean_end] == e.clean


def test_rate_zero_changes_nothing(lexicon):
    assert Spinner(lexicon, Policy(rate=0.0)).spin(TEXT).spun == TEXT


def test_multiword_and_inflection_policies(lexicon):
    multi = Spinner(lexicon, Policy(rate=1.0, multiword=True, wordnet=0.0)).spin(TEXT, seed=0)
    assert any(e.clean == "take part" for e in multi.edits)
    infl = Spinner(lexicon, Policy(rate=1.0, inflect=True, wordnet=0.0)).spin(TEXT, seed=0)
    assert "Meetings" in infl.spun  # capitalised: spared
    assert "gatherings" in Spinner(lexicon, Policy(rate=1.0, inflect=True, wordnet=0.0)).spin(
        "the meetings went on", seed=0).spun


def test_capitals_policy_keeps_the_capital(lexicon):
    r = Spinner(lexicon, Policy(rate=1.0, capitals=True, wordnet=0.0)).spin("In the city. In May.", seed=0)
    assert r.spun == "Successful the metropolis. Successful May."


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=30),
       seps=st.lists(st.sampled_from([" ", "  ", ", ", ".\n", "\r\n", "\t", "-", "’s "]), min_size=30, max_size=30),
       seed=st.integers(0, 10_000))
def test_alignment_backwards_gives_clean_text(lexicon, words, seps, seed):
    text = "".join(w + s for w, s in zip(words, seps))
    policy = Policy.sample(random.Random(seed))
    r = Spinner(lexicon, policy).spin(text, seed=seed)
    assert unspin(r.spun, r.edits) == text
    starts = [e.spun_start for e in r.edits]
    assert starts == sorted(starts)


def test_chained_policy_swaps_through_the_substitutes_own_entry():
    from restore.lexicon import Lexicon, parse_mythes

    mythes = "UTF-8\nnew|1\n(adj)|fresh (similar term)\nfresh|1\n(adj)|caller (similar term)|new (related term)\n" \
             "old|1\n(adj)|aged\naged|1\n(adj)|old\n"
    lex = Lexicon(parse_mythes(mythes.splitlines(keepends=True)), {}, {"new": 50, "fresh": 5, "old": 20})
    text = "They signed a new pact with old friends."
    one = Spinner(lex, Policy(rate=1.0, wordnet=0.0)).spin(text)
    two = Spinner(lex, Policy(rate=1.0, wordnet=0.0, hops=1.0)).spin(text)
    assert one.spun == "They signed a fresh pact with aged friends."
    # new -> fresh -> caller; old -> aged -> old would undo the swap, so it stops at "aged"
    assert two.spun == "They signed a caller pact with aged friends."
    assert unspin(two.spun, two.edits) == text and two.edits[0].clean == "new"


def test_bare_policy_never_swaps_a_word_with_punctuation_attached(lexicon):
    text = "The meeting in the city, between “state” officials, took place in the city last month.\n"
    full = Spinner(lexicon, Policy(rate=1.0, wordnet=0.0, multiword=True)).spin(text)
    bare = Spinner(lexicon, Policy(rate=1.0, wordnet=0.0, multiword=True, bare_only=True)).spin(text)

    def touches_punctuation(e: Edit) -> bool:  # the clean word or phrase has something attached
        before = text[e.clean_start - 1] if e.clean_start else " "
        after = text[e.clean_end] if e.clean_end < len(text) else " "
        return not (before.isspace() and after.isspace())

    assert any(touches_punctuation(e) for e in full.edits)  # "city,", "“state”", "month." are swappable
    assert bare.edits and not any(touches_punctuation(e) for e in bare.edits)
    assert "betwixt" in bare.spun and bare.spun.count("successful") == 2  # the bare words are still swapped
    assert "city," in bare.spun and "“state”" in bare.spun and "month." in bare.spun
    assert unspin(bare.spun, bare.edits) == text


def test_presets_name_one_policy_or_several_to_draw_from(lexicon):
    import pytest

    from restore.errors import RestoreError
    from restore.spin import PRESETS, presets

    assert presets("bare") == [PRESETS["bare"]]
    assert presets("mix, mix,bare") == [None, None, PRESETS["bare"]]  # a name repeated weighs it
    with pytest.raises(RestoreError, match="unknown policy 'bogus'"):
        presets("mix,bogus")
    one = Spinner(lexicon, PRESETS["token"])
    assert Spinner(lexicon, presets("token")).spin(TEXT, seed=4).spun == one.spin(TEXT, seed=4).spun
    # each document draws one: over seeds both presets are drawn, each spinning as it does alone
    seedlike, attached_never = Policy(rate=1.0, wordnet=0.0), Policy(rate=1.0, wordnet=0.0, bare_only=True)
    both = Spinner(lexicon, [seedlike, attached_never])
    outs = [both.spin(TEXT, seed=k) for k in range(12)]
    assert {r.policy for r in outs} == {seedlike, attached_never}
    assert all(r.spun == Spinner(lexicon, r.policy).spin(TEXT, seed=k).spun for k, r in enumerate(outs))
    assert [r.spun for r in outs] == [both.spin(TEXT, seed=k).spun for k in range(12)]
