"""Faults outside the program (a full disk, a read-only folder, a refused permission) as
one line naming the file and the cause.

Python's OSError from a `write()` carries no file name, and SQLite's "database or disk is
full" names neither the database nor the disk; a later "cannot rollback - no transaction
is active" can even replace it. Everything that writes files or databases passes its
failures through here, so the user reads, for example,

    cannot write /data/out.jsonl: the disk is full (No space left on device)
    cannot open the store /home/ana/.tucano/store.db: its folder is read-only ...

    with naming(path, "write"):          # OSError / SQLite environment errors -> StorageError
        ...
    sqlite3.connect(path, factory=NamedConnection); conn.label = "the store " + path

Only environment failures are translated (disk full, I/O, read-only, permissions, cannot
open); a malformed SQL statement or a constraint violation stays what it is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

_OS_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.EMFILE: "too many open files",
    errno.EFBIG: "the file is too large for this file system",
}
# SQLite primary result codes (extended names share the prefix) that mean the machine, not the SQL.
_SQLITE_CAUSES = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_IOERR": "a disk input/output error",
    "SQLITE_READONLY": "it cannot be written",
    "SQLITE_CANTOPEN": "it cannot be opened",
    "SQLITE_PERM": "permission denied",
}


class StorageError(OSError):
    """A file or database could not be read or written for a reason outside the program;
    the message names the file and the cause."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.errno = code

    def __str__(self) -> str:
        return self.args[0]


def _sqlite_cause(exc: sqlite3.Error) -> str | None:
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, cause in _SQLITE_CAUSES.items():
        if name == prefix or name.startswith(prefix + "_"):
            return cause
    text = str(exc).lower()
    # Errors raised before a statement runs (connect, a failed ROLLBACK) may carry no code.
    if "disk is full" in text:
        return "the disk is full"
    if "readonly database" in text or "read-only" in text:
        return "it cannot be written"
    if "unable to open database" in text:
        return "it cannot be opened"
    if "disk i/o error" in text:
        return "a disk input/output error"
    return None


def why_not_writable(path: str | Path) -> str | None:
    """What keeps `path` (a file, or where it would be created) from being written, or None."""
    path = Path(path)
    probe = path if path.is_dir() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        if os.statvfs(probe).f_flag & os.ST_RDONLY:
            return f"the file system holding {probe} is mounted read-only"
    except OSError:
        return None
    if path.is_file() and not os.access(path, os.W_OK):
        return "the file is read-only for this user"
    if not os.access(probe, os.W_OK):
        return f"the folder {probe} is read-only for this user"
    return None


def storage_error(exc: BaseException, path: str | Path, doing: str | None = None, *,
                  what: str | None = None) -> StorageError | None:
    """`exc` as a StorageError "cannot <doing> <what or path>: <cause>", or None when it is
    not an environment failure (a bug or bad input keeps its own error). `doing` defaults
    to what the failure says: write (disk full, read-only), open, or use."""
    if isinstance(exc, StorageError):
        return exc
    subject = what or str(path)
    if isinstance(exc, OSError) and exc.errno is None:
        return None  # raised by the program with its own message (e.g. "no such file: x")
    if isinstance(exc, OSError):
        cause = _OS_CAUSES.get(exc.errno, exc.strerror or str(exc))
        detail = f" ({exc.strerror})" if exc.strerror and exc.strerror.lower() != cause.lower() else ""
        # Name the file the OS names too, unless it is the path itself or its temporary twin.
        elsewhere = exc.filename if exc.filename and Path(str(exc.filename)).parent != Path(str(path)).parent \
            and str(exc.filename) != str(path) else None
        text = f"cannot {doing or 'write'} {subject}: {cause}{detail}" + (f" at {elsewhere}" if elsewhere else "")
        return StorageError(text, exc.errno)
    if isinstance(exc, sqlite3.Error):
        cause = _sqlite_cause(exc)
        if cause is None:
            return None
        verb = doing or {"it cannot be opened": "open", "a disk input/output error": "use"}.get(cause, "write")
        if cause in ("it cannot be written", "it cannot be opened"):
            reason = why_not_writable(path)
            if reason and not reason.startswith("the file is"):
                cause = f"{reason}, and SQLite needs to write {Path(path).name}-wal and -shm beside it"
            elif reason:
                cause = reason
        code = errno.ENOSPC if cause == "the disk is full" else errno.EIO
        return StorageError(f"cannot {verb} {subject}: {cause} (SQLite: {exc})", code)
    return None


def describe(exc: BaseException) -> str:
    """One line for an OS or SQLite failure that reached the command line untranslated."""
    if isinstance(exc, StorageError):
        return str(exc)
    if isinstance(exc, OSError):
        cause = _OS_CAUSES.get(exc.errno, exc.strerror or str(exc))
        return f"{exc.filename}: {cause}" if exc.filename else f"{cause} ({exc})"
    err = storage_error(exc, "", what="a database") if isinstance(exc, sqlite3.Error) else None
    return str(err or exc)


@contextlib.contextmanager
def naming(path: str | Path, doing: str | None = None, *, what: str | None = None) -> Iterator[None]:
    """Turn OS and SQLite environment failures inside the block into a StorageError naming `path`."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        err = storage_error(exc, path, doing, what=what)
        if err is None or err is exc:
            raise
        raise err from exc


class NamedConnection(sqlite3.Connection):
    """A sqlite3 connection (pass `factory=NamedConnection`) whose environment failures
    name its database: set `path` and `what` (e.g. "the store /x/store.db") after connecting."""

    path = ""
    what = "the database"

    def _run(self, method, args, kwargs):
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            err = storage_error(exc, self.path, what=self.what)
            if err is None:
                raise
            raise err from exc

    def execute(self, *args, **kwargs):
        return self._run(super().execute, args, kwargs)

    def executemany(self, *args, **kwargs):
        return self._run(super().executemany, args, kwargs)

    def executescript(self, *args, **kwargs):
        return self._run(super().executescript, args, kwargs)
