"""A training smoke run on tiny data (CPU), then the detector and pipeline contracts on that model."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from restore.calibrate import calibrate
from restore.detect import FEATURES, Detector
from restore.errors import RestoreError
from restore.pairs import clean_sentences, valid_pairs
from restore.pipeline import Pipeline
from restore.text import replace_spans
from restore.train import CONFIG, train_detector
from tests.conftest import TEXT

TINY = dict(vocab_size=300, n_orig=500, d_model=32, n_layers=1, n_heads=2, d_ff=64, batch_size=8,
            max_steps=4, eval_every=2, n_valid=20, warmup=2, ckpt_minutes=0.0, device="cpu")


def write_corpus(path: Path, n: int) -> Path:
    """A corpus of n copies of TEXT, as the training commands read one."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": str(i), "title": "t", "text": TEXT}) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    corpus = write_corpus(root / "train.jsonl.gz", 30)
    cfg = dict(CONFIG, **TINY, corpus=str(corpus), valid=str(corpus), out=str(root / "model"), run=str(root / "run"))
    train_detector(cfg)
    state = json.loads((root / "run" / "state.json").read_text())
    assert state["step"] == 4
    train_detector(dict(cfg, max_steps=6), resume=True)  # resume continues from the checkpoint
    assert json.loads((root / "run" / "state.json").read_text())["step"] == 6
    assert (root / "run" / "log.jsonl").read_text().count("\n") >= 3
    docs = [TEXT] * 5
    calib = calibrate(root / "model", docs, valid_pairs(docs, 40), clean_sentences(docs, 20))
    assert set(calib) >= {"lexicon", "context", "lexicon+context", "combined", "beta"}
    assert len(calib["combined"]["weights"]) == len(FEATURES["combined"])
    return root / "model"


def test_model_files_are_safetensors_and_small(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert {"config.json", "tokenizer.model", "originals.txt", "calibration.json", "lexsignal.json.gz",
            "neighbours.json.gz"} <= names
    assert any(n.endswith(".safetensors") for n in names)
    assert not any(n.endswith((".pt", ".bin", ".pkl")) for n in names)


def test_detect_json_contract_with_odd_text(tiny_model):
    text = "Officials said in the city\r\nthe “state” 😀 would take part — at 10,000 sites.\r\nMoscow, KCNA."
    p = subprocess.run([sys.executable, "-m", "restore.cli", "detect", "--model", str(tiny_model),
                        "--threshold", "0", "--format", "json"], input=text.encode(), capture_output=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["text"] == text and out["spans"]
    last = 0
    for s in out["spans"]:
        assert text[s["start"]:s["end"]] == s["text"] and s["start"] >= last
        assert 0 <= s["score"] <= 1 and isinstance(s["candidates"], list)
        last = s["end"]
    flagged = {s["text"] for s in out["spans"]}
    assert {"in", "city", "state", "at"} <= flagged  # threshold 0: every eligible word
    assert not flagged & {"Moscow", "KCNA", "10,000"}  # names and numbers are never eligible


def test_empty_input_and_missing_model(tiny_model, tmp_path):
    p = subprocess.run([sys.executable, "-m", "restore.cli", "detect", "--model", str(tiny_model)],
                       input=b"", capture_output=True)
    assert p.returncode == 2 and b"empty" in p.stderr
    p = subprocess.run([sys.executable, "-m", "restore.cli", "clean", "--model", str(tmp_path / "none")],
                       input=b"some text", capture_output=True)
    assert p.returncode == 2 and b"no model" in p.stderr and b"Traceback" not in p.stderr


@pytest.mark.parametrize("broken", ["model-00001.safetensors", "calibration.json", "lexsignal.json.gz",
                                    "neighbours.json.gz"])
def test_a_corrupt_model_file_is_a_one_line_error(tiny_model, tmp_path, broken):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / broken).write_bytes(b"\x00garbage{" * 20)
    p = subprocess.run([sys.executable, "-m", "restore.cli", "clean", "--model", str(model)],
                       input=b"we met successful the city", capture_output=True)
    assert p.returncode == 2 and b"unreadable" in p.stderr and b"Traceback" not in p.stderr
    assert p.stderr.count(b"\n") == 1 and p.stdout == b""


def test_pipeline_only_touches_flagged_spans(tiny_model):
    pipe = Pipeline(tiny_model, threshold=0.0)
    doc = pipe(TEXT)
    out = doc.restored()
    assert out.count("\n") == TEXT.count("\n") and "\r\n" in out
    pos = 0
    for e in doc.edits:
        assert TEXT[e.start:e.end] == e.old and e.start >= pos
        pos = e.end
    assert "10,000" in out and "Officials" in out
    assert Pipeline(tiny_model, threshold=1.01)(TEXT).restored() == TEXT  # nothing flagged: byte for byte


def test_rewriter_smoke_train_resume_init_and_pipeline(tiny_model, tmp_path):
    from restore.train import REWRITER_CONFIG, train_rewriter

    corpus = write_corpus(tmp_path / "c.jsonl.gz", 10)
    cfg = dict(REWRITER_CONFIG, corpus=str(corpus), valid=str(corpus), tokenizer=str(tiny_model / "tokenizer.model"),
               out=str(tmp_path / "rw"), run=str(tmp_path / "run"), d_model=32, n_layers=1, decoder_layers=1,
               n_heads=2, d_ff=64, batch_size=8, max_steps=3, eval_every=3, n_valid=8, warmup=1, ckpt_minutes=0.0,
               device="cpu")
    train_rewriter(cfg)
    train_rewriter(dict(cfg, max_steps=4), resume=True)
    assert json.loads((tmp_path / "run" / "state.json").read_text())["step"] == 4
    files = {p.name for p in (tmp_path / "rw").iterdir()}
    assert "config.json" in files and any(n.endswith(".safetensors") for n in files)
    # fine-tune from a local checkpoint directory (--init)
    train_rewriter(dict(cfg, init=str(tmp_path / "rw"), out=str(tmp_path / "rw2"), run=str(tmp_path / "run2"),
                        max_steps=1, eval_every=1))
    assert (tmp_path / "rw2" / "config.json").is_file()
    pipe = Pipeline(tiny_model, threshold=0.0, rewriter=tmp_path / "rw")
    doc = pipe(TEXT)
    out = doc.restored()
    assert out.count("\n") == TEXT.count("\n") and "10,000" in out and "Officials" in out
    for e in doc.edits:
        assert TEXT[e.start:e.end] == e.old
    # the plain full-sentence rewrite it is compared against: same loop, mode "sentence"
    train_rewriter(dict(cfg, mode="sentence", out=str(tmp_path / "rws"), run=str(tmp_path / "runs"), max_steps=2,
                        eval_every=2))
    log = json.loads((tmp_path / "runs" / "log.jsonl").read_text().splitlines()[-1])
    assert "exact" in log and "bleu" in log
    doc = Pipeline(tiny_model, rewriter=tmp_path / "rws")(TEXT)
    assert all(TEXT[e.start:e.end] == e.old and "\n" not in e.old for e in doc.edits)
    with pytest.raises(RestoreError):
        train_rewriter(dict(cfg, mode="words"))


def test_clean_cli_text_json_diff_and_many_files(tiny_model, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(TEXT, encoding="utf-8", newline="")
    b.write_text("the state met at the city\n", encoding="utf-8")
    base = [sys.executable, "-m", "restore.cli", "clean", "--model", str(tiny_model), "--threshold", "0"]
    text = subprocess.run(base + [str(a)], capture_output=True, check=True).stdout.decode()
    assert text == Pipeline(tiny_model, threshold=0.0)(TEXT).restored()
    js = json.loads(subprocess.run(base + [str(a), "--format", "json"], capture_output=True, check=True).stdout)
    assert js["text"] == text and all(TEXT[e["start"]:e["end"]] == e["old"] for e in js["edits"])
    diff = subprocess.run(base + [str(a), "--format", "diff"], capture_output=True, check=True).stdout.decode()
    assert (diff.startswith("---") and "+++" in diff) or (diff == "" and text == TEXT)
    p = subprocess.run(base + [str(a), str(b)], capture_output=True)
    assert p.returncode == 2 and b"--out-dir" in p.stderr
    subprocess.run(base + [str(a), str(b), "--out-dir", str(tmp_path / "out")], check=True, capture_output=True)
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == ["a.txt", "b.txt"]


def test_jobs_spread_a_corpus_and_many_files_over_workers_with_the_same_output(tiny_model, tmp_path):
    base = [sys.executable, "-m", "restore.cli"]
    model = ["--model", str(tiny_model), "--threshold", "0"]
    corpus = tmp_path / "c.jsonl"
    docs = [{"id": str(i), "text": TEXT if i % 3 else f"the state met at the city on day {i}"} for i in range(70)]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    subprocess.run(base + ["clean", str(corpus), "-o", str(one)] + model, check=True, capture_output=True)
    p = subprocess.run(base + ["clean", str(corpus), "-o", str(two), "-j", "2"] + model, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert two.read_bytes() == one.read_bytes() and [json.loads(r)["id"] for r in one.read_text().splitlines()] == [
        d["id"] for d in docs]

    flagged = tmp_path / "spans.jsonl"
    p = subprocess.run(base + ["detect", str(corpus), "--format", "json", "-o", str(flagged), "-j", "2"] + model,
                       capture_output=True)
    assert p.returncode == 0, p.stderr
    det = Detector(tiny_model, threshold=0.0)
    got = [json.loads(r) for r in flagged.read_text(encoding="utf-8").splitlines()]
    want = [[s.to_dict() for s in spans] for spans in det.detect_many([d["text"] for d in docs])]
    assert [[(s["start"], s["end"]) for s in r["spans"]] for r in got] == [[(s["start"], s["end"]) for s in w]
                                                                          for w in want]

    src = tmp_path / "scraped"
    src.mkdir()
    for i in range(20):
        (src / f"{i:02d}.txt").write_text(docs[i]["text"], encoding="utf-8", newline="")
    p = subprocess.run(base + ["clean", str(src), "--out-dir", str(tmp_path / "out"), "-j", "2", "--format", "json"]
                       + model, capture_output=True)
    assert p.returncode == 0, p.stderr
    pipe = Pipeline(tiny_model, threshold=0.0)
    for i in range(20):
        out = json.loads((tmp_path / "out" / f"{i:02d}.txt").read_text(encoding="utf-8"))
        assert out["input"] == str(src / f"{i:02d}.txt") and out["text"] == pipe(docs[i]["text"]).restored()

    # a worker's error is the same one line, and no output is left
    bad = tmp_path / "bad.jsonl"
    p = subprocess.run(base + ["clean", str(corpus), "-o", str(bad), "-j", "2", "--lm", str(tmp_path / "no-lm")]
                       + model, capture_output=True)
    assert p.returncode == 2 and p.stderr.count(b"\n") == 1 and b"language model" in p.stderr
    assert not bad.exists() and not list(tmp_path.glob(".bad*"))
    p = subprocess.run(base + ["clean", str(corpus), "-j", "0"], capture_output=True)
    assert p.returncode == 2 and b"at least 1" in p.stderr


def test_units_cut_long_unpunctuated_text():
    from restore.text import MAX_UNIT_WORDS, units

    text = " ".join(["word"] * 200) + "\nShort line. Another one here."
    spans = units(text)
    assert all(len(text[a:b].split()) <= MAX_UNIT_WORDS for a, b in spans)
    assert " ".join(text[a:b] for a, b in spans).split() == text.split()


def test_a_hard_wrapped_text_is_read_in_whole_sentences():
    import textwrap

    from restore.text import hard_wrapped, paragraphs, units

    paras = ["The minister said on Tuesday that the government would cut taxes for small firms in the north, "
             "and that talks with the unions would go on next month. Officials met in the capital.",
             "Critics said the plan would do little to help families on low incomes, and they called for a new "
             "deal before the end of the year."]
    news = "\n".join(paras) + "\n"  # a paragraph a line
    wrapped = "\n\n".join(textwrap.fill(p, 60) for p in paras) + "\r\n"
    assert hard_wrapped(wrapped.splitlines()) and not hard_wrapped(news.splitlines())
    assert not hard_wrapped(["A list of items", "one a line", "all of them short", "as lists are"])
    for text in (news, wrapped):
        assert [" ".join(text[a:b].split()[:2]) for a, b in units(text)] == ["The minister", "Officials met",
                                                                              "Critics said"]
        assert all(text[a : a + len(body)] == body for a, body in paragraphs(text))
    assert [body.count("\n") for _, body in paragraphs(wrapped)] == [textwrap.fill(p, 60).count("\n") for p in paras]


def test_span_tokenizer_roundtrip(tiny_model):
    import sentencepiece as spm

    from restore.model import N_SENTINELS, SpanTokenizer

    tok = SpanTokenizer(sp=spm.SentencePieceProcessor(model_file=str(tiny_model / "tokenizer.model")))
    text = "we met successful the city"
    src = tok.source(text, [(7, 17), (22, 26)])
    assert src.count(tok.close_id) == 2 and src[-1] == tok.eos_id
    assert tok.sentinels[0] in src and tok.sentinels[1] in src
    assert tok.parse(tok.target(["in", "city"]), 2) == ["in", "city"]
    assert tok.parse([tok.sentinels[0]] + tok.encode(["in"])[0] + [tok.eos_id], 2) == ["in", None]
    with pytest.raises(ValueError):
        tok.source(text, [(0, 2)] * (N_SENTINELS + 1))


def test_worker_processes_build_the_same_batches_as_one_process():
    from restore.train import BatchStream, batch_stream

    docs = [TEXT.replace("minister", f"minister {i}") for i in range(6)]
    stream = BatchStream(docs, seed=3, start_doc=4, clean_share=0.2, batch_size=2,
                         collate=lambda rows, rng: ([r["spun"] for r in rows], rng.random()))

    def first(workers: int) -> dict[int, list]:
        out: dict[int, list] = {}
        for n, words, batch in batch_stream(stream, workers):
            if n >= 40:
                if all(k in out for k in range(4, 36)):
                    return out
                continue
            assert words == sum(len(s.split()) for s in batch[0])
            out.setdefault(n, []).append(list(batch))  # DataLoader hands tuples back as lists
        return out

    one, two = first(0), first(2)
    assert one == two and len(one) > 4


def test_training_pairs_follow_the_configured_policies():
    from restore.text import Token, bare
    from restore.train import BatchStream

    docs = [TEXT.replace("minister", f"minister {i}") for i in range(6)]

    def rows(policies: str) -> list[dict]:
        stream = BatchStream(docs, seed=1, start_doc=0, clean_share=0.0, batch_size=4,
                             collate=lambda rows, rng: rows, policies=policies)
        batches = iter(stream)
        return [row for _ in range(8) for row in next(batches)[2]]

    def attached_swaps(rs: list[dict]) -> int:  # swaps with punctuation attached ("city,")
        return sum(not bare(r["spun"], Token(r["spun"][s["start"]:s["end"]], s["start"], s["end"]))
                   for r in rs for s in r["spans"])

    assert attached_swaps(rows("seedlike")) > 0  # "city," and "border," are swapped
    spun = rows("bare")
    assert sum(len(r["spans"]) for r in spun) > 0 and attached_swaps(spun) == 0
    with pytest.raises(RestoreError, match="unknown policy"):
        BatchStream(docs, 1, 0, 0.0, 4, lambda rows, rng: rows, policies="bogus")


def test_accumulated_batches_make_one_step_on_their_mean_gradient(tmp_path):
    import torch

    from restore.train import fit

    xs = [torch.tensor([[0.1, 0.2]]), torch.tensor([[0.3, -0.1]])]  # gradients below the clipping norm

    class Stream:  # batch n holds xs[n % 2]
        def __iter__(self):
            n = 0
            while True:
                yield n, 1, (xs[n % 2],)
                n += 1

    def run(accum: int, steps: int) -> tuple[torch.Tensor, dict]:
        model = torch.nn.Linear(2, 1, bias=False)
        torch.nn.init.zeros_(model.weight)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        state = {"step": 0, "doc": 0, "best": -1.0, "minutes": 0.0}
        cfg = dict(run=str(tmp_path / f"run{accum}"), out="unused", accum=accum, max_steps=steps,
                   max_minutes=60.0, lr=0.1, warmup=1, eval_every=100, ckpt_minutes=60.0, device="cpu", cpu_bf16=False,
                   workers=0)
        (tmp_path / f"run{accum}").mkdir()
        fit(cfg, model, opt, state, Stream(), lambda b: (model(b[0]).sum(), {}), lambda: ({}, 0.0),
            lambda entry: None, "test")
        return model.weight.detach().clone(), state

    one_step, state = run(accum=2, steps=1)
    assert state["doc"] == 2  # two batches read for one step
    # SGD at lr 0.1 (the cosine starts at the full rate) on the mean of the two gradients
    assert torch.allclose(one_step, -0.1 * (xs[0] + xs[1]) / 2)
    single, _ = run(accum=1, steps=1)
    assert torch.allclose(single, -0.1 * xs[0])


def test_train_rejects_an_unknown_config_key(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "restore.cli", "train", "detector", "--set", "colour=red",
                           "--run", str(tmp_path / "run")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("restore: error: --set 'colour=red'") and "Traceback" not in proc.stderr


def test_clean_a_directory_and_a_jsonl_corpus(tiny_model, tmp_path):
    src = tmp_path / "scraped"
    (src / "b").mkdir(parents=True)
    (src / "a.txt").write_text(TEXT, encoding="utf-8", newline="")
    (src / "b" / "a.txt").write_text("the state met at the city\n", encoding="utf-8")
    (src / "notes.md").write_text("not an article", encoding="utf-8")
    base = [sys.executable, "-m", "restore.cli", "clean", "--model", str(tiny_model), "--threshold", "0"]
    pipe = Pipeline(tiny_model, threshold=0.0)
    p = subprocess.run(base + [str(src), "--out-dir", str(tmp_path / "out")], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert sorted(str(q.relative_to(tmp_path / "out")) for q in (tmp_path / "out").rglob("*")
                  if q.is_file()) == ["a.txt", "b/a.txt"]
    assert (tmp_path / "out" / "a.txt").read_bytes().decode() == pipe(TEXT).restored()
    p = subprocess.run(base + [str(src)], capture_output=True)
    assert p.returncode == 2 and b"--out-dir" in p.stderr

    corpus, out = tmp_path / "c.jsonl.gz", tmp_path / "clean.jsonl.gz"
    docs = [{"id": str(i), "text": TEXT if i % 2 else "the state met at the city"} for i in range(40)]
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in docs)
    assert subprocess.run(base + [str(corpus), "-o", str(out)], capture_output=True).returncode == 0
    with gzip.open(out, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    assert rows[1]["text"] == pipe(TEXT).restored() and rows[1]["restore_edits"] == len(pipe(TEXT).edits)

    det = Detector(tiny_model, threshold=0.0)
    flagged = tmp_path / "spans.jsonl"
    detect = [sys.executable, "-m", "restore.cli", "detect", "--model", str(tiny_model), "--threshold", "0"]
    p = subprocess.run(detect + [str(corpus), "--format", "json", "-o", str(flagged)], capture_output=True)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in flagged.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [d["id"] for d in docs] and [r["text"] for r in rows] == [d["text"] for d in docs]
    assert rows[1]["spans"] == [s.to_dict() for s in det.detect(TEXT)] and rows[1]["spans"]
    assert all(r["text"][s["start"]:s["end"]] == s["text"] for r in rows for s in r["spans"])
    p = subprocess.run(detect + [str(corpus)], capture_output=True)
    assert p.returncode == 2 and b"--format json" in p.stderr

    bad, out2 = tmp_path / "bad.jsonl", tmp_path / "bad_out.jsonl"
    bad.write_text('{"text": "fine"}\n{"title": "no text"}\n', encoding="utf-8")
    p = subprocess.run(base + [str(bad), "-o", str(out2)], capture_output=True)
    assert p.returncode == 2 and b"line 2" in p.stderr and b"Traceback" not in p.stderr
    assert not out2.exists() and not list(tmp_path.glob(".bad_out*"))


def test_nlm_smoke_train_resume_and_sentence_logprobs(tiny_model, tmp_path):
    from restore.nlm import PieceLM
    from restore.train import NLM_CONFIG, train_nlm

    corpus = write_corpus(tmp_path / "c.jsonl.gz", 10)
    cfg = dict(NLM_CONFIG, corpus=str(corpus), valid=str(corpus), tokenizer=str(tiny_model / "tokenizer.model"),
               out=str(tmp_path / "nlm"), run=str(tmp_path / "run"), n_embd=32, n_layer=1, n_head=2, n_inner=64,
               batch_size=8, max_steps=3, eval_every=3, n_valid=8, warmup=1, ckpt_minutes=0.0, device="cpu",
               dropout=0.1)
    train_nlm(cfg)
    train_nlm(dict(cfg, max_steps=4, eval_every=1), resume=True)
    saved = json.loads((tmp_path / "nlm" / "config.json").read_text())
    assert saved["resid_pdrop"] == saved["embd_pdrop"] == saved["attn_pdrop"] == 0.1
    assert json.loads((tmp_path / "run" / "state.json").read_text())["step"] == 4
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [3, 4] and all(e["valid_loss"] > 0 for e in log)
    assert sorted(p.name for p in (tmp_path / "nlm").iterdir()) == [
        "config.json", "generation_config.json", "model.safetensors", "restore.json", "tokenizer.model"]
    nlm = PieceLM.load(tmp_path / "nlm", "fp32")
    sentences = ["Officials said the talks would go on.", "The", "x " * 200]
    whole = nlm.logprobs(sentences)
    assert all(lp < 0 for lp in whole) and nlm.logprobs([]) == [] and nlm.logprobs(sentences) == whole  # no dropout
    assert nlm.logprobs(sentences, batch_size=1) == pytest.approx(whole, abs=1e-4)  # padding changes nothing
    with pytest.raises(RestoreError, match="no neural language model"):
        PieceLM.load(tmp_path)


def test_the_plain_torch_gpt2_scores_as_transformers_gpt2_does(tiny_model, tmp_path):
    """`restore.nlm.GPT2` reads the checkpoint transformers saved and computes what its model
    does: the same log-probabilities to the bit, in float32 and in bfloat16 (the layers cast as
    autocast would cast them), over padded batches of many lengths; a checkpoint of another
    shape is refused."""
    import sentencepiece as spm
    import torch
    from transformers.pytorch_utils import Conv1D

    from restore.nlm import GPT2, PieceLM, hf_nlm, new_nlm, read_nlm, save_nlm
    from restore.tagger import inference_dtype

    sp = spm.SentencePieceProcessor(model_file=str(tiny_model / "tokenizer.model"))
    torch.manual_seed(0)
    model = new_nlm(sp, n_embd=32, n_layer=2, n_head=2, n_inner=64)
    with torch.no_grad():  # weights off their initial values, so that every layer counts
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_nlm(model, sp, tmp_path / "nlm")
    many = [f"Officials said {'the talks ' * k}would go on." for k in range(30)]  # > OUTPUT_ROWS positions a batch
    many += ["The", "x " * 200]  # one piece; more than MAX_PIECES

    class Transformers:
        """transformers' GPT2Model where `PieceLM` calls `GPT2`."""

        def __init__(self, dtype: torch.dtype):
            self.model = hf_nlm(tmp_path / "nlm")[0].eval()
            for module in self.model.transformer.modules():
                if isinstance(module, Conv1D):
                    module.to(dtype)
            self.dtype, self.output = dtype, self.model.lm_head.weight.detach().to(dtype)

        def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.model.transformer(input_ids=ids, attention_mask=mask).last_hidden_state

    for precision in ("fp32", "bf16"):
        ours = PieceLM.load(tmp_path / "nlm", precision)
        theirs = PieceLM(Transformers(inference_dtype(precision)), sp)
        assert ours.dtype == inference_dtype(precision)
        assert ours.logprobs(many) == theirs.logprobs(many)
        assert ours.logprobs(many, batch_size=5) == theirs.logprobs(many, batch_size=5)
    config, state, _ = read_nlm(tmp_path / "nlm")
    with pytest.raises(RestoreError, match="activation_function"):
        GPT2({**config, "activation_function": "relu"}, state)
    with pytest.raises(RestoreError, match="lacks"):
        GPT2(config, {k: v for k, v in state.items() if ".h.1." not in k})


def test_a_right_to_left_model_reads_reversed_pieces_and_joins_the_forward_one(tiny_model, tmp_path):
    import shutil

    from restore.errors import RestoreError
    from restore.nlm import REVERSE_SUBDIR, BothWays, PieceLM, hf_nlm, load_neural, save_nlm
    from restore.train import NLM_CONFIG, train_nlm

    corpus = write_corpus(tmp_path / "c.jsonl.gz", 10)
    cfg = dict(NLM_CONFIG, corpus=str(corpus), valid=str(corpus), tokenizer=str(tiny_model / "tokenizer.model"),
               out=str(tmp_path / "nlm" / REVERSE_SUBDIR), run=str(tmp_path / "run"), n_embd=32, n_layer=1,
               n_head=2, n_inner=64, batch_size=8, max_steps=2, eval_every=2, n_valid=8, warmup=1,
               ckpt_minutes=0.0, device="cpu", reverse=True, storage="int8")
    train_nlm(cfg)
    backward = PieceLM.load(tmp_path / "nlm" / REVERSE_SUBDIR, "fp32")
    text = "Officials said the talks would go on."
    pieces = backward.sp.encode(text)
    assert backward.reverse and backward.ids(text) == [backward.boundary] + pieces[::-1] + [backward.boundary]
    with pytest.raises(RestoreError, match="set reverse=true to continue it"):
        train_nlm(dict(cfg, init=cfg["out"], reverse=False, run=str(tmp_path / "run2")))
    # the same weights read left to right: the forward half of the pair
    assert load_neural(tmp_path / "nlm" / REVERSE_SUBDIR, "fp32").reverse  # a model alone loads alone
    for name in ("config.json", "generation_config.json", "model.int8.safetensors", "tokenizer.model"):
        shutil.copy(tmp_path / "nlm" / REVERSE_SUBDIR / name, tmp_path / "nlm" / name)
    forward = PieceLM.load(tmp_path / "nlm", "fp32")
    both = load_neural(tmp_path / "nlm", "fp32")
    assert not forward.reverse and isinstance(both, BothWays)
    texts = [text, "The"]
    f, b = forward.logprobs(texts), backward.logprobs(texts)
    assert f[0] != pytest.approx(b[0])  # one model, two readings: two scores
    assert both.logprobs(texts) == pytest.approx([(x + y) / 2 for x, y in zip(f, b)])
    # the int8 weights (as trained here) stored in float16, twice over: one copy, the same reading
    for _ in range(2):
        save_nlm(*hf_nlm(tmp_path / "nlm" / REVERSE_SUBDIR), tmp_path / "f16", "float16")
    shutil.copy(tmp_path / "nlm" / REVERSE_SUBDIR / "restore.json", tmp_path / "f16")
    f16 = PieceLM.load(tmp_path / "f16", "fp32")
    assert f16.reverse and not (tmp_path / "f16" / "model.int8.safetensors").exists()
    assert f16.logprobs(texts) == pytest.approx(b, abs=0.02)
    with pytest.raises(RestoreError, match="storage must be one of"):
        save_nlm(*hf_nlm(tmp_path / "f16"), tmp_path / "f16", "int4")
    shutil.rmtree(tmp_path / "nlm" / REVERSE_SUBDIR)
    shutil.copytree(tmp_path / "nlm", tmp_path / "nlm" / REVERSE_SUBDIR)  # left to right in both places
    with pytest.raises(RestoreError, match="right-to-left one"):
        load_neural(tmp_path / "nlm", "fp32")


def test_int8_storage_halves_a_rewriter_and_keeps_its_outputs(tiny_model, tmp_path):
    import sentencepiece as spm
    import torch

    from restore.model import SpanTokenizer, load_rewriter, new_t5, save_rewriter

    tok = SpanTokenizer(sp=spm.SentencePieceProcessor(model_file=str(tiny_model / "tokenizer.model")))
    torch.manual_seed(0)
    model = new_t5(tok, d_model=64, layers=1, decoder_layers=1, heads=2, d_ff=1024).eval()
    save_rewriter(model, tok, tmp_path / "f16", {})
    save_rewriter(model, tok, tmp_path / "int8", {}, storage="int8")

    def weights(d: Path) -> int:
        return sum(p.stat().st_size for p in d.glob("*.safetensors"))

    assert weights(tmp_path / "int8") < 0.6 * weights(tmp_path / "f16")
    (_, a), (_, b) = load_rewriter(tmp_path / "f16"), load_rewriter(tmp_path / "int8")
    ids = torch.tensor([tok.source("Officials said the talks would go on.", [(10, 14)])])
    dec = torch.tensor([[tok.pad_id, tok.sentinels[0]]])
    with torch.no_grad():
        la, lb = (m(input_ids=ids, decoder_input_ids=dec).logits for m in (a, b))
    assert (la - lb).abs().max() < 0.05 * la.abs().max() and torch.equal(la.argmax(-1), lb.argmax(-1))
    assert b.lm_head.weight.data_ptr() == b.shared.weight.data_ptr()  # tied weights stay tied
    with pytest.raises(RestoreError, match="storage"):
        save_rewriter(model, tok, tmp_path / "x", {}, storage="int4")


def test_the_pools_are_the_beams_sentences_best_first_and_the_first_is_its_choice(tiny_model):
    """`CandidateRewriter.pools`: what the neural LM chooses among, each sentence with the beam's
    score. The first is what the beam alone would choose; the rest are within the margin of it."""
    from restore.pipeline import Document

    pipe = Pipeline(tiny_model, threshold=0.0, nlm=None)  # every eligible word flagged: many choices
    pipe.rewriter.w.update(margin=6.0)
    rows = valid_pairs([TEXT] * 5, 20)
    docs = pipe.detect([r["spun"] for r in rows])
    pools = pipe.rewriter.pools(docs)
    assert len(pools) == len(docs) and sum(len(sentences) > 0 for sentences in pools) > 10
    several = whole = 0
    for doc, sentences in zip(docs, pools):
        for a, b, choices in sentences:
            scores = [s for s, _ in choices]
            assert scores == sorted(scores, reverse=True) and scores[0] - scores[-1] <= 6.0
            assert len({t for _, t in choices}) == len(choices) and 0 <= a < b <= len(doc.text)
            several += len(choices) > 1
        if len(sentences) == 1 and sentences[0][:2] == (0, len(doc.text)):  # one sentence: no vote
            alone = pipe.rewriter.run([Document(doc.text, doc.spans, evidence=doc.evidence)])[0]
            assert sentences[0][2][0][1] == replace_spans(doc.text, ((e.start, e.end, e.new) for e in alone.edits))
            whole += 1
    assert several and whole


@pytest.mark.parametrize("rows", [1, 15, 16, 17, 130])
def test_the_originals_head_pads_its_rows_and_gives_each_word_its_own_logits(rows):
    """`Tagger.orig_logits` pads the rows to a multiple of HEAD_ROWS (bfloat16 kernels are kept per
    shape) and hands back one float32 row per word, each the head's own in float32 and within
    bfloat16's rounding in bfloat16."""
    import torch

    from restore.tagger import Tagger, TaggerConfig

    torch.manual_seed(rows)
    model = Tagger(TaggerConfig(vocab_size=50, n_orig=300, d_model=32, n_layers=1, n_heads=2, d_ff=64)).eval()
    hidden = torch.randn(rows, 32)
    with torch.inference_mode():
        plain = model.orig_head(hidden)
        wide = model.orig_logits(hidden)
        model.encoder_in(torch.bfloat16)
        narrow = model.orig_logits(hidden)
    assert wide.shape == narrow.shape == (rows, 300) and narrow.dtype == torch.float32
    assert torch.allclose(wide, plain, atol=1e-5)
    assert torch.allclose(narrow, plain, atol=0.05) and not torch.equal(narrow, plain)
