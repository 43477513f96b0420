"""One task's verdict: its audit figures judged against its thresholds.

Missing data fails closed: no rollouts, no scores, one annotator, equal scores, NaN
rewards each fail the task with the reason said plainly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit_app.audit.stats import TaskStats


@dataclass(frozen=True)
class TaskVerdict:
    passed: bool
    reason: str
    stats: dict = field(default_factory=dict, compare=False, repr=False)


def evaluate(st: TaskStats, limits: dict) -> TaskVerdict:
    """Judge one task's figures against its thresholds; fail closed on missing data."""
    task, n = st.task, st.n_items
    stats = st.to_dict()

    def fail(*why: str) -> TaskVerdict:
        return TaskVerdict(False, f"{task}: " + "; ".join(why), stats)

    if st.n_rollouts == 0:
        return fail("no rollouts for this task; sample some first")
    if n == 0 and st.n_nan_rewards == 0:
        of = f" (0 of {st.n_rollouts} rollouts scored)" if st.n_rollouts else ""
        return fail(f"no human scores yet{of}")
    why: list[str] = []
    if st.n_nan_rewards:
        why.append(f"{st.n_nan_rewards} of {st.n_nan_rewards + n} scored items have no reward total (NaN); "
                   "the reward must score every completion")
    need = limits["min_annotators"]
    if st.n_annotators < need:
        who = f" ({', '.join(st.annotators)})" if st.annotators else ""
        why.append(f"only {st.n_annotators} annotator{'' if st.n_annotators == 1 else 's'}{who}, "
                   f"{need} needed")
    if n and st.human_distinct == 1:
        why.append(f"all {n} human scores are equal ({st.human_mean:g}), so there is no human order to match")
    if n and st.reward_distinct == 1:
        why.append(f"the reward gives all {n} items the same total ({st.reward_mean:.2f}), so it ranks nothing")
    if n < limits["min_items"]:
        why.append(f"{n} scored items < {limits['min_items']} needed")
    if st.rho is None:
        if n and st.human_distinct > 1 and st.reward_distinct > 1:
            why.append(f"rho could not be computed on {n} items")
    elif st.rho < limits["min_rho"]:
        why.append(f"rho {st.rho:.2f} < {limits['min_rho']:.2f} on {n} items")
    if st.rho is not None:
        if st.ci_low is None:
            why.append(f"no bootstrap interval ({st.n_prompts} prompts are too few to resample)")
        elif st.ci_low <= limits["min_ci_low"]:
            why.append(f"95% CI lower bound {st.ci_low:.2f} <= {limits['min_ci_low']:.2f} "
                       f"(rho {st.rho:.2f}, CI {st.ci_low:.2f} to {st.ci_high:.2f}, {st.n_prompts} prompts)")
    if why:
        return fail(*why)
    return TaskVerdict(True, f"{task}: rho {st.rho:.2f} >= {limits['min_rho']:.2f} on {n} items, "
                             f"95% CI {st.ci_low:.2f} to {st.ci_high:.2f} (lower bound > "
                             f"{limits['min_ci_low']:.2f}), {st.n_annotators} annotators", stats)
