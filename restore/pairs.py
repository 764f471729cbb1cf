"""Spun/clean pair data with `datasets`: corpus documents -> spun sentences or paragraphs.

Each document is spun whole (so per-type decisions hold across its sentences), then
cut into units. A share of units is reverted to clean so models learn to leave
clean text alone. Seeds are per document, so the result does not depend on num_proc.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from restore.errors import RestoreError
from restore.lexicon import load_lexicon
from restore.spin import Edit, Spinner, presets
from restore.text import sentence_spans

MIN_WORDS, MAX_WORDS = 4, 80


def _units(text: str, level: str) -> list[tuple[int, int]]:
    """[start, end) of the paragraphs or sentences of a document."""
    spans, start = [], 0
    for para in text.split("\n"):
        if para.strip():
            if level == "paragraph":
                spans.append((start, start + len(para)))
            else:
                spans.extend((start + a, start + b) for a, b in sentence_spans(para))
        start += len(para) + 1
    return spans


def spin_document(text: str, spinner: Spinner, seed: int, level: str,
                  clean_share: float) -> list[dict[str, Any]]:
    """Spin one document and cut it into (spun, clean, spans) units."""
    res = spinner.spin(text, seed=seed)
    rng = random.Random(seed ^ 0x5EED)
    rows, k = [], 0
    edits = res.edits
    for a, b in _units(text, level):
        while k < len(edits) and edits[k].clean_start < a:
            k += 1
        inside: list[Edit] = []
        while k < len(edits) and edits[k].clean_end <= b:
            inside.append(edits[k])
            k += 1
        clean = text[a:b]
        if not MIN_WORDS <= len(clean.split()) <= MAX_WORDS:
            continue
        if rng.random() < clean_share:
            inside = []
        spun, pos, spans = [], a, []
        for e in inside:  # rebuild the unit from the edits kept
            spun.append(text[pos : e.clean_start])
            s0 = sum(map(len, spun))
            spun.append(e.spun)
            spans.append({"start": s0, "end": s0 + len(e.spun), "orig": e.clean})
            pos = e.clean_end
        spun.append(text[pos:b])
        rows.append({"spun": "".join(spun), "clean": clean, "spans": spans})
    return rows


def build_pairs(corpus: Path, out: Path, seed: int = 0, n: int | None = None,
                level: str = "sentence", policy: str = "mix", clean_share: float = 0.1,
                num_proc: int = 1, lexicon_path: Path | None = None):
    """Make a pair set from a corpus split and save it with `save_to_disk`."""
    from datasets import load_dataset

    if not corpus.is_file():
        raise RestoreError(f"corpus not found: {corpus}")
    policies = presets(policy)  # "mix", "bare", "mix,bare": checked before any work
    docs = load_dataset("json", data_files=str(corpus), split="train")
    lex_arg = str(lexicon_path) if lexicon_path else None

    def make(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        lex = load_lexicon(lex_arg) if lex_arg else load_lexicon()
        spinner = Spinner(lex, policies)
        cols: dict[str, list] = {"id": [], "spun": [], "clean": [], "spans": []}
        for doc_id, text, idx in zip(batch["id"], batch["text"], indices):
            for j, row in enumerate(spin_document(text, spinner, seed * 1_000_003 + idx, level, clean_share)):
                cols["id"].append(f"{doc_id}#{j}")
                for key in ("spun", "clean", "spans"):
                    cols[key].append(row[key])
        return cols

    pairs = docs.map(make, batched=True, batch_size=64, with_indices=True, num_proc=num_proc,
                     remove_columns=docs.column_names, desc="spinning")
    pairs = pairs.shuffle(seed=seed)
    if n is not None:
        pairs = pairs.select(range(min(n, len(pairs))))
    pairs = pairs.flatten_indices()
    out.mkdir(parents=True, exist_ok=True)
    pairs.save_to_disk(str(out))
    return pairs


def load_pairs(path: Path):
    from datasets import load_from_disk

    if not path.is_dir():
        raise RestoreError(f"pair set not found: {path} (make one with `restore pairs`)")
    return load_from_disk(str(path))


def clean_sentences(docs: list[str], n: int, seed: int = 0) -> list[dict]:
    """n unspun sentences of the documents as harness rows (spun == clean, no spans).

    Restorers and detectors are scored on these for what they do to clean text: the
    clean rows of a pair set are too few (a tenth of it) to tell 1 change per 1000
    words from 2."""
    sents = [d[a:b] for d in docs for a, b in _units(d, "sentence") if MIN_WORDS <= len(d[a:b].split()) <= MAX_WORDS]
    return [{"spun": s, "clean": s, "spans": []} for s in random.Random(seed).sample(sents, min(n, len(sents)))]


def spun_articles(docs: list[str], spinner: Spinner, seed: int = 0) -> list[dict]:
    """Whole documents spun (the spinner's policy, or one drawn per document), as harness rows:
    the document-level figures, where a spinner's per-document habits show."""
    rows = []
    for i, doc in enumerate(docs):
        res = spinner.spin(doc, seed=seed * 1_000_003 + i)
        spans = [{"start": e.spun_start, "end": e.spun_end, "orig": e.clean} for e in res.edits]
        rows.append({"spun": res.spun, "clean": doc, "spans": spans})
    return rows


def validation_articles(docs: list[str], n: int, policies: str = "mix") -> tuple[list[dict], list[dict]]:
    """Documents n..2n spun with the policy mix (or `policies`), and documents 0..n unspun, as
    harness rows: the whole articles the rewriter's document-level weights are tuned on."""
    spun = spun_articles(docs[n : 2 * n], Spinner(load_lexicon(), presets(policies)), seed=9)
    return spun, [{"spun": d, "clean": d, "spans": []} for d in docs[:n]]


def valid_pairs(docs: list[str], n: int, seed: int = 1, policies: str = "mix") -> list[dict]:
    """Sentence pairs from the valid split, spun with the policy mix or `policies` (for calibration)."""
    spinner = Spinner(load_lexicon(), presets(policies))
    rows = [r for i, d in enumerate(docs) for r in spin_document(d, spinner, seed * 1_000_003 + i, "sentence", 0.15)]
    return random.Random(seed).sample(rows, min(n, len(rows)))
