import subprocess
import sys

import pytest

from restore.cli import main
from tests.conftest import TEXT


def run(*args, stdin=b""):
    return subprocess.run([sys.executable, "-m", "restore.cli", *args], input=stdin, capture_output=True)


@pytest.mark.parametrize("stdin,msg", [
    (b"", b"is empty"),
    (b"  \n\n", b"is empty"),
    (b"\xef\xbb\xbf \n", b"is empty"),  # a byte-order mark alone
    (b"abc\x00def", b"binary"),
    (b"caf\xe9 au lait", b"not UTF-8"),
])
def test_bad_input_is_one_line_error(stdin, msg):
    p = run("spin", "-", stdin=stdin)
    assert p.returncode == 2 and msg in p.stderr
    assert p.stderr.count(b"\n") == 1 and b"Traceback" not in p.stderr and p.stdout == b""


def test_missing_file_and_bad_flags(tmp_path):
    p = run("spin", str(tmp_path / "nope.txt"))
    assert p.returncode == 2 and b"no such file" in p.stderr
    p = run("spin", "--policy", "bogus", stdin=b"text")
    assert p.returncode == 2 and b"unknown policy" in p.stderr
    p = run("eval", "--hyp", str(tmp_path / "h"))
    assert p.returncode == 2
    for bad in ("2", "-0.1", "nan", "high"):  # a threshold is a probability
        p = run("detect", "--threshold", bad, stdin=b"text")
        assert p.returncode == 2 and b"between 0 and 1" in p.stderr and p.stdout == b""


def test_spin_to_file_keeps_lines(tmp_path, lexicon_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_bytes(TEXT.encode())
    assert main(["spin", str(src), "-o", str(out), "--seed", "1", "--lexicon", str(lexicon_path), "--rate", "1"]) == 0
    spun = out.read_bytes().decode()
    assert spun.count("\n") == TEXT.count("\n") and "\r\n" in spun and spun != TEXT
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_byte_order_mark_is_kept(tmp_path, lexicon_path):
    p = run("spin", "-", "--lexicon", str(lexicon_path), "--rate", "1", stdin="\ufeffThe city in the state.".encode())
    assert p.returncode == 0 and p.stdout.decode().startswith("\ufeffThe ") and "metropolis" in p.stdout.decode()
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_bytes("\ufeffThe cat sat.".encode())
    ref.write_bytes(b"The cat sat.")
    p = run("eval", "--hyp", str(hyp), "--ref", str(ref))  # scored as text, not as a mark before "The"
    assert p.returncode == 0 and b"BLEU" in p.stdout and b"100.0" in p.stdout


def test_output_file_gets_plain_permissions(tmp_path):
    """Atomic writes go through a 0600 temp file; the result must not keep that mode."""
    import os

    from restore.io import write_text

    out = tmp_path / "out.txt"
    umask = os.umask(0o022)
    try:
        write_text("x", str(out))
        assert out.stat().st_mode & 0o777 == 0o644
        out.chmod(0o640)
        write_text("y", str(out))  # replacing a file keeps its mode
        assert out.stat().st_mode & 0o777 == 0o640 and out.read_text() == "y"
    finally:
        os.umask(umask)


def test_failed_run_leaves_no_output_file(tmp_path):
    out = tmp_path / "out.txt"
    p = run("spin", "-", "-o", str(out), stdin=b"\xff\xfe")
    assert p.returncode == 2 and not out.exists()


def test_an_output_that_cannot_be_made_is_one_line_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    p = run("spin", "-", "-o", str(blocker / "out.txt"), stdin=b"The cat sat.")
    assert p.returncode == 2 and b"cannot write" in p.stderr
    assert p.stderr.count(b"\n") == 1 and b"Traceback" not in p.stderr and blocker.read_text() == "x"


def test_a_linked_output_is_written_through_not_replaced(tmp_path):
    """-o /dev/stdout (a link), or a link to a file elsewhere: renaming a temp file onto the link
    would replace it with a plain file (as root, /dev/stdout itself: not tried here)."""
    from restore.io import write_text

    target, link = tmp_path / "target.txt", tmp_path / "link.txt"
    target.write_text("old")
    link.symlink_to(target)
    write_text("new", str(link))
    assert link.is_symlink() and target.read_text() == "new"
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "no-such-folder" / "out.txt")
    p = run("spin", "-", "-o", str(dangling), stdin=b"The cat sat.")
    assert p.returncode == 2 and b"cannot write" in p.stderr and p.stderr.count(b"\n") == 1


def test_blocks_cut_at_line_ends_and_rejoin():
    from restore.text import block_spans

    text = "".join(f"line {i} with some words\r\n" for i in range(500)) + "last line without newline"
    parts = [text[a:b] for a, b in block_spans(text, max_chars=1000)]
    assert "".join(parts) == text and len(parts) > 5
    assert all(p.endswith("\n") for p in parts[:-1])
    assert block_spans("", 10) == []


def test_a_long_line_is_cut_after_a_sentence_end_and_a_piece_cut_again_comes_back_whole():
    from restore.text import block_spans

    text = " ".join(f"Sentence {i} is here." for i in range(2000)) + "\n" + "x" * 2500
    spans = block_spans(text, max_chars=1000)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(b - a <= 2001 for a, b in spans)  # no piece grows with the line
    assert all(text[:b].endswith("here. ") for _, b in spans[:-3])
    assert all(block_spans(text[a:b], 1000) == [(0, b - a)] for a, b in spans)
