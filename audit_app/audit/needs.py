"""How many more scores a task needs before its verdict can pass, from the bootstrap.

A prompt-bootstrap interval narrows like 1 / sqrt(prompts). With P prompts, an estimate
r and a lower bound l, the lower half-width w = r - l shrinks to w * sqrt(P / P') with P'
prompts, so at today's agreement level (the estimate stays where it is) the lower bound
clears a threshold t once

    P' >= P * (w / (r - t))^2

The same holds for the within-prompt tau over prompt groups. When the estimate itself is
below its threshold (r < min_rho), more scores of the same reward are not expected to
pass: the answer is "fix the reward", not "score more"; so too when an exploit family
pays (audit_app.audit.exploits). The gate's fixed minimums
(items, prompts, items scored by two people) are added on top.

`needs(stats, limits)` is shown per task on the audit page and in `audit --json`, stored
for the annotate page (store.save_audit_targets), and used by the sample page to offer
sampling what is missing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from audit_app.audit.stats import TaskStats

DEFAULT_PER_PROMPT = 4  # completions per prompt assumed before any is scored (the sample form's default)


@dataclass(frozen=True)
class Needs:
    """What one task still needs. `items` / `prompts` are further scored items and further
    prompts among them (0 when enough); `second_scores` further items that a second person
    must also score; the targets are totals. `reachable` is False when more scores are not
    expected to make the task pass, None when the figures cannot tell yet."""

    task: str
    items: int
    prompts: int
    second_scores: int
    target_items: int
    target_prompts: int
    per_prompt: float
    reachable: bool | None
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def units_needed(n: int, estimate: float, low: float, threshold: float) -> int | None:
    """Units (prompts or prompt groups) at which the lower bound just clears `threshold`
    (fewer than `n` when it already does); None if the estimate itself does not clear it."""
    if estimate <= threshold:
        return None
    return math.ceil(n * ((estimate - low) / (estimate - threshold)) ** 2)


def needs(st: TaskStats, limits: dict, exploits=None) -> Needs:
    """Further items, prompts and second scores for `st` to pass `limits` (and `exploits`,
    an ExploitCheck, when given), with the reason."""
    per_prompt = st.n_items / st.n_prompts if st.n_prompts else DEFAULT_PER_PROMPT
    second = max(0, limits["min_overlap"] - st.n_alpha_items)
    blocked, unknown, prompts = [], [], [limits["min_prompts"]]
    if exploits is not None and exploits.error is not None:
        blocked.append("the exploit check could not run")
    elif exploits is not None and exploits.failing:
        worst = exploits.failing[0]
        blocked.append(f"exploit family {worst} earns {exploits.families[worst]['median']:.2f}, at or above the "
                       f"bar {exploits.bar:.2f}")

    if st.rho is None:
        unknown.append("rho")
    elif st.rho < limits["min_rho"]:
        blocked.append(f"rho {st.rho:.2f} is below {limits['min_rho']:.2f}")
    elif st.ci_low is None:
        unknown.append("rho's interval")
    else:
        p = units_needed(st.n_prompts, st.rho, st.ci_low, limits["min_ci_low"])
        if p is None:
            blocked.append(f"rho {st.rho:.2f} is not above {limits['min_ci_low']:.2f}")
        else:
            prompts.append(p)

    tau = st.within_prompt_tau
    if tau is None:
        unknown.append("within-prompt tau")
    elif tau < limits["min_within_tau"]:
        blocked.append(f"within-prompt tau {tau:.2f} is below {limits['min_within_tau']:.2f}")
    elif st.within_ci_low is None:
        unknown.append("within-prompt tau's interval")
    else:
        g = units_needed(st.n_prompt_groups, tau, st.within_ci_low, limits["min_within_ci_low"])
        if g is None:
            blocked.append(f"within-prompt tau {tau:.2f} is not above {limits['min_within_ci_low']:.2f}")
        else:  # prompt groups come from prompts at today's rate (some groups tie and do not count)
            prompts.append(math.ceil(g * st.n_prompts / st.n_prompt_groups))

    target_items = max(limits["min_items"], math.ceil(max(prompts) * per_prompt))
    more_items = max(0, target_items - st.n_items)
    # More items come as more prompts (at today's completions per prompt), never as more
    # completions of the same prompts.
    target_prompts = max(*prompts, st.n_prompts + math.ceil(more_items / per_prompt) if more_items else 0)
    more_prompts = max(0, target_prompts - st.n_prompts)
    reachable = False if blocked else (None if unknown else True)
    what = _reason(more_items, more_prompts, second, per_prompt, blocked, unknown, st, limits)
    return Needs(st.task, more_items, more_prompts, second, target_items, target_prompts, round(per_prompt, 2),
                 reachable, what)


def _reason(items, prompts, second, per_prompt, blocked, unknown, st: TaskStats, limits: dict) -> str:
    if blocked:
        where = "the exploit check" if any(b.startswith(("exploit", "the exploit")) for b in blocked) else \
            "the disagreement queue"
        return ("more scores are not expected to pass at today's agreement: " + "; ".join(blocked)
                + f" (look at {where} and fix the reward)")
    parts = []
    if items or prompts:
        why = ("to meet the gate's minimums" if unknown else
               "for the 95% intervals to clear their thresholds at today's agreement")
        parts.append(f"{'' if unknown else 'about '}{_n(items, 'more scored item')} over {_n(prompts, 'more prompt')} "
                     f"({per_prompt:.1f} completions per prompt) {why}")
    if second:
        parts.append(f"{_n(second, 'more item')} scored by a second person")
    if st.n_annotators < limits["min_annotators"]:
        parts.append(f"{_n(limits['min_annotators'] - st.n_annotators, 'more annotator')}")
    if unknown:
        later = "; then the agreement decides how many more (" + ", ".join(unknown) + " not measurable yet)"
        return ("at least " + "; ".join(parts) if parts else "score some items") + later
    return "; ".join(parts) if parts else "enough scores: the intervals clear their thresholds at today's agreement"


def _n(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"
