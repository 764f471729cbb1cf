"""Build the shipped lexicon (models/lexicon.json.gz) from MyThes, WordNet and corpus counts.

Needs, at build time only: `apt-get install mythes-en-us wordnet-base`, and the train
split for word counts (counts only; no text is kept).

    python scripts/build_lexicon.py --corpus ../shared/corpus/train.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

from restore.lexicon import DEFAULT_PATH, Lexicon, parse_mythes
from restore.text import tokenize

WN_POS = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
WN_FILES = {"noun": "noun", "verb": "verb", "adj": "adj", "adv": "adv"}


def count_corpus(path: Path, heads: set[str], max_words: int) -> Counter[str]:
    """Lowercase word counts, plus counts of the multiword headwords (up to max_words)."""
    counts: Counter[str] = Counter()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            words = [t.text.lower() for t in tokenize(doc["title"] + "\n" + doc["text"]) if t.is_word]
            counts.update(words)
            for n in range(2, max_words + 1):
                for i in range(len(words) - n + 1):
                    phrase = " ".join(words[i : i + n])
                    if phrase in heads:
                        counts[phrase] += 1
    return counts


def read_wordnet(root: Path) -> dict[str, list[str]]:
    """lemma -> substitutes in WordNet sense order: synset-mates, similar-to, hypernyms."""
    synsets: dict[tuple[str, str], tuple[list[str], list[tuple[str, str]]]] = {}
    for pos in WN_FILES.values():
        for line in (root / f"data.{pos}").open(encoding="latin-1"):
            if line.startswith(" "):
                continue
            parts = line.split(" | ")[0].split()
            offset, n_words = parts[0], int(parts[3], 16)
            words = [parts[4 + 2 * i].split("(")[0].replace("_", " ") for i in range(n_words)]
            k = 4 + 2 * n_words
            pointers = []
            for i in range(int(parts[k])):
                sym, target, tpos = parts[k + 1 + 4 * i : k + 4 + 4 * i]
                if sym in ("&", "@"):
                    pointers.append((target, WN_POS[tpos]))
            synsets[(offset, pos)] = (words, pointers)
    subs: dict[str, list[str]] = {}
    for pos in WN_FILES.values():
        for line in (root / f"index.{pos}").open(encoding="latin-1"):
            if line.startswith(" "):
                continue
            parts = line.split()
            lemma, n_syn = parts[0].replace("_", " "), int(parts[2])
            out = subs.setdefault(lemma, [])
            for offset in parts[-n_syn:]:
                words, pointers = synsets[(offset, pos)]
                related = list(words)
                for target in pointers:
                    related += synsets.get(target, ([], []))[0]
                out.extend(w for w in related if w.lower() != lemma and w not in out)
    return subs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mythes", type=Path, default=Path("/usr/share/mythes/th_en_US_v2.dat"))
    ap.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    ap.add_argument("--corpus", type=Path, required=True, help="train split (jsonl.gz), for counts")
    ap.add_argument("--min-count", type=int, default=3, help="keep headwords seen this often")
    ap.add_argument("--max-senses", type=int, default=8)
    ap.add_argument("--max-terms", type=int, default=10)
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = ap.parse_args()

    t0 = time.time()
    with args.mythes.open(encoding="utf-8", errors="replace") as f:
        mythes = parse_mythes(f)
    heads = {h for h in mythes if h.islower() and h.replace(" ", "").replace("-", "").isalpha()}
    counts = count_corpus(args.corpus, heads, max(h.count(" ") + 1 for h in heads))
    kept = {h for h in heads if counts[h] >= args.min_count}
    entries = {
        h: [(p, terms[: args.max_terms]) for p, terms in mythes[h][: args.max_senses] if terms]
        for h in sorted(kept)
    }
    entries = {h: s for h, s in entries.items() if s}
    wn = read_wordnet(args.wordnet)
    wordnet = {}
    for h in entries:
        have = {t for _, terms in entries[h] for t, _ in terms}
        extra = [t for t in wn.get(h, []) if t.islower() and t not in have and "-" not in t]
        if extra:
            wordnet[h] = extra[:12]
    freq = {w: c for w, c in counts.items() if c >= 2}
    lex = Lexicon(entries, wordnet, freq)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lex.save(args.out, notice=(Path(__file__).parent.parent / "models" / "LICENSE-lexicon.txt").read_text())
    print(
        f"{len(entries)} headwords ({sum(' ' in h for h in entries)} multiword), "
        f"{len(wordnet)} with WordNet extras, {len(freq)} counted words, "
        f"{len(lex.inverse)} inverse surfaces -> {args.out} "
        f"({args.out.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.0f}s"
    )


if __name__ == "__main__":
    main()
