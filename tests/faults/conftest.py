"""Fault injection: the shared parts, and the summary table printed at the end of the suite.

Each fault test drives the product as an operator would (the `tucano-audit` command in a
fresh process, or the store and services directly), injects one fault (kill -9 at a
random moment, a full disk, a read-only home, two launches at once, a bad input), and
records into the ledger what it saw: how many runs, how many rows were lost (goal 0) and
how many Python tracebacks reached the user (goal 0). The test asserts both itself; the
ledger only reports them, as a table after the last test:

    fault                                       runs  rows lost  tracebacks
    kill -9 during rollouts import                 3          0           0

Full disks are real where the suite may mount a small tmpfs (root with CAP_SYS_ADMIN);
elsewhere SQLite's own disk-full error is raised by a page limit on the store
(`PRAGMA max_page_count`) and a file write fails with ENOSPC at the file object.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Entry:
    fault: str
    runs: int = 0
    rows_lost: int = 0
    tracebacks: int = 0


class Ledger:
    """What each fault did, in the order the tests ran."""

    def __init__(self):
        self.entries: dict[str, Entry] = {}

    def record(self, fault: str, *, runs: int = 1, rows_lost: int = 0, tracebacks: int = 0) -> None:
        entry = self.entries.setdefault(fault, Entry(fault))
        entry.runs += runs
        entry.rows_lost += rows_lost
        entry.tracebacks += tracebacks

    def table(self) -> list[str]:
        width = max([len(e.fault) for e in self.entries.values()] + [5])
        lines = [f"{'fault':<{width}}  {'runs':>4}  {'rows lost':>9}  {'tracebacks':>10}"]
        for e in self.entries.values():
            lines.append(f"{e.fault:<{width}}  {e.runs:>4}  {e.rows_lost:>9}  {e.tracebacks:>10}")
        total = Entry("total", *(sum(getattr(e, k) for e in self.entries.values())
                                 for k in ("runs", "rows_lost", "tracebacks")))
        lines.append(f"{'total (' + str(len(self.entries)) + ' faults)':<{width}}  {total.runs:>4}  "
                     f"{total.rows_lost:>9}  {total.tracebacks:>10}")
        return lines


LEDGER = Ledger()


@pytest.fixture
def ledger() -> Ledger:
    return LEDGER


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not LEDGER.entries:
        return
    terminalreporter.section("fault injection: what each fault cost")
    for line in LEDGER.table():
        terminalreporter.write_line(line)


# -- running the command line ------------------------------------------------------------------
@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def tracebacks(self) -> int:
        return (self.out + self.err).count(TRACEBACK)

    @property
    def last_line(self) -> str:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else ""


def cli_env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUCANO_AUDIT_")}
    env.update({"TUCANO_AUDIT_HOME": str(home), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
                "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(args: list[str], home: Path, *, timeout: float = 300, **env) -> Result:
    """`tucano-audit ARGS` in a fresh process with HOME as its home folder."""
    proc = subprocess.run([sys.executable, "-m", "audit_app", *map(str, args)], cwd=ROOT, env=cli_env(home, **env),
                          capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start_cli(args: list[str], home: Path, log: Path, **env) -> subprocess.Popen:
    """The same, started in the background (its own process group) with output to `log`."""
    handle = open(log, "wb")  # noqa: SIM115 - closed by the caller through finish()
    proc = subprocess.Popen([sys.executable, "-m", "audit_app", *map(str, args)], cwd=ROOT, env=cli_env(home, **env),
                            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_handle = handle
    proc.log_path = log
    return proc


def finish(proc: subprocess.Popen, timeout: float = 300) -> Result:
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.log_handle.close()
    text = proc.log_path.read_text(encoding="utf-8", errors="replace")
    return Result(proc.returncode, "", text)


@contextlib.contextmanager
def paused(proc: subprocess.Popen):
    """The process group stopped (SIGSTOP) for the duration: it keeps its locks, files and
    store rows, alive but making no progress, so a second launch meets it however slowly
    that launch starts on a loaded machine; continued (SIGCONT) afterwards."""
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGCONT)


def kill9_when(proc: subprocess.Popen, ready, *, delay: float = 0.0, timeout: float = 240) -> bool:
    """SIGKILL the process group once `ready()` is true (then `delay` seconds); False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            time.sleep(delay)
            if proc.poll() is not None:
                break
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.log_handle.close()
            return True
        time.sleep(0.05)
    finish(proc, timeout=max(1.0, deadline - time.monotonic()))
    return False


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def count(path: Path, sql: str, params=()) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def rows_so_far(path: Path, table: str) -> int:
    """Rows in `table` now; 0 while the file or its tables do not exist yet (for waiting on a run)."""
    if not path.exists():
        return 0
    try:
        return count(path, f"SELECT count(*) FROM {table}")
    except sqlite3.OperationalError:
        return 0


# -- small disks and read-only folders -----------------------------------------------------------
def _can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = Path(f"/tmp/tucano-faults-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], capture_output=True)
        return ok
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


CAN_MOUNT = _can_mount()


class Disk:
    """A tmpfs of a given size mounted on a fresh folder (root only); remount to resize or freeze."""

    def __init__(self, where: Path, size: str):
        self.path = where
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(where)], check=True)

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True)

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """disk(size) -> a Disk, or None where this machine cannot mount one (fakes are used then)."""
    disks: list[Disk] = []

    def make(size: str, name: str = "disk") -> Disk | None:
        if not CAN_MOUNT:
            return None
        disk = Disk(tmp_path / name, size)
        disks.append(disk)
        return disk

    yield make
    for disk in disks:
        disk.close()
