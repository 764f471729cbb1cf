"""The strong classical baseline: a noisy-channel restorer with a Kneser-Ney trigram LM.

Candidates come from the inverse thesaurus; a beam search per sentence picks the
sequence maximising log P_LM(originals) + log P(spun word | original). It is built
from the train split at benchmark time (nothing shipped) and lives in the eval
harness so every report shows it next to the model.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

from restore.lexicon import Lexicon
from restore.text import match_case, replace_spans, tokenize, units

BOS, EOS = "<s>", "</s>"


class KneserNeyTrigram:
    """Interpolated Kneser-Ney trigram model over lowercase word tokens (discount 0.75)."""

    def __init__(self, sentences, discount: float = 0.75):
        self.d = discount
        c3: Counter = Counter()
        for words in sentences:
            seq = [BOS, BOS] + words + [EOS]
            c3.update(zip(seq, seq[1:], seq[2:]))
        self.c3 = c3
        self.ctx3: dict = defaultdict(lambda: [0, 0])  # (u, v) -> [count, distinct w]
        cc2: Counter = Counter()  # (v, w) -> distinct u
        for (u, v, w), c in c3.items():
            entry = self.ctx3[(u, v)]
            entry[0] += c
            entry[1] += 1
            cc2[(v, w)] += 1
        self.cc2 = cc2
        self.ctx2: dict = defaultdict(lambda: [0, 0])
        cc1: Counter = Counter()
        for (v, w), c in cc2.items():
            entry = self.ctx2[v]
            entry[0] += c
            entry[1] += 1
            cc1[w] += 1
        self.cc1 = cc1
        self.n_bigram_types = len(cc2)
        self.ctx3, self.ctx2 = dict(self.ctx3), dict(self.ctx2)

    def logprob(self, u: str, v: str, w: str) -> float:
        d = self.d
        p1 = (self.cc1.get(w, 0) + 0.5) / (self.n_bigram_types + 0.5 * (len(self.cc1) + 1))
        total, types = self.ctx2.get(v, (0, 0))
        p2 = p1 if not total else (max(self.cc2.get((v, w), 0) - d, 0) + d * types * p1) / total
        total, types = self.ctx3.get((u, v), (0, 0))
        p3 = p2 if not total else (max(self.c3.get((u, v, w), 0) - d, 0) + d * types * p2) / total
        return math.log(p3)


def corpus_sentences(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            for a, b in units(text):
                yield [t.text.lower() for t in tokenize(text[a:b])]


class NoisyChannel:
    """Beam search over keep-or-restore choices for each word of a sentence."""

    def __init__(self, lm: KneserNeyTrigram, lexicon: Lexicon, swap_rate: float = 0.25, beam: int = 8):
        self.lm, self.lex, self.beam = lm, lexicon, beam
        self.log_keep, self.log_swap = math.log(1 - swap_rate), math.log(swap_rate)

    def _options(self, word: str, initial: bool) -> list[tuple[str, float]]:
        key = word.lower()
        options = [(key, self.log_keep)]
        if word.islower() or (initial and word[:1].isupper() and word[1:].islower()):
            for orig, _ in self.lex.originals(key)[:10]:
                p = self.lex.substitutes(orig).get(key, 0.0)
                if p > 0:
                    options.append((orig, self.log_swap + math.log(p)))
        return options

    def restore_sentence(self, text: str) -> str:
        toks = tokenize(text)
        # beam entries: (score, last two LM words, chosen original per token)
        beams: list[tuple[float, tuple[str, str], tuple[str, ...]]] = [(0.0, (BOS, BOS), ())]
        for i, tok in enumerate(toks):
            nxt = []
            for score, hist, chosen in beams:
                for orig, ch in self._options(tok.text, i == 0):
                    s, h = score + ch, hist
                    for w in orig.split():
                        s += self.lm.logprob(h[0], h[1], w)
                        h = (h[1], w)
                    nxt.append((s, h, chosen + (orig,)))
            nxt.sort(key=lambda x: -x[0])
            beams = nxt[: self.beam]
        best = max(beams, key=lambda b: b[0] + self.lm.logprob(b[1][0], b[1][1], EOS))[2]
        return replace_spans(text, ((tok.start, tok.end, match_case(choice, tok.text))
                                    for tok, choice in zip(toks, best) if choice != tok.text.lower()))

    def __call__(self, texts: list[str]) -> list[str]:
        return [replace_spans(t, ((a, b, self.restore_sentence(t[a:b])) for a, b in units(t))) for t in texts]

