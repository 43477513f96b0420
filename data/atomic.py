"""Write-then-rename helpers: a file or database appears complete or not at all.

Every output of `data build` goes through here. The temporary file lives in the target's
folder (os.replace is only atomic within one filesystem) and is removed on any failure,
so an interrupted or rejected build never leaves a half-written database or JSONL behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from data.io_errors import naming, storage_error


@contextlib.contextmanager
def temp_path_for(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside `target`; move it onto `target` on success."""
    target = Path(target)
    if target.is_dir():
        raise ValueError(f"cannot write {target}: it is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # Some part of the path is a file where a folder is needed.
        raise ValueError(f"cannot write {target}: {target.parent} is not a folder") from None
    except OSError as exc:  # a read-only folder, a full disk: name the target
        err = storage_error(exc, target)
        if err is None:
            raise
        raise err from exc
    with naming(target):  # a read-only folder or a full disk names the target, not the temporary
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(target: Path, text: str) -> Path:
    """Atomically write `text` (UTF-8, '\\n' newlines on every platform)."""
    with temp_path_for(target) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(target)


@contextlib.contextmanager
def new_database_at(path: Path) -> Iterator[sqlite3.Connection]:
    """A loading connection to a fresh SQLite file (an empty file counts as fresh).

    Journalling is off while loading: the file is private until it is renamed into
    place, so crash safety comes from the rename, not from the journal."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=ON")
        yield conn
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


@contextlib.contextmanager
def new_database(target: Path) -> Iterator[sqlite3.Connection]:
    """A fresh database that replaces `target` only when the block succeeds."""
    with temp_path_for(target) as tmp, new_database_at(tmp) as conn:
        yield conn
