"""The trigram LM (build, prune, save/load) and the LM-weighed candidate rewriter."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from restore.detect import Candidate, Span
from restore.errors import RestoreError
from restore.ngram import BOS, EOS, KneserNeyTrigram, beam_hypotheses, beam_search
from restore.pipeline import CandidateRewriter, Document

SENTENCES = [s.split() for s in [
    "the north korean leader met the minister on tuesday",
    "the leader of the party met the minister",
    "the minister met the leader in the capital",
    "talks took place in the capital on tuesday",
    "we have a plan for the capital",
] * 3 + ["the minister said the capital had one plan"]]


def test_lm_prefers_seen_text_and_sums_to_one_over_the_vocabulary():
    lm = KneserNeyTrigram.build(SENTENCES)
    assert lm.logprob("korean", "leader", "met") > lm.logprob("korean", "have", "met")
    words = lm.vocab[1:]  # every word that can follow (not <s>)
    assert math.isclose(sum(math.exp(lm.logprob("the", "minister", w)) for w in words), 1.0, rel_tol=0.02)


def test_nats_per_word_is_the_mean_surprise_of_a_texts_words_sentence_by_sentence():
    lm = KneserNeyTrigram.build(SENTENCES)
    seen, unseen = "The minister met the leader in the capital.", "Zebras graze quietly beyond distant hills."
    ids = [lm.index.get(w, -1) for w in [BOS, BOS, "the", "minister", "met", "the", "leader", "in", "the", "capital", EOS]]
    by_hand = -sum(lm.logprob_ids(*ids[i - 2 : i + 1]) for i in range(2, len(ids))) / (len(ids) - 2)
    assert lm.nats_per_word(seen) == pytest.approx(by_hand)
    assert lm.nats_per_word(unseen) > lm.nats_per_word(seen) + 3
    # two sentences are read as two, each from its start: the mean of the two, by their words
    two = lm.nats_per_word(seen + " " + unseen)
    assert two == pytest.approx((9 * lm.nats_per_word(seen) + 7 * lm.nats_per_word(unseen)) / 16)
    assert lm.nats_per_word("") == 0.0

def test_lm_save_load_round_trip_and_pruning(tmp_path):
    full = KneserNeyTrigram.build(SENTENCES)
    pruned = KneserNeyTrigram.build(SENTENCES, min_count=2)
    assert len(pruned.c3) < len(full.c3) and len(pruned.cc2) < len(full.cc2)
    pruned.save(tmp_path / "lm", {"min_count": 2})
    loaded = KneserNeyTrigram.load(tmp_path / "lm")
    for u, v, w in [("the", "north", "korean"), ("minister", "said", "the"), ("zebra", "the", "capital"),
                    ("the", "capital", "unseen-word")]:
        assert loaded.logprob(u, v, w) == pytest.approx(pruned.logprob(u, v, w), abs=1e-12)
    assert not list((tmp_path / "lm").glob("*.pkl"))
    for i in range(4):  # the same model gives the same bytes (no metadata in hash order)
        loaded.save(tmp_path / f"again{i}", {"min_count": 2})
        for name in ("lm.safetensors", "vocab.txt.gz"):
            assert (tmp_path / f"again{i}" / name).read_bytes() == (tmp_path / "lm" / name).read_bytes()


def test_unpruned_lm_with_large_counts_round_trips_exactly(tmp_path):
    # counts of 255 and over live in a side table; every table must come back as it was built
    lm = KneserNeyTrigram.build(SENTENCES + [["the", "capital"]] * 300 + [[f"w{i}", "the"] for i in range(300)])
    assert max(lm.c3.values()) >= 300 and max(lm.cc2.values()) >= 255
    lm.save(tmp_path / "lm")
    back = KneserNeyTrigram.load(tmp_path / "lm")
    for name in ("vocab", "c3", "ctx3_total", "ctx3_types", "cc2", "ctx2_total", "ctx2_types", "cc1"):
        assert getattr(back, name) == getattr(lm, name), name


def test_a_word_list_that_does_not_match_the_counts_is_a_clear_error(tmp_path):
    import gzip

    from restore.errors import RestoreError

    KneserNeyTrigram.build(SENTENCES).save(tmp_path / "lm")
    with gzip.open(tmp_path / "lm" / "vocab.txt.gz", "wt", encoding="utf-8") as f:
        f.write("<s>\n</s>\nthe\n")
    with pytest.raises(RestoreError, match="vocab.txt.gz does not match"):
        KneserNeyTrigram.load(tmp_path / "lm")


def test_the_beam_recombines_hypotheses_with_the_same_history_and_finds_the_best():
    # two options write the same word "the": without recombination they fill a beam of 2, and
    # "we", which the next words need, falls out of it
    lm = KneserNeyTrigram.build(SENTENCES)
    choices = [[("the", 0.0, "a1"), ("the", -0.01, "a2"), ("we", -3.0, "b")],
               [("have", 0.0, None)], [("a", 0.0, None)], [("plan", 0.0, None)]]

    def score(values: tuple) -> float:
        words = [BOS, BOS] + [next(w for w, _, v in opts if v == x) for opts, x in zip(choices, values)] + [EOS]
        cost = sum(next(c for _, c, v in opts if v == x) for opts, x in zip(choices, values))
        return cost + sum(lm.logprob(*words[i - 2 : i + 1]) for i in range(2, len(words)))

    exhaustive = max([(v,) + rest for v in ("a1", "a2", "b") for rest in [(None, None, None)]], key=score)
    assert exhaustive[0] == "b"  # the LM's "we have a plan" outweighs the option's cost
    assert tuple(beam_search(lm, choices, beam=2)) == exhaustive
    # every hypothesis ends "a plan", one history: recombined, one is left; kept per history, all
    # three come back best first, scored as the LM and the costs score them
    assert len(beam_hypotheses(lm, choices, beam=2)) == 1
    hyps = beam_hypotheses(lm, choices, beam=2, per_history=3)
    assert [tuple(v) for _, v in hyps] == sorted([(v, None, None, None) for v in ("a1", "a2", "b")], key=score,
                                                 reverse=True)
    assert all(abs(s - score(tuple(v))) < 1e-9 for s, v in hyps) and tuple(hyps[0][1]) == exhaustive


def test_hypotheses_kept_per_history_are_each_historys_best_as_an_exhaustive_search_finds_them():
    # a trigram scores what follows a hypothesis by its last two words alone, so with room for
    # every history the beam's k per history are exactly the k best sentences ending in it
    lm = KneserNeyTrigram.build(SENTENCES)
    rng = random.Random(3)
    words = ["the", "we", "a", "plan", "have", "talks", "new plan", "the talks"]
    choices = [[(w, -rng.random(), (i, w)) for w in rng.sample(words, 3)] for i in range(5)]

    def score(values: tuple) -> tuple[float, tuple[str, str]]:
        sent = [BOS, BOS] + [x for i, v in enumerate(values) for x in v[1].split()]
        cost = sum(next(c for _, c, v in choices[i] if v == x) for i, x in enumerate(values))
        return cost + sum(lm.logprob(*sent[j - 2 : j + 1]) for j in range(2, len(sent))) \
            + lm.logprob(sent[-2], sent[-1], EOS), tuple(sent[-2:])

    by_history: dict[tuple[str, str], list[tuple[float, tuple]]] = {}
    for values in itertools.product(*[[v for _, _, v in opts] for opts in choices]):
        s, h = score(values)
        by_history.setdefault(h, []).append((s, values))
    expected = sorted((x for hyps in by_history.values() for x in sorted(hyps, key=lambda x: -x[0])[:2]),
                      key=lambda x: -x[0])
    found = beam_hypotheses(lm, choices, beam=1000, per_history=2)
    assert [tuple(v) for _, v in found] == [v for _, v in expected]
    assert [s for s, _ in found] == pytest.approx([s for s, _ in expected], abs=1e-9)


def test_lm_rewriter_chooses_in_context_and_keeps_clean_words():
    lm = KneserNeyTrigram.build(SENTENCES)
    text = "The north Korean person met the minister in the capital."
    a, b = text.index("person"), text.index("capital")
    person = Span(a, a + 6, "person", 0.9, [Candidate("have", 0.6), Candidate("leader", 0.4)])
    capital = Span(b, b + 7, "capital", 0.55, [Candidate("plan", 0.9)])
    spans = [person, capital]
    plain = CandidateRewriter()(Document(text, spans=spans)).restored()
    assert plain == "The north Korean have met the minister in the plan."
    doc = CandidateRewriter(lm)(Document(text, spans=spans))
    assert doc.restored() == "The north Korean leader met the minister in the capital."
    assert [(e.start, e.end, e.old, e.new) for e in doc.edits] == [(a, a + 6, "person", "leader")]


def test_a_word_flagged_again_elsewhere_follows_how_its_other_occurrences_were_decided():
    lm = KneserNeyTrigram.build(SENTENCES)
    text = "We person a plan for the capital.\nZork person zonk.\nWe person a plan for the capital."
    starts = [i for i in range(len(text)) if text.startswith("person", i)]
    spans = [Span(a, a + 6, "person", 0.9, [Candidate("leader", 0.6), Candidate("have", 0.4)]) for a in starts]
    alone = CandidateRewriter(lm)(Document(text, spans=spans))
    assert [e.new for e in alone.edits] == ["have", "leader", "have"]  # "zork person zonk": no context
    voted = CandidateRewriter(lm, {"vote": 4.0})(Document(text, spans=spans))
    assert [e.new for e in voted.edits] == ["have", "have", "have"]
    one_sentence = text.replace(".\n", " and ", 1).split("\n")[0]  # "We person a plan ... and Zork person zonk."
    inside = [Span(a, a + 6, "person", 0.9, spans[0].candidates) for a in (3, one_sentence.index("person", 10))]
    for vote in (0.0, 4.0):  # the beam decides one sentence's spans together: no vote between them
        assert [e.new for e in CandidateRewriter(lm, {"vote": vote})(Document(one_sentence, spans=inside)).edits] \
            == ["have", "leader"]
    once = spans[1:2]  # a word flagged once has nobody to follow
    assert CandidateRewriter(lm, {"vote": 4.0})(Document(text, spans=once)).edits[0].new == "leader"


class LikesWords:
    """A stand-in for the neural LM (`restore.nlm.PieceLM`): log P rises by 10 for each word it likes,
    and it records the sentences it is asked about."""

    def __init__(self, *liked: str):
        self.liked, self.asked = liked, []

    def logprobs(self, texts: list[str]) -> list[float]:
        self.asked.append(list(texts))
        return [10.0 * sum(w.strip(".").lower() in self.liked for w in t.split()) for t in texts]


def test_the_neural_lm_chooses_among_the_beams_final_sentences_in_one_batch():
    lm = KneserNeyTrigram.build(SENTENCES)
    text = "The north Korean person met the minister.\nWe have a plan for the envoy."
    a, b = text.index("person"), text.index("envoy")
    spans = [Span(a, a + 6, "person", 0.9, [Candidate("have", 0.6), Candidate("leader", 0.4)]),
             Span(b, b + 5, "envoy", 0.9, [Candidate("capital", 0.5), Candidate("plan", 0.5)])]
    trigram = CandidateRewriter(lm)(Document(text, spans=spans)).restored()
    assert trigram == "The north Korean leader met the minister.\nWe have a plan for the capital."
    nlm = LikesWords("have")  # prefers the beam's second choice in the first sentence
    doc = CandidateRewriter(lm, {"neural": 1.0}, nlm)(Document(text, spans=spans))
    assert doc.restored() == "The north Korean have met the minister.\nWe have a plan for the capital."
    assert len(nlm.asked) == 1  # both sentences' hypotheses in one call, each written as it would be output
    assert "The north Korean have met the minister." in nlm.asked[0] and "We have a plan for the plan." in nlm.asked[0]
    # a small weight leaves the beam's order; weight 0 does not load or ask the model at all
    assert CandidateRewriter(lm, {"neural": 1e-3}, LikesWords("have"))(Document(text, spans=spans)).restored() == trigram
    unused = LikesWords("have")
    assert CandidateRewriter(lm, {"neural": 0.0}, unused)(Document(text, spans=spans)).restored() == trigram
    assert unused.asked == []
    # only sentences within the margin of the beam's best are asked about: at 0, the best alone, unasked
    assert CandidateRewriter(lm, {"neural": 1.0, "margin": 0.0}, unused)(Document(text, spans=spans)).restored() \
        == trigram
    assert unused.asked == []
    wide = LikesWords("have")
    CandidateRewriter(lm, {"neural": 1.0, "margin": 1e9}, wide)(Document(text, spans=spans))
    assert wide.asked == nlm.asked


def test_the_neural_lm_is_asked_about_each_sentence_once_per_run():
    lm = KneserNeyTrigram.build(SENTENCES)
    text = "We person a plan for the capital.\nZork person zonk.\nWe person a plan for the capital."
    starts = [i for i in range(len(text)) if text.startswith("person", i)]
    spans = [Span(a, a + 6, "person", 0.9, [Candidate("leader", 0.6), Candidate("have", 0.4)]) for a in starts]
    neutral = LikesWords()  # no preference: the trigram and the vote decide, as without it
    voted = CandidateRewriter(lm, {"vote": 4.0, "neural": 1.0, "margin": 1e9}, neutral)(Document(text, spans=spans))
    assert [e.new for e in voted.edits] == ["have", "have", "have"]  # the second pass changed the middle one
    asked = [t for call in neutral.asked for t in call]
    assert "We have a plan for the capital." in asked and len(asked) == len(set(asked))  # the repeats from a cache


def test_a_document_surely_spun_keeps_a_doubtful_span_less_readily():
    lm = KneserNeyTrigram.build(SENTENCES)
    text = "talks took place in envoy capital on tuesday"
    a = text.index("envoy")
    spans = [Span(a, a + 5, "envoy", 0.3, [Candidate("the", 0.5)])]
    w = {"keep": 15.0, "surely_spun": 5.0, "keep_spun": 0.0}
    kept = CandidateRewriter(lm, w)(Document(text, spans=spans, evidence=4.9)).restored()
    assert kept == text  # the bonus holds a doubtful span where the text may be clean
    assert CandidateRewriter(lm, w)(Document(text, spans=spans)).restored() == text  # evidence not known
    surely = CandidateRewriter(lm, w)(Document(text, spans=spans, evidence=5.0)).restored()
    assert surely == "talks took place in the capital on tuesday"
    assert CandidateRewriter(lm, {"keep": 15.0})(Document(text, spans=spans, evidence=1e9)).restored() == text


def test_frequency_term_is_the_lms_own_unigram_and_favours_rarer_words():
    lm = KneserNeyTrigram.build(SENTENCES)
    for word in ("the", "capital", "envoy"):  # the floor logprob backs off to for an unseen context
        assert lm.unigram_logprob(word) == pytest.approx(lm.logprob("zzz", "zzz", word))
    assert CandidateRewriter(lm)._common("the capital") == 0.0  # off unless weighted
    assert CandidateRewriter(lm, {"frequency": 2.0})._common("the capital") == pytest.approx(
        2 * (lm.unigram_logprob("the") + lm.unigram_logprob("capital")))
    text = "talks took place in envoy capital on tuesday"
    a = text.index("envoy")
    spans = [Span(a, a + 5, "envoy", 0.5, [Candidate("the", 1.0)])]
    assert CandidateRewriter(lm)(Document(text, spans=spans)).restored() == "talks took place in the capital on tuesday"
    assert CandidateRewriter(lm, {"frequency": 20.0})(Document(text, spans=spans)).restored() == text


def test_missing_lm_is_a_clear_error(tmp_path):
    from restore.errors import RestoreError

    with pytest.raises(RestoreError, match="no language model"):
        KneserNeyTrigram.load(tmp_path)


def test_clean_with_a_missing_lm_is_a_one_line_error(tmp_path):
    import subprocess
    import sys

    src = tmp_path / "a.txt"
    src.write_text("We met successful the city.\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    proc = subprocess.run([sys.executable, "-m", "restore.cli", "clean", str(src), "-o", str(out),
                           "--lm", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.startswith("restore: error: no language model at") and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("broken", ["lm.safetensors", "vocab.txt.gz", "config.json"])
def test_a_corrupt_lm_file_is_a_clear_error(tmp_path, broken):
    from restore.errors import RestoreError
    from restore.paths import DETECTOR_DIR
    from restore.pipeline import Pipeline

    KneserNeyTrigram.build(SENTENCES).save(tmp_path / "lm", {"rewrite": {}})
    (tmp_path / "lm" / broken).write_bytes(b"\x1f\x8bgarbage" if broken.endswith(".gz") else b"{garbage")
    with pytest.raises(RestoreError, match="language model at .* (is unreadable|has no readable config)"):
        Pipeline(DETECTOR_DIR, lm=tmp_path / "lm")


def test_rare_names_share_one_token_so_the_lm_knows_a_name_it_never_saw(tmp_path):
    import gzip
    import json

    from restore.ngram import CAP, corpus_sentences, lm_word

    docs = ["The party leader Kim met the leader Lee on Monday. On Monday the leader Park spoke.",
            "We have a plan, the leader Moon said. I have a plan too."]
    path = tmp_path / "train.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": d}) + "\n" for d in docs)
    sentences = list(corpus_sentences(path, min_name_count=2))
    assert sentences[0] == ["the", "party", "leader", CAP, "met", "the", "leader", CAP, "on", "Monday"]
    assert sentences[-1] == ["i", "have", "a", "plan", "too"]  # sentence-initial words and "I" are lowercased
    lm = KneserNeyTrigram.build(sentences)
    assert lm.names == {"Monday"}
    assert lm_word("Choi", False, lm.names) == CAP and lm_word("Choi", True, lm.names) == "choi"
    text = "We person Choi met the envoy"  # "Choi" is not in the corpus; "we have" is
    a = text.index("person")
    spans = [Span(a, a + 6, "person", 0.9, [Candidate("have", 0.6), Candidate("leader", 0.4)])]
    assert CandidateRewriter(lm)(Document(text, spans=spans)).restored() == text.replace("person", "leader")


def test_a_rewriter_weight_it_does_not_know_is_an_error_not_ignored():
    lm = KneserNeyTrigram.build(SENTENCES)
    assert CandidateRewriter(lm, {"keep": 2.0}).w["keep"] == 2.0
    with pytest.raises(RestoreError, match="attested"):  # removed in session 23: an old config says so
        CandidateRewriter(lm, {"keep": 2.0, "attested": 1.0})
    with pytest.raises(RestoreError, match="kep"):
        CandidateRewriter(lm, {"kep": 2.0})
