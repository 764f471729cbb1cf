"""Store a T5 rewriter's weights as int8 (half the size of float16; `restore.model.save_int8`).

    python scripts/quantize_rewriter.py models/rewriter-spans /tmp/spans-int8

The comparison rewriters are shipped this way, which leaves room in models/ for the neural
LM; the model directory's restore.json and train_log.jsonl are copied along.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from restore.model import load_rewriter, save_rewriter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="a rewriter directory (ours, float16)")
    ap.add_argument("out", type=Path, help="the int8 copy (a new directory)")
    args = ap.parse_args()
    tok, model = load_rewriter(args.src)
    meta = json.loads((args.src / "restore.json").read_text(encoding="utf-8"))
    save_rewriter(model, tok, args.out, meta, storage="int8")
    if (args.src / "train_log.jsonl").is_file():
        shutil.copy(args.src / "train_log.jsonl", args.out / "train_log.jsonl")
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"{args.out}: {size:,} bytes")


if __name__ == "__main__":
    main()
