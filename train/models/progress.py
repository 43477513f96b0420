"""Progress of a generation run as the job page and the terminal show it.

    live = LiveProgress(total_rows=16, report=data.store.progress.report, stage="sampling")
    generate(loaded, prompts, params, k=4, on_step=live.step, on_batch=live.batch)

A batch of 16 completions can take minutes on a CPU, and "0 / 16" for all that time says
nothing. `step` is called after every decoding step with the tokens the batch has made so
far: the report then carries the share done inside the batch (rows done before it, plus
this batch's rows times step / max_new_tokens: a batch never runs past max_new_tokens,
so this only errs on the slow side), the tokens generated, tokens per second since
generation began, and the time left at that pace. `batch` is called when a batch ends.
Counts of completions (`done`) move only when completions are really finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from train.models.generation import BatchInfo, StepInfo


class LiveProgress:
    def __init__(self, total_rows: int, report: Callable, *, stage: str = "generating",
                 unit: str = "completions", done_before: int = 0, **extra):
        """`done_before`: rows of `total_rows` already done before this generate() call
        (a resumed comparison); `extra` goes into every report (batch id, model id...)."""
        self.total, self.report, self.stage, self.unit, self.extra = total_rows, report, stage, unit, extra
        self.started = time.perf_counter()
        self.done_before = self.rows_done = done_before
        self.tokens_done = 0  # in finished batches

    def _send(self, fraction: float, tokens: int, message: str, *, force: bool = False, **where) -> None:
        elapsed = time.perf_counter() - self.started
        rate = tokens / elapsed if elapsed > 0 else 0.0
        eta = elapsed / fraction * (1 - fraction) if 0 < fraction < 1 else (0.0 if fraction >= 1 else None)
        self.report(self.rows_done, self.total, message, force=force, stage=self.stage, fraction=round(fraction, 4),
                    tokens=tokens, tokens_per_s=round(rate, 2), eta_s=None if eta is None else round(eta, 1),
                    **where, **self.extra)

    def step(self, info: StepInfo) -> None:
        """After a decoding step: move within the batch."""
        share = min(1.0, info.step / info.max_new_tokens) if info.max_new_tokens else 0.0
        fraction = (self.rows_done + info.rows * share) / self.total if self.total else 0.0
        self._send(min(fraction, 1.0), self.tokens_done + info.tokens,
                   f"batch {info.batch_index + 1}/{info.batches}: token {info.step}/{info.max_new_tokens}",
                   batch=info.batch_index + 1, batches=info.batches, step=info.step, max_steps=info.max_new_tokens)

    def batch(self, info: BatchInfo) -> None:
        """After a batch: its completions are done."""
        self.rows_done, self.tokens_done = self.done_before + info.done, self.tokens_done + info.new_tokens
        self._send(info.done / self.total if self.total else 1.0, self.tokens_done, self.unit,
                   force=info.done >= self.total)
