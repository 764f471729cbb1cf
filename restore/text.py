"""Word tokens with character offsets, sentence splitting and case transfer.

Everything downstream works on offsets into the original string, so that text
we do not change is copied byte for byte (quotes, dashes, CRLF, emoji).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

# A word is letters, optionally joined by internal hyphens or apostrophes
# ("DPRK-Russia", "don't", "Russia’s"). Numbers are their own tokens so that
# they are never mistaken for words.
WORD_RE = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
_TOKEN_RE = re.compile(f"{WORD_RE.pattern}|{NUMBER_RE.pattern}")
_WORD_START_RE = re.compile(r"(?<!\S)\S")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")


@dataclass(frozen=True, slots=True)
class Token:
    """A word or number with its [start, end) offsets in the text."""

    text: str
    start: int
    end: int

    @property
    def is_word(self) -> bool:
        return not self.text[0].isdigit()


def glued(text: str, tok: Token) -> bool:
    """Is the token part of a larger alphanumeric string ("th" in "11th", "m" in "5m")?"""
    return (tok.start > 0 and text[tok.start - 1].isalnum()) or (tok.end < len(text) and text[tok.end].isalnum())


# What marks a string between spaces as no prose: a scheme, an @, a leading #, ~, slash or
# backslash, "www.", a dot before a top-level domain ("example.com/user", "state.gov"), an HTML
# entity ("&amp;", "&#8217;").
_NOT_PROSE_RE = re.compile(r"://|@|^[#~/\\]|^\.{1,2}/|^www\.|[^\W_]\.[a-z]{2,}(?:[/?#:]|$)|&#?[a-z0-9]+(?:;|$)",
                           re.IGNORECASE)
_ENDS = "\"“”‘’'()[]<>{}.,;:!?"  # what prose puts around an address: "(see example.com)."
# What marks a string between spaces as code: a word joined to another by an underscore
# ("yield_expression", "__getattr__"), a call or an index ("append()", "lists[0]"), a dotted
# name ("s.append", "object.__dict__"; "e.g." and "a.m." are no names), an assignment
# ("key=value"), a backtick or "::". Read before the punctuation around the string is
# stripped: "append()" is code, "(besides" prose.
_CODE_RE = re.compile(r"[^\W_]_|_[^\W_]|[^\W_][(\[]|[^\W_]\.[a-z_]\w|[^\W_]=|=[^\W_]|`|::")


def not_prose(text: str, tok: Token) -> bool:
    """Is the token part of a web or e-mail address, a handle, a hashtag, a file path, an HTML
    entity, the name of a tag or code ("user" in "https://example.com/user", "@user", "#tag",
    "/home/user", "amp" in "&amp;", "b" in "<b>", "expression" in "yield_expression" or
    "append" in "s.append(x)")? A spinner that looks words up between spaces never finds such a
    string in its thesaurus, and restoring "user" there would break the link."""
    if text[max(tok.start - 2, 0) : tok.start].endswith(("<", "</")):
        return True
    a, b = tok.start, tok.end
    while a > 0 and not text[a - 1].isspace():
        a -= 1
    while b < len(text) and not text[b].isspace():
        b += 1
    return (a < tok.start or b > tok.end) and bool(_CODE_RE.search(text, a, b)
                                                   or _NOT_PROSE_RE.search(text[a:b].strip(_ENDS)))


def code_share(text: str) -> float:
    """The share of the text's strings between spaces that are code (`_CODE_RE`: "yield_expression",
    "`print`", "append()"): how much it reads as documentation rather than an article."""
    strings = text.split()
    return sum(bool(_CODE_RE.search(s)) for s in strings) / len(strings) if strings else 0.0


def bare(text: str, tok: Token) -> bool:
    """Does the token stand alone between spaces ("month" in "last month ago", not in "last
    month," or "“aggression”")? A spinner that splits its input on whitespace looks up only such
    words: "month," is not in its thesaurus. A byte-order mark before the text's first word is no
    punctuation."""
    first = tok.start <= 1 and text[: tok.start] in ("", "\ufeff")
    return (first or text[tok.start - 1].isspace()) and (tok.end == len(text) or text[tok.end].isspace())


def tokenize(text: str) -> list[Token]:
    """Words and numbers of `text` with offsets; everything between is left alone."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """[start, end) spans of the sentences of one paragraph (punctuation-based)."""
    start = 0
    for m in _SENTENCE_END_RE.finditer(text):
        yield start, m.start()
        start = m.end()
    if start < len(text):
        yield start, len(text)


def replace_spans(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """`text` with each ordered, non-overlapping [start, end) replaced; the rest copied as is."""
    out, pos = [], 0
    for start, end, new in edits:
        out += [text[pos:start], new]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def match_case(word: str, model: str) -> str:
    """Give `word` the capitalisation pattern of `model` ("in", "Successful" -> "In")."""
    if model.isupper() and len(model) > 1:
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


MAX_UNIT_WORDS = 60


def units(text: str) -> list[tuple[int, int]]:
    """[start, end) of the sentences of every paragraph of `text`; overlong ones cut every 60 words
    (the tagger reads at most 128 pieces, and unpunctuated text must still be read whole)."""
    out = []
    for start, body in paragraphs(text):
        for a, b in sentence_spans(body):
            if not body[a:b].strip():
                continue
            words = [m.start() for m in _WORD_START_RE.finditer(body, a, b)]
            cuts = [a] + words[MAX_UNIT_WORDS::MAX_UNIT_WORDS] + [b]
            out.extend((start + x, start + y) for x, y in zip(cuts, cuts[1:]))
    return out


def paragraphs(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each paragraph, without its line end: a line each, as news is written
    (a headline, a dateline and a paragraph a line), or in a hard-wrapped text (`hard_wrapped`)
    the lines between blank ones, since its line ends fall mid-sentence (a line ending "met with
    Russia's", the next "resources minister"): read a line at a time, neither half is a sentence."""
    lines = text.splitlines(keepends=True)
    if hard_wrapped(lines):
        groups: list[str] = []
        after_blank = True
        for line in lines:  # a line of text after a blank one starts a paragraph; the rest join the last
            blank = not line.strip()
            if groups and (blank or not after_blank):
                groups[-1] += line
            else:
                groups.append(line)
            after_blank = blank
        lines = groups
    out, start = [], 0
    for line in lines:
        out.append((start, line.rstrip("\r\n")))
        start += len(line)
    return out


def hard_wrapped(lines: list[str]) -> bool:
    """Are these lines cut at a width, as plain-text mail and many scraped pages are? At least
    four lines of text, half of them 40 characters or longer, nine in ten at most 100, and a
    third ending mid-sentence: news written a paragraph a line has longer lines, or short ones
    that end their sentences, and a list or a table has shorter ones."""
    text = [line.rstrip() for line in lines if line.strip()]
    lengths = sorted(map(len, text))
    return (len(lengths) >= 4 and lengths[len(lengths) // 2] >= 40 and lengths[(len(lengths) - 1) * 9 // 10] <= 100
            and 3 * sum(line[-1].isalnum() or line[-1] in ",;-" for line in text) >= len(text))


BLOCK_CHARS = 20_000
GROUP_CHARS = 200_000  # characters read at once (about 35,000 words, their scores and encoder states)
_CUT_RES = (re.compile(r"(?<=[.!?])[\"”’')\]]*\s+"), re.compile(r"\s+"))


def block_spans(text: str, max_chars: int = BLOCK_CHARS) -> list[tuple[int, int]]:
    """[start, end) pieces of `text`, each about max_chars long, cut at a line end; a line with
    no end within 2 x max_chars is cut after a sentence end (else a space) instead. Long inputs
    are read, restored and streamed piece by piece, so memory stays bounded, and a piece cut
    again comes back whole (the CLI streams the pieces the pipeline reads)."""
    out, start = [], 0
    while start < len(text):
        lo, hi = start + max_chars, start + 2 * max_chars
        end = text.find("\n", lo, hi + 1) + 1
        if not end:
            end = len(text) if len(text) <= hi else _last_cut(text, lo, hi)
        out.append((start, end))
        start = end
    return out


def _last_cut(text: str, lo: int, hi: int) -> int:
    """The end of the last sentence end in text[lo:hi] (else of the last space; else hi)."""
    for cut in _CUT_RES:
        ends = [m.end() for m in cut.finditer(text, lo, hi)]
        if ends:
            return ends[-1]
    return hi


def grouped(pieces: list[tuple[int, int, int]],
            max_chars: int = GROUP_CHARS) -> Iterator[list[tuple[int, int, int]]]:
    """Consecutive (document, start, end) pieces in groups of about max_chars characters."""
    group: list[tuple[int, int, int]] = []
    size = 0
    for piece in pieces:
        group.append(piece)
        size += piece[2] - piece[1]
        if size >= max_chars:
            yield group
            group, size = [], 0
    if group:
        yield group
