"""Shared fixtures: a tiny MyThes-format thesaurus the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore.lexicon import Lexicon, parse_mythes

MYTHES = """UTF-8
in|3
(adj)|successful (similar term)
(noun)|inch|linear unit (generic term)
(noun)|indium|In|atomic number 49|metallic element (generic term)
between|1
(adv)|betwixt
at|1
(noun)|astatine|At|atomic number 85|chemical element (generic term)
state|2
(noun)|government (generic term)|authorities (generic term)
(noun)|province|administrative district (generic term)
meeting|2
(noun)|gathering|assemblage (generic term)
(noun)|encounter|coming together
good|1
(adj)|bad (antonym)|beneficial (similar term)|well (related term)
take part|1
(verb)|participate|act (generic term)
city|1
(noun)|metropolis|urban center
"""

TEXT = (
    "The minister arrived in the city on Monday for a meeting between the two sides.\n"
    "Officials said the state would take part in talks at the border, and 10,000 people waited.\r\n"
    "“It was good,” she said — in a city of one million. Meetings went on in the state capital."
)


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    entries = parse_mythes(MYTHES.splitlines(keepends=True))
    freq = {"in": 500, "between": 50, "at": 300, "state": 40, "government": 60, "meeting": 20,
            "good": 30, "city": 25, "the": 2000, "successful": 3, "take part": 5}
    return Lexicon(entries, {"city": ["town"]}, freq)


@pytest.fixture(scope="session")
def lexicon_path(lexicon: Lexicon, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lex") / "lexicon.json.gz"
    lexicon.save(path)
    return path
