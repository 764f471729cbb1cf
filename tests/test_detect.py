"""The detector's document rate prior and eligibility rules (no trained model needed)."""

from __future__ import annotations

import pytest

from restore.calibrate import Labelled, fit_prior
from restore.detect import Detector, WordScore
from restore.gates import RatePrior
from restore.errors import RestoreError
from restore.spin import Policy, Spinner
from restore.text import Token, code_share, glued, not_prose, tokenize

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
    assert GATED.evidence([]) == 0.0 and not GATED.unspun([])


GATED = RatePrior(base=0.25, a=0.5, b=4.5, gate=-2.0)


def _calibrated(prior: dict, assume_spun: bool = False):
    """Stands in for a Detector with this calibrated prior (for `Detector.apply_prior`), to which
    a text reads unlike news if it says so."""
    return type("Calibrated", (), {"calibration": {"prior": prior}, "assume_spun": assume_spun,
                                   "reads_unlike_news": lambda self, text: "unlike news" in text})()


def test_words_at_the_base_rate_are_no_evidence_either_way():
    assert GATED.evidence([0.25] * 50) == pytest.approx(0.0, abs=1e-9)


def test_a_long_clean_article_is_judged_unspun_and_loses_even_a_high_score():
    probs = [0.02] * 800 + [0.9999]  # one word that looks surely spun on its own
    assert GATED.evidence(probs) < -2.0 and GATED.unspun(probs)
    assert PRIOR.apply(probs)[-1] > 0.5  # the rate prior alone leaves it flagged
    words = [WordScore(Token("w", i, i + 1), {}, {"combined": p, "lexicon": 0.5}, None) for i, p in enumerate(probs)]
    Detector.apply_prior(_calibrated({"base": 0.25, "a": 0.5, "b": 4.5, "gate": -2.0}), words, ("combined", "lexicon"))
    assert all(ws.probs == {"combined": 0.0, "lexicon": 0.0} for ws in words)  # one verdict for every signal


def test_a_spun_document_or_a_short_sentence_is_not_gated():
    spun = [0.9] * 20 + [0.05] * 80
    assert GATED.evidence(spun) > 10 and not GATED.unspun(spun)
    sentence = [0.05] * 15 + [0.7]  # too few words to tell, so the rate prior decides
    assert -2.0 < GATED.evidence(sentence) < 2.0 and not GATED.unspun(sentence)



def test_a_long_text_whose_words_look_spun_too_rarely_is_light_whatever_their_scores():
    """Technical prose: a few words in a hundred score as surely spun as a spinner's ("expression",
    "module"), so the evidence says spun; but spinners seldom swap so few."""
    technical = [0.02] * 470 + [0.999] * 15
    light = RatePrior(base=0.25, a=0.5, b=4.5, gate=-2.0, min_rate=0.04, light_words=100, light_rate=0.06)
    assert light.evidence(technical) > 10 and light.rate(technical) < 0.06
    assert light.light(technical) and not light.unspun(technical)  # its evidence alone says spun
    assert not RatePrior(base=0.25, a=0.5, b=4.5, gate=-2.0, min_rate=0.04).light(technical)  # uncalibrated: no such gate
    spun = [0.9] * 30 + [0.05] * 120  # a quarter swapped
    assert not light.light(spun)
    short = [0.02] * 40 + [0.999]  # a sentence or two: too few words to tell a rate
    assert light.rate(short) < 0.06 and not light.light(short)


def test_a_light_text_has_nothing_flagged_only_if_it_reads_unlike_news():
    """News spun lightly looks as light by its scores as technical prose does; the trigram LM
    tells them apart (`Detector.reads_unlike_news`). Without a text, the rate alone decides."""
    prior = {"base": 0.25, "a": 0.5, "b": 4.5, "gate": -2.0, "min_rate": 0.04, "light_words": 100, "light_rate": 0.06}
    light = [0.02] * 470 + [0.999] * 15
    for text, kept in (("prose that reads unlike news", False), ("a news story", True), (None, False)):
        words = _document(light, set())
        Detector.apply_prior(_calibrated(prior), words, ("combined",), text=text)
        assert (max(ws.probs["combined"] for ws in words) > 0.5) is kept, text

def test_a_text_assumed_spun_passes_every_document_gate_but_the_attached_one():
    """`restore clean --assume-spun`: the user knows the text is spun, so neither the evidence gate,
    the light gate nor the documentation rule (`gated`) withholds its flags; the rate prior still
    weighs them, and words with punctuation attached still follow the attached gate."""
    prior = {"base": 0.25, "a": 0.5, "b": 4.5, "gate": -2.0, "min_rate": 0.04, "light_words": 100,
             "light_rate": 0.06, "attached_gate": -2.0}
    cases = [([0.02] * 800 + [0.9999], False), ([0.02] * 470 + [0.999] * 15, False),  # unspun by evidence; light
             ([0.9] * 30 + [0.05] * 120, True)]  # spun, but documentation
    for probs, documentation in cases:
        gated = _document(probs, set())
        Detector.apply_prior(_calibrated(prior), gated, ("combined",), gated=documentation)
        assert all(ws.probs["combined"] == 0.0 for ws in gated)
        assumed = _document(probs, set())
        Detector.apply_prior(_calibrated(prior, assume_spun=True), assumed, ("combined",), gated=documentation)
        assert [ws.probs["combined"] for ws in assumed] == pytest.approx(RatePrior(**prior).apply(probs))
        assert max(ws.probs["combined"] for ws in assumed) > 0.5
    probs, attached = [0.95] * 60 + [0.05] * 100 + [0.03] * 39 + [0.7], set(range(160, 200))
    words = _document(probs, attached)
    _, attached_evidence = Detector.apply_prior(_calibrated(prior, assume_spun=True), words, ("combined",))
    assert attached_evidence < -2.0 and words[-1].probs["combined"] == 0.0


def test_a_lightly_spun_looking_clean_article_is_gated_once_very_low_rates_are_no_alternative():
    """A long clean article with a handful of words that look spun fits "spun at 2%" about
    as well as "unspun"; a spinner that swaps at least 4% of the words fits it worse."""
    probs = [0.1] * 700 + [0.97] * 12
    low, floor = GATED, RatePrior(base=0.25, a=0.5, b=4.5, gate=-2.0, min_rate=0.04)
    assert not low.unspun(probs) and floor.unspun(probs)
    assert floor.evidence(probs) < low.evidence(probs) - 2
    spun = [0.9] * 20 + [0.05] * 80
    assert floor.evidence(spun) > 10  # a spun document is still far above the gate

class _ScoreIsFeature:
    """Stands in for a Detector whose combined score is the feature "p"."""

    def _combine(self, name: str, features: dict) -> float:
        return features["p"]


def _words(rows: list[list[float]], labels: list[list[int]] | None = None) -> list[Labelled]:
    return [Labelled(WordScore(Token("w", i, i + 1), {"p": p}, {}, None), labels[r][i] if labels else 0, None, r, i, i + 1)
            for r, probs in enumerate(rows) for i, p in enumerate(probs)]


def test_fit_prior_honours_the_clean_flag_budget():
    """Clean sentences with three 0.8 words each: the best-F1 prior flags them; within a
    budget of 20 per 1000 words a stronger prior is chosen, at some cost in F1."""
    spun = [[0.9] * 3 + [0.55] + [0.1] * 16 for _ in range(30)]
    labels = [[1] * 4 + [0] * 16 for _ in range(30)]
    clean = [[0.02] * 17 + [0.8] * 3 for _ in range(50)]
    clean_rows = [{"spun": " ".join(["w"] * 20)} for _ in clean]

    def clean_flags_per_1000(params: dict) -> float:
        prior = RatePrior(**params)
        return 1000 * sum(p >= 0.5 for probs in clean for p in prior.apply(probs)) / (20 * len(clean))

    def fit(budget: float) -> dict:
        return fit_prior(_ScoreIsFeature(), _words(spun, labels), _words(clean), clean_rows, budget)

    loose, tight, impossible = fit(1000.0), fit(20.0), fit(-1.0)
    assert clean_flags_per_1000(loose) > 100
    assert clean_flags_per_1000(tight) <= 20
    assert clean_flags_per_1000(impossible) == min(clean_flags_per_1000(tight), clean_flags_per_1000(loose))


@pytest.mark.parametrize("text, word", [("the 11th meeting", "th"), ("a 5km race", "km")])
def test_glued_tokens_are_not_words_a_spinner_swaps(text, word, lexicon):
    tok = next(t for t in tokenize(text) if t.text == word)
    assert glued(text, tok)
    assert not glued(text, tokenize(text)[0])
    spinner = Spinner(lexicon, Policy(rate=1.0, choice="first"))
    assert spinner.spin(text.replace("meeting", "city"), seed=0).spun.split()[1] == text.split()[1]


@pytest.mark.parametrize("text, inside", [
    ("see https://example.com/user/state now", ["https", "example", "com", "user", "state"]),
    ("Follow @user and #tag today", ["user", "tag"]),
    ("write to press@state.org.", ["press", "state", "org"]),
    ("at www.state.gov/user, or", ["www", "state", "gov", "user"]),
    ("saved in /home/user/state.txt", ["home", "user", "state", "txt"]),
    ("the world’s #1 player", ["1"]),
    ("Smith &amp; Sons said&#8217;s", ["amp", "said", "8217", "s"]),
    ("<p>The <b>meeting</b> ended</p>", ["p", "b", "b", "p"]),
    ("the yield_expression of __getattr__ now", ["yield", "expression", "getattr"]),
    ("call s.append(x) or “append()” on lists[0].", ["s", "append", "x", "append", "lists", "0"]),
    ("set key=value, `state` or Foo::bar (besides)", ["key", "value", "state", "Foo", "bar"]),
    ("the U.S. state said at 10 a.m. (local time) that “state” and/or km/h, e.g. Russia’s", []),
])
def test_addresses_handles_hashtags_paths_and_entities_are_no_prose(text, inside):
    assert [t.text for t in tokenize(text) if not_prose(text, t)] == inside


def test_the_share_of_a_text_that_is_code():
    assert code_share("") == 0.0 and code_share("the U.S. state said at 10 a.m., e.g. today") == 0.0
    assert code_share("call `load()` or s.append(x) then stop") == pytest.approx(2 / 6)


def test_spinning_counts_each_word_next_to_its_neighbours(lexicon):
    from restore.calibrate import count_signal

    docs = ["We met in the city on Monday."] * 40 + ["It was a successful launch."] * 40
    signal, neighbours = count_signal(docs, lexicon)
    spun, natural = signal["successful"]
    assert natural == 40 and spun >= 3  # some documents swapped "in"
    assert neighbours["left"]["successful"]["a"] == [0, 40]  # "a successful": always natural
    assert neighbours["right"]["successful"]["the"] == [spun, 0]  # "successful the": always spun
    assert "city" not in neighbours["left"].get("successful", {})  # only pairs seen together


def test_counts_and_calibration_pairs_follow_the_policies_asked_for(lexicon, monkeypatch):
    import restore.pairs as pairs
    from restore.calibrate import count_signal

    docs = ["We met in the city, on Monday, in the morning."] * 40
    mix, _ = count_signal(docs, lexicon)
    bare, _ = count_signal(docs, lexicon, policies="bare")
    assert mix != bare
    # "city," is never a bare spinner's to swap: nothing it writes for it is counted
    assert not {"metropolis", "town"} & set(bare) and {"metropolis", "town"} & set(mix)
    monkeypatch.setattr(pairs, "load_lexicon", lambda: lexicon)
    rows = pairs.valid_pairs(docs, 20, policies="bare")
    assert rows and all(r["spun"][s["end"]] == " " for r in rows for s in r["spans"])


def _document(probs: list[float], attached: set[int]) -> list[WordScore]:
    return [WordScore(Token("w", i, i + 1), {}, {"combined": p}, None, i not in attached) for i, p in enumerate(probs)]


ATTACHED = {"base": 0.25, "a": 0.5, "b": 4.5, "gate": -2.0, "attached_gate": -2.0}


def test_attached_words_that_look_unspun_in_a_spun_document_lose_their_flags():
    # a heavily spun document whose 40 words with punctuation attached all score low but one
    probs = [0.95] * 60 + [0.05] * 100 + [0.03] * 39 + [0.7]
    attached = set(range(160, 200))
    calibrated = _calibrated(ATTACHED)
    words = _document(probs, attached)
    evidence, attached_evidence = Detector.apply_prior(calibrated, words, ("combined",))
    assert evidence > 10 and attached_evidence < -2.0
    assert words[-1].probs["combined"] == 0.0  # its one high attached score is gone
    assert all(ws.probs["combined"] > 0.9 for ws in words[:60])  # the bare words keep theirs
    # the same scores with the attached words spun like the rest: nothing is withheld
    mixed = _document(probs, set(range(0, 200, 5)))
    _, mixed_evidence = Detector.apply_prior(calibrated, mixed, ("combined",))
    assert mixed_evidence > 0 and mixed[0].probs["combined"] > 0.9
    # no attached word, or no attached gate (calibrations before session 14): no verdict
    assert Detector.apply_prior(calibrated, _document(probs, set()), ("combined",))[1] is None
    # a real spinner's text: the attached words score middling (the detector is not calibrated
    # there) but hardly ever confidently, while a third of the bare words do
    middling = [0.95] * 60 + [0.05] * 100 + [0.6, 0.7, 0.8, 0.85] * 7 + [0.05] * 11 + [0.98]
    words = _document(middling, attached)
    _, attached_evidence = Detector.apply_prior(calibrated, words, ("combined",))
    assert attached_evidence < -2.0 and words[170].probs["combined"] == 0.0
    words = _document(probs, attached)
    Detector.apply_prior(_calibrated({**ATTACHED, "attached_gate": None}), words, ("combined",))
    assert words[-1].probs["combined"] > 0.5


def test_the_encoder_precision_is_one_of_three_and_auto_picks_bf16_where_the_cpu_has_it(monkeypatch):
    import torch

    from restore.tagger import inference_dtype

    assert inference_dtype("fp32") == torch.float32 and inference_dtype("bf16") == torch.bfloat16
    with pytest.raises(RestoreError, match="unknown precision 'fp16'"):
        inference_dtype("fp16")
    for amx, avx512_bf16, dtype in ((False, False, torch.float32), (True, False, torch.bfloat16),
                                    (False, True, torch.bfloat16)):  # Intel AMX, AMD Zen 4
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
        assert inference_dtype("auto") == dtype
