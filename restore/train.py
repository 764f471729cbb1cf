"""Train the detector's tagger, the T5 span rewriter and the neural LM; one loop (`fit`) serves all.

Pairs are made on the fly: train-split documents are spun with a policy drawn per
document, cut into sentences, and a share left clean. Checkpoints (safetensors +
JSON, written atomically) every few minutes; `--resume` continues a killed run;
the best checkpoint by validation score is exported to the model directory.

    restore train detector --out models/detector --run runs/detector
    restore train rewriter --out models/rewriter --run runs/rewriter [--init LOCAL_HF_T5]
    restore train nlm --out models/nlm --run runs/nlm
"""

from __future__ import annotations

import gzip
import json
import math
import random
import time
from pathlib import Path
from typing import Callable, Iterator

import sentencepiece as spm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, load_model, save_file, save_model
from tqdm import tqdm

from restore.errors import RestoreError
from restore.io import write_text
from restore.lexicon import Lexicon, load_lexicon
from restore.pairs import clean_sentences, spin_document
from restore.spin import NUMBER_WORDS, Spinner, presets
from restore.tagger import Encoded, Tagger, TaggerBundle, TaggerConfig
from restore.text import replace_spans

CONFIG = dict(
    corpus="../shared/corpus/train.jsonl.gz",
    valid="../shared/corpus/valid.jsonl.gz",
    out="models/detector",
    run="runs/detector",
    init=None,  # a TaggerBundle directory to start from
    vocab_size=8000,
    n_orig=20000,
    d_model=192,
    n_layers=4,
    n_heads=4,
    d_ff=768,
    scale_embeddings=False,
    batch_size=64,
    accum=1,  # batches per optimizer step: a CPU reaches a GPU's batch of 256 with 4 of 64
    lr=1e-3,
    warmup=300,
    max_steps=8000,
    max_minutes=600.0,
    eval_every=500,
    ckpt_minutes=5.0,
    orig_weight=0.5,
    clean_share=0.15,
    # the spinner presets training and validation pairs draw from per document ("mix,mix,bare":
    # the mix, and a third of documents spun by bare; `restore.spin.presets`)
    policies="mix",
    n_valid=1000,
    seed=0,
    device="cuda" if torch.cuda.is_available() else "cpu",
    cpu_bf16=False,
    workers=8 if torch.cuda.is_available() else 0,  # spinning processes feeding the loop
)


def apply_overrides(cfg: dict, items: list[str]) -> dict:
    """`--set KEY=VALUE` items into a training config (VALUE read as JSON where it is JSON, else a string)."""
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in cfg:
            raise RestoreError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(cfg)}")
        try:
            cfg[key] = json.loads(value)
        except json.JSONDecodeError:
            cfg[key] = value
    return cfg


# -- data ----------------------------------------------------------------------
def read_docs(path: str) -> list[str]:
    if not Path(path).is_file():
        raise RestoreError(f"corpus not found: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


class BatchStream(torch.utils.data.IterableDataset):
    """(last document counter, words, model batch) forever, from spun train documents in a seeded order.

    Documents are taken in blocks of about 8 batches of sentences; a block's sentences are
    bucketed by length (less padding) and `collate(rows, rng)` turns each bucket into
    tensors. With DataLoader workers (a GPU outruns one process) worker w builds blocks
    w, w + W, w + 2W, ...: a block's batches depend only on the seed and its documents.
    """

    def __init__(self, docs: list[str], seed: int, start_doc: int, clean_share: float, batch_size: int,
                 collate: Callable[[list[dict], random.Random], tuple], policies: str = "mix"):
        self.docs, self.seed, self.clean_share = docs, seed, clean_share
        self.policies = presets(policies)  # checked here, before any worker starts
        self.batch_size, self.collate = batch_size, collate
        self.block = max(1, batch_size // 3)  # news documents have ~25 sentences
        self.start_block = -(-start_doc // self.block)

    def __iter__(self) -> Iterator[tuple[int, int, tuple]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        spinner = Spinner(load_lexicon(), self.policies)
        b, order, order_epoch = self.start_block + worker, [], -1
        while True:
            rows = []
            for n in range(b * self.block, (b + 1) * self.block):
                epoch, k = divmod(n, len(self.docs))
                if epoch != order_epoch:
                    order, order_epoch = list(range(len(self.docs))), epoch
                    random.Random(self.seed + epoch).shuffle(order)
                rows += spin_document(self.docs[order[k]], spinner, self.seed * 7_919 + n, "sentence",
                                      self.clean_share)
            rows.sort(key=lambda r: len(r["spun"]))
            k = max(1, round(len(rows) / self.batch_size))
            chunks = [rows[len(rows) * i // k : len(rows) * (i + 1) // k] for i in range(k)]
            rng = random.Random(self.seed * 7_919 + b)
            rng.shuffle(chunks)
            for chunk in filter(None, chunks):
                yield n, sum(len(r["spun"].split()) for r in chunk), self.collate(chunk, rng)
            b += workers


def batch_stream(stream: BatchStream, workers: int = 0) -> Iterator[tuple[int, int, tuple]]:
    """The stream itself, or fed by `workers` processes in parallel."""
    if not workers:
        return iter(stream)
    return iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers, prefetch_factor=4))


def labels_for(enc: Encoded, row: dict, orig_index: dict[str, int]) -> tuple[list[int], list[int]]:
    """Per word: 1 if inside a spun span; the original's index on each span's first word (-100 elsewhere)."""
    spun, targets = [0] * len(enc.words), [-100] * len(enc.words)
    k = 0
    for s in row["spans"]:
        first = True
        while k < len(enc.words) and enc.words[k].end <= s["start"]:
            k += 1
        j = k
        while j < len(enc.words) and enc.words[j].start < s["end"]:
            spun[j] = 1
            if first:
                targets[j] = orig_index.get(s["orig"].lower(), -100)
                first = False
            j += 1
    return spun, targets


def make_batch(bundle: TaggerBundle, rows: list[dict]) -> tuple[torch.Tensor, ...]:
    encs = bundle.encode_many([r["spun"] for r in rows])
    ids = bundle.pad(encs)
    pos_b, pos_t, spun_y, orig_y = [], [], [], []
    for b, (enc, row) in enumerate(zip(encs, rows)):
        spun, targets = labels_for(enc, row, bundle.orig_index)
        for w, first in enumerate(enc.first_piece):
            if first >= 0:
                pos_b.append(b)
                pos_t.append(first)
                spun_y.append(spun[w])
                orig_y.append(targets[w])
    t = lambda x, dt=torch.long: torch.tensor(x, dtype=dt)  # noqa: E731
    return ids, t(pos_b), t(pos_t), t(spun_y, torch.float), t(orig_y)


# -- tokenizer and vocabulary ---------------------------------------------------
def train_tokenizer(docs: list[str], lex: Lexicon, run: Path, vocab_size: int, seed: int, policies: str = "mix"):
    """Sentencepiece unigram model on clean and spun sentences (spinner words are rare in clean text)."""
    spinner = Spinner(lex, presets(policies))
    lines = []
    for i, doc in enumerate(random.Random(seed).sample(docs, min(4000, len(docs)))):
        for row in spin_document(doc, spinner, seed + i, "sentence", 0.5):
            lines.append(row["spun"])
    text_file = run / "spm_input.txt"
    text_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(text_file), model_prefix=str(run / "spm"), vocab_size=vocab_size, model_type="unigram",
        character_coverage=0.9999, pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, num_threads=2,
        input_sentence_size=200_000, shuffle_input_sentence=True, minloglevel=2, hard_vocab_limit=False,
    )
    text_file.unlink()
    return spm.SentencePieceProcessor(model_file=str(run / "spm.model"))


def originals_vocab(lex: Lexicon, size: int) -> list[str]:
    """Thesaurus headwords and number words first, then frequent words; index 0 is unknown."""
    heads = sorted(lex.entries, key=lambda w: -lex.count(w))
    common = sorted((w for w in lex.freq if w.islower() and w not in lex.entries), key=lambda w: -lex.freq[w])
    vocab = ["<unk>"] + list(dict.fromkeys(list(NUMBER_WORDS) + heads + common))
    return vocab[:size]


# -- checkpoints (no pickle: safetensors + JSON) --------------------------------
def save_checkpoint(run: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, state: dict) -> None:
    save_model(model, str(run / "ckpt.tmp"))  # handles tied weights
    opt_state = opt.state_dict()
    tensors = {f"{i}.{k}": v for i, s in opt_state["state"].items() for k, v in s.items()}
    save_file(tensors, str(run / "opt.tmp"))
    (run / "ckpt.tmp").replace(run / "ckpt.safetensors")
    (run / "opt.tmp").replace(run / "opt.safetensors")
    write_text(json.dumps(state, indent=2), str(run / "state.json"))


def load_checkpoint(run: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    load_model(model, str(run / "ckpt.safetensors"))
    flat = load_file(str(run / "opt.safetensors"))
    opt_state = opt.state_dict()
    for key, v in flat.items():
        i, name = key.split(".", 1)
        opt_state["state"].setdefault(int(i), {})[name] = v
    opt.load_state_dict(opt_state)
    return json.loads((run / "state.json").read_text())


def start_state(run: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, resume: bool,
                best: float = -1.0) -> dict:
    """A new run's state (`best`: below any validation score), or with `resume` the last checkpoint's."""
    if resume and (run / "state.json").is_file():
        state = load_checkpoint(run, model, opt)
        print(f"resumed at step {state['step']}")
        return state
    return {"step": 0, "doc": 0, "best": best, "minutes": 0.0}


# -- evaluation -------------------------------------------------------------------
@torch.no_grad()
def validate(bundle: TaggerBundle, rows: list[dict], device: str) -> dict:
    """Token F1 of the spun head at 0.5 and top-1 accuracy of the originals head on spun words."""
    model = bundle.model
    model.eval()
    tp = fp = fn = ok = total = 0
    for i in range(0, len(rows), 128):
        ids, pb, pt, spun_y, orig_y = make_batch(bundle, rows[i : i + 128])
        hidden = model(ids.to(device))[pb.to(device), pt.to(device)]
        pred = model.spun_logits(hidden).cpu() > 0
        gold = spun_y.bool()
        tp += int((pred & gold).sum())
        fp += int((pred & ~gold).sum())
        fn += int((~pred & gold).sum())
        has = orig_y >= 0
        if has.any():
            top = model.orig_head(hidden[has.to(device)]).argmax(-1).cpu()
            ok += int((top == orig_y[has]).sum())
            total += int(has.sum())
    model.train()
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9), "orig_acc": ok / max(total, 1)}


# -- the loop ---------------------------------------------------------------------
def train_detector(cfg: dict, resume: bool = False) -> None:
    torch.manual_seed(cfg["seed"])
    device = cfg["device"]
    run, out = Path(cfg["run"]), Path(cfg["out"])
    run.mkdir(parents=True, exist_ok=True)
    lex = load_lexicon()
    docs = read_docs(cfg["corpus"])
    if cfg["init"]:
        bundle, _ = TaggerBundle.load(Path(cfg["init"]))
    else:
        sp = (spm.SentencePieceProcessor(model_file=str(run / "spm.model")) if (run / "spm.model").is_file()
              else train_tokenizer(docs, lex, run, cfg["vocab_size"], cfg["seed"], cfg["policies"]))
        mcfg = TaggerConfig(vocab_size=sp.get_piece_size(), n_orig=cfg["n_orig"], d_model=cfg["d_model"],
                            n_layers=cfg["n_layers"], n_heads=cfg["n_heads"], d_ff=cfg["d_ff"],
                            scale_embeddings=cfg["scale_embeddings"])
        bundle = TaggerBundle(sp, originals_vocab(lex, cfg["n_orig"]), Tagger(mcfg))
    model = bundle.model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01, betas=(0.9, 0.98))
    state = start_state(run, model, opt, resume)

    spinner = Spinner(lex, presets(cfg["policies"]))
    vdocs = read_docs(cfg["valid"])
    valid_rows = [r for i, d in enumerate(vdocs[:300]) for r in spin_document(d, spinner, 10_000 + i, "sentence", 0.15)]
    valid_rows = random.Random(0).sample(valid_rows, min(cfg["n_valid"], len(valid_rows)))
    stream = BatchStream(docs, cfg["seed"], state["doc"], cfg["clean_share"], cfg["batch_size"],
                         lambda rows, rng: make_batch(bundle, rows), cfg["policies"])

    def step_loss(batch: tuple) -> tuple[torch.Tensor, dict]:
        ids, pb, pt, spun_y, orig_y = (x.to(device, non_blocking=True) for x in batch)
        hidden = model(ids)[pb, pt]
        loss_spun = F.binary_cross_entropy_with_logits(model.spun_logits(hidden), spun_y)
        has = orig_y >= 0
        loss_orig = F.cross_entropy(model.orig_head(hidden[has]), orig_y[has]) if has.any() else hidden.sum() * 0
        return loss_spun + cfg["orig_weight"] * loss_orig, {"spun": loss_spun.item(), "orig": loss_orig.item()}

    def evaluate() -> tuple[dict, float]:
        metrics = validate(bundle, valid_rows, device)
        return metrics, metrics["f1"] + metrics["orig_acc"]

    def export(entry: dict) -> None:
        bundle.save(out, extra={"trained": entry, "train_config": cfg})

    fit(cfg, model, opt, state, stream, step_loss, evaluate, export, "train detector")


def fit(cfg: dict, model: torch.nn.Module, opt: torch.optim.Optimizer, state: dict, stream: BatchStream,
        step_loss, evaluate, export, desc: str) -> None:
    """The training loop both models share: ready batches from the stream (built by worker
    processes when cfg["workers"] > 0), cfg["accum"] of them summed into each optimizer step,
    warmup + cosine LR over the step or the minute budget, whichever is tighter, validation
    every eval_every steps (best exported),
    atomic checkpoints every ckpt_minutes. Resuming restarts the stream at the block
    after the last one trained on (with workers, a block in flight may be skipped)."""
    run = Path(cfg["run"])
    log = (run / "log.jsonl").open("a")
    t_start, t_ckpt, minutes0, words = time.time(), time.time(), state["minutes"], 0
    on_cuda = cfg["device"] == "cuda"
    bf16 = on_cuda or cfg["cpu_bf16"]  # autocast; a CPU with AMX or AVX-512 BF16 multiplies bfloat16 in hardware
    bar = tqdm(total=cfg["max_steps"], initial=state["step"], desc=desc, dynamic_ncols=True)
    batches = batch_stream(stream, cfg["workers"])
    while state["step"] < cfg["max_steps"]:
        step = state["step"]
        # the cosine follows whichever budget runs out first: steps or minutes
        progress = min(1.0, max(step / cfg["max_steps"], state["minutes"] / cfg["max_minutes"]))
        lr = cfg["lr"] * min(1.0, (step + 1) / cfg["warmup"]) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        for _ in range(cfg["accum"]):
            n, n_words, batch = next(batches)
            state["doc"] = n + 1
            with torch.autocast("cuda" if on_cuda else "cpu", dtype=torch.bfloat16, enabled=bf16):
                loss, parts = step_loss(batch)
            (loss / cfg["accum"]).backward()
            words += n_words
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
        minutes = minutes0 + (time.time() - t_start) / 60
        state["minutes"] = minutes
        last = state["step"] >= cfg["max_steps"] or minutes >= cfg["max_minutes"]
        if state["step"] % cfg["eval_every"] == 0 or last:
            metrics, score = evaluate()
            entry = {"step": state["step"], "minutes": round(minutes, 2), "loss": round(loss.item(), 4),
                     "words_per_s": round(words / max(time.time() - t_start, 1e-9)),
                     **{k: round(v, 4) for k, v in metrics.items()}}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            tqdm.write(json.dumps(entry))
            if score > state["best"]:
                state["best"] = score
                export(entry)
        if time.time() - t_ckpt > cfg["ckpt_minutes"] * 60 or last:
            save_checkpoint(run, model, opt, state)
            t_ckpt = time.time()
        if last:
            break
    bar.close()
    print(f"best validation score {state['best']:.4f}; model in {cfg['out']}")


# == the rewriter ==================================================================
REWRITER_CONFIG = dict(
    corpus=CONFIG["corpus"],
    valid=CONFIG["valid"],
    out="models/rewriter",
    run="runs/rewriter",
    init=None,  # any local Hugging Face seq2seq checkpoint (t5-small style) to fine-tune
    tokenizer="models/detector/tokenizer.model",  # shared with the detector
    mode="spans",  # spans: generate only the marked spans' replacements; sentence: rewrite it whole
    d_model=256,
    n_layers=4,
    decoder_layers=2,
    n_heads=8,
    d_ff=1024,
    batch_size=64,
    accum=1,
    lr=1e-3,
    warmup=300,
    max_steps=4000,
    max_minutes=600.0,
    eval_every=500,
    ckpt_minutes=5.0,
    keep_share=0.08,  # unspun words marked anyway: the model learns to answer "keep"
    miss_share=0.05,  # spun words left unmarked: the detector misses some
    clean_share=0.15,
    policies=CONFIG["policies"],
    n_valid=300,
    seed=0,
    storage="float16",  # or int8: half the size (restore.storage)
    device=CONFIG["device"],
    cpu_bf16=False,
    workers=CONFIG["workers"],
)


def infill_marks(row: dict, rng: random.Random, keep_share: float, miss_share: float) -> list[tuple[int, int, str]]:
    """(start, end, replacement) spans to mark in a spun sentence, as the detector would."""
    from restore.model import N_SENTINELS
    from restore.text import tokenize

    marks = [(s["start"], s["end"], s["orig"]) for s in row["spans"] if rng.random() >= miss_share]
    taken = [(s["start"], s["end"]) for s in row["spans"]]
    for tok in tokenize(row["spun"]):
        if tok.is_word and tok.text.islower() and rng.random() < keep_share \
                and not any(a <= tok.start < b for a, b in taken):
            marks.append((tok.start, tok.end, tok.text))
    return sorted(marks)[:N_SENTINELS]


def pad_ids(seqs: list[list[int]], value: int) -> torch.Tensor:
    """Sequences of ids as one (batch, longest) tensor, filled with `value`."""
    out = torch.full((len(seqs), max(map(len, seqs))), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def rewriter_batch(tok, sources: list[list[int]], targets: list[list[int]]):
    """Padded input ids, attention mask and labels (-100 on padding)."""
    ids = pad_ids(sources, tok.pad_id)
    return ids, ids.ne(tok.pad_id).long(), pad_ids(targets, -100)


@torch.no_grad()
def generate_ids(tok, model, sources: list[list[int]], max_new: int, device: str = "cpu",
                 num_beams: int = 1) -> list[list[int]]:
    """Greedy (or beam) decoding with transformers' generate, one padded batch."""
    ids = pad_ids(sources, tok.pad_id)
    out = model.generate(input_ids=ids.to(device), attention_mask=ids.ne(tok.pad_id).long().to(device),
                         max_new_tokens=max_new, num_beams=num_beams, do_sample=False)
    return [o.tolist() for o in out]


def generate_replacements(tok, model, texts: list[str], spans: list[list[tuple[int, int]]],
                          device: str = "cpu", num_beams: int = 1) -> list[list[str | None]]:
    """Span mode: the replacement of each marked span (None where none was generated)."""
    sources = [tok.source(t, s) for t, s in zip(texts, spans)]
    out = generate_ids(tok, model, sources, 2 + 5 * max(len(s) for s in spans), device, num_beams)
    return [tok.parse(o, len(s)) for o, s in zip(out, spans)]


def generate_sentences(tok, model, texts: list[str], device: str = "cpu", num_beams: int = 1) -> list[str]:
    """Sentence mode: each input rewritten whole."""
    sources = [tok.source(t, []) for t in texts]
    out = generate_ids(tok, model, sources, 8 + int(1.3 * max(map(len, sources))), device, num_beams)
    return [tok.decode(o) for o in out]


def validate_rewriter(tok, model, rows: list[dict], device: str, mode: str = "spans") -> dict:
    """Valid sentences (spans mode: oracle-marked): BLEU of the restored sentences, and
    span accuracy (spans) or exact-match rate (sentence)."""
    from restore.evaluate import sacre_scores
    from restore.model import N_SENTINELS

    model.eval()
    hyps, ok, total = [], 0, 0
    for i in range(0, len(rows), 64):
        chunk = rows[i : i + 64]
        if mode == "sentence":
            for r, hyp in zip(chunk, generate_sentences(tok, model, [r["spun"] for r in chunk], device)):
                hyps.append(hyp)
                ok += hyp == r["clean"]
                total += 1
            continue
        spans = [[(s["start"], s["end"]) for s in r["spans"][:N_SENTINELS]] for r in chunk]
        for r, sp, reps in zip(chunk, spans, generate_replacements(tok, model, [r["spun"] for r in chunk],
                                                                    spans, device)):
            ok += sum(rep == s["orig"] for rep, s in zip(reps, r["spans"]))
            total += len(reps)
            hyps.append(replace_spans(r["spun"], ((a, b, rep if rep is not None else r["spun"][a:b])
                                                  for (a, b), rep in zip(sp, reps))))
    model.train()
    bleu = sacre_scores(hyps, [r["clean"] for r in rows])["BLEU"][0]
    return {"bleu": bleu, "span_acc" if mode == "spans" else "exact": ok / max(total, 1)}


def train_rewriter(cfg: dict, resume: bool = False) -> None:
    from restore.model import SpanTokenizer, load_rewriter, new_t5, save_rewriter

    if cfg["mode"] not in ("spans", "sentence"):
        raise RestoreError(f"rewriter mode must be spans or sentence, not {cfg['mode']!r}")
    torch.manual_seed(cfg["seed"])
    device = cfg["device"]
    run, out = Path(cfg["run"]), Path(cfg["out"])
    run.mkdir(parents=True, exist_ok=True)
    if cfg["init"]:
        tok, model = load_rewriter(Path(cfg["init"]))
    else:
        if not Path(cfg["tokenizer"]).is_file():
            raise RestoreError(f"tokenizer not found: {cfg['tokenizer']} (train the detector first)")
        tok = SpanTokenizer(sp=spm.SentencePieceProcessor(model_file=cfg["tokenizer"]))
        model = new_t5(tok, cfg["d_model"], cfg["n_layers"], cfg["decoder_layers"], cfg["n_heads"], cfg["d_ff"])
    model = model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)
    state = start_state(run, model, opt, resume)
    lex = load_lexicon()
    spinner = Spinner(lex, presets(cfg["policies"]))
    docs = read_docs(cfg["corpus"])
    vdocs = read_docs(cfg["valid"])
    valid_rows = [r for i, d in enumerate(vdocs[:200]) for r in spin_document(d, spinner, 20_000 + i, "sentence", 0.0)]
    valid_rows = [r for r in random.Random(1).sample(valid_rows, min(cfg["n_valid"], len(valid_rows)))]

    def collate(rows: list[dict], rng: random.Random) -> tuple[torch.Tensor, ...]:
        if cfg["mode"] == "sentence":  # the plain full-sentence rewrite, for comparison
            sources = [tok.source(r["spun"], []) for r in rows]
            targets = [t + [tok.eos_id] for t in tok.encode([r["clean"] for r in rows])]
        else:
            marks = [infill_marks(r, rng, cfg["keep_share"], cfg["miss_share"]) for r in rows]
            sources = [tok.source(r["spun"], [(a, b) for a, b, _ in m]) for r, m in zip(rows, marks)]
            targets = [tok.target([x for _, _, x in m]) for m in marks]
        return rewriter_batch(tok, sources, targets)

    stream = BatchStream(docs, cfg["seed"] + 1, state["doc"], cfg["clean_share"], cfg["batch_size"], collate,
                         cfg["policies"])

    def step_loss(batch: tuple) -> tuple[torch.Tensor, dict]:
        ids, mask, labels = (x.to(device, non_blocking=True) for x in batch)
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss, {}

    def evaluate() -> tuple[dict, float]:
        metrics = validate_rewriter(tok, model, valid_rows, device, cfg["mode"])
        return metrics, metrics["bleu"]

    def export(entry: dict) -> None:
        save_rewriter(model, tok, out, {"trained": entry, "train_config": cfg}, cfg["storage"])

    fit(cfg, model, opt, state, stream, step_loss, evaluate, export, "train rewriter")


# == the neural language model =======================================================
NLM_CONFIG = dict(
    corpus=CONFIG["corpus"],
    valid=CONFIG["valid"],
    out="models/nlm",
    run="runs/nlm",
    init=None,  # an NLM directory to continue from
    tokenizer="models/detector/tokenizer.model",  # shared with the detector
    reverse=False,  # read sentences right to left: a second model, which sees what follows a word
    storage="float16",  # or int8: half the size, the same validation loss to 3 decimals (restore.storage)
    n_embd=256,
    n_layer=4,
    n_head=4,
    n_inner=1024,
    dropout=0.0,  # while training (residual, embedding and attention paths); of a continued model too
    batch_size=64,
    accum=1,
    lr=1e-3,
    warmup=200,
    max_steps=8000,
    max_minutes=600.0,
    eval_every=500,
    ckpt_minutes=5.0,
    clean_share=1.0,  # clean sentences only: the model scores what a reporter wrote
    policies=CONFIG["policies"],
    n_valid=1000,
    seed=0,
    device=CONFIG["device"],
    cpu_bf16=True,
    workers=CONFIG["workers"],
)


def train_nlm(cfg: dict, resume: bool = False) -> None:
    """The causal LM that rescores the beam's hypotheses (`restore.nlm`): mean piece loss on
    validation sentences picks the best checkpoint."""
    from restore.nlm import hf_nlm, new_nlm, pad, piece_logprobs, read_reverse, save_nlm, sentence_ids, set_dropout

    torch.manual_seed(cfg["seed"])
    device = cfg["device"]
    run, out = Path(cfg["run"]), Path(cfg["out"])
    run.mkdir(parents=True, exist_ok=True)
    reverse = bool(cfg["reverse"])
    if cfg["init"]:
        model, sp = hf_nlm(cfg["init"])
        if read_reverse(Path(cfg["init"])) != reverse:
            raise RestoreError(f"{cfg['init']} reads {'left to right' if reverse else 'right to left'}: "
                               f"set reverse={str(not reverse).lower()} to continue it")
    else:
        if not Path(cfg["tokenizer"]).is_file():
            raise RestoreError(f"tokenizer not found: {cfg['tokenizer']} (train the detector first)")
        sp = spm.SentencePieceProcessor(model_file=cfg["tokenizer"])
        model = new_nlm(sp, cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg["n_inner"])
    set_dropout(model, cfg["dropout"])
    model = model.to(device).train()
    boundary = sp.get_piece_size()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01, betas=(0.9, 0.98))
    state = start_state(run, model, opt, resume, best=-math.inf)
    docs = read_docs(cfg["corpus"])
    valid = [r["clean"] for r in clean_sentences(read_docs(cfg["valid"]), cfg["n_valid"], seed=1)]
    valid_batches = [pad([sentence_ids(sp, t, reverse) for t in valid[k : k + 64]], boundary)
                     for k in range(0, len(valid), 64)]

    def collate(rows: list[dict], rng: random.Random) -> tuple[torch.Tensor, ...]:
        ids, mask = pad([sentence_ids(sp, r["clean"], reverse) for r in rows], boundary)
        return ids, mask, ids.masked_fill(mask == 0, -100)

    stream = BatchStream(docs, cfg["seed"] + 2, state["doc"], cfg["clean_share"], cfg["batch_size"], collate,
                         cfg["policies"])

    def step_loss(batch: tuple) -> tuple[torch.Tensor, dict]:
        ids, mask, labels = (x.to(device, non_blocking=True) for x in batch)
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss, {}

    @torch.no_grad()
    def evaluate() -> tuple[dict, float]:
        model.eval()
        total = pieces = 0.0
        for ids, mask in valid_batches:
            ids, mask = ids.to(device), mask.to(device)
            lp = piece_logprobs(model, ids, mask)
            total, pieces = total - float(lp.sum()), pieces + float(mask[:, 1:].sum())
        model.train()
        return {"valid_loss": total / pieces}, -total / pieces

    def export(entry: dict) -> None:
        save_nlm(model, sp, out, cfg["storage"])
        write_text(json.dumps({"trained": entry, "train_config": cfg}, indent=2) + "\n", str(out / "restore.json"))

    fit(cfg, model, opt, state, stream, step_loss, evaluate, export, "train nlm")
