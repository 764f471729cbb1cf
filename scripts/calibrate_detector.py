"""Count the lexicon signal on the train split and fit the detector's calibration on valid.

    python scripts/calibrate_detector.py --model models/detector

Writes lexsignal.json.gz, neighbours.json.gz and calibration.json into the model directory.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from restore.calibrate import calibrate
from restore.detect import DEFAULT_DIR
from restore.pairs import clean_sentences, valid_pairs
from restore.train import read_docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--corpus", default="../shared/corpus/train.jsonl.gz")
    ap.add_argument("--valid", default="../shared/corpus/valid.jsonl.gz")
    ap.add_argument("--n-valid", type=int, default=3000, help="validation sentences to fit on")
    ap.add_argument("--n-clean", type=int, default=3000, help="clean validation sentences for the flag budget")
    ap.add_argument("--flag-budget", type=float, default=1.5,
                    help="most flags per 1000 words of clean validation sentences (the rate prior's constraint)")
    ap.add_argument("--clean-budget", type=float, default=0.75,
                    help="most words per 1000 of clean validation sentences the --no-lm edit threshold may change")
    ap.add_argument("--policies", default="mix",
                    help="spinner presets the counts and validation pairs are spun with, comma-separated, one "
                         "drawn per document (as the tagger was trained: restore train --set policies=...)")
    ap.add_argument("--keep-signal", action="store_true",
                    help="keep the model directory's lexsignal.json.gz and neighbours.json.gz "
                         "(they depend only on lexicon and corpus)")
    args = ap.parse_args()
    t0 = time.time()
    train_docs = None if args.keep_signal else read_docs(args.corpus)
    valid = read_docs(args.valid)
    calib = calibrate(args.model, train_docs, valid_pairs(valid, args.n_valid, policies=args.policies),
                      clean_sentences(valid, args.n_clean, seed=1),
                      flag_budget=args.flag_budget, clean_budget=args.clean_budget, policies=args.policies)
    print(json.dumps(calib, indent=2))
    print(f"calibrated in {time.time() - t0:.0f}s -> {args.model}")


if __name__ == "__main__":
    main()
