import gzip
import json

from restore.pairs import MAX_WORDS, MIN_WORDS, build_pairs, clean_sentences, load_pairs
from restore.spin import Edit, unspin
from tests.conftest import TEXT


def _corpus(tmp_path, n=6):
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"d{i}", "title": "t", "text": TEXT}) + "\n")
    return path


def test_pairs_are_aligned_and_reproducible(tmp_path, lexicon_path):
    corpus = _corpus(tmp_path)
    a = build_pairs(corpus, tmp_path / "a", seed=0, lexicon_path=lexicon_path, clean_share=0.3)
    b = build_pairs(corpus, tmp_path / "b", seed=0, lexicon_path=lexicon_path, clean_share=0.3, num_proc=2)
    assert list(a) == list(b)  # independent of num_proc
    rows = list(load_pairs(tmp_path / "a"))
    assert len(rows) == 6 * 4  # four sentences of 4+ words per document
    assert any(r["spans"] for r in rows) and any(not r["spans"] for r in rows)
    for r in rows:
        edits = [Edit(0, 0, s["start"], s["end"], s["orig"], r["spun"][s["start"]:s["end"]]) for s in r["spans"]]
        assert unspin(r["spun"], edits) == r["clean"]
        assert r["clean"] in TEXT


def test_pairs_from_several_policies_and_a_bad_name(tmp_path, lexicon_path):
    import pytest

    from restore.errors import RestoreError

    corpus = _corpus(tmp_path)
    mixed = build_pairs(corpus, tmp_path / "m", seed=1, policy="seedlike,bare", lexicon_path=lexicon_path)
    assert list(mixed) == list(build_pairs(corpus, tmp_path / "m2", seed=1, policy="seedlike,bare",
                                           lexicon_path=lexicon_path))
    assert list(mixed) != list(build_pairs(corpus, tmp_path / "s", seed=1, policy="seedlike",
                                           lexicon_path=lexicon_path))
    with pytest.raises(RestoreError, match="unknown policy 'nope'"):
        build_pairs(corpus, tmp_path / "x", policy="mix,nope", lexicon_path=lexicon_path)
    assert not (tmp_path / "x").exists()


def test_paragraph_level_and_n(tmp_path, lexicon_path):
    rows = build_pairs(_corpus(tmp_path), tmp_path / "p", level="paragraph", n=5, lexicon_path=lexicon_path)
    assert len(rows) == 5
    assert all(r["clean"] in TEXT.split("\n") or r["clean"] + "\r" in TEXT.split("\n") for r in rows)


def test_clean_sentences_are_unspun_rows():
    rows = clean_sentences([TEXT, TEXT], n=5, seed=3)
    assert len(rows) == 5 and rows == clean_sentences([TEXT, TEXT], n=5, seed=3)
    for r in rows:
        assert r["spun"] == r["clean"] and r["spans"] == [] and r["clean"] in TEXT
        assert MIN_WORDS <= len(r["clean"].split()) <= MAX_WORDS
    assert len(clean_sentences([TEXT], n=100)) == 4  # no more than there are
