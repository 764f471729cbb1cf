"""Store a T5 rewriter's or a neural LM's weights as int8 (half the size of float16; `restore.storage`).

    python scripts/quantize.py models/rewriter-spans /tmp/spans-int8
    python scripts/quantize.py models/nlm /tmp/nlm-int8

The comparison rewriters are shipped this way, which leaves room in models/ for the neural LM
(shipped in float16; int8 would halve it at the same validation loss to 3 decimals). The model
directory's restore.json and train_log*.jsonl are copied along (a neural LM's `reverse/` is
not: quantize it on its own).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from restore.model import load_rewriter, save_rewriter
from restore.nlm import hf_nlm, save_nlm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="a rewriter or neural LM directory (ours, float16)")
    ap.add_argument("out", type=Path, help="the int8 copy (a new directory)")
    args = ap.parse_args()
    if json.loads((args.src / "config.json").read_text(encoding="utf-8")).get("model_type") == "gpt2":
        save_nlm(*hf_nlm(args.src), args.out, "int8")
    else:
        tok, model = load_rewriter(args.src)
        save_rewriter(model, tok, args.out, {}, storage="int8")  # its restore.json: the source's, copied below
    for name in ["restore.json"] + [log.name for log in args.src.glob("train_log*.jsonl")]:
        shutil.copy(args.src / name, args.out / name)
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(f"{args.out}: {size:,} bytes")


if __name__ == "__main__":
    main()
