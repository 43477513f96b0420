"""A full disk and a read-only home: every command ends in one line naming the file and the
cause, nothing half-written stays behind, and the store stays whole (and resumable).

Full disks are real tmpfs mounts where the machine allows it ("tmpfs"); the "fake" variant
runs everywhere: SQLite's own disk-full error from a page limit on the connection, and
ENOSPC raised by the file object an export writes through."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import traceback

import pytest

from audit_app.cli import main
from data.store import Store
from tests.faults.conftest import CAN_MOUNT, Result, count, integrity, run_cli
from tests.fixtures_users import seed_rollouts

PROMPT = {"prompt_id": "push-d1", "task": "push", "split": "train", "stratum": "push",
          "prompt": [{"role": "user", "content": "Escreva um push."}]}
MODES = ["fake", pytest.param("tmpfs", marks=pytest.mark.skipif(not CAN_MOUNT, reason="cannot mount a tmpfs here"))]


def rollout_file(path, n: int, width: int = 900) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps({**PROMPT, "model_id": "m", "sample_index": i, "completion":
                                  f"{i} " + "Frete grátis só hoje! " * (width // 22)}, ensure_ascii=False) + "\n")


def in_process(args, capsys) -> Result:
    """`tucano-audit ARGS` in this process (so a fake can be patched in); a traceback is counted."""
    try:
        rc = main([str(a) for a in args])
        tb = ""
    except BaseException:  # noqa: BLE001 - what a user would have seen
        rc, tb = -1, traceback.format_exc()
    captured = capsys.readouterr()
    return Result(rc, captured.out, captured.err + tb)


@contextlib.contextmanager
def page_limit(monkeypatch, pages: int):
    """Every store connection may grow its file to `pages` pages: SQLITE_FULL beyond."""
    from data.store.core import Store as S

    original = S._connect

    def limited(self):
        conn = original(self)
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(S, "_connect", limited)
    yield
    monkeypatch.setattr(S, "_connect", original)


def enospc_open(limit: int):
    """open() whose files take `limit` bytes, then fail like a full disk."""
    real_open = open

    class Full:
        def __init__(self, f):
            self.f, self.n = f, 0

        def write(self, text):
            self.n += len(text.encode("utf-8")) if isinstance(text, str) else len(text)
            if self.n > limit:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(text)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    return lambda *a, **k: Full(real_open(*a, **k))


@pytest.mark.parametrize("mode", MODES)
def test_full_disk_during_import_then_resume(mode, tmp_path, small_disk, monkeypatch, capsys, ledger):
    src = tmp_path / "big.jsonl"
    rollout_file(src, 5_000)
    if mode == "tmpfs":
        disk = small_disk("3m")
        store = disk.path / "store.db"
        full = run_cli(["rollouts", "import", src, "--store", store], tmp_path / "home")
    else:
        store = tmp_path / "store.db"
        with page_limit(monkeypatch, 600):
            full = in_process(["rollouts", "import", src, "--store", store], capsys)
    assert full.rc == 1 and full.tracebacks == 0, full.err
    assert full.last_line.startswith(f"error: cannot write the store {store}: the disk is full"), full.last_line
    assert "rollback" not in full.err
    assert integrity(store) == "ok"
    kept = count(store, "SELECT count(*) FROM rollouts")
    assert kept % 2_000 == 0 and kept < 5_000  # whole chunks only
    if mode == "tmpfs":
        disk.remount("size=64m")
        again = run_cli(["rollouts", "import", src, "--store", store], tmp_path / "home")
    else:
        again = in_process(["rollouts", "import", src, "--store", store], capsys)
    stored = count(store, "SELECT count(*) FROM rollouts")
    ledger.record(f"disk full during rollouts import ({mode})", runs=2, rows_lost=5_000 - stored,
                  tracebacks=full.tracebacks + again.tracebacks)
    assert again.rc == 0 and stored == 5_000 and integrity(store) == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_full_disk_during_export_leaves_no_file(mode, tmp_path, small_disk, monkeypatch, capsys, ledger):
    store = tmp_path / "store.db"
    with Store(store) as s:
        seed_rollouts(s, per_task=300)
    results = []
    if mode == "tmpfs":
        out_dir = small_disk("64k").path
        for name in ("out.jsonl", "out.parquet"):
            results.append((out_dir / name, run_cli(["rollouts", "export", out_dir / name, "--store", store],
                                                    tmp_path / "home")))
    else:
        out_dir = tmp_path / "out"
        from data.store import import_export

        monkeypatch.setattr(import_export, "open", enospc_open(20_000), raising=False)
        results.append((out_dir / "out.jsonl",
                        in_process(["rollouts", "export", out_dir / "out.jsonl", "--store", store], capsys)))
    for target, res in results:
        assert res.rc == 1 and res.tracebacks == 0, res.err
        assert res.last_line.startswith(f"error: cannot write {target}: the disk is full"), res.last_line
    assert [p.name for p in out_dir.iterdir()] == []  # no half file, no temporary file
    ledger.record(f"disk full during rollouts export ({mode})", runs=len(results),
                  tracebacks=sum(r.tracebacks for _, r in results))


@pytest.mark.parametrize("mode", MODES)
def test_full_disk_during_data_build(mode, tmp_path, small_disk, monkeypatch, capsys, ledger):
    if mode == "tmpfs":
        out = small_disk("1m").path / "home"
        res = run_cli(["data", "build", "--size", "small", "--out", out], tmp_path / "home")
    else:
        out = tmp_path / "home"
        from data import atomic

        original = atomic.new_database_at

        @contextlib.contextmanager
        def limited(path):
            with original(path) as conn:
                conn.execute("PRAGMA max_page_count = 200")
                yield conn

        monkeypatch.setattr(atomic, "new_database_at", limited)
        res = in_process(["data", "build", "--size", "small", "--out", out], capsys)
    ledger.record(f"disk full during data build ({mode})", tracebacks=res.tracebacks)
    assert res.rc == 1 and res.tracebacks == 0, res.err
    assert res.last_line == (f"error: cannot write {out / 'commerce.db'}: the disk is full "
                             "(SQLite: database or disk is full)"), res.last_line
    assert "rollback" not in res.err
    assert [p for p in out.rglob("*") if p.is_file()] == []


STORE_COMMANDS = [
    ["users", "list"],
    ["users", "add", "zoe", "--role", "annotator", "--password", "pw-zoe-1234"],
    ["users", "disable", "ana"],
    ["rollouts", "import", "{src}"],
    ["rollouts", "export", "{out}"],
    ["audit"],
    ["jobs", "list"],
    ["compare", "--report", "1"],
]


def _read_only(home) -> None:
    """Freeze `home` (filled first): file modes for a user; root ignores them, so it gets a
    read-only mount (the caller remounted it)."""
    if os.geteuid() != 0:
        for p in [home, *home.rglob("*")]:
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_read_only_home(tmp_path, small_disk, ledger):
    if os.geteuid() == 0 and not CAN_MOUNT:
        pytest.skip("root without mount: file modes do not stop root, and no read-only mount can be made")
    disk = small_disk("16m") if os.geteuid() == 0 else None
    home = (disk.path if disk else tmp_path) / "home"
    with Store(home / "store.db") as s:
        seed_rollouts(s, per_task=2)
        s.add_user("ana", "annotator", "pw-ana-123")
    src = tmp_path / "in.jsonl"
    rollout_file(src, 3)
    if disk:
        disk.remount("ro")
    _read_only(home)
    tracebacks = 0
    for args in [*STORE_COMMANDS, ["data", "build", "--size", "small"]]:
        args = [a.format(src=src, out=tmp_path / "out.jsonl") for a in args]
        res = run_cli(args, home)
        tracebacks += res.tracebacks
        assert res.rc == 1 and res.tracebacks == 0, (args, res.err)
        assert "read-only" in res.last_line and str(home) in res.last_line, (args, res.last_line)
        assert "not a tucano-audit store" not in res.err
    ledger.record("read-only home (9 commands)", runs=9, tracebacks=tracebacks)


def test_store_file_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        res = run_cli(["users", "add", "bia", "--role", "admin", "--password", "pw-bia-1234"], tmp_path / "home")
        assert res.rc == 0, res.err
        files = sorted((tmp_path / "home").glob("store.db*"))
        assert [f.name for f in files] == ["store.db", "store.db-shm", "store.db-wal"] or \
            [f.name for f in files] == ["store.db"]
        assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}
        with Store(tmp_path / "home" / "store.db") as s:
            s.list_users()
            assert oct((tmp_path / "home" / "store.db-wal").stat().st_mode & 0o777) == "0o600"
    finally:
        os.umask(old)
