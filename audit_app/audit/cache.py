"""The audit of a store, computed once per (store revision, reward versions) and reused.

The Audit & gate page runs its script on every widget change and for every viewer; the
audit itself (reading every scored rollout, re-scoring stale ones, the bootstraps) only
changes when the store's audit revision moves (a rollout, an annotation, a prompt's
metadata or the thresholds changed: `Store.audit_revision()`, kept by triggers) or a
reward's version changes. `cached_report` keeps the last few audits in this process
keyed on exactly that, so the first paint after a change pays for one audit and every
other run reads it back. Reports are shared between sessions: callers must not modify them.

The exploit benches inside an audit are kept apart (audit_app.audit.exploits), per reward
version and prompt set: a new score recomputes the statistics and re-draws the exploit
bar, not the bench.

Whenever it computes a fresh audit it also stores each task's estimate of the scores
still needed (`Store.save_audit_targets`), which the annotate and sample pages read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from audit_app.audit import exploits
from audit_app.audit.bootstrap import DEFAULT_BOOT
from audit_app.audit.report import AuditReport, audit_report, check_tasks
from rewards import versions

MAX_ENTRIES = 4  # task selections x bootstrap settings a page typically flips between

_lock = threading.Lock()
_cache: OrderedDict[tuple, AuditReport] = OrderedDict()
_running: dict[tuple, threading.Event] = {}  # keys being computed now, set when done


def cache_key(store, tasks: Sequence[str], n_boot: int, seed: int) -> tuple:
    now = versions.current_versions()
    return (store.path, store.audit_revision(), tuple((t, now[t]) for t in tasks), int(n_boot), int(seed))


def cached_report(store, tasks: Sequence[str] | None = None, *, n_boot: int = DEFAULT_BOOT,
                  seed: int = 0) -> tuple[AuditReport, bool]:
    """(the audit of `tasks` with each task's current default reward, whether it was computed
    now). Computed at most once per store revision, reward versions and bootstrap settings."""
    tasks = check_tasks(tasks)
    key = cache_key(store, tasks, n_boot, seed)
    if store.memory:  # an in-memory store has no path that names it: never served from the cache
        return _compute(store, tasks, n_boot, seed, key[1]), True
    while True:
        with _lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key], False
            running = _running.get(key)
            if running is None:  # this thread computes it; others asking meanwhile wait for it
                running = _running[key] = threading.Event()
                break
        # The same audit is being computed (the app's warm-up, another viewer): wait for it
        # rather than compute it twice on the same cores; if that computation fails, try ours.
        running.wait()
    try:
        report = _compute(store, tasks, n_boot, seed, key[1])
        with _lock:
            _cache[key] = report
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        return report, True
    finally:
        with _lock:
            _running.pop(key, None)
        running.set()


def _compute(store, tasks: list[str], n_boot: int, seed: int, revision: int) -> AuditReport:
    """The audit, and each task's estimate of the scores still needed stored at `revision`
    (the store's revision when the audit started)."""
    report = audit_report(store, tasks, n_boot=n_boot, seed=seed)
    store.save_audit_targets({t: report.needs[t].to_dict() for t in tasks}, revision=revision)
    return report


def clear() -> None:
    """Forget every cached audit and exploit bench (the page's Recompute; tests)."""
    with _lock:
        _cache.clear()
    exploits.clear()
