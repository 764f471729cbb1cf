"""The article pipeline: text -> detected spans -> rewrite -> reassembled text.

One `Document` flows through the components; each adds to it and none touches the
text outside the spans, so names, numbers, quotes and formatting come through
byte for byte.
"""

from __future__ import annotations

import difflib
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from itertools import takewhile
from pathlib import Path

from restore.detect import DEFAULT_DIR, Detector, Span
from restore.errors import RestoreError
from restore.ngram import KneserNeyTrigram, beam_hypotheses, beam_search
from restore.nlm import CachedNLM, NeuralLM, load_neural
from restore.paths import LM_DIR, NLM_DIR
from restore.text import block_spans, grouped, match_case, replace_spans, tokenize, units

# one position of a sentence for the beam: its span (None: a fixed word) and its options
Item = tuple[Span | None, list[tuple[str, float, str | None]]]


@dataclass
class Edit:
    """text[start:end] (old) is replaced by new."""

    start: int
    end: int
    old: str
    new: str
    score: float


@dataclass
class Document:
    text: str
    spans: list[Span] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    # the detector's log Bayes factor that a spinner spun the text (`RatePrior.evidence`;
    # a document read in pieces sums theirs); None: not known
    evidence: float | None = None

    def restored(self) -> str:
        return replace_spans(self.text, ((e.start, e.end, e.new) for e in self.edits))

    def to_json(self) -> dict:
        return {"text": self.restored(), "edits": [asdict(e) for e in self.edits]}

    def diff(self, name: str = "input") -> str:
        a = self.text.splitlines(keepends=True)
        b = self.restored().splitlines(keepends=True)
        return "".join(difflib.unified_diff(a, b, fromfile=name, tofile=f"{name} (restored)"))


class CandidateRewriter:
    """Replace flagged spans by candidate originals, keeping the capitalisation.

    Without a language model each span takes its best candidate. With one, the flagged
    spans of each sentence are decided together, each kept or given one of its candidates,
    by a beam search over
        lm · log P_LM(sentence) + spun · log P(spun or not) + candidate · log P(candidate)
        − frequency · log P_unigram(the span's words)
    (+ keep, a bonus for leaving a span as it is), so a candidate that fits the
    neighbouring words can win over a higher-scored one that does not, and a clean word
    the detector doubted stays when the sentence reads better with it. The frequency term
    takes back the LM's preference for common words, which the candidate score already
    holds through the inverse-thesaurus prior ("is" for "exists" would count it twice).

    A spinner swaps a word the same way throughout a document (the seed article has
    "successful" for "in" 14 times of 14), so a word flagged more than once is decided
    twice: after a first pass, the sentences are decided again in order, each option of
    each such span getting vote · (the share of the word's flagged occurrences in other
    sentences that chose it, as decided so far; keeping is an option too): every
    occurrence's own context is a witness for the others. In order, not all at once, and
    only across sentences (the beam decides a sentence's spans together), so that two
    occurrences that disagree come to agree rather than trade places.

    With a neural LM (`restore.nlm`, weight `neural`), the beam keeps up to `hypotheses`
    sentences per two-word history, and of the sentences it ends with, those within `margin`
    of its best, the one with the best score + neural · log P_neural(sentence) wins: a
    whole-sentence model judges the few sentences the trigram's beam found best (the margin
    spares it sentences too far behind to win, which is most of its work).

    The keep bonus is there for text that may be clean, where every edit is a change to a
    reporter's word. In a document whose words say surely that a spinner spun it (evidence
    at least `surely_spun`, a log Bayes factor) a doubtful flag is likelier a swap, and the
    bonus is `keep_spun` instead.
    """

    WEIGHTS = {"lm": 1.0, "spun": 1.0, "candidate": 1.0, "keep": 0.0, "frequency": 0.0, "vote": 0.0,
               "beam": 8, "surely_spun": math.inf, "keep_spun": 0.0, "neural": 0.0, "hypotheses": 4,
               "margin": math.inf}

    def __init__(self, lm: KneserNeyTrigram | None = None, weights: dict | None = None, nlm: NeuralLM | None = None):
        """`weights`: any of WEIGHTS; a name it lacks (a typo, or a weight of an older config such as
        "attested", removed in session 23) is an error, not a weight silently ignored."""
        unknown = sorted(set(weights or {}) - set(self.WEIGHTS))
        if unknown:
            raise RestoreError(f"unknown rewriter weight(s) {', '.join(unknown)}; known: {', '.join(self.WEIGHTS)} "
                               f"(an older language model directory: rebuild its config.json with scripts/build_lm.py)")
        self.lm = lm
        self.w = {**self.WEIGHTS, **(weights or {})}
        self.nlm = nlm if self.w["neural"] else None

    def __call__(self, doc: Document) -> Document:
        return self.run([doc])[0]

    def run(self, docs: list[Document]) -> list[Document]:
        """Rewrite the documents (their edits set): the first pass decides all their sentences
        together, one batch for the neural LM; the vote's second pass goes document by document."""
        if self.lm is None:
            for doc in docs:
                doc.edits = [Edit(s.start, s.end, s.text, s.candidates[0].text, s.score) for s in doc.spans
                             if s.candidates]
            return docs
        plans = [self._plan(doc) for doc in docs]
        jobs = [(doc.text, a, b, inside, keep, None) for doc, (_, sentences, keep) in zip(docs, plans)
                for a, b, inside in sentences]
        neural = CachedNLM(self.nlm) if self.nlm else None  # for this call: memory stays bounded
        decided = iter(self._choose(jobs, neural))
        for doc, (spans, sentences, keep) in zip(docs, plans):
            chosen = {e.start: e for _ in sentences for e in next(decided)}
            if self.w["vote"]:
                self._second_pass(doc.text, spans, sentences, keep, chosen, neural)
            doc.edits = sorted(chosen.values(), key=lambda e: e.start)
        return docs

    def _plan(self, doc: Document) -> tuple[list[Span], list[tuple[int, int, list[Span]]], float]:
        """A document's spans with candidates, its sentences that have some, and its keep bonus."""
        spans = [s for s in doc.spans if s.candidates]
        surely = doc.evidence is not None and doc.evidence >= self.w["surely_spun"]
        return spans, spans_by_unit(doc.text, spans), self.w["keep_spun"] if surely else self.w["keep"]

    def pools(self, docs: list[Document]) -> list[list[tuple[int, int, list[tuple[float, str]]]]]:
        """What the neural LM chooses among in each document's first pass: per sentence text[a:b]
        that has spans, the beam's final sentences within `margin` of its best, with their beam
        scores, best first (`scripts/probe_rerank.py` fine-tunes the neural LM to choose among them)."""
        out = []
        for doc in docs:
            _, sentences, keep = self._plan(doc)
            out.append([(a, b, [(score, _rewritten(doc.text, a, b, edits))
                                for score, edits in self._hypotheses((doc.text, a, b, inside, keep, None))])
                        for a, b, inside in sentences])
        return out

    def _second_pass(self, text: str, spans: list[Span], sentences: list[tuple[int, int, list[Span]]], keep: float,
                     chosen: dict[int, Edit], neural: CachedNLM | None) -> None:
        """The vote: in order, each sentence with a word flagged elsewhere too decided again (`chosen`
        updated), seeing the latest decisions."""
        occurrences: dict[str, list[int]] = {}
        for s in spans:
            occurrences.setdefault(s.text.lower(), []).append(s.start)
        for a, b, inside in sentences:
            votes = {s.start: vote for s in inside
                     if (vote := self._votes([o for o in occurrences[s.text.lower()] if not a <= o < b], chosen))}
            # a vote all for what a span already has cannot change the sentence's best choice
            if any(set(vote) != {_option(chosen, start)} for start, vote in votes.items()):
                for s in inside:
                    chosen.pop(s.start, None)
                chosen.update((e.start, e) for e in self._choose([(text, a, b, inside, keep, votes)], neural)[0])

    def _votes(self, others: list[int], chosen: dict[int, Edit]) -> dict[str | None, float]:
        """Option (None: kept) -> bonus, from how the spans starting at `others` (the same word,
        in other sentences) are decided now; {} if there are none."""
        tally = Counter(_option(chosen, o) for o in others)
        return {option: self.w["vote"] * n / len(others) for option, n in tally.items()}

    def _choose(self, sentences: list[tuple[str, int, int, list[Span], float, dict | None]],
                neural: CachedNLM | None) -> list[list[Edit]]:
        """The edits of each sentence text[a:b], given its spans, keep bonus and their votes (span
        start -> option -> bonus, or None): the beam's best, or with the neural LM (`neural`, this
        run's cache of it) the best of the beam's final sentences by their score + weight · log
        P_neural (all scored in one batch)."""
        if neural is None:
            return [self._edits(items, beam_search(self.lm, [opts for _, opts in items], self.w["beam"], self.w["lm"]))
                    for items in (self._items(*sentence) for sentence in sentences)]
        hyps = [self._hypotheses(sentence) for sentence in sentences]
        texts, where = [], []
        for k, ((text, a, b, _, _, _), found) in enumerate(zip(sentences, hyps)):
            if len(found) > 1:
                for j, (_, edits) in enumerate(found):
                    where.append((k, j))
                    texts.append(_rewritten(text, a, b, edits))
        score = {kj: hyps[kj[0]][kj[1]][0] + self.w["neural"] * lp for kj, lp in zip(where, neural.logprobs(texts))}
        return [found[max(range(len(found)), key=lambda j: score.get((k, j), 0.0))][1] for k, found in enumerate(hyps)]

    def _hypotheses(self, sentence: tuple[str, int, int, list[Span], float, dict | None]
                    ) -> list[tuple[float, list[Edit]]]:
        """The beam's final sentences (`per_history` of them per two-word history) within `margin`
        of its best, as (score, edits), best first."""
        items = self._items(*sentence)
        found = beam_hypotheses(self.lm, [options for _, options in items], self.w["beam"], self.w["lm"],
                                per_history=self.w["hypotheses"])
        return [(score, self._edits(items, chosen)) for score, chosen in found
                if score >= found[0][0] - self.w["margin"]]

    def _items(self, text: str, a: int, b: int, spans: list[Span], keep_bonus: float,
               votes: dict[int, dict[str | None, float]] | None = None) -> list[Item]:
        """The sentence text[a:b] as the beam's choices: per token, a fixed word (span None), or per
        span its options, kept (value None) or replaced by a candidate, each with its cost."""
        w = self.w
        items: list[Item] = []
        k = 0
        toks = tokenize(text[a:b])
        lm_words = self.lm.words(toks)
        for i, tok in enumerate(toks):
            start = a + tok.start
            while k < len(spans) and spans[k].end <= start:
                k += 1
            span = spans[k] if k < len(spans) and spans[k].start <= start < spans[k].end else None
            if span is None:
                items.append((None, [(lm_words[i], 0.0, None)]))
            elif start == span.start:  # later tokens of a multiword span belong to its choice
                p = min(max(span.score, 1e-4), 1 - 1e-4)
                vote = (votes or {}).get(span.start, {})
                inside = takewhile(lambda tw: a + tw[0].start < span.end, zip(toks[i:], lm_words[i:]))
                kept = " ".join(w for _, w in inside)
                keep = (kept, w["spun"] * math.log(1 - p) + keep_bonus - self._common(kept) + vote.get(None, 0.0),
                        None)
                items.append((span, [keep] + [
                    (c.text.lower(), w["spun"] * math.log(p) + w["candidate"] * math.log(max(c.score, 1e-6))
                     - self._common(c.text) + vote.get(c.text.lower(), 0.0), c.text)
                    for c in span.candidates]))
        return items

    @staticmethod
    def _edits(items: list[Item], chosen: list[str | None]) -> list[Edit]:
        """The edits one choice per item makes."""
        return [Edit(span.start, span.end, span.text, new, span.score)
                for (span, _), new in zip(items, chosen) if span is not None and new is not None]

    def _common(self, words: str) -> float:
        """frequency · log P_unigram of the words (the LM's own unigram, so it cancels its bias)."""
        if not self.w["frequency"]:
            return 0.0
        return self.w["frequency"] * sum(self.lm.unigram_logprob(x) for x in words.lower().split())


def _rewritten(text: str, a: int, b: int, edits: list[Edit]) -> str:
    """The sentence text[a:b] with the edits made (each in its span's capitalisation)."""
    return replace_spans(text[a:b], ((e.start - a, e.end - a, match_case(e.new, e.old)) for e in edits))


def _option(chosen: dict[int, Edit], start: int) -> str | None:
    """What the span at `start` was given (lowercased), or None if it was kept."""
    return chosen[start].new.lower() if start in chosen else None


def spans_by_unit(text: str, spans: list[Span]) -> list[tuple[int, int, list[Span]]]:
    """Each sentence unit of `text` that has spans starting in it, with those spans (in order)."""
    out: list[tuple[int, int, list[Span]]] = []
    it = iter(spans)
    pending = next(it, None)
    for a, b in units(text):
        inside = []
        while pending is not None and pending.start < b:
            if pending.start >= a:
                inside.append(pending)
            pending = next(it, None)
        if inside:
            out.append((a, b, inside))
    return out


class Seq2SeqRewriter:
    """The T5 rewriter. Span mode (the design): per sentence, generate replacements for its
    flagged spans only. Sentence mode (the plain baseline it is measured against): every
    sentence is rewritten whole, whatever was flagged."""

    def __init__(self, model_dir: Path | str, batch_size: int = 32):
        from restore.model import load_rewriter

        self.tok, self.model = load_rewriter(Path(model_dir))
        meta = Path(model_dir) / "restore.json"
        self.mode = json.loads(meta.read_text()).get("train_config", {}).get("mode", "spans") \
            if meta.is_file() else "spans"
        self.batch_size = batch_size

    def run(self, docs: list[Document]) -> list[Document]:
        return [self(doc) for doc in docs]

    def __call__(self, doc: Document) -> Document:
        from restore.train import generate_replacements, generate_sentences

        doc.edits = []
        if self.mode == "sentence":
            todo = units(doc.text)  # every sentence, flagged or not
            for i in range(0, len(todo), self.batch_size):
                chunk = todo[i : i + self.batch_size]
                for (a, b), new in zip(chunk, generate_sentences(self.tok, self.model,
                                                                 [doc.text[a:b] for a, b in chunk])):
                    if new != doc.text[a:b] and "\n" not in new:
                        doc.edits.append(Edit(a, b, doc.text[a:b], new, 1.0))
            return doc
        by_unit = [(a, b, inside[:16]) for a, b, inside in spans_by_unit(doc.text, doc.spans)]
        for i in range(0, len(by_unit), self.batch_size):
            chunk = by_unit[i : i + self.batch_size]
            texts = [doc.text[a:b] for a, b, _ in chunk]
            marks = [[(s.start - a, s.end - a) for s in ss] for a, _, ss in chunk]
            for (_, _, ss), reps in zip(chunk, generate_replacements(self.tok, self.model, texts, marks)):
                for s, rep in zip(ss, reps):
                    if rep and "\n" not in rep and rep.lower() != s.text.lower():
                        doc.edits.append(Edit(s.start, s.end, s.text, match_case(rep, s.text), s.score))
        doc.edits.sort(key=lambda e: e.start)
        return doc


class Pipeline:
    def __init__(self, model_dir: Path | str = DEFAULT_DIR, threshold: float | None = None,
                 rewriter: Path | str | None = None, lm: Path | str | None = LM_DIR,
                 precision: str | None = None, nlm: Path | str | None = NLM_DIR, assume_spun: bool = False):
        """threshold None: the one tuned with the language model (`models/lm/config.json`), or
        without it (lm=None, or a T5 `rewriter` directory) the detector's `--no-lm` edit
        threshold; both are the best validation BLEU within a budget of clean-text changes.

        Spans are flagged by the detector's combined probability, which has asked the LM where
        lexicon and context were in doubt; but the LM is counted once in the choice: a rewriter
        that weighs candidates with it reads each span's lexicon+context probability.
        `precision`: the tagger's encoder's (`Detector`) and the neural LM's. `nlm`: the neural LM
        that rescores the beam's sentences where the LM's config gives it a weight (None: not).
        `assume_spun`: every text is known to be spun, so no document gate leaves it as it is
        (`Detector`; spun documentation, which the documentation rule would leave alone)."""
        self.detector = Detector(model_dir, lm_dir=lm or LM_DIR, precision=precision,  # the detector asks the LM too
                                 assume_spun=assume_spun)
        # the edit threshold in a document surely spun (`CandidateRewriter`'s surely_spun): there
        # a doubtful word is likelier a swap, and the beam, with its keep bonus, decides; None: the same
        self.surely_threshold: float | None = None
        default = self.detector.calibration.get("clean_threshold", 0.5)
        if rewriter:
            self.rewriter = Seq2SeqRewriter(rewriter)
        elif lm:
            try:
                config = json.loads((Path(lm) / "config.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise RestoreError(f"language model at {lm} has no readable config.json: {e}") from None
            weights = dict(config.get("rewrite") or {})
            neural = None
            if weights.get("neural") and nlm:
                neural = load_neural(nlm, precision or "auto")
            elif weights.get("neural"):  # left out: the keep bonus tuned without it (`build_lm.py`)
                weights["neural"], weights["keep"] = 0.0, config.get("tuned", {}).get("keep_without_neural", weights["keep"])
            self.rewriter = CandidateRewriter(self.detector.lm, weights, neural)
            default = config.get("min_score", default)
            # the beam weighs each span's originals in context, so it can use more than detect shows
            self.detector.n_candidates = config.get("candidates", self.detector.n_candidates)
            self.detector.second_hop = config.get("second_hop", self.detector.second_hop)
            self.detector.prior_weight = config.get("prior_weight")
            if threshold is None:  # a threshold asked for holds everywhere
                self.surely_threshold = config.get("min_score_surely")
        else:
            self.rewriter = CandidateRewriter()
        self.detector.threshold = threshold if threshold is not None else default
        lm_rewriter = isinstance(self.rewriter, CandidateRewriter) and self.rewriter.lm is not None
        self.score_signal = "lexicon+context" if lm_rewriter else "combined"

    def __call__(self, text: str) -> Document:
        return self.run([text])[0]

    def detect(self, texts: list[str], threshold: float | None = None) -> list[Document]:
        """The documents the rewriter gets, each text one piece (`run` cuts long ones): spans
        flagged by the combined probability at `threshold` (default: the pipeline's, and in a
        document surely spun its `surely_threshold`), scored by
        `score_signal`, and the evidence that the text was spun."""
        surely = None
        if threshold is None and self.surely_threshold is not None:
            surely = (self.rewriter.w["surely_spun"], self.surely_threshold)
        found = self.detector.detect_pieces(texts, "combined", isinstance(self.rewriter, CandidateRewriter),
                                            scored_by=self.score_signal, threshold=threshold, surely=surely)
        return [Document(text, spans=f.spans, evidence=f.evidence)
                for text, f in zip(texts, found)]

    def run(self, texts: list[str]) -> list[Document]:
        """Restore several documents; their sentences share batches, each keeps its own rate prior.
        A long document is restored in pieces (`block_spans`: each has its rate prior and its
        vote), the pieces `restore clean` streams."""
        docs = [Document(text) for text in texts]
        for group in grouped([(d, a, b) for d, text in enumerate(texts) for a, b in block_spans(text)]):
            pieces = self.rewriter.run(self.detect([texts[d][a:b] for d, a, b in group]))
            for (d, a, _), done in zip(group, pieces):
                docs[d].spans += [replace(s, start=a + s.start, end=a + s.end) for s in done.spans]
                docs[d].edits += [replace(e, start=a + e.start, end=a + e.end) for e in done.edits]
                if done.evidence is not None:
                    docs[d].evidence = (docs[d].evidence or 0.0) + done.evidence
        return docs

    def restore_texts(self, texts: list[str]) -> list[str]:
        """The eval harness's restorer interface: each text is its own document."""
        return [doc.restored() for doc in self.run(texts)]
