"""Progress reporting from long commands: into the job's row, and onto the terminal.

A job is `tucano-audit <command> ...` started detached by audit_app.jobs; the runner sets
TUCANO_AUDIT_JOB_ID and TUCANO_AUDIT_STORE in its environment. Long commands (sample,
train, compare) call `report(done, total, message, stage=..., **extra)` as often as they
like (after every decoding step, say): inside a job it records the progress in the job's
row at most twice a second (always for the last one); the extra figures the pages show are
`fraction` (share done, finer than done/total), `tokens`, `tokens_per_s` and `eta_s`.

On the terminal each stage (`stage`, e.g. "sampling") is one progress bar (tqdm) that
moves in place when stderr is a terminal; into a file or a pipe (a job's log, a test) it
writes a plain `[progress] done/total message` line at most every LOG_EVERY_S seconds,
plus the first and the last of the stage, instead of a line per token.
"""

from __future__ import annotations

import os
import sys
import time

from data.paths import ENV_STORE
from data.store import Store

ENV_JOB_ID = "TUCANO_AUDIT_JOB_ID"
STORE_EVERY_S = 0.5
LOG_EVERY_S = 10.0

_last_write = 0.0
_store = None


def current_job_id() -> int | None:
    value = os.environ.get(ENV_JOB_ID)
    return int(value) if value else None


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class _Console:
    """One bar (or a few lines) per stage on stderr."""

    def __init__(self):
        self.stage = None
        self.bar = None
        self.last_line = 0.0

    def show(self, stage: str, done: int, total: int, message: str, extra: dict) -> None:
        fraction = extra.get("fraction")
        fraction = (done / total if total else 0.0) if fraction is None else float(fraction)
        new_stage = (stage, total) != self.stage
        if new_stage:
            self.close()
            self.stage = (stage, total)
        figures = [f"{done}/{total}"]
        if extra.get("tokens_per_s"):
            figures.append(f"{extra['tokens_per_s']:.1f} tokens/s")
        if extra.get("eta_s") is not None and fraction < 1:
            figures.append(f"ETA {_duration(extra['eta_s'])}")
        if sys.stderr.isatty():
            self._bar(stage, fraction, figures + ([message] if message else []))
        else:
            now = time.monotonic()
            if new_stage or fraction >= 1 or now - self.last_line >= LOG_EVERY_S:
                self.last_line = now
                print(f"[progress] {done}/{total} {message}".rstrip()
                      + (f" ({', '.join(figures[1:])})" if figures[1:] else ""), file=sys.stderr, flush=True)
        if fraction >= 1:
            self.close()

    def _bar(self, stage: str, fraction: float, postfix: list[str]) -> None:
        from tqdm import tqdm  # only on a terminal; jobs and tests never draw a bar

        if self.bar is None:
            # The figures go in tqdm's "desc" field, placed after a bar of fixed width.
            self.bar = tqdm(total=1000, file=sys.stderr, leave=True, mininterval=0.2,
                            bar_format=stage.replace("{", "{{").replace("}", "}}")
                            + ": {percentage:3.0f}%|{bar:30}| {desc}")
        self.bar.n = round(min(1.0, max(0.0, fraction)) * 1000)
        self.bar.set_description_str(" · ".join(postfix), refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.stage = None, None


_console = _Console()


def report(done: int, total: int, message: str = "", *, force: bool = False, stage: str = "progress",
           **extra) -> None:
    """Show progress on the terminal; inside a job, also record it (see the module docstring)."""
    global _last_write, _store
    _console.show(stage, done, total, message, extra)
    job_id = current_job_id()
    if job_id is None:
        return
    now = time.monotonic()
    if not force and done < total and now - _last_write < STORE_EVERY_S:
        return
    _last_write = now
    if _store is None:
        _store = Store(os.environ[ENV_STORE])
    _store.update_job_progress(job_id, done=done, total=total, message=message, extra=extra or None)
