"""One task's verdict: its audit figures judged against its thresholds.

Two agreement criteria must both hold: the pooled Spearman rho between reward and mean
human score (with its prompt-bootstrap interval), and the mean Kendall tau-b *inside*
prompt groups (with its interval), because GRPO only uses the order within a prompt's
group. Missing data fails closed: no rollouts, no scores, one annotator, too little
overlap between annotators, too few prompts, equal scores, NaN rewards each fail the task
with the reason said plainly.

A third criterion comes from the exploit check (audit_app.audit.exploits) when the
report ran it: a family of exploits whose median reward reaches the bar fails the task,
whatever the agreement, because natural rollouts rarely show what GRPO will find.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit_app.audit.exploits import ExploitCheck
from audit_app.audit.stats import MIN_PROMPTS_CI, TaskStats


@dataclass(frozen=True)
class TaskVerdict:
    passed: bool
    reason: str
    stats: dict = field(default_factory=dict, compare=False, repr=False)
    exploits: dict | None = field(default=None, compare=False, repr=False)  # ExploitCheck.to_dict()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def evaluate(st: TaskStats, limits: dict, exploits: ExploitCheck | None = None) -> TaskVerdict:
    """Judge one task's figures against its thresholds (and its exploit check, when run);
    fail closed on missing data."""
    task, n = st.task, st.n_items
    stats = st.to_dict()
    found = exploits.to_dict() if exploits is not None else None
    gamed = [exploits.reason()] if exploits is not None and not exploits.passed else []

    def fail(*why: str) -> TaskVerdict:
        return TaskVerdict(False, f"{task}: " + "; ".join(why), stats, found)

    if st.n_rollouts == 0:
        return fail("no rollouts for this task; sample some first")
    if n == 0 and st.n_nan_rewards == 0:
        of = f" (0 of {st.n_rollouts} rollouts scored)" if st.n_rollouts else ""
        return fail(f"no human scores yet{of}", *gamed)
    why: list[str] = []
    if st.n_nan_rewards:
        why.append(f"{st.n_nan_rewards} of {st.n_nan_rewards + n} scored items have no reward total (NaN); "
                   "the reward must score every completion")
    why += _data_reasons(st, limits)
    why += _rho_reasons(st, limits)
    why += _within_reasons(st, limits)
    why += gamed
    if why:
        return fail(*why)
    tried = f"; {_exploits_held(exploits)}" if exploits is not None else ""
    return TaskVerdict(True, (
        f"{task}: rho {st.rho:.2f} >= {limits['min_rho']:.2f} on {n} items, 95% CI {st.ci_low:.2f} to "
        f"{st.ci_high:.2f} (lower bound > {limits['min_ci_low']:.2f}); within-prompt tau "
        f"{st.within_prompt_tau:.2f} >= {limits['min_within_tau']:.2f}, 95% CI {st.within_ci_low:.2f} to "
        f"{st.within_ci_high:.2f} over {_plural(st.n_prompt_groups, 'prompt')}; {st.n_prompts} prompts, "
        f"{st.n_annotators} annotators, {st.n_alpha_items} items scored twice{tried}"), stats, found)


def _exploits_held(check: ExploitCheck) -> str:
    top = check.highest()
    if top is None:
        return "no exploit family applies"
    return (f"no exploit family reaches {check.bar:.2f} (highest: {top[0]} {top[1]:.2f}, "
            f"{len(check.families)} tried)")


def _data_reasons(st: TaskStats, limits: dict) -> list[str]:
    """Enough people, overlap, items and prompts, and something to order on both sides."""
    n, why = st.n_items, []
    need = limits["min_annotators"]
    if st.n_annotators < need:
        who = f" ({', '.join(st.annotators)})" if st.annotators else ""
        why.append(f"only {st.n_annotators} annotator{'' if st.n_annotators == 1 else 's'}{who}, {need} needed")
    elif st.n_alpha_items < limits["min_overlap"]:
        why.append(f"only {_plural(st.n_alpha_items, 'item')} scored by two or more people, "
                   f"{limits['min_overlap']} needed to measure their agreement")
    elif st.alpha is None:
        why.append(f"agreement between people is undefined on the {st.n_alpha_items} items scored twice "
                   "(every one of them got the same score)")
    if n and st.human_distinct == 1:
        why.append(f"all {n} human scores are equal ({st.human_mean:g}), so there is no human order to match")
    if n and st.reward_distinct == 1:
        why.append(f"the reward gives all {n} items the same total ({st.reward_mean:.2f}), so it ranks nothing")
    if n < limits["min_items"]:
        why.append(f"{n} scored items < {limits['min_items']} needed")
    if n and st.n_prompts < limits["min_prompts"]:
        why.append(f"{_plural(st.n_prompts, 'prompt')} < {limits['min_prompts']} needed (completions of one "
                   "prompt are not independent, so more completions of the same prompts do not count as more data)")
    return why


def _rho_reasons(st: TaskStats, limits: dict) -> list[str]:
    n, why = st.n_items, []
    if st.rho is None:
        if n and st.human_distinct > 1 and st.reward_distinct > 1:
            why.append(f"rho could not be computed on {n} items")
        return why
    if st.rho < limits["min_rho"]:
        why.append(f"rho {st.rho:.2f} < {limits['min_rho']:.2f} on {n} items")
    if st.ci_low is None:
        why.append(f"no 95% interval for rho: {_plural(st.n_prompts, 'prompt')}, at least {MIN_PROMPTS_CI} "
                   "are needed to resample prompts" if st.n_prompts < MIN_PROMPTS_CI else
                   f"no 95% interval for rho: too many resamples of the {st.n_prompts} prompts were constant")
    elif st.ci_low <= limits["min_ci_low"]:
        why.append(f"95% CI lower bound {st.ci_low:.2f} <= {limits['min_ci_low']:.2f} "
                   f"(rho {st.rho:.2f}, CI {st.ci_low:.2f} to {st.ci_high:.2f}, {st.n_prompts} prompts)")
    return why


def _within_reasons(st: TaskStats, limits: dict) -> list[str]:
    if not st.n_items or st.human_distinct == 1 or st.reward_distinct == 1:
        return []  # already failed for having no order on one side
    if st.within_prompt_tau is None:
        return ["no prompt group with 2 or more scored completions that both the reward and the people "
                "order, so the order GRPO uses (within a prompt) cannot be checked"]
    why = []
    tau, groups = st.within_prompt_tau, _plural(st.n_prompt_groups, "prompt")
    if tau < limits["min_within_tau"]:
        why.append(f"within-prompt tau {tau:.2f} < {limits['min_within_tau']:.2f} over {groups}: the reward "
                   "does not order a prompt's completions the way people do")
    if st.within_ci_low is None:
        why.append(f"no 95% interval for within-prompt tau: {groups}, at least {MIN_PROMPTS_CI} needed")
    elif st.within_ci_low <= limits["min_within_ci_low"]:
        why.append(f"within-prompt tau 95% CI lower bound {st.within_ci_low:.2f} <= "
                   f"{limits['min_within_ci_low']:.2f} (tau {tau:.2f}, CI {st.within_ci_low:.2f} to "
                   f"{st.within_ci_high:.2f}, {groups})")
    return why
