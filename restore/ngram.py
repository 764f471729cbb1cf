"""A Kneser-Ney trigram LM over lowercase words, and the classical noisy-channel restorer.

The LM does two jobs: it is the strong baseline's language model (built from the train
split at benchmark time), and, saved as compact integer arrays (safetensors + a word list,
`scripts/build_lm.py`), the shipped pipeline's context for choosing among the detector's
candidates. The noisy channel takes candidates from the
inverse thesaurus for every word; a beam search per sentence picks the sequence maximising
log P_LM(originals) + log P(spun word | original).
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from restore.errors import RestoreError
from restore.io import write_text
from restore.lexicon import Lexicon
from restore.text import Token, match_case, replace_spans, tokenize, units

BOS, EOS = "<s>", "</s>"
CAP = "<cap>"
T = TypeVar("T")


def lm_word(word: str, initial: bool, names: frozenset[str] = frozenset()) -> str:
    """The LM's token for a word. A capitalised word inside a sentence is itself if it is one
    of the LM's frequent `names` ("Monday", "US"), else <cap>, so that "leader <cap>" or
    "in <cap>" is learnt from every rare name, not from the few a 2.5M-word corpus holds;
    everything else is lowercased."""
    if not initial and word[:1].isupper() and word != "I":
        return word if word in names else CAP
    return word.lower()


def _id_dtype(V: int) -> type:
    return np.uint16 if V <= 1 << 16 else np.int32


def _pack(name: str, values: np.ndarray, dense: bool = True) -> dict[str, np.ndarray]:
    """Non-negative counts as bytes, the few of 255 and over (or, not dense, every non-zero
    one) listed beside them by position."""
    values = np.asarray(values, dtype=np.int64)
    side = np.flatnonzero(values >= 255 if dense else values)
    out = {f"{name}.at": side.astype(np.int32), f"{name}.value": values[side].astype(np.int32)}
    if dense:
        out[name] = np.minimum(values, 255).astype(np.uint8)
    return out


def _context_sums(counts: np.ndarray, n_per_context: np.ndarray) -> np.ndarray:
    """The sum of each context's run of counts."""
    if not len(counts):
        return counts
    return np.add.reduceat(counts, np.r_[0, np.cumsum(n_per_context)[:-1]])


def _unpack(t: dict[str, np.ndarray], name: str, size: int | None = None) -> np.ndarray:
    """`_pack` undone; `size`: the length of a table packed not dense."""
    values = t[name].astype(np.int64) if size is None else np.zeros(size, dtype=np.int64)
    values[t[f"{name}.at"]] = t[f"{name}.value"]
    return values


class KneserNeyTrigram:
    """Interpolated Kneser-Ney trigram model (absolute discount 0.75).

    N-grams are keyed by packed word ids. `min_count` > 1 drops rarer trigrams and
    bigram continuations (and trigram contexts left empty): their mass goes to the lower
    orders. That makes a smaller model but a weaker one (the n-grams seen once are worth
    about a BLEU point to the pipeline), so the shipped model keeps them all.
    """

    def __init__(self, vocab: list[str], tables: dict[str, dict[int, int]], dense: dict[str, list[int]],
                 n_bigram_types: int, discount: float = 0.75):
        self.vocab, self.d, self.n_bigram_types = vocab, discount, n_bigram_types
        self.index = {w: i for i, w in enumerate(vocab)}
        self.names = frozenset(w for w in vocab if w[:1].isupper())
        self.V = len(vocab)
        self.c3, self.ctx3_total, self.ctx3_types, self.cc2 = (
            tables["c3"], tables["ctx3_total"], tables["ctx3_types"], tables["cc2"])
        self.ctx2_total, self.ctx2_types, self.cc1 = dense["ctx2_total"], dense["ctx2_types"], dense["cc1"]

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 1, discount: float = 0.75) -> "KneserNeyTrigram":
        index: dict[str, int] = {BOS: 0, EOS: 1}
        c3: Counter = Counter()
        for words in sentences:
            ids = [0, 0] + [index.setdefault(w, len(index)) for w in words] + [1]
            c3.update(zip(ids, ids[1:], ids[2:]))
        V = len(index)
        ctx3_total: Counter = Counter()
        ctx3_types: Counter = Counter()
        cc2: Counter = Counter()  # (v, w) -> distinct u
        for (u, v, w), c in c3.items():
            ctx3_total[u, v] += c
            ctx3_types[u, v] += 1
            cc2[v, w] += 1
        ctx2_total, ctx2_types, cc1 = [0] * V, [0] * V, [0] * V
        for (v, w), c in cc2.items():
            ctx2_total[v] += c
            ctx2_types[v] += 1
            cc1[w] += 1
        kept3 = {(u * V + v) * V + w: c for (u, v, w), c in c3.items() if c >= min_count}
        contexts = {k // V for k in kept3}
        tables = {
            "c3": kept3,
            "ctx3_total": {u * V + v: c for (u, v), c in ctx3_total.items() if u * V + v in contexts},
            "ctx3_types": {u * V + v: c for (u, v), c in ctx3_types.items() if u * V + v in contexts},
            "cc2": {v * V + w: c for (v, w), c in cc2.items() if c >= min_count},
        }
        dense = {"ctx2_total": ctx2_total, "ctx2_types": ctx2_types, "cc1": cc1}
        return cls(sorted(index, key=index.get), tables, dense, len(cc2), discount)

    # -- storage: safetensors integer arrays + a word list, no pickle ------------------
    # The tables are stored sorted, as counts per context (CSR): a word id in 2 bytes and a
    # count in 1 (the few larger counts in a side table), 3 bytes per n-gram instead of 12 for
    # a key and a value, which is what lets the shipped model keep the n-grams seen once.
    def save(self, out: Path, meta: dict | None = None) -> None:
        out.mkdir(parents=True, exist_ok=True)
        V, ids = self.V, _id_dtype(self.V)
        k3 = np.array(sorted(self.c3), dtype=np.int64)
        contexts, n_per_context = np.unique(k3 // V, return_counts=True)
        count3 = np.array([self.c3[k] for k in k3.tolist()], dtype=np.int64)
        kept_total = _context_sums(count3, n_per_context)
        ctx3 = contexts.tolist()
        k2 = np.array(sorted(self.cc2), dtype=np.int64)
        arrays = {
            "c3.contexts_per_u": np.bincount(contexts // V, minlength=V).astype(np.int32),
            "c3.context_v": (contexts % V).astype(ids),
            "c3.w": (k3 % V).astype(ids),
            "cc2.per_v": np.bincount(k2 // V, minlength=V).astype(np.int32),
            "cc2.w": (k2 % V).astype(ids),
            **_pack("c3.n", n_per_context),
            **_pack("c3.count", count3),
            # what pruning dropped from each context's totals (nothing when min_count is 1)
            **_pack("c3.dropped_total", np.array([self.ctx3_total[c] for c in ctx3]) - kept_total, dense=False),
            **_pack("c3.dropped_types", np.array([self.ctx3_types[c] for c in ctx3]) - n_per_context, dense=False),
            **_pack("cc2.count", np.array([self.cc2[k] for k in k2.tolist()], dtype=np.int64)),
        }
        for name in ("ctx2_total", "ctx2_types", "cc1"):
            arrays[name] = np.array(getattr(self, name), dtype=np.int32)
        # one metadata entry: safetensors writes several in hash order, and the file would differ run to run
        params = json.dumps({"discount": self.d, "n_bigram_types": self.n_bigram_types}, sort_keys=True)
        save_file(arrays, str(out / "lm.safetensors"), metadata={"kneser_ney": params})
        with open(out / "vocab.txt.gz", "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write(("\n".join(self.vocab) + "\n").encode("utf-8"))  # mtime 0: same corpus, same bytes
        self.save_config(out, meta or {})

    @staticmethod
    def save_config(out: Path, meta: dict) -> None:
        """config.json alone (how the pipeline weighs the LM), leaving the counts as they are."""
        write_text(json.dumps(meta, indent=2) + "\n", str(out / "config.json"))

    @classmethod
    def load(cls, path: Path) -> "KneserNeyTrigram":
        path = Path(path)
        if not (path / "lm.safetensors").is_file():
            raise RestoreError(f"no language model at {path}")
        try:
            with safe_open(str(path / "lm.safetensors"), "np") as f:
                meta = f.metadata() or {}
                t = {k: f.get_tensor(k) for k in f.keys()}
            with gzip.open(path / "vocab.txt.gz", "rt", encoding="utf-8") as f:
                vocab = f.read().split("\n")[:-1]
            V = len(vocab)
            if any(len(t[name]) != V for name in ("ctx2_total", "ctx2_types", "cc1")):
                raise RestoreError(f"language model at {path} is unreadable: vocab.txt.gz does not match lm.safetensors")
            n_per_context = _unpack(t, "c3.n")
            contexts = np.repeat(np.arange(V, dtype=np.int64), t["c3.contexts_per_u"]) * V + t["c3.context_v"]
            k3 = np.repeat(contexts, n_per_context) * V + t["c3.w"]
            count3 = _unpack(t, "c3.count")
            total = _context_sums(count3, n_per_context) + _unpack(t, "c3.dropped_total", len(contexts))
            types = n_per_context + _unpack(t, "c3.dropped_types", len(contexts))
            k2 = np.repeat(np.arange(V, dtype=np.int64), t["cc2.per_v"]) * V + t["cc2.w"]
            ctx3 = contexts.tolist()
            tables = {"c3": dict(zip(k3.tolist(), count3.tolist())), "ctx3_total": dict(zip(ctx3, total.tolist())),
                      "ctx3_types": dict(zip(ctx3, types.tolist())),
                      "cc2": dict(zip(k2.tolist(), _unpack(t, "cc2.count").tolist()))}
            dense = {name: t[name].tolist() for name in ("ctx2_total", "ctx2_types", "cc1")}
            params = json.loads(meta["kneser_ney"])
            n_bigram_types, discount = int(params["n_bigram_types"]), float(params["discount"])
        except (OSError, ValueError, KeyError, IndexError, EOFError, SafetensorError) as e:
            first = (str(e).splitlines() or [type(e).__name__])[0]
            raise RestoreError(f"language model at {path} is unreadable: {first}") from None
        return cls(vocab, tables, dense, n_bigram_types, discount)

    def words(self, tokens: list[Token]) -> list[str]:
        """The LM's words for the tokens of one sentence (the first is sentence-initial)."""
        return [lm_word(t.text, i == 0, self.names) for i, t in enumerate(tokens)]

    def ids(self, tokens: list[Token]) -> list[int]:
        """The word ids of one sentence's tokens (`words`), after two sentence starts and before its end."""
        return [self.index.get(w, -1) for w in [BOS, BOS] + self.words(tokens) + [EOS]]

    def nats_per_word(self, text: str) -> float:
        """How far from the LM's training text `text` reads: the mean negative log-probability of
        its words (and each sentence's end), read sentence by sentence (`units`), in nats."""
        total, n = 0.0, 0
        for a, b in units(text):
            ids = self.ids(tokenize(text[a:b]))
            total -= sum(self.logprob_ids(*ids[i - 2 : i + 1]) for i in range(2, len(ids)))
            n += len(ids) - 2
        return total / max(n, 1)

    def _p1(self, iw: int) -> float:
        """The continuation unigram probability of word id iw (-1: outside the vocabulary), add-0.5 smoothed."""
        return ((self.cc1[iw] if iw >= 0 else 0) + 0.5) / (self.n_bigram_types + 0.5 * self.V)

    def unigram_logprob(self, w: str) -> float:
        """log of the unigram probability the higher orders back off to."""
        return self.unigram_logprob_id(self.index.get(w, -1))

    def unigram_logprob_id(self, iw: int) -> float:
        """`unigram_logprob` by word id (-1: outside the vocabulary)."""
        return math.log(self._p1(iw))

    def logprob(self, u: str, v: str, w: str) -> float:
        """log P(w | u v); words outside the vocabulary share the unigram floor."""
        index = self.index
        return self.logprob_ids(index.get(u, -1), index.get(v, -1), index.get(w, -1))

    def logprob_ids(self, iu: int, iv: int, iw: int) -> float:
        """log P(w | u v) by word ids (-1: outside the vocabulary), for callers that look words up once."""
        return self.after(iu, iv)(iw)

    def after(self, iu: int, iv: int) -> Callable[[int], float]:
        """log P(· | u v) as a function of the word id, the history's lookups made once: the beam
        asks about every option after each history. Interpolated Kneser-Ney, backing off to the
        bigram where the history u v was never seen (or u is outside the vocabulary), and to the
        continuation unigram where v was never seen before a word."""
        d, V, cc2, c3, p1 = self.d, self.V, self.cc2, self.c3, self._p1
        log = math.log
        if iv < 0 or not self.ctx2_total[iv]:
            return lambda iw: log(p1(iw))
        total2, d2, base2 = self.ctx2_total[iv], d * self.ctx2_types[iv], iv * V

        def bigram(iw: int) -> float:
            return (max((cc2.get(base2 + iw, 0) if iw >= 0 else 0) - d, 0) + d2 * p1(iw)) / total2

        total3 = self.ctx3_total.get(iu * V + iv, 0) if iu >= 0 else 0
        if not total3:
            return lambda iw: log(bigram(iw))
        d3, base3 = d * self.ctx3_types[iu * V + iv], (iu * V + iv) * V
        return lambda iw: log((max((c3.get(base3 + iw, 0) if iw >= 0 else 0) - d, 0) + d3 * bigram(iw)) / total3)


def beam_search(lm: KneserNeyTrigram, choices: list[list[tuple[str, float, T]]], beam: int = 8,
                lm_weight: float = 1.0) -> list[T]:
    """One option per position of a sentence, maximising lm_weight · log P_LM(the chosen words)
    plus the options' own log costs. Each option is (its words, its cost, the value returned).

    Hypotheses that end in the same two words are recombined: a trigram LM scores what follows
    them alike, so only the best can win. The beam keeps `beam` different histories, and a run
    of fixed words costs one LM call each, not one per hypothesis."""
    return beam_hypotheses(lm, choices, beam, lm_weight)[0][1]


def beam_hypotheses(lm: KneserNeyTrigram, choices: list[list[tuple[str, float, T]]], beam: int = 8,
                    lm_weight: float = 1.0, per_history: int = 1) -> list[tuple[float, list[T]]]:
    """`beam_search`'s final hypotheses, best first, each with its score (end of sentence
    included). `per_history` > 1 keeps that many hypotheses per two-word history instead of
    recombining them into one, for a second model to rescore: a sentence that ends in fixed words
    would otherwise end with a single hypothesis."""
    # the beam: per two-word history, its hypotheses (score, values chosen so far), best first.
    # An option's LM terms depend only on the history, so they are computed once per history,
    # not once per hypothesis, and added to each in the same order (the same floats as before).
    # Each step first ranks the new histories by their best hypothesis alone (a history's
    # hypotheses are sorted and adding the same terms keeps their order, so its first is the
    # best with every option), then fills in only the `beam` histories that survive: most of
    # the histories an option opens are pruned at once.
    index = lm.index
    ids = [[[index.get(w, -1) for w in words.split()] for words, _, _ in options] for options in choices]
    groups: list[tuple[tuple[str, str], tuple[int, int], list[tuple[float, tuple]]]] = [
        ((BOS, BOS), (index.get(BOS, -1), index.get(BOS, -1)), [(0.0, ())])]
    for options, option_ids in zip(choices, ids):
        ranked: dict[tuple[str, str], float] = {}  # new history -> its best score, in order of first reach
        ids_of: dict[tuple[str, str], tuple[int, int]] = {}  # new history -> its word ids
        steps = []
        for hist, hid, hyps in groups:
            after = lm.after(*hid)
            extended = []
            for (words, cost, value), wids in zip(options, option_ids):
                h, i, terms = hist, hid, []
                for word, iw in zip(words.split(), wids):
                    terms.append(lm_weight * (after(iw) if not terms else lm.logprob_ids(i[0], i[1], iw)))
                    h, i = (h[1], word), (i[1], iw)
                extended.append((cost, value, terms, h))
                s = hyps[0][0] + cost
                for term in terms:
                    s += term
                if h not in ranked or s > ranked[h]:
                    ranked[h], ids_of[h] = s, i
            steps.append((hyps, extended))
        survivors = sorted(ranked.items(), key=lambda item: -item[1])[:beam]
        best: dict[tuple[str, str], list[tuple[float, tuple]]] = {h: [] for h, _ in survivors}
        for hyps, extended in steps:
            extended = [e for e in extended if e[3] in best]
            for score, chosen in hyps:
                for cost, value, terms, h in extended:
                    s = score + cost
                    for term in terms:
                        s += term
                    kept = best[h]
                    if len(kept) == per_history:
                        if s <= kept[-1][0]:
                            continue
                        kept.pop()
                    i = len(kept)  # after every hypothesis scored at least s: ties keep their order
                    while i and kept[i - 1][0] < s:
                        i -= 1
                    kept.insert(i, (s, chosen + (value,)))
        groups = [(h, ids_of[h], best[h]) for h, _ in survivors]
    final = []
    for h, hid, hyps in groups:
        end = lm_weight * lm.logprob_ids(hid[0], hid[1], index.get(EOS, -1))
        final += [(score + end, list(chosen)) for score, chosen in hyps]
    return sorted(final, key=lambda x: -x[0])


def corpus_sentences(path: Path, min_name_count: int = 50):
    """The train split as LM token lists; capitalised words seen at least `min_name_count`
    times inside sentences keep their identity, rarer ones become <cap> (see `lm_word`)."""
    def unit_tokens():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                text = json.loads(line)["text"]
                for a, b in units(text):
                    yield tokenize(text[a:b])

    counts = Counter(t.text for toks in unit_tokens() for t in toks[1:] if t.text[:1].isupper())
    names = frozenset(w for w, c in counts.items() if c >= min_name_count)
    for toks in unit_tokens():
        yield [lm_word(t.text, i == 0, names) for i, t in enumerate(toks)]


class NoisyChannel:
    """Beam search over keep-or-restore choices for each word of a sentence."""

    def __init__(self, lm: KneserNeyTrigram, lexicon: Lexicon, swap_rate: float = 0.25, beam: int = 8):
        self.lm, self.lex, self.beam = lm, lexicon, beam
        self.log_keep, self.log_swap = math.log(1 - swap_rate), math.log(swap_rate)

    def _options(self, word: str, lm_token: str, initial: bool) -> list[tuple[str, float, str | None]]:
        """(LM words, log cost, replacement or None to keep) for one word of a sentence."""
        key = word.lower()
        options: list[tuple[str, float, str | None]] = [(lm_token, self.log_keep, None)]
        if word.islower() or (initial and word[:1].isupper() and word[1:].islower()):
            for orig, _ in self.lex.originals(key)[:10]:
                p = self.lex.substitutes(orig).get(key, 0.0)
                if p > 0:
                    options.append((orig, self.log_swap + math.log(p), orig))
        return options

    def restore_sentence(self, text: str) -> str:
        toks = tokenize(text)
        choices = [self._options(tok.text, w, i == 0) for i, (tok, w) in enumerate(zip(toks, self.lm.words(toks)))]
        best = beam_search(self.lm, choices, self.beam)
        return replace_spans(text, ((tok.start, tok.end, match_case(choice, tok.text))
                                    for tok, choice in zip(toks, best) if choice is not None))

    def __call__(self, texts: list[str]) -> list[str]:
        return [replace_spans(t, ((a, b, self.restore_sentence(t[a:b])) for a, b in units(t))) for t in texts]

