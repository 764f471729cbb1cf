"""Reading inputs and writing outputs safely: clear errors, no half-written files."""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from restore.errors import RestoreError

MAX_BYTES = 50_000_000
MAX_JSONL_BYTES = 2_000_000_000


def read_text(source: str | None, max_bytes: int = MAX_BYTES, allow_empty: bool = False) -> str:
    """Read a UTF-8 text file, or stdin for None/'-'; reject binary, non-UTF-8, huge or empty input.
    A byte-order mark is kept, so that what is written back is the input, byte for byte."""
    name = "stdin" if source in (None, "-") else source
    try:
        if source in (None, "-"):
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            path = Path(source)
            if path.is_dir():
                raise RestoreError(f"{name} is a directory")
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise RestoreError(f"{name}: no such file") from None
    except PermissionError:
        raise RestoreError(f"{name}: permission denied") from None
    if len(data) > max_bytes:
        raise RestoreError(f"{name} is larger than {max_bytes:,} bytes; split it first")
    if b"\x00" in data:
        raise RestoreError(f"{name} looks binary (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RestoreError(f"{name} is not UTF-8 text (bad byte at offset {e.start})") from None
    if not allow_empty and not text.removeprefix("\ufeff").strip():
        raise RestoreError(f"{name} is empty")
    return text


def _plain_mode(path: Path) -> int:
    """The permissions a plain open() would leave: the replaced file's, else 0666 less the umask."""
    if path.is_file():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(dest: str | None) -> Iterator[TextIO]:
    """A text stream to stdout, or to a temp file renamed onto `dest` only if the block
    succeeds (gzip when dest ends in .gz): an error leaves no half-written file. A `dest`
    that is a link or no regular file (/dev/stdout, a named pipe) is written through in
    place instead: renaming onto it would replace the link or the device with a file."""
    if dest in (None, "-"):
        yield sys.stdout
        sys.stdout.flush()
        return
    path = Path(dest)
    if path.is_dir():
        raise RestoreError(f"{dest} is a directory")
    gz = path.suffix == ".gz"
    through = path.is_symlink() or (path.exists() and not path.is_file())
    tmp: Path | None = None
    try:
        if through:
            out = _open_text(path, gz)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            tmp = Path(name)
            out = _open_text(tmp, gz)
    except OSError as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise RestoreError(f"cannot write {dest}: {e.strerror or e}") from None
    try:
        with out as f:
            yield f
        if tmp is not None:
            os.chmod(tmp, _plain_mode(path))  # mkstemp makes 0600; the result should look like any file
            os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def _open_text(path: Path, gz: bool) -> TextIO:
    """UTF-8 text for writing, newlines as given, gzipped if `gz`."""
    if gz:
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


def write_text(text: str, dest: str | None) -> None:
    """Write to stdout, or atomically to a file (temp file + rename)."""
    with atomic_output(dest) as f:
        f.write(text)


def read_jsonl(source: str, max_bytes: int = MAX_JSONL_BYTES) -> Iterator[dict]:
    """Documents of a JSON-lines corpus (optionally .gz), each an object with a "text" string."""
    path = Path(source)
    if not path.is_file():
        raise RestoreError(f"{source}: no such file")
    if path.stat().st_size > max_bytes:
        raise RestoreError(f"{source} is larger than {max_bytes:,} bytes; split it first")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise RestoreError(f"{source} line {n}: not JSON ({e.msg})") from None
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise RestoreError(f'{source} line {n}: expected an object with a "text" string')
                yield row
    except UnicodeDecodeError:
        raise RestoreError(f"{source} is not UTF-8 text") from None
    except (OSError, EOFError) as e:
        raise RestoreError(f"{source}: unreadable ({e})") from None
