"""Cleaning and flagging a whole corpus with `--jobs`: wall time per worker count, same output.

    python scripts/bench_corpus.py                 # the whole test split, spun; --jobs 1 and 2
    python scripts/bench_corpus.py --docs 200 --jobs 1 2 4

The test split's articles, each spun by the training mix (seed = its index), are written as
one JSON-lines corpus; each run is a fresh `restore clean CORPUS -o OUT` (or `restore detect
CORPUS --format json -o OUT`) process, timed from start to exit, model loading included, as a
user would see it. Every run's rows are compared with the one-worker run's: cleaning must give
the same rows; flagging the same spans (a candidate's score may differ in the fourth decimal,
since torch sums over a different number of threads per worker).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from restore.lexicon import load_lexicon
from restore.spin import Spinner


def spun_corpus(source: Path, dest: Path, n: int | None) -> int:
    """Write the first n documents of `source`, spun, to `dest`; returns the word count."""
    spinner = Spinner(load_lexicon())
    words = 0
    with gzip.open(source, "rt", encoding="utf-8") as f, dest.open("w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if n is not None and i == n:
                break
            doc = json.loads(line)
            text = spinner.spin(doc["text"], seed=i).spun
            words += len(text.split())
            out.write(json.dumps({"id": doc["id"], "text": text}, ensure_ascii=False) + "\n")
    return words


def timed(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "restore.cli", *args], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def without_scores(row: dict) -> list[tuple[int, int, str, list[str]]]:
    return [(s["start"], s["end"], s["text"], [c["text"] for c in s["candidates"]]) for s in row["spans"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus/test.jsonl.gz"))
    ap.add_argument("--docs", type=int, help="only the first N documents (default: all)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "spun.jsonl"
        words = spun_corpus(args.corpus, corpus, args.docs)
        docs = sum(1 for _ in corpus.open(encoding="utf-8"))
        print(f"{docs} spun test documents, {words:,} words; each run a fresh process, model load included\n")
        print("| command | --jobs | seconds | words/s | rows the same as --jobs 1 |")
        print("|---|---:|---:|---:|---|")
        for command in ("clean", "detect"):
            first: list[dict] | None = None
            for jobs in args.jobs:
                out = Path(tmp) / f"{command}-{jobs}.jsonl"
                extra = ["--format", "json"] if command == "detect" else []
                seconds = timed([command, str(corpus), *extra, "-o", str(out), "--jobs", str(jobs)])
                got = rows(out)
                first = got if first is None else first
                same = sum(a == b for a, b in zip(first, got))
                note = f"{same} of {len(got)}"
                if command == "detect" and same < len(got):
                    spans = sum(without_scores(a) == without_scores(b) for a, b in zip(first, got))
                    note += f" ({spans} with the same spans and candidates)"
                print(f"| restore {command} | {jobs} | {seconds:.1f} | {words / seconds:,.0f} | {note} |")


if __name__ == "__main__":
    main()
