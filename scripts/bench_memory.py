"""Peak memory of `restore clean` on long one-line inputs: it should not grow with the input.

    python scripts/bench_memory.py                       # 50,000 and 200,000 words, text and json
    python scripts/bench_memory.py --words 100000 400000

Each input is the standard test set's spun sentences, repeated, on one line (no line end to cut
at: the hardest case for reading in pieces). Each run is a fresh `restore clean` process; its
peak resident memory is the child's ru_maxrss.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from restore.pairs import build_pairs, load_pairs


def peak_run(args: list[str]) -> tuple[float, float]:
    """(peak MB, seconds) of one child process; ru_maxrss of children is the largest so far,
    so each run goes through its own intermediate process."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe, *args], check=True, capture_output=True, text=True)
    mb, seconds = out.stdout.split()
    return float(mb), float(seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=Path("data/pairs/test"))
    ap.add_argument("--test-corpus", default="../shared/corpus/test.jsonl.gz")
    ap.add_argument("--words", type=int, nargs="+", default=[50_000, 200_000])
    args = ap.parse_args()
    if not args.pairs.is_dir():
        build_pairs(Path(args.test_corpus), args.pairs, seed=0, n=2000)
    words = " ".join(r["spun"] for r in load_pairs(args.pairs)).split()
    restore = str(Path(sys.executable).with_name("restore"))
    print("| input words (one line) | format | peak memory MB | seconds | words/s |\n|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.words:
            src = Path(tmp) / f"in{n}.txt"
            src.write_text(" ".join((words * (n // len(words) + 1))[:n]) + "\n", encoding="utf-8")
            for fmt in ("text", "json"):
                mb, seconds = peak_run([restore, "clean", str(src), "--format", fmt, "-o", str(Path(tmp) / "out")])
                print(f"| {n:,} | {fmt} | {mb:,.0f} | {seconds:.1f} | {n / seconds:,.0f} |")


if __name__ == "__main__":
    main()
