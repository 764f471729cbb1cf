"""The article pipeline: text -> detected spans -> rewrite -> reassembled text.

One `Document` flows through the components; each adds to it and none touches the
text outside the spans, so names, numbers, quotes and formatting come through
byte for byte.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from restore.detect import DEFAULT_DIR, Detector, Span
from restore.text import match_case, replace_spans, units


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

    def restored(self) -> str:
        return replace_spans(self.text, ((e.start, e.end, e.new) for e in self.edits))

    def to_json(self) -> dict:
        return {"text": self.restored(), "edits": [asdict(e) for e in self.edits]}

    def diff(self, name: str = "input") -> str:
        a = self.text.splitlines(keepends=True)
        b = self.restored().splitlines(keepends=True)
        return "".join(difflib.unified_diff(a, b, fromfile=name, tofile=f"{name} (restored)"))


class CandidateRewriter:
    """Replace each flagged span by its best candidate original (capitalisation kept)."""

    def __call__(self, doc: Document) -> Document:
        doc.edits = [Edit(s.start, s.end, s.text, s.candidates[0].text, s.score)
                     for s in doc.spans if s.candidates]
        return doc


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
        by_unit: list[tuple[int, int, list[Span]]] = []
        spans = iter(doc.spans)
        pending = next(spans, None)
        for a, b in units(doc.text):
            inside = []
            while pending is not None and pending.start < b:
                if pending.start >= a:
                    inside.append(pending)
                pending = next(spans, None)
            if inside:
                by_unit.append((a, b, inside[:16]))
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
                 rewriter: Path | str | None = None):
        """threshold None: the edit threshold chosen on validation BLEU at calibration."""
        self.detector = Detector(model_dir)
        self.detector.threshold = threshold if threshold is not None else (
            self.detector.calibration.get("clean_threshold", 0.5))
        self.rewriter = Seq2SeqRewriter(rewriter) if rewriter else CandidateRewriter()

    def __call__(self, text: str) -> Document:
        return self.run([text])[0]

    def run(self, texts: list[str]) -> list[Document]:
        """Restore several documents; their sentences share batches, each keeps its own rate prior."""
        with_candidates = isinstance(self.rewriter, CandidateRewriter)
        spans = self.detector.detect_many(texts, with_candidates=with_candidates)
        return [self.rewriter(Document(t, spans=s)) for t, s in zip(texts, spans)]

    def restore_texts(self, texts: list[str]) -> list[str]:
        """The eval harness's restorer interface: each text is its own document."""
        return [doc.restored() for doc in self.run(texts)]
