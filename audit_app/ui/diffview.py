"""Inline differences between two completions, as safe HTML, and field-by-field
differences between two extraction JSON objects.

Completions are untrusted model output: every piece of text is HTML-escaped before it is
wrapped in our own <del>/<ins> tags, so a completion that contains `<script>` shows as
text. Word-level diff through difflib on tokens that keep the whitespace, so the two
sides read exactly as the model wrote them.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from dataclasses import dataclass

import json_repair

# Words, runs of whitespace, and single punctuation marks (Portuguese letters are \w).
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Beyond this many tokens a side the word diff gets slow (difflib is quadratic at worst):
# show the escaped texts without highlights and say so.
MAX_DIFF_TOKENS = 6000

DIFF_CSS = """
<style>
.tdiff { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, monospace;
         font-size: 0.85rem; line-height: 1.45; padding: 0.6rem; border-radius: 0.4rem;
         border: 1px solid rgba(128,128,128,0.35); }
.tdiff del { background: rgba(255, 80, 80, 0.28); text-decoration: line-through; }
.tdiff ins { background: rgba(60, 200, 90, 0.30); text-decoration: none; }
</style>
"""


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def _span(tag: str, toks: list[str]) -> str:
    body = html.escape("".join(toks), quote=True)
    return f'<{tag} class="diff-{tag}">{body}</{tag}>' if body else ""


def inline_diff(left: str, right: str) -> tuple[str, str]:
    """(left_html, right_html): text only on the left wrapped in <del>, only on the right in
    <ins>, shared text plain; everything escaped. Each wrapped in a `tdiff` div."""
    a, b = tokens(left), tokens(right)
    if len(a) > MAX_DIFF_TOKENS or len(b) > MAX_DIFF_TOKENS:
        note = '<em>(too long to highlight differences)</em>\n'
        return (_wrap(note + html.escape(left or "", quote=True)),
                _wrap(note + html.escape(right or "", quote=True)))
    out_a: list[str] = []
    out_b: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            shared = html.escape("".join(a[i1:i2]), quote=True)
            out_a.append(shared)
            out_b.append(shared)
            continue
        if op in ("replace", "delete"):
            out_a.append(_span("del", a[i1:i2]))
        if op in ("replace", "insert"):
            out_b.append(_span("ins", b[j1:j2]))
    return _wrap("".join(out_a)), _wrap("".join(out_b))


def _wrap(body: str) -> str:
    return f'<div class="tdiff">{body}</div>'


def similarity(left: str, right: str) -> float:
    """Share of tokens in common (difflib ratio), 1.0 for identical texts."""
    if left == right:
        return 1.0
    return difflib.SequenceMatcher(None, tokens(left), tokens(right), autojunk=False).ratio()


# -- extraction JSON ------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def parse_json_object(text: str) -> dict | None:
    """The JSON object a completion holds (inside a code fence or the outermost braces),
    repaired by json_repair the way a lenient reader would; None when there is none."""
    if not text:
        return None
    m = _FENCE.search(text)
    candidate = m.group(1) if m else text
    start, end = candidate.find("{"), candidate.rfind("}")
    if start == -1:
        return None
    candidate = candidate[start:end + 1] if end > start else candidate[start:]
    try:
        value = json_repair.loads(candidate)
    except Exception:  # json_repair is lenient, but never let a display helper crash a page
        return None
    return value if isinstance(value, dict) else None


def pretty_json(text: str) -> str | None:
    """The completion's JSON object pretty-printed (indent 2, accents kept), or None."""
    value = parse_json_object(text)
    return None if value is None else json.dumps(value, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class FieldDiff:
    field: str
    left: str | None  # JSON text of the value; None when the field is absent
    right: str | None
    status: str  # "same" | "changed" | "only left" | "only right"


def field_diff(left_text: str, right_text: str) -> list[FieldDiff] | None:
    """Field-by-field comparison of two extraction outputs (left's field order first);
    None when neither side holds a JSON object."""
    a, b = parse_json_object(left_text), parse_json_object(right_text)
    if a is None and b is None:
        return None
    a, b = a or {}, b or {}
    fields = list(a) + [k for k in b if k not in a]
    rows = []
    for key in fields:
        va = json.dumps(a[key], ensure_ascii=False, sort_keys=True) if key in a else None
        vb = json.dumps(b[key], ensure_ascii=False, sort_keys=True) if key in b else None
        if va is None:
            status = "only right"
        elif vb is None:
            status = "only left"
        else:
            status = "same" if va == vb else "changed"
        rows.append(FieldDiff(str(key), va, vb, status))
    return rows
