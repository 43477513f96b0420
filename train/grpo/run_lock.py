"""One training process per run folder, for the whole run.

Two runs writing into one folder interleave their metrics.jsonl lines and overwrite each
other's checkpoints, and both end "successfully". So a run holds an exclusive lock on
`<run folder>/.run.lock` from before it reads the folder until its last file is written,
with or without a store. The lock is the operating system's (`filelock`, flock(2) on
Linux): it dies with its process, so a run killed with SIGKILL never leaves a lock that
blocks the next one; the `.run.owner.json` it leaves behind is recognised as stale and
replaced.

    with run_folder_lock(run_dir):        # RunFolderBusy (one line: who holds it) otherwise
        ...train...

Under `accelerate launch` every process trains the same run: only the main process
(RANK 0) takes the lock, and a second launch into the folder is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from data import atomic
from data.io_errors import naming
from train.grpo.config import TrainingError

LOCK_FILE = ".run.lock"
OWNER_FILE = ".run.owner.json"
logger = logging.getLogger("tucano.train")


class RunFolderBusy(TrainingError):
    """Another process is training into this run folder."""


def _main_process() -> bool:
    return int(os.environ.get("RANK", "0") or 0) == 0


def _owner(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def run_folder_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold the run folder for this process (creating the folder); RunFolderBusy if another holds it."""
    run_dir = Path(run_dir)
    if not _main_process():
        yield
        return
    with naming(run_dir, "create the run folder"):
        run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / LOCK_FILE), timeout=0)
    try:
        with naming(run_dir / LOCK_FILE, "lock"):
            lock.acquire()
    except Timeout:
        who = _owner(run_dir)
        holder = f"process {who['pid']} on {who.get('host', '?')} since {who.get('since', '?')}" if who \
            else "another process"
        raise RunFolderBusy(f"run folder {run_dir} is in use by {holder}: a second run there would mix its "
                            "metrics and checkpoints; wait for it to end, stop it, or choose another "
                            "--run-dir") from None
    try:
        previous = _owner(run_dir)
        if previous:  # a run that ends removes its owner file: this one was killed
            logger.warning("run folder %s: taking over from process %s, which ended without releasing it "
                           "(killed?); its lock was stale", run_dir, previous.get("pid"))
        atomic.write_text(run_dir / OWNER_FILE, json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
        yield
    finally:
        with contextlib.suppress(OSError):
            (run_dir / OWNER_FILE).unlink()
        lock.release()
