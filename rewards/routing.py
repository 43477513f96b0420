"""Which task a prompt belongs to, so the right reward scores its completions.

An explicit `task` (the prompt row's column) always wins. Only untagged prompts go
through the keyword classifier, which tries the tasks in a fixed order and takes the
first whose keywords appear (accent- and case-insensitive):

    extraction (json, extraia, "os campos") -> sql_qa (sql, consulta, query, banco de dados)
    -> insights (análise, insight, estratégia, diagnóstico, relatório, recomendações)
    -> push (push, notificação, reengajamento, 120 caracteres)

Insights is checked before push on purpose: an analysis prompt about a "campanha de
reengajamento" is an analysis, not a push notification. `insights_before_push=False`
reproduces the recipe's historical bug (push first).
"""

from __future__ import annotations

import re

from rewards.lexicon import fold
from rewards.types import TASKS

_RULES = {
    # Not a bare "campo(s)": city names such as "Campo Grande" appear in push briefs.
    "extraction": re.compile(r"\bjson\b|\bextrai|\b(?:os|dez|\d+) campos\b"),
    "sql_qa": re.compile(r"\bsql\b|\bconsulta\b|\bquery\b|banco de dados|\bselect\b"),
    "insights": re.compile(r"\banalis(?:e|es|ar)\b|\binsights?\b|\bestrateg|\bdiagnostic|\brelatorio|\brecomendacoes\b"),
    "push": re.compile(r"\bpush\b|\bnotificac|\breengaj|\b\d+ caracteres\b"),
}
_ORDER = ("extraction", "sql_qa", "insights", "push")
_BUGGY_ORDER = ("extraction", "sql_qa", "push", "insights")


def prompt_text(prompt) -> str:
    """The text of a prompt given as a string or as a list of chat messages."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list | tuple):
        return "\n".join(str(m.get("content", "")) if isinstance(m, dict) else str(m) for m in prompt)
    return "" if prompt is None else str(prompt)


def route_task(prompt_text_or_messages, task: str | None = None, *, insights_before_push: bool = True) -> str:
    """The task of a prompt: `task` when given (validated), else the keyword classifier.
    ValueError when `task` is unknown or no rule matches."""
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
        return task
    text = fold(prompt_text(prompt_text_or_messages))
    for name in _ORDER if insights_before_push else _BUGGY_ORDER:
        if _RULES[name].search(text):
            return name
    raise ValueError(
        "cannot tell the task of an untagged prompt (no task keyword found); "
        f"give the row a task column, one of: {', '.join(TASKS)}"
    )
