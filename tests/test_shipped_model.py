"""Quality checks of the shipped detector and pipeline on text the tests write and spin themselves."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from restore.gates import DOCUMENTATION_SHARE, RatePrior
from restore.evaluate import sacre_scores
from restore.lexicon import load_lexicon
from restore.paths import DETECTOR_DIR
from restore.pipeline import Pipeline
from restore.spin import PRESETS, Policy, Spinner, with_rate
from restore.text import code_share, tokenize

pytestmark = pytest.mark.skipif(not (DETECTOR_DIR / "calibration.json").is_file(), reason="no shipped model")

CLEAN = [
    "The government said on Tuesday that it would cut taxes for small firms in the north of the country.",
    "Officials met in the capital to discuss a new trade deal between the two countries.",
    "The company reported a sharp rise in profits last year, helped by strong demand at home.",
    "Police said the man was arrested at his home after a search that lasted several hours.",
    "The minister told reporters that talks would continue next month in an effort to reach agreement.",
    "Shares fell sharply as investors worried about the state of the economy and the risk of higher rates.",
    "The team won the final after a late goal, ending a long wait for a major title.",
    "Health officials warned that the number of cases could rise again during the winter months.",
    "The bank said it expected growth to slow as exports weakened and consumer spending fell.",
    "Critics said the plan would do little to help families on low incomes.",
]


@pytest.fixture(scope="module")
def pipe() -> Pipeline:
    return Pipeline()


@contextmanager
def detector_with(det, **settings):
    """The detector with other settings for a while (the pipeline's are the tuned ones)."""
    was = {name: getattr(det, name) for name in settings}
    for name, value in settings.items():
        setattr(det, name, value)
    try:
        yield det
    finally:
        for name, value in was.items():
            setattr(det, name, value)


def second_hop(det, h: float):
    """The detector with another `second_hop` for a while."""
    return detector_with(det, second_hop=h)


def test_restoration_beats_the_spun_input(pipe):
    spinner = Spinner(load_lexicon(), Policy(rate=0.55))
    spun = [spinner.spin(s, seed=i).spun for i, s in enumerate(CLEAN)]
    assert sum(a != b for a, b in zip(spun, CLEAN)) >= 8
    restored = pipe.restore_texts(spun)
    before = sacre_scores(spun, CLEAN)["BLEU"][0]
    after = sacre_scores(restored, CLEAN)["BLEU"][0]
    assert after >= before + 15, (before, after)


def test_clean_text_is_left_nearly_alone(pipe):
    restored = pipe.restore_texts(CLEAN)
    changed = sum(a != b for s, r in zip(CLEAN, restored) for a, b in zip(s.split(), r.split()))
    assert changed <= 3, [(s, r) for s, r in zip(CLEAN, restored) if s != r]


def test_obvious_swaps_and_names(pipe):
    text = ("North Korean person Kim Jong Un met officials successful Moscow betwixt talks connected Tuesday, "
            "KCNA said, arsenic 10,000 troops waited astatine the border.")
    spans = {s.text: s for s in pipe.detector.detect(text)}
    assert {"successful", "betwixt", "connected", "arsenic", "astatine"} <= set(spans)
    assert not set(spans) & {"Kim", "Jong", "Un", "Moscow", "KCNA", "10,000", "Tuesday"}
    assert spans["betwixt"].candidates[0].text == "between"
    assert spans["astatine"].candidates[0].text == "at"


def test_an_unspun_article_comes_back_byte_for_byte(pipe):
    article = "\n".join([" ".join(CLEAN[:4]), " ".join(CLEAN[4:7]), "  " + " ".join(CLEAN[7:]) + "\r\n"])
    doc = pipe(article)
    assert doc.edits == [] and doc.restored() == article


def test_a_byte_order_mark_comes_back_and_the_first_word_behind_it_is_restored(tmp_path):
    """A file saved by a Windows editor starts with U+FEFF: `restore clean` of it unspun gives the
    same bytes, and spun, the mark stays and the word behind it counts as bare, not attached."""
    import subprocess
    import sys

    unspun = tmp_path / "unspun.txt"
    unspun.write_bytes(("\ufeff" + " ".join(CLEAN[:4]) + "\r\n" + " ".join(CLEAN[4:])).encode())
    spun = tmp_path / "spun.txt"
    spun.write_bytes("\ufeffsuccessful the latest talks, authorities media said the brace met astatine noon.\n".encode())
    outs = [subprocess.run([sys.executable, "-m", "restore.cli", "clean", str(f)], capture_output=True)
            for f in (unspun, spun)]
    assert [p.returncode for p in outs] == [0, 0] and outs[0].stdout == unspun.read_bytes()
    assert outs[1].stdout.decode().startswith("\ufeffin the latest talks, government media")
    p = subprocess.run([sys.executable, "-m", "restore.cli", "detect", str(spun), "--format", "json"],
                       capture_output=True)
    found = __import__("json").loads(p.stdout)
    assert found["text"].startswith("\ufeff") and found["spans"][0]["text"] == "successful"
    assert all(found["text"][s["start"]:s["end"]] == s["text"] for s in found["spans"])


def test_a_hard_wrapped_article_is_restored_as_its_unwrapped_text_is(pipe):
    """Plain-text mail and many scraped pages cut lines at a width, mid-sentence. Read a line at a
    time, neither half of a sentence was one (validation articles wrapped at 72: BLEU 86.61 ->
    85.13, 2 of 100 unspun ones edited); a spun phrase may also run over a line end."""
    import textwrap

    paras = [" ".join(CLEAN[:5]), " ".join(CLEAN[5:])]
    spun = Spinner(load_lexicon(), Policy(rate=0.55)).spin("\n".join(paras), seed=3).spun
    wrapped = "\n\n".join(textwrap.fill(p, 64) for p in spun.split("\n")) + "\nConsumer credit rose atomic number\n49 January."
    spun += " Consumer credit rose atomic number 49 January."
    out = pipe(wrapped).restored()
    assert out.split() == pipe(spun).restored().split() and "rose in January" in out
    unspun = "\n\n".join(textwrap.fill(p, 64) for p in paras) + "\n"
    assert pipe(unspun).restored() == unspun


def test_ordinal_suffixes_are_never_flagged(pipe):
    text = "Officials successful the 11th gathering said the 3rd round would start connected Monday."
    assert {"th", "rd"}.isdisjoint(s.text for s in pipe.detector.detect(text))


@pytest.mark.parametrize("name", ["rewriter-spans", "rewriter-sentence"])
def test_shipped_t5_rewriters_load_and_span_mode_copies_unflagged_text(name):
    from restore.storage import INT8_FILE
    from restore.paths import MODELS_DIR

    path = MODELS_DIR / name
    if not (path / "config.json").is_file():
        pytest.skip(f"no {name} shipped")
    assert (path / INT8_FILE).is_file()  # stored in int8: half the size, room for the neural LM
    t5 = Pipeline(rewriter=path)
    assert t5.rewriter.mode == name.split("-")[1]
    text = "North Korean person Kim met officials successful Moscow betwixt talks, KCNA said."
    doc = t5(text)
    if t5.rewriter.mode == "spans":  # outside the flagged spans, the text is copied by construction
        assert {(e.start, e.end) for e in doc.edits} <= {(s.start, s.end) for s in doc.spans}
        for kept in ("North Korean", "Kim", "Moscow", "KCNA said."):
            assert kept in doc.restored()
    else:
        assert isinstance(doc.restored(), str) and "\n" not in doc.restored()


def _head(det, mass: dict[str, float]):
    """An originals-head distribution with the given probabilities, the rest spread evenly."""
    import torch

    from restore.detect import HeadGuess

    p = torch.full((len(det.bundle.originals),), (1 - sum(mass.values())) / (len(det.bundle.originals) - len(mass)))
    for word, m in mass.items():
        p[det.bundle.orig_index[word]] = m
    return HeadGuess.rows(torch.log(p)[None] + 3.0, 5)[0]  # logits: any shift, the same guess


def test_a_candidate_only_the_head_proposes_keeps_the_heads_probability(pipe):
    # one step back, the prior at its full weight (not the calibrated one, which a recalibration
    # may move): the head's and the prior's own
    with detector_with(pipe.detector, second_hop=0.0, prior_weight=1.0) as det:
        # no entry of its own, a regular form of one's ("defrayal"): the head guesses alone
        alone = det.candidates("defrayals", _head(det, {"payments": 0.3}))
        backed = det.candidates("betwixt", _head(det, {"between": 0.3}))  # thesaurus and head agree
        nowhere = det.candidates("zzqx", _head(det, {"use": 0.3}))  # no way back through the thesaurus
    assert alone[0].text == "payments" and alone[0].score == pytest.approx(0.3, abs=0.01)
    assert nowhere == []
    assert backed[0].text == "between" and backed[0].score > 0.95
    assert all(sum(c.score for c in cands) <= 1.0001 for cands in (alone, backed))


def test_the_head_proposes_only_originals_the_thesaurus_leads_from(pipe):
    """The originals head names an original for any word; one is offered only where a spinner
    with our thesaurus could have written the word for it: "told" for "stated" (tell -> state,
    a path the inverse index, cut at 20 originals, leaves out), not "spend" for "password"
    (until session 21 "password sharing" could come back "spend sharing")."""
    with second_hop(pipe.detector, 0.0) as det:
        told = det.candidates("stated", _head(det, {"told": 0.3}))
        spend = det.candidates("password", _head(det, {"spend": 0.3}))
    assert "told" in [c.text for c in told]
    assert "spend" not in [c.text for c in spend] and [c.text for c in spend][:1] == ["word"]


def test_the_originals_head_read_in_chunks_gives_the_same_candidates(pipe):
    import torch

    from restore.detect import HeadGuess

    det = pipe.detector
    text = "Officials met successful the capital betwixt talks connected Tuesday."
    words = [w for w in det.score_documents([text])[0] if w.token.text in ("successful", "betwixt", "connected")]
    names, states = [w.token.text for w in words], [w.hidden for w in words]
    whole = det.candidates_many(names, states)
    assert whole == det.candidates_many(names, states, chunk=1)  # one word per read: the same
    assert [cands[0].text for cands in whole] == ["in", "between", "on"]
    logits = torch.randn(2, 50)  # the guess's log-probabilities are the log-softmax's
    guess = HeadGuess.rows(logits, 3)[1]
    assert guess.logprobs([4, 7]) == pytest.approx(torch.log_softmax(logits[1], -1)[[4, 7]].tolist(), abs=1e-5)
    assert guess.top == torch.topk(logits[1], 3).indices.tolist()


def test_a_long_document_is_restored_in_the_pieces_the_cli_streams(pipe):
    from restore.text import block_spans

    spinner = Spinner(load_lexicon(), Policy(rate=0.3))
    line = " ".join(spinner.spin(s, seed=i).spun for i, s in enumerate(CLEAN * 45))  # one line, ~45,000 chars
    text = f"{line}\nA short last line met successful the capital.\n"
    pieces = block_spans(text)
    assert len(pieces) >= 2
    doc = pipe.run([text])[0]
    assert doc.edits and all(text[s.start : s.end] == s.text for s in doc.spans)
    assert all(text[e.start : e.end] == e.old for e in doc.edits)
    assert doc.restored() == "".join(pipe(text[a:b]).restored() for a, b in pieces)
    assert doc.restored().endswith("met in the capital.\n")


def test_the_documents_evidence_of_being_spun_reaches_the_rewriter(pipe):
    spinner = Spinner(load_lexicon(), Policy(rate=0.3))
    clean = " ".join(CLEAN)
    spun = " ".join(spinner.spin(s, seed=i).spun for i, s in enumerate(CLEAN))
    found = {d.text: d for d in pipe.detect([clean, spun])}
    assert found[clean].evidence < -1.5 and not found[clean].spans  # gated: nothing flagged
    assert found[spun].evidence > 10 and found[spun].spans
    assert pipe(spun).evidence == pytest.approx(found[spun].evidence, abs=1e-6)


def test_a_document_surely_spun_is_flagged_from_its_own_threshold():
    spinner = Spinner(load_lexicon(), Policy(rate=0.3))
    spun = " ".join(spinner.spin(s, seed=i).spun for i, s in enumerate(CLEAN))
    clean = " ".join(CLEAN)
    plain, low = Pipeline(), Pipeline()
    plain.surely_threshold, low.surely_threshold = None, 0.02
    (spun_plain, clean_plain), (spun_low, clean_low) = plain.detect([spun, clean]), low.detect([spun, clean])
    assert spun_low.evidence >= low.rewriter.w["surely_spun"]
    assert {s.start for s in spun_plain.spans} < {s.start for s in spun_low.spans}  # more, doubtful ones
    assert clean_low.spans == clean_plain.spans == []  # a clean document is not surely spun
    assert Pipeline(threshold=0.3).surely_threshold is None  # a threshold asked for holds everywhere
    assert [s.start for s in low.detect([spun], threshold=0.3)[0].spans] == [s.start for s in spun_plain.spans]


def test_the_heads_base_form_guess_takes_the_spun_words_inflection(pipe):
    det = pipe.detector
    assert det.candidates("utilizing", _head(det, {"use": 0.9}))[0].text == "using"
    assert det.candidates("Utilizing", _head(det, {"use": 0.9}))[0].text == "Using"


def test_an_inflected_spun_word_offers_every_form_of_its_original(pipe):
    det = pipe.detector
    # "existed" is the past or the participle of "exist", which stands for "be"
    assert {c.text for c in det.candidates("existed", None)[:3]} == {"was", "were", "been"}
    plural = det.candidates("gatherings", None)  # a noun's plural, not its uncountable form
    assert plural[0].text == "meetings" and "meeting" not in [c.text for c in plural]
    # the LM, which sees the subject and the auxiliary, picks the form
    assert pipe("The shares existed sold at a loss.").restored() == "The shares were sold at a loss."
    assert pipe("Prices have existed rising for months.").restored() == "Prices have been rising for months."


def _lm_features(det, text: str, word: str, ctx: float = 0.0, sure: str | None = None) -> dict[str, float]:
    """The LM features of one word of `text`, its lexicon and context evidence set to `ctx`
    (and a neighbour, `sure`, given evidence that it is surely spun)."""
    from restore.detect import WordScore
    from restore.text import Token

    def score(w: str, c: float) -> WordScore:
        start = text.index(w)
        return WordScore(Token(w, start, start + len(w)),
                         {"lex": 0.0, "unseen": 0.0, "ctx": c, "lex_x_ctx": 0.0, "initial": 0.0,
                          "lex_left": 0.0, "lex_right": 0.0}, {}, None)

    ws = score(word, ctx)
    det.lm_evidence(text, [ws] + ([score(sure, 12.0)] if sure else []))
    return ws.features


def test_the_lm_is_asked_whether_an_original_fits_better_only_when_in_doubt(pipe):
    det = pipe.detector
    spun = _lm_features(det, "Officials met successful the capital on Tuesday.", "successful")
    natural = _lm_features(det, "Officials hailed a successful launch on Tuesday.", "successful")
    assert spun["lm_asked"] == natural["lm_asked"] == 1.0
    assert spun["lm_gain"] > 3 and natural["lm_gain"] < 0, (spun, natural)
    assert _lm_features(det, "Officials met zzqx the capital.", "zzqx")["lm_none"] == 1.0
    sure = _lm_features(det, "Officials met successful the capital on Tuesday.", "successful", ctx=12.0)
    assert sure["lm_asked"] == 0.0 and sure["lm_gain"] == 0.0  # lexicon+context already decided


def test_a_number_word_is_never_restored_as_another_number(pipe):
    det = pipe.detector
    cands = det.candidates("million", _head(det, {"billion": 0.9}))
    assert not any(c.text in ("billion", "trillion", "zero", "two") for c in cands)  # the head and prior say so
    assert det.candidates("1", None)[0].text == "one"  # a digit still becomes its word
    text = 'The site is worth "several million dlrs."'
    assert pipe(text).restored() == text


def test_a_neighbour_moves_the_lexicon_evidence(pipe):
    det = pipe.detector
    p, _ = det.lexicon_prob("successful")
    assert p > 0.95  # alone, nearly always a spinner's word
    assert det.neighbour_shift("successful", p, "left", "a") < -3  # "a successful launch"
    assert det.neighbour_shift("successful", p, "right", "the") > 1  # "successful the capital"
    assert det.neighbour_shift("successful", p, "left", "zzqx") == 0.0
    words = det.score_documents(["Officials hailed a successful launch."], ("lexicon+context",))[0]
    assert next(w for w in words if w.token.text == "successful").features["lex_left"] < -3


def test_the_lm_reads_a_surely_spun_neighbour_as_its_original(pipe):
    det = pipe.detector
    spun = "Officials met successful Moscow astatine the weekend."
    restored = _lm_features(det, spun, "successful", sure="astatine")
    assert restored == _lm_features(det, "Officials met successful Moscow at the weekend.", "successful")
    assert restored["lm_gain"] != _lm_features(det, spun, "successful")["lm_gain"]  # "astatine" in doubt: read as is


def test_spans_are_flagged_with_the_lm_and_scored_without_it(pipe):
    assert pipe.score_signal == "lexicon+context"  # the rewriter weighs the LM itself: counted once
    assert Pipeline(lm=None).score_signal == "combined"  # best candidate alone: the detector's LM evidence
    text = ["Officials met successful the capital on Tuesday, and a successful launch followed."]
    words = pipe.detector.score_documents(text, ("lexicon+context", "combined"))[0]
    spans = pipe.detect(text, threshold=0.3)[0].spans
    assert spans
    assert [s.start for s in spans] == [w.token.start for w in words if w.probs["combined"] >= 0.3]
    by_start = {w.token.start: w for w in words}
    assert all(s.score == round(by_start[s.start].probs["lexicon+context"], 4) for s in spans)
    assert any(s.score != round(by_start[s.start].probs["combined"], 4) for s in spans)
    without = pipe.detector.score_documents(text, ("lexicon+context",))[0]
    assert not any("lm_asked" in w.features for w in without)  # not even asked: no time spent
    assert any(w.features["lm_asked"] for w in words)


def test_a_multiword_substitute_is_one_span_restored_whole(pipe):
    text = "The company said information technology is evaluating both proposals."  # "it" was spun
    spans = pipe.detect([text])[0].spans
    phrase = next(s for s in spans if s.start == text.index("information"))
    assert phrase.text == "information technology" and phrase.candidates[0].text == "it"
    assert pipe.restore_texts([text]) == ["The company said it is evaluating both proposals."]
    # only words a single space apart spell a phrase
    text = "It took an angstrom unit, then an angstrom, unit and angstrom\nunit."
    runs = pipe.detector.phrases(text, pipe.detector.score_documents([text], ("combined",))[0])
    assert [" ".join(ws.token.text for ws in run) for run in runs if len(run) > 1] == ["angstrom unit"]


def test_the_shipped_neural_lm_rescores_the_beam_and_a_missing_or_broken_one_is_a_one_line_error(pipe, tmp_path):
    import shutil
    import subprocess
    import sys

    from restore.paths import NLM_DIR

    assert pipe.rewriter.nlm is not None and pipe.rewriter.w["neural"] > 0
    alone = Pipeline(nlm=None).rewriter  # without it, the keep bonus tuned without it
    assert alone.nlm is None and alone.w["neural"] == 0 and alone.w["keep"] < pipe.rewriter.w["keep"]
    # it reads whole sentences: each reporter's sentence is likelier than its spun copy
    spun = [s.replace("capital", "uppercase").replace(" in ", " successful ").replace("said", "aforesaid")
            for s in CLEAN]
    scores = pipe.rewriter.nlm.logprobs(CLEAN + spun)
    assert all(c > s + 2 for c, s, text in zip(scores, scores[len(CLEAN):], spun) if text not in CLEAN)
    broken = tmp_path / "nlm"
    shutil.copytree(NLM_DIR, broken)
    (broken / "model.safetensors").write_bytes(b"\x00garbage{" * 20)
    for path, message in [(tmp_path / "none", b"no neural language model"), (broken, b"unreadable")]:
        p = subprocess.run([sys.executable, "-m", "restore.cli", "clean", "--nlm", str(path)],
                           input=b"we met successful the city", capture_output=True)
        assert p.returncode == 2 and message in p.stderr and p.stderr.count(b"\n") == 1 and p.stdout == b""


def test_shipped_files_fit_the_size_limits():
    """Each file under 16 MB (GitHub-friendly shards), all of models/ under 64 MB."""
    models = DETECTOR_DIR.parent
    sizes = {p: p.stat().st_size for p in models.rglob("*") if p.is_file()}
    assert max(sizes.values()) < 16_000_000, max(sizes, key=sizes.get)
    assert sum(sizes.values()) < 64_000_000


def test_the_readmes_python_example_runs_as_written(capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### From Python\n\n```python\n(.*?)```", readme, re.S)
    assert block, "README.md has no '### From Python' example"
    exec(compile(block.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "North Korean leader Kim Jong Un met officials in Moscow on Tuesday."
    assert "13 19 person -> leader" in printed[1] and any(line.startswith("connected ") for line in printed)


def test_the_beam_is_offered_the_tuned_number_of_candidates_and_detect_shows_fewer(pipe):
    import json

    from restore.detect import CANDIDATES, detect
    from restore.paths import LM_DIR

    tuned = json.loads((LM_DIR / "config.json").read_text(encoding="utf-8"))["candidates"]
    assert pipe.detector.n_candidates == tuned > CANDIDATES
    text = "The brace met astatine the gathering successful the metropolis connected Tuesday."
    with second_hop(pipe.detector, 0.0):
        offered = [len(s.candidates) for s in pipe.detect([text])[0].spans]
    shown = [len(s.candidates) for s in detect(text)]
    assert max(offered) == tuned and max(shown) == CANDIDATES


def test_a_second_step_back_offers_what_a_chaining_spinner_swapped(pipe):
    """new -> fresh -> "caller" (the seed article's "a caller pact"): one step back through the
    thesaurus offers "fresh", a second adds "new"; never a number or a phrase ("cardinal" stands
    for "billion", not "million"; a spun "state" for "gas", not "natural gas")."""
    from restore.originals import SECOND_HOP_EXTRA, is_number

    det = pipe.detector
    assert 0 < det.second_hop < 1  # the shipped LM config chose one
    with second_hop(det, 0.0):
        one = {w: [c.text for c in det.candidates(w, None)] for w in ("caller", "cardinal", "state", "pact")}
    two = {w: det.candidates(w, None) for w in one}
    assert "new" not in one["caller"] and "new" in [c.text for c in two["caller"]]
    for word, cands in two.items():
        texts = [c.text for c in cands]
        extra = set(texts) - set(one[word])
        assert set(one[word]) <= set(texts) and len(extra) <= SECOND_HOP_EXTRA
        assert not any(" " in x or is_number(x) for x in extra), (word, extra)
        assert sum(c.score for c in cands) <= 1.0001 and texts == [c.text for c in sorted(cands, key=lambda c: -c.score)]


def test_a_chaining_spinners_text_is_restored_better_with_the_second_hop(pipe):
    spinner = Spinner(load_lexicon(), Policy(rate=0.55, hops=1.0))  # every swap a step further if it can
    text = "\n".join(spinner.spin(s, seed=i).spun for i, s in enumerate(CLEAN))
    with second_hop(pipe.detector, 0.0):
        one = pipe(text).restored().split("\n")
    two = pipe(text).restored().split("\n")
    assert sacre_scores(two, CLEAN)["BLEU"][0] >= sacre_scores(one, CLEAN)["BLEU"][0] + 1.0


def test_the_second_step_goes_through_a_spans_first_ten_candidates(pipe, monkeypatch):
    """exchange -> conversation -> "speech" (the seed article's "successful speech for deploying
    troops"): in this sentence "conversation" is the span's eighth candidate, so the second step
    of session 36 (through 5 candidates, 3 originals added) never offered "exchange"."""
    from restore import originals

    spun = "Iran would halt its work successful speech for aid, officials said."
    assert pipe(spun).restored() == "Iran would halt its work in exchange for aid, officials said."
    for name, value in (("SECOND_HOP_VIA", 5), ("SECOND_HOP_EACH", 10), ("SECOND_HOP_EXTRA", 3)):
        monkeypatch.setattr(originals, name, value)
    assert pipe(spun).restored() == "Iran would halt its work in speech for aid, officials said."


def test_a_spinners_habit_of_first_substitutes_is_read_from_its_own_text(pipe, monkeypatch):
    """A spinner that writes each original's first substitute (the seed article's did for 94% of
    its surely spun words) leaves its habit in its text (`Habit.read`): the originals
    with that substitute are weighed up (`Habit.first_gain`), the words that are nobody's first
    substitute look less spun (`Habit.odds`), and the text comes back better; an any-sense
    spinner's text has those originals weighed down."""
    from restore.habit import FIRST_GAINS, Habit

    lex, det = load_lexicon(), pipe.detector
    gains: list[float] = []
    real = Habit.read
    monkeypatch.setattr(Habit, "read",
                        lambda self, *a: gains.append(self.first_gain(share := real(self, *a))) or share)

    def restored(choice: str, habit: float | None) -> tuple[int, int, float, int]:
        """Three texts spun by a spinner of `choice`, restored: the swaps put right, the edits to
        words it left alone, BLEU, and the words it left alone that the detector flags."""
        spinner = Spinner(lex, Policy(rate=0.55, choice=choice))
        results = [spinner.spin(" ".join(CLEAN), seed=seed) for seed in range(3)]
        with detector_with(det, first_habit=habit):
            docs = pipe.run([r.spun for r in results])
            flagged = det.detect_many([r.spun for r in results])
        outcomes = [e.new == clean.get(e.start) if e.start in clean else None
                    for r, d in zip(results, docs) for clean in [{x.spun_start: x.clean for x in r.edits}]
                    for e in d.edits]
        bleu = sacre_scores([d.restored() for d in docs], [r.clean for r in results])["BLEU"][0]
        false_flags = sum(s.start not in {x.spun_start for x in r.edits} for r, spans in zip(results, flagged)
                          for s in spans)
        return outcomes.count(True), outcomes.count(None), bleu, false_flags

    weighed = restored("first", det.first_habit)
    assert len(gains) == 3 + 3 and min(gains) > 3  # the pipeline's reading and the detector's
    unweighed = restored("first", None)
    assert len(gains) == 6  # off: not asked
    assert weighed[0] >= unweighed[0] and weighed[1] <= unweighed[1] and weighed[2] > unweighed[2], (weighed, unweighed)
    assert weighed[3] < unweighed[3], (weighed, unweighed)  # words it left alone look less spun
    restored("any_sense", det.first_habit)
    assert all(FIRST_GAINS[0] <= g < min(gains[:6]) / 3 for g in gains[6:]) and sum(gains[6:]) / len(gains[6:]) < 1, gains


def test_whether_a_spinner_inflects_is_read_from_its_own_text(pipe, monkeypatch):
    """Only a spinner that lemmatises and inflects again writes inflected forms the inverse index
    lacks ("gatherings"): in its text they are a share of the surely spun words, and
    `Habit.read_inflection` says so (a ratio above 1 to the training mix's share); in text
    from a spinner that does not inflect, and in the seed article, the ratio is at its floor."""
    from restore.habit import INFLECT_RATIOS, Habit

    lex, det = load_lexicon(), pipe.detector
    ratios: list[float] = []
    real = Habit.read_inflection
    monkeypatch.setattr(Habit, "read_inflection", lambda self, *a: ratios.append(real(self, *a)) or ratios[-1])

    def read(choice: str, inflect: bool) -> list[float]:
        ratios.clear()
        spinner = Spinner(lex, Policy(rate=0.55, choice=choice, inflect=inflect))
        det.detect_many([spinner.spin(" ".join(CLEAN), seed=seed).spun for seed in (1, 2)], with_candidates=False)
        return list(ratios)

    assert min(read("first", True) + read("seed", True)) > 1
    assert read("first", False) + read("seed", False) == [INFLECT_RATIOS[0]] * 4
    ratios.clear()
    seed = next((Path(__file__).parents[1] / "seeds").glob("*.txt"))  # the real spun article, the demo's input
    det.detect(seed.read_text(encoding="utf-8"), with_candidates=False)
    assert ratios == [INFLECT_RATIOS[0]]


def test_newswire_shorthand_is_restored_only_in_a_text_that_writes_shorthand(pipe):
    """The train split's 1987 newswire writes "5 pct", so its "percent" looks spun from "pct";
    a text written in full keeps its percentages, figures and all."""
    modern = ("Sales rose 5 percent last year, and profits climbed 12 percent to 3.4 billion dollars, "
              "the company said on Tuesday.")
    assert pipe(modern).restored() == modern
    assert not [s for s in pipe.detector.detect(modern) if s.text == "percent"]
    newswire = "Net profit rose 15 percent to 10 mln dlrs."  # "mln dlrs": a spinner's "percent" for "pct"
    assert pipe(newswire).restored() == "Net profit rose 15 pct to 10 mln dlrs."


def test_in_a_text_written_in_full_a_spun_percentage_stands_for_percent(pipe):
    """The spinner makes "percentage" of "percent" as of "pct": ruling the shorthand out must not
    clear the spun word, whose original is then the full form."""
    spun = "Industrial production rose 4.8 percentage on a seasonally adjusted basis in March."
    span = next(s for s in pipe.detector.detect(spun) if s.text == "percentage")
    assert span.candidates[0].text == "percent"
    assert "pct" not in [c.text for c in span.candidates]
    assert pipe(spun).restored() == spun.replace("percentage", "percent")
    natural = "The percentage of voters who turned out fell sharply in March."
    assert pipe(natural).restored() == natural


def test_a_spun_term_that_ends_in_a_figure_is_one_span(pipe):
    """The spinner's "atomic number 49" for "in" (indium's entry) is one spun phrase, figure and
    all; until session 24 the figure was no word a spinner writes, so "atomic" and "number" were
    flagged apart and came back "less record 49"."""
    from restore.text import tokenize

    spun = "Consumer credit rose 536 mln dlrs atomic number 49 January, the Fed said."
    assert [s.text for s in pipe.detector.detect(spun)] == ["atomic number 49"]
    assert pipe(spun).restored() == "Consumer credit rose 536 mln dlrs in January, the Fed said."
    for text, eligible in [("rose atomic number 49 in", True), ("rose number 49 in", False),
                           ("subatomic number 49", False), ("atomic number 490", False)]:
        tok = next(t for t in tokenize(text) if t.text[0].isdigit())
        assert pipe.detector.eligible(text, tok) is eligible, text


def test_a_digit_in_a_percentage_is_no_spun_number_word(pipe):
    from restore.text import tokenize

    det = pipe.detector
    for text, eligible in [("rose 5 percent", False), ("rose 5 per cent", False), ("rose 5% in May", False),
                           ("rose 5 pct", False), ("help 1 different", True), ("about 5 new cases", True)]:
        tok = next(t for t in tokenize(text) if t.text in ("5", "1"))
        assert det.eligible(text, tok) is eligible, text


TECHNICAL = (
    "This package extends the standard date and time module with features that many programs need. It can "
    "parse dates written in almost any format, work out relative differences such as next month or the last "
    "Friday of the year, and handle time zones using the tables that ship with most operating systems. Every "
    "object the parser returns has an attribute for the time zone and an integer offset in seconds.\n\n"
    "The code has been used in production for many years and is maintained by a small group of volunteers. "
    "Documentation is hosted online, and each release is published to the package index as soon as its tests "
    "pass. Output in the terminal uses color when the module detects support for it.\n\n"
    "Bug reports and pull requests are welcome in the project's repository; please include a short example "
    "that shows the problem and the version you are using. The project follows semantic versioning, so a minor "
    "release never removes a public function without a deprecation warning first.\n")


def without_light_gate(det):
    """The detector without the light gate for a while (`RatePrior.light`)."""
    return detector_with(det, calibration={**det.calibration, "prior": {**det.calibration["prior"], "light_rate": None}})


def test_clean_technical_prose_with_a_few_words_news_seldom_writes_is_left_alone(pipe):
    """A few words in it score as surely spun as a spinner's ("attribute", "integer": rare in news),
    so its evidence says spun; but far too few are to be a spinner's work (`RatePrior.light`).
    Without that gate "attribute" became "time" and "integer" "digital"."""
    assert pipe(TECHNICAL).restored() == TECHNICAL
    with without_light_gate(pipe.detector):
        assert pipe(TECHNICAL).edits  # the gate is what leaves it alone
    spun = Spinner(load_lexicon(), PRESETS["seedlike"]).spin(TECHNICAL, seed=0)
    assert len(spun.edits) >= 20 and pipe(spun.spun).edits  # spun, it is no light text


def test_news_spun_lightly_is_restored_though_its_words_rate_looks_light(pipe):
    """A spinner set to swap few words (or one whose swaps our lexicon mostly misses) leaves a text
    whose words look spun at a rate as low as technical prose's (`RatePrior.light`); but it reads
    as news to the trigram LM (`reads_unlike_news`), and the light gate leaves only what does not
    alone. Gated by its rate alone (session 35), the article below kept all 12 of its swaps."""
    clean = " ".join(CLEAN)
    spun = Spinner(load_lexicon(), with_rate(PRESETS["seedlike"], 0.15)).spin(clean, seed=2).spun
    words = pipe.detector.score_documents([spun], ("combined",), False, prior=False)[0]
    assert RatePrior(**pipe.detector.calibration["prior"]).light([ws.probs["combined"] for ws in words])
    assert not pipe.detector.reads_unlike_news(spun) and pipe.detector.reads_unlike_news(TECHNICAL)
    with detector_with(pipe.detector, light_nats=0.0):
        assert not pipe(spun).edits
    before = sacre_scores([spun], [clean])["BLEU"][0]
    after = sacre_scores([pipe(spun).restored()], [clean])["BLEU"][0]
    assert after >= before + 10, (before, after)

DOCUMENTATION = (TECHNICAL.replace("time zone and an integer offset", "time zone (`tzinfo`) and an integer offset (`utcoffset()`)")
                 .replace("It can parse dates", "It can parse dates (`parser.parse()`)")
                 .replace("time zones", "time zones (`dateutil.tz`)"))


def test_documentation_is_no_article_and_is_left_alone(pipe):
    """Prose around code is technical through and through, and its words look spun to models
    that learnt news ("attribute" became "time" and "module" "will" in the text below); a text
    of which at least 2% of the strings between spaces are code is documentation (`code_share`)."""
    doc = DOCUMENTATION
    assert code_share(doc) >= DOCUMENTATION_SHARE > code_share(TECHNICAL)
    assert pipe(doc).restored() == doc
    with without_light_gate(pipe.detector):
        assert pipe(TECHNICAL).edits and not pipe(doc).edits  # the documentation rule alone leaves it alone


def test_spun_documentation_is_restored_when_the_user_says_it_is_spun(pipe):
    """The documentation rule leaves spun documentation as it is too; `--assume-spun` (the
    detector's `assume_spun`) lifts it and the other document gates, at the price of edits to
    clean text (here "integer" -> "digital")."""
    spun = Spinner(load_lexicon(), PRESETS["seedlike"]).spin(DOCUMENTATION, seed=0).spun
    assert pipe(spun).restored() == spun
    with detector_with(pipe.detector, assume_spun=True):
        restored = pipe(spun).restored()
        assert pipe(DOCUMENTATION).edits and pipe(TECHNICAL).edits
    before = sacre_scores([spun], [DOCUMENTATION])["BLEU"][0]
    after = sacre_scores([restored], [DOCUMENTATION])["BLEU"][0]
    assert after >= before + 15, (before, after)
    assert "`parser.parse()`" in restored and "(`dateutil.tz`)" in restored


def test_assume_spun_reaches_the_detector_and_the_cleaner_from_the_command_line(tmp_path):
    import json
    import subprocess
    import sys

    spun = Spinner(load_lexicon(), PRESETS["seedlike"]).spin(DOCUMENTATION, seed=0).spun
    src, corpus, out = tmp_path / "doc.txt", tmp_path / "docs.jsonl", tmp_path / "clean.jsonl"
    src.write_text(spun, encoding="utf-8")
    corpus.write_text(json.dumps({"id": "a", "text": spun}) + "\n", encoding="utf-8")

    def spans(*flags: str) -> list[dict]:
        p = subprocess.run([sys.executable, "-m", "restore.cli", "detect", str(src), "--format", "json", *flags],
                           capture_output=True, text=True, check=True)
        return json.loads(p.stdout)["spans"]

    assert spans() == [] and len(spans("--assume-spun")) >= 20
    subprocess.run([sys.executable, "-m", "restore.cli", "clean", str(corpus), "-o", str(out), "--assume-spun"],
                   capture_output=True, check=True)
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["restore_edits"] >= 20 and row["text"] != spun and row["id"] == "a"

def test_code_in_an_article_is_left_as_written(pipe):
    """A spun article that quotes code is surely spun, and the words of its identifiers, calls
    and attributes were restored as prose: "yield_expression" became "output_saying",
    "s.append(x)" "s.add(x)", "object.__getattr__" "web.__getattr__"."""
    spun = ("North Korean person Kim Jong Un met officials successful Moscow betwixt talks connected Tuesday, "
            "authorities media said. The saying yield_expression gives a web, and s.append(x) adds one "
            "astatine the end; call object.__getattr__(self, name) or set key=value successful the config.")
    out = pipe(spun).restored()
    for kept in ("yield_expression", "s.append(x)", "object.__getattr__(self, name)", "key=value"):
        assert kept in out, (kept, out)
    assert "in Moscow between talks on Tuesday" in out and "at the end" in out and "in the config" in out


def test_addresses_notes_scores_and_times_are_left_as_written(pipe):
    """Scraped articles carry links, handles, notes and scores. A spun one is surely spun, and
    its "user" (for "consumer"?) or "1" (for "one") would be restored: a broken link, "[one]"."""
    spun = ("North Korean person Kim Jong Un met officials successful Moscow betwixt talks connected Tuesday, "
            "authorities media said [1]. The squad won 1-0, and 1/3 of fans left astatine 1 a.m. (1) "
            "Follow @user, #state or https://example.com/user/state successful the report.")
    out = pipe(spun).restored()
    for kept in ("[1]", "1-0", "1/3", "1 a.m.", "(1)", "@user", "#state", "https://example.com/user/state"):
        assert kept in out, (kept, out)
    assert "in Moscow between talks on Tuesday" in out and "at 1 a.m." in out and "in the report" in out
    det = pipe.detector
    for text, eligible in [("won 1-0", False), ("1/3 of", False), ("the 2-1 win", False), ("at 1 am", False),
                           ("note [1].", False), ("(1) first", False), ("help 1 different", True),
                           ("at 1 amendment", True), ("1 (one)", True)]:
        tok = next(t for t in tokenize(text) if t.text in ("1", "2"))
        assert det.eligible(text, tok) is eligible, text


def test_roman_numerals_that_label_clauses_are_left_as_written(pipe):
    """Contracts, licences and reports number their clauses "(ii)", "iii." at a line's start; the
    thesaurus offers "ii" for "two", and such a clause came back "(two)" even in a clean sentence."""
    clean = ("The agreement covers (i) the sale of the plant, (ii) the transfer of staff and (iii) the pension "
             "scheme, the company said.\nii. moral rights retained by the author;\niv) any other rights.\n")
    assert pipe(clean).restored() == clean
    out = pipe("North Korean person met officials successful Moscow betwixt talks connected Tuesday. " + clean).restored()
    assert "(ii) the transfer" in out and "(iii) the pension" in out and "ii. moral" in out and "iv) any" in out, out
    assert "in Moscow between talks on Tuesday" in out
    det = pipe.detector
    for text, eligible in [("(ii) the", False), ("then ii) the", False), ("ii. moral", False), ("a\nvi. the", False),
                           ("has ii cars", True), ("in ii. Then", True), ("(xiv)", False)]:
        tok = next(t for t in tokenize(text) if t.text in ("ii", "vi", "xiv"))
        assert det.eligible(text, tok) is eligible, text

MODERN = """The central bank raised its benchmark interest rate by 0.25 percentage points on Wednesday, its fourth \
increase this year, as officials tried to cool inflation that has stayed above 4 percent.

Consumer prices rose 4.2 percent in October from a year earlier, according to government data released last \
week. Shares of major lenders climbed about 2 percent after the announcement, while the currency strengthened \
against the dollar.

Unemployment rose to 3.9 percent in October, the highest level in almost two years. A survey published on \
Monday found that 6 in 10 shoppers plan to spend less on gifts this year."""


def test_a_modern_article_keeps_its_percentages_and_figures(pipe):
    """Written in full, as today's news is (the corpus is 1987 newswire and 2004 BBC): until session
    20 this text came back with "4 pct" and "about two pct". Until session 22 its four "percent",
    nearly always spun from "pct" in the train split, made it look surely spun before the
    shorthand rule spoke (evidence +12.5), and with session 22's weights "percent" became "percentage"."""
    from restore.gates import GATE

    doc = pipe(MODERN)
    assert doc.evidence < GATE and doc.edits == [], (doc.evidence, doc.edits)


def test_a_digit_before_a_magnitude_in_a_text_written_in_full_is_no_spun_number_word(pipe):
    """"2 million barrels" is how today's news writes it; the 1987 newswire's "two mln" made the
    digit look spun (until session 21 this came back "two million")."""
    text = "The group said it would keep output 2 million barrels a day below last year's levels until the end of March."
    assert pipe(text).restored() == text
    from restore.detect import detect

    assert not [s for s in detect(text, threshold=0.1) if s.text == "2"]


def test_a_spun_magnitude_is_never_restored_as_another_magnitude(pipe):
    """"cardinal" is a spinner's word for million, billion and trillion alike: in a text written in
    full "million" is restored (the newswire's "mln" counted for it too), and where no magnitude
    is clearly likeliest the word is left as it is, since "2 billion" for "2 million" reads as a fact."""
    clean = ["The system, which will cost about £30 million, is due to open in the spring of next year.",
             "The group said it would keep output 2 million barrels a day below last year's levels.",
             "The government said 3 million households would benefit from the scheme."]
    spun = ["The system, which volition cost astir £30 cardinal, is owed to open successful the outpouring of "
            "adjacent twelvemonth.",
            "The group aforesaid it would support output 2 cardinal barrels a time beneath past year's levels.",
            "The authorities aforesaid 3 cardinal households would payment from the scheme."]
    restored = [pipe(s).restored() for s in spun]
    assert "£30 million" in restored[0], restored[0]
    for original, out in zip(clean, restored):
        assert "billion" not in out and "trillion" not in out, out
        assert not any(w in out.split() for w in ("two", "three")), out
        assert [w for w in out.split() if w[-1:].isdigit()] == [w for w in original.split() if w[-1:].isdigit()]


def test_a_word_with_no_way_back_through_the_thesaurus_gets_no_original(pipe):
    """"solana" (a lowercase name) is in no thesaurus entry, as neither are "cryptocurrency" and other
    words newer than the corpus: the originals head's best guess for it ("so", until session 21)
    is no original. A spinner's regular form of a thesaurus word lemminflect does not know
    ("defrayals", "peachier") still has one."""
    text = ("The world's largest cryptocurrency has lost about 15% since its record high in March. Smaller tokens such as "
            "ether and solana dropped even further, and more than $1bn of leveraged bets were wiped out in 24 hours.")
    spinner = Spinner(load_lexicon(), PRESETS["seedlike"])
    for seed in (0, 1, 3):
        doc = pipe(spinner.spin(text, seed=seed).spun)
        assert not [e for e in doc.edits if e.old in ("solana", "cryptocurrency")], doc.edits
    det = pipe.detector
    assert [det.originals.stem_has_originals(w) for w in ("solana", "cryptocurrency", "defrayals", "peachier", "demoed")] == [
        False, False, True, True, True]


def test_the_beam_weighs_the_thesaurus_prior_by_its_tuned_weight_and_detect_by_the_calibrated_one(pipe):
    """The calibrated prior weight is the best for the top candidate alone; the beam, which weighs
    the candidates in context too, was tuned with its own (`models/lm/config.json`): the lower it
    is, the more a context guess counts against the thesaurus's likeliest original."""
    import json

    from restore.detect import Detector
    from restore.paths import LM_DIR

    tuned = json.loads((LM_DIR / "config.json").read_text(encoding="utf-8")).get("prior_weight")
    det = pipe.detector
    assert det.prior_weight == tuned and Detector().prior_weight is None
    # the context guesses "conversation" for "speech" a little over "aside", which the thesaurus likes 4 times as much
    head = _head(det, {"conversation": 0.3, "aside": 0.2})

    def odds(weight: float | None) -> float:
        """P("conversation") / P("aside") for "speech" with the prior at `weight`."""
        with detector_with(det, second_hop=0.0, prior_weight=weight):
            p = {c.text: c.score for c in det.candidates("speech", head)}
        return p["conversation"] / p["aside"]

    assert odds(0.0) > odds(0.25) > odds(0.75) > odds(1.5) and odds(0.0) > 1 > odds(1.5)
    assert odds(None) == odds(det.calibration["beta"])


def test_the_encoder_in_bfloat16_flags_what_float32_does():
    import torch

    from restore.detect import Detector

    text = Spinner(load_lexicon(), Policy(rate=0.55)).spin(" ".join(CLEAN), seed=4).spun
    wide, narrow = Detector(precision="fp32"), Detector(precision="bf16")
    assert next(wide.bundle.model.encoder.parameters()).dtype == torch.float32
    assert next(narrow.bundle.model.encoder.parameters()).dtype == torch.bfloat16
    assert narrow.bundle.model.orig_head.weight.dtype == torch.bfloat16  # and the originals head,
    assert narrow.bundle.model.spun_head.weight.dtype == torch.float32  # not the one that flags
    a, b = wide.detect(text), narrow.detect(text)
    assert len(a) > 10 and [(s.start, s.end) for s in a] == [(s.start, s.end) for s in b]
    assert [s.score for s in a] == pytest.approx([s.score for s in b], abs=0.03)
    assert [s.candidates[0].text for s in a if s.candidates] == [s.candidates[0].text for s in b if s.candidates]


def test_padding_the_tagger_batches_to_a_multiple_changes_no_float32_score(monkeypatch):
    import restore.detect as detect_module
    from restore.detect import Detector

    text = Spinner(load_lexicon(), Policy(rate=0.55)).spin(" ".join(CLEAN), seed=5).spun
    det = Detector(precision="fp32")
    monkeypatch.setattr(detect_module, "PAD_MULTIPLE", 1)
    tight = det.detect(text)
    monkeypatch.setattr(detect_module, "PAD_MULTIPLE", 16)
    assert det.bundle.pad(det.bundle.encode_many(["one two three"]), 16).shape[1] == 16
    assert det.detect(text) == tight and len(tight) > 10
