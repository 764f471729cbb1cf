"""The `restore` command line: clean, detect, spin, pairs, train, eval.

Text goes to stdout unless -o; every error is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Iterable

from restore.errors import RestoreError
from restore.io import atomic_output, read_jsonl, read_text, write_text
from restore.paths import DETECTOR_DIR as DEFAULT_MODEL
from restore.paths import LM_DIR, NLM_DIR
from restore.text import block_spans, replace_spans
from restore.workers import Cleaner, Flagger, batched, ordered_map

DEFAULT_TEST = Path("data/pairs/test")


def _model_dir(args: argparse.Namespace) -> Path:
    path = args.model or DEFAULT_MODEL
    if not (path / "config.json").is_file():
        raise RestoreError(f"no model at {path}: pass --model DIR or train one with `restore train detector`")
    return path


def cmd_detect(args: argparse.Namespace) -> None:
    import json

    from restore.detect import Detector

    if _is_jsonl(args.file):
        if args.format != "json":
            raise RestoreError("a .jsonl corpus is detected with --format json (one object per document)")
        flagger = Flagger(str(_model_dir(args)), args.threshold, args.assume_spun)
        _map_jsonl(args.file, args.output, flagger, lambda spans: {"spans": spans}, "detecting", args.jobs)
        return
    text = read_text(args.file)
    detector = Detector(_model_dir(args), threshold=args.threshold, assume_spun=args.assume_spun)
    if args.format == "json":
        spans = detector.detect(text)
        write_text(json.dumps({"text": text, "spans": [s.to_dict() for s in spans]}, ensure_ascii=False) + "\n",
                   args.output)
        return
    colour = args.output in (None, "-") and sys.stdout.isatty() and "NO_COLOR" not in os.environ

    def mark(s) -> str:
        best = s.candidates[0].text if s.candidates else "?"
        return f"\033[1;31m{s.text}\033[0m\033[2m→{best}\033[0m" if colour else f"[[{s.text}->{best}]]"

    def render(block: str) -> str:
        return replace_spans(block, ((s.start, s.end, mark(s)) for s in detector.detect(block)))

    _stream((render(text[a:b]) for a, b in block_spans(text)), args.output)


def _stream(pieces: Iterable[str], dest: str | None) -> None:
    """Long inputs stream to stdout block by block; a file is still written atomically at the end."""
    if dest in (None, "-"):
        for piece in pieces:
            write_text(piece, None)
    else:
        write_text("".join(pieces), dest)


def _inputs(files: list[str]) -> list[tuple[str, str]]:
    """(path, output name) per input; a directory stands for the .txt files under it."""
    out = []
    for f in files:
        path = Path(f)
        if f != "-" and path.is_dir():
            found = sorted(q for q in path.rglob("*.txt") if q.is_file())
            if not found:
                raise RestoreError(f"{f}: no .txt files under this directory")
            out += [(str(q), str(q.relative_to(path))) for q in found]
        else:
            out.append((f, path.name if f != "-" else "stdin.txt"))
    names = [n for _, n in out]
    if len(set(names)) < len(names):
        raise RestoreError("two inputs would write the same output name; clean them in separate runs")
    return out


def _is_jsonl(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.gz"))


def _map_jsonl(source: str, dest: str | None, fn, fields, desc: str, jobs: int, batch: int = 32) -> None:
    """A JSON-lines corpus in, the same rows out (other fields kept), each updated with
    `fields` of what `fn` made of its "text" (`fn` maps a batch of texts, on `jobs`
    processes); the output file is written atomically."""
    import json

    from tqdm import tqdm

    with atomic_output(dest) as out, tqdm(desc=desc, unit=" docs", disable=None) as bar:
        batches = batched(read_jsonl(source), batch)
        for rows, results in ordered_map(fn, batches, jobs, send=lambda rows: [r["text"] for r in rows]):
            for row, result in zip(rows, results):
                row.update(fields(result))
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            bar.update(len(rows))


def cmd_clean(args: argparse.Namespace) -> None:
    inputs = _inputs(args.files or ["-"])
    if (len(inputs) > 1 or any(Path(f).is_dir() for f in args.files)) and not args.out_dir:
        raise RestoreError("several inputs (or a directory) need --out-dir DIR")
    if args.out_dir and args.output:
        raise RestoreError("use -o for one input or --out-dir for several, not both")
    corpora = [f for f, _ in inputs if _is_jsonl(f)]
    if corpora and (len(inputs) > 1 or args.format != "text"):
        raise RestoreError("a .jsonl corpus is cleaned on its own, with --format text")
    texts = [] if corpora else [(f, name, read_text(f)) for f, name in inputs]  # check all before writing
    cleaner = Cleaner(str(_model_dir(args)), args.threshold, args.rewriter and str(args.rewriter),
                      args.lm and str(args.lm), args.nlm and str(args.nlm), args.assume_spun)
    if corpora:
        dest = str(args.out_dir / inputs[0][1]) if args.out_dir else args.output
        _map_jsonl(corpora[0], dest, cleaner, lambda doc: {"text": doc.restored(), "restore_edits": len(doc.edits)},
                   "cleaning", args.jobs)
        return
    if not args.out_dir:  # one input: long texts stream to stdout piece by piece
        (name, _, text), = texts
        if args.format == "text":
            _stream((cleaner.pipeline()(text[a:b]).restored() for a, b in block_spans(text)), args.output)
        else:
            write_text(_formatted(name, cleaner.pipeline()(text), args.format), args.output)
        return
    batches = batched(texts, 16)
    for batch, docs in ordered_map(cleaner, batches, args.jobs, send=lambda b: [text for _, _, text in b]):
        for (name, out_name, _), doc in zip(batch, docs):
            write_text(_formatted(name, doc, args.format), str(args.out_dir / out_name))


def _formatted(name: str, doc, fmt: str) -> str:
    import json

    if fmt == "json":
        return json.dumps({"input": name, **doc.to_json()}, ensure_ascii=False) + "\n"
    return doc.restored() if fmt == "text" else doc.diff(name)


def cmd_spin(args: argparse.Namespace) -> None:
    from restore.lexicon import load_lexicon
    from restore.spin import Policy, Spinner, presets, with_rate

    policies = presets(args.policy)
    if args.rate is not None:
        if not 0 <= args.rate <= 1:
            raise RestoreError("--rate must be between 0 and 1")
        policies = [with_rate(policy or Policy(), args.rate) for policy in policies]
    text = read_text(args.file)
    result = Spinner(load_lexicon(args.lexicon), policies).spin(text, seed=args.seed)
    write_text(result.spun, args.output)
    if args.stats:
        words = len(text.split())
        swapped = sum(len(e.clean.split()) for e in result.edits)
        print(f"{swapped}/{words} words swapped ({100 * swapped / max(words, 1):.1f}%), "
              f"{len(result.spun.split())} words out, lines {text.count(chr(10))} -> {result.spun.count(chr(10))}",
              file=sys.stderr)


def cmd_pairs(args: argparse.Namespace) -> None:
    from restore.pairs import build_pairs

    pairs = build_pairs(args.corpus, args.out, seed=args.seed, n=args.n, level=args.level,
                        policy=args.policy, clean_share=args.clean_share, num_proc=args.num_proc,
                        lexicon_path=args.lexicon)
    print(f"{len(pairs)} {args.level} pairs -> {args.out}", file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> None:
    from restore.evaluate import evaluate, format_sacre, format_table, identity, naive_reversal

    if args.hyp or args.ref:
        if not (args.hyp and args.ref):
            raise RestoreError("--hyp and --ref go together")
        hyps = read_text(args.hyp, allow_empty=True).removeprefix("\ufeff").splitlines()
        refs = read_text(args.ref, allow_empty=True).removeprefix("\ufeff").splitlines()
        if len(hyps) != len(refs):
            raise RestoreError(f"--hyp has {len(hyps)} lines but --ref has {len(refs)}")
        print(format_sacre(hyps, refs))
        return
    from restore.lexicon import load_lexicon
    from restore.pairs import load_pairs

    rows = list(load_pairs(args.pairs))
    if args.limit:
        rows = rows[: args.limit]
    lex = load_lexicon(args.lexicon)
    restorers = {"identity": identity, "naive reversal": naive_reversal(lex)}
    if args.strong:
        from restore.ngram import KneserNeyTrigram, NoisyChannel, corpus_sentences

        print(f"building the KN trigram LM from {args.corpus} ...", file=sys.stderr)
        restorers["noisy channel (KN trigram)"] = NoisyChannel(KneserNeyTrigram.build(corpus_sentences(args.corpus)), lex)
    if args.model or (args.model is None and (DEFAULT_MODEL / "config.json").is_file()):
        from restore.pipeline import Pipeline

        pipe = Pipeline(_model_dir(args), threshold=args.threshold, lm=args.lm, nlm=args.nlm)
        with_lm = " + LM" + (" + neural LM" if pipe.rewriter.nlm else "") if args.lm else ""
        restorers[f"restore (detector + candidates{with_lm})"] = pipe.restore_texts
        if args.rewriter:
            restorers["restore (detector + T5 rewriter)"] = Pipeline(_model_dir(args), threshold=args.threshold,
                                                                     rewriter=args.rewriter).restore_texts
    reports = [evaluate(name, fn, rows) for name, fn in restorers.items()]
    print(format_table(reports, title=f"{len(rows)} pairs from {args.pairs}"))


def cmd_train(args: argparse.Namespace) -> None:
    from restore.train import (CONFIG, NLM_CONFIG, REWRITER_CONFIG, apply_overrides, train_detector, train_nlm,
                               train_rewriter)

    configs = {"detector": (CONFIG, train_detector), "rewriter": (REWRITER_CONFIG, train_rewriter),
               "nlm": (NLM_CONFIG, train_nlm)}
    cfg, train = dict(configs[args.what][0]), configs[args.what][1]
    for key in ("corpus", "valid", "out", "run", "init", "max_steps", "max_minutes", "batch_size", "lr", "device"):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = str(value) if isinstance(value, Path) else value
    train(apply_overrides(cfg, args.set), resume=args.resume)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return int(value)


def _probability(value: str) -> float:
    """A threshold is a probability: 2 or -1 would flag nothing or everything without a word."""
    try:
        p = float(value)
    except ValueError:
        p = math.nan
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, not {value!r}")
    return p


def build_parser() -> argparse.ArgumentParser:
    from restore import __version__

    ap = argparse.ArgumentParser(prog="restore", description="Turn machine-spun articles back into clean text.")
    ap.add_argument("--version", action="version", version=f"restore {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    def add_lexicon(p: argparse.ArgumentParser) -> None:
        from restore.lexicon import DEFAULT_PATH

        p.add_argument("--lexicon", type=Path, default=DEFAULT_PATH, help="built lexicon (json.gz)")

    def add_model(p: argparse.ArgumentParser, rewriter: bool = True) -> None:
        p.add_argument("--model", type=Path, help="detector model directory (default: the shipped one)")
        p.add_argument("--threshold", type=_probability, default=None if rewriter else 0.5,
                       help="flag words scoring at least this (clean: default tuned on validation, best BLEU "
                            "within a budget of changes to clean text, lower in a text surely spun; given, it "
                            "holds everywhere; detect: 0.5, even odds)")
        p.add_argument("--assume-spun", action="store_true",
                       help="every input is known to be spun: restore it even where restore would judge it "
                            "unspun or documentation and leave it alone (then clean text is edited too)")
        if rewriter:
            p.add_argument("--rewriter", type=Path, help="T5 rewriter directory (default: best candidate in context)")
            p.add_argument("--lm", type=Path, default=LM_DIR,
                           help="trigram LM that the detector asks and that weighs the candidates in context "
                                "(default: the shipped one)")
            p.add_argument("--no-lm", dest="lm", action="store_const", const=None,
                           help="take each span's best candidate alone (the detector still asks the shipped LM)")
            p.add_argument("--nlm", type=Path, default=NLM_DIR,
                           help="neural LM that rescores the beam's best sentences (default: the shipped one)")
            p.add_argument("--no-nlm", dest="nlm", action="store_const", const=None,
                           help="the trigram LM's beam alone")

    def add_jobs(p: argparse.ArgumentParser) -> None:
        p.add_argument("-j", "--jobs", type=_positive, default=1,
                       help="worker processes for a corpus or many files, each loading the models once "
                            "(default 1; one input is one process)")

    p = sub.add_parser("clean", help="restore spun text (the main job)")
    p.add_argument("files", nargs="*", help="text files, directories (their *.txt files), a .jsonl[.gz] corpus "
                                            'with a "text" field, or - for stdin (default)')
    p.add_argument("-o", "--output", help="write here instead of stdout (one input)")
    p.add_argument("--out-dir", type=Path, help="write each input's result here, same file name")
    p.add_argument("--format", choices=["text", "json", "diff"], default="text")
    add_jobs(p)
    add_model(p)
    p.set_defaults(func=cmd_clean)

    p = sub.add_parser("detect", help="flag spun words with scores and candidate originals")
    p.add_argument("file", nargs="?", default="-",
                   help='text file, - for stdin, or a .jsonl[.gz] corpus with a "text" field '
                        "(with --format json: one object per document, its spans added)")
    p.add_argument("-o", "--output", help="write here instead of stdout")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_jobs(p)
    add_model(p, rewriter=False)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("spin", help="spin clean text (synthetic spinner)")
    p.add_argument("file", nargs="?", default="-", help="text file, or - for stdin")
    p.add_argument("-o", "--output", help="write here instead of stdout")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=float, help="share of eligible words swapped (overrides the policy's)")
    p.add_argument("--policy", default="seedlike",
                   help="seedlike | token | smart | chained | bare | mix, or several comma-separated, one drawn per input")
    p.add_argument("--stats", action="store_true", help="print how many words were swapped (stderr)")
    add_lexicon(p)
    p.set_defaults(func=cmd_spin)

    p = sub.add_parser("pairs", help="make spun/clean pairs from a corpus split")
    p.add_argument("--corpus", type=Path, required=True, help="jsonl.gz with a 'text' field")
    p.add_argument("--out", type=Path, required=True, help="output directory (datasets save_to_disk)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, help="keep this many pairs (after shuffling)")
    p.add_argument("--level", choices=["sentence", "paragraph"], default="sentence")
    p.add_argument("--policy", default="mix",
                   help="mix (per document) | seedlike | token | smart | chained | bare, or several "
                        "comma-separated, one drawn per document (a name repeated weighs it)")
    p.add_argument("--clean-share", type=float, default=0.1, help="share of units left unspun")
    p.add_argument("--num-proc", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    add_lexicon(p)
    p.set_defaults(func=cmd_pairs)

    p = sub.add_parser("train", help="train a model on pairs spun on the fly")
    p.add_argument("what", choices=["detector", "rewriter", "nlm"],
                   help="which model (nlm: the neural LM that rescores the beam)")
    p.add_argument("--corpus", type=Path, help="train split (jsonl.gz)")
    p.add_argument("--valid", type=Path, help="validation split (jsonl.gz)")
    p.add_argument("--out", type=Path, help="export the best model here")
    p.add_argument("--run", type=Path, help="run directory: checkpoints, log.jsonl")
    p.add_argument("--init", type=Path, help="start from this model directory (rewriter: any local HF seq2seq)")
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", help="cpu or cuda")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any training config entry, e.g. --set d_model=320 --set workers=12")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="BLEU/chrF of files, or restorers on a pair set")
    p.add_argument("--hyp", help="hypothesis file, one segment a line")
    p.add_argument("--ref", help="reference file, line-aligned with --hyp")
    p.add_argument("--pairs", type=Path, default=DEFAULT_TEST, help="pair set (default: the standard test set)")
    p.add_argument("--limit", type=int, help="only the first N pairs")
    p.add_argument("--strong", action="store_true", help="also run the KN-trigram noisy-channel baseline (slow)")
    p.add_argument("--corpus", type=Path, default=Path("../shared/corpus/train.jsonl.gz"),
                   help="train split for the --strong baseline's language model")
    add_lexicon(p)
    add_model(p)
    p.set_defaults(func=cmd_eval)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except RestoreError as e:
        print(f"restore: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("restore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as e:  # the disk filled or a file vanished mid-run: one line, as for any bad input
        where = f" ({e.filename})" if e.filename else ""
        print(f"restore: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
