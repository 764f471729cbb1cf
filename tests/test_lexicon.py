from restore.lexicon import Lexicon, load_lexicon, parse_mythes
from tests.conftest import MYTHES


def test_parse_mythes_relations_and_antonyms():
    entries = parse_mythes(MYTHES.splitlines(keepends=True))
    assert entries["in"][0] == ("adj", [("successful", "m")])
    assert entries["state"][0][1] == [("government", "g"), ("authorities", "g")]
    good_terms = [t for t, _ in entries["good"][0][1]]
    assert "bad" not in good_terms and good_terms == ["beneficial", "well"]
    assert ("atomic number 85", "s") not in entries["at"][0][1]  # digits are skipped
    assert "take part" in entries


def test_substitutes_favour_first_single_word_term(lexicon: Lexicon):
    subs = lexicon.substitutes("in")
    assert max(subs, key=subs.get) == "successful"
    assert abs(sum(subs.values()) - 1) < 1e-9
    assert "In" not in subs  # capitalised terms are not spinner output


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
