"""Out of the corpus's time and field: restore on news written in today's style, and on technical prose.

    python scripts/bench_modern.py                      # scripts/modern/*.txt, 4 policies x 5 seeds
    python scripts/bench_modern.py --texts DIR --seeds 10
    python scripts/bench_modern.py --texts python-docs --policies mix --seeds 1
    python scripts/bench_modern.py --texts package-docs --policies mix --seeds 1
    python scripts/bench_modern.py --texts licences --policies mix --seeds 1

The corpus is 1987 Reuters and 2004-05 BBC, and every test figure inherits its habits ("5
pct", "two mln", "e-mail"). The articles in scripts/modern/ were written for this benchmark
(AI phones, a spending bill, Covid, a rail closure: nothing copied from the corpus), so they
show what the corpus cannot: whether restore leaves a modern text alone, and how well it
undoes a spin of one. Each article is spun whole by each policy with several seeds and
restored as one document; the table gives BLEU against the article, the share of swaps put
back, and the edits to words the spinner left alone, per 1000 such words. Unspun, each article
is also restored whole and paragraph by paragraph, and the commonest edits are listed.

Three sources of text far from news are read from this environment rather than shipped:
`python-docs`, the topics of the Python language reference that `help()` shows (the standard
library's `pydoc_data`: hard-wrapped prose with grammar rules and code, one document a topic),
`package-docs`, the prose paragraphs of the descriptions of the packages installed at
constraints.txt's pins (`package_prose`), and `licences`, the licence texts a Debian system
keeps in /usr/share/common-licenses (legal prose, hard-wrapped; each text once).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from importlib import metadata
from pathlib import Path

from restore.evaluate import edit_outcomes, sacre_scores
from restore.lexicon import load_lexicon
from restore.pipeline import Pipeline
from restore.spin import Spinner, presets
from restore.text import paragraphs as text_paragraphs

HERE = Path(__file__).parent / "modern"
CONSTRAINTS = Path(__file__).parent.parent / "constraints.txt"


def python_reference() -> list[str]:
    """The Python language reference's topics as `help()` shows them (standard library)."""
    from pydoc_data.topics import topics

    return [topics[name] for name in sorted(topics)]


def package_prose(min_paragraphs: int = 3) -> list[str]:
    """The prose of each installed package pinned in constraints.txt: the paragraphs of its
    description that start like a sentence, are at least 80 characters long, and hold no link,
    table, code or markup (at most 5% of their characters other than letters, spaces and
    sentence punctuation); a package with fewer such paragraphs is left out."""
    pinned = {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
              for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines() if "==" in line}
    docs = {}
    for dist in metadata.distributions():
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
        if name not in pinned or name in docs:
            continue
        body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
        keep = []
        for para in re.split(r"\n\s*\n", body):
            line = " ".join(para.split())
            if (len(line) >= 80 and re.match(r"[A-Z][a-z]", line)
                    and sum(c.isalpha() or c in " ,.;:'\"()-" for c in line) >= 0.95 * len(line)
                    and not any(mark in line for mark in ("```", "::", ">>>", "http", "|"))):
                keep.append(para.strip())
        if len(keep) >= min_paragraphs:
            docs[name] = "\n\n".join(keep) + "\n"
    return [docs[name] for name in sorted(docs)]


def licences(where: Path = Path("/usr/share/common-licenses")) -> list[str]:
    """The licence texts of a Debian system, each once (GPL is a link to GPL-3, and so on)."""
    files = {path.resolve() for path in where.glob("*") if path.is_file()}
    return [path.read_text(encoding="utf-8") for path in sorted(files)]


SOURCES = {"python-docs": python_reference, "package-docs": package_prose, "licences": licences}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", default=str(HERE),
                    help=f"a directory of clean .txt articles, or {' or '.join(SOURCES)} (read from this environment)")
    ap.add_argument("--policies", default="seedlike,mix,bare,chained")
    ap.add_argument("--seeds", type=int, default=5, help="spins of each article per policy")
    ap.add_argument("--assume-spun", action="store_true", help="restore as `restore clean --assume-spun` does")
    args = ap.parse_args()

    if args.texts in SOURCES:
        docs, label = SOURCES[args.texts](), args.texts
    else:
        docs = [p.read_text(encoding="utf-8") for p in sorted(Path(args.texts).glob("*.txt"))]
        label = "modern articles" if Path(args.texts) == HERE else f"articles of {args.texts}"
    if args.assume_spun:
        label += " (restored with --assume-spun)"
    words = sum(len(d.split()) for d in docs)
    pipe, lex = Pipeline(assume_spun=args.assume_spun), load_lexicon()
    unspun = [pipe(d) for d in docs]
    same = sum(doc.restored() == d for doc, d in zip(unspun, docs))
    # where the unspun gate has less to go on; a hard-wrapped text's paragraphs are between blank lines
    paragraphs = [p for d in docs for _, p in text_paragraphs(d) if p.strip()]
    para_edits = sum(len(doc.edits) for doc in pipe.run(paragraphs))
    edits = Counter(f"{e.old} → {e.new}" for doc in unspun for e in doc.edits)
    print(f"## {len(docs)} {label} ({words:,} words), unspun\n\n"
          f"{same}/{len(docs)} returned byte for byte; {edits.total()} edits ({1000 * edits.total() / words:.2f} "
          f"per 1000 words); their {len(paragraphs)} paragraphs restored one by one: {para_edits} edits\n")
    if edits:
        print("commonest edits: " + ", ".join(f"{e} ({n})" for e, n in edits.most_common(12)) + "\n")
    print(f"## The same {label} spun ({args.seeds} seeds per policy, each article one document)\n")
    print("| policy | swaps | identity BLEU | restore BLEU | swaps restored % | edits to unspun words /1000 |\n"
          "|---|---:|---:|---:|---:|---:|")
    for name in args.policies.split(","):
        spinner = Spinner(lex, presets(name))
        spun, refs, hyps = [], [], []
        swaps = right = wrong = kept_words = 0
        for seed in range(args.seeds):
            for i, clean in enumerate(docs):
                res = spinner.spin(clean, seed=seed * 1_000_003 + i)
                row = {"spans": [{"start": e.spun_start, "end": e.spun_end, "orig": e.clean} for e in res.edits]}
                doc = pipe(res.spun)
                r, w = edit_outcomes(row, doc.edits)
                swaps, right, wrong = swaps + len(res.edits), right + r, wrong + w
                kept_words += len(clean.split()) - sum(len(e.clean.split()) for e in res.edits)
                spun.append(res.spun)
                refs.append(clean)
                hyps.append(doc.restored())
        base, ours = sacre_scores(spun, refs)["BLEU"][0], sacre_scores(hyps, refs)["BLEU"][0]
        print(f"| {name} | {swaps:,} | {base:.1f} | {ours:.1f} | {100 * right / max(swaps, 1):.1f} | "
              f"{1000 * wrong / max(kept_words, 1):.1f} |")
    print(f"\nBLEU: sacrebleu, {sacre_scores(['a'], ['a'])['BLEU'][1]}")


if __name__ == "__main__":
    main()
