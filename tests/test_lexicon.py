import struct

from restore.lexicon import Lexicon, load_lexicon, parse_aiksaurus, parse_mythes
from restore.spin import Policy, Spinner
from tests.conftest import MYTHES


def test_parse_mythes_relations_and_antonyms():
    entries = parse_mythes(MYTHES.splitlines(keepends=True))
    assert entries["in"][0] == ("adj", [("successful", "m")])
    assert entries["state"][0][1] == [("government", "g"), ("authorities", "g")]
    good_terms = [t for t, _ in entries["good"][0][1]]
    assert "bad" not in good_terms and good_terms == ["beneficial", "well"]
    assert ("atomic number 85", "s") not in entries["at"][0][1]  # digits are skipped
    assert "take part" in entries


def _aiksaurus(words: dict[str, list[int]], meanings: list[list[int]]) -> tuple[bytes, bytes]:
    """Aiksaurus's two files for a tiny thesaurus, written as its format has them."""
    end = struct.pack(">H", 0xFFFF)
    words_dat = b"".join(w.replace(" ", ":").encode() + b"\0" + b"".join(struct.pack(">H", m) for m in ms) + end
                         for w, ms in words.items())
    meanings_dat = b"".join(b"".join(struct.pack(">H", x) for x in m) + end for m in meanings)
    return words_dat, meanings_dat


def test_parse_aiksaurus_meanings_become_senses_in_the_words_order():
    # words 0..4; meaning 0 titled "summit, meeting"; meaning 1 "rally, meeting"
    words = {"conference": [0], "meeting": [1, 0], "Rally": [1], "rally": [1], "summit": [0]}
    words_dat, meanings_dat = _aiksaurus(words, [[4, 1, 0, 1, 4], [3, 1, 2, 3]])
    entries = parse_aiksaurus(words_dat, meanings_dat)
    assert entries["meeting"] == [("", [("rally", "s"), ("Rally", "s")]), ("", [("summit", "s"), ("conference", "s")])]
    assert entries["summit"] == [("", [("meeting", "s"), ("conference", "s")])]
    assert "Rally" not in entries  # a capitalised headword is a name: spinners leave those
    spun = Spinner(Lexicon(entries), Policy(rate=1.0, choice="first", wordnet=0.0)).spin("The meeting ended.")
    assert spun.spun == "The rally ended."


def test_substitutes_favour_first_single_word_term(lexicon: Lexicon):
    subs = lexicon.substitutes("in")
    assert max(subs, key=subs.get) == "successful"
    assert abs(sum(subs.values()) - 1) < 1e-9
    assert "In" not in subs  # capitalised terms are not spinner output


def test_first_is_what_a_first_term_spinner_writes(lexicon: Lexicon):
    """The first single-word lowercase term of the first sense that has one: no antonym, no
    capitalised term ("In"), no multiword term ("coming together"); the substitutes' likeliest."""
    assert [lexicon.first(w) for w in ("in", "good", "take part", "meeting", "nonsense")] == [
        "successful", "beneficial", "participate", "gathering", None]
    for word in ("in", "good", "state", "city"):
        subs = lexicon.substitutes(word)
        assert lexicon.first(word) == max(subs, key=subs.get)
    # an inflecting spinner's, of one part of speech's senses: "inches" for "ins", "successfuller" never
    assert [lexicon.first("in", pos) for pos in ("noun", "adj", "verb")] == ["inch", "successful", None]
    assert lexicon.first("take part", "verb") == "participate" and lexicon.first("meeting", "noun") == "gathering"


def test_inverse_index_ranks_by_prior(lexicon: Lexicon):
    assert lexicon.originals("betwixt")[0][0] == "between"
    assert lexicon.originals("successful")[0][0] == "in"
    assert lexicon.originals("town")[0][0] == "city"  # WordNet extra
    assert lexicon.originals("nonsense") == []


def test_save_and_load_roundtrip(lexicon: Lexicon, lexicon_path):
    loaded = load_lexicon(lexicon_path)
    assert loaded.entries == lexicon.entries
    assert loaded.originals("betwixt")[0][0] == "between"
    assert loaded.max_phrase_words == 2


def test_shipped_lexicon_loads():
    lex = load_lexicon()
    assert lex.originals("betwixt")[0][0] == "between"
    assert lex.originals("astatine")[0][0] == "at"
    assert len(lex.entries) > 10_000
