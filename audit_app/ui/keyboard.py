"""Keyboard shortcuts of the annotate page.

Streamlit's own `st.button(..., shortcut="3")` binds a key to a button in the browser;
pressing the key is the same as clicking, so the page's callbacks run exactly as for a
mouse click. Streamlit ignores these keys while the focus is in a text field (input,
textarea, select or contenteditable), so typing "3" in the comment box types a 3 and
does not score the item; press Esc or Tab to leave the box, then the keys work again.

"C" and "R" are reserved by Streamlit (clear cache, rerun), hence U for undo and F for
flag. Older Streamlit releases without the `shortcut` parameter still get working
buttons (click them) and a note that the keys are unavailable.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cache

SCORE_KEYS: dict[int, str] = {score: str(score) for score in range(1, 6)}
SKIP_KEY = "S"
UNDO_KEY = "U"
FLAG_KEY = "F"


@dataclass(frozen=True)
class Shortcut:
    key: str
    action: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("1 … 5", "score the item and go to the next one"),
    Shortcut(SKIP_KEY, "skip this item (it stays unscored)"),
    Shortcut(UNDO_KEY, "undo my last score (that item comes back)"),
    Shortcut(FLAG_KEY, "flag / unflag \"reward looks wrong here\" (saved with the score)"),
    Shortcut("Esc / Tab", "leave the comment box so the keys work again"),
    Shortcut("(held down)", "acts once: a key that repeats, or keys pressed before the next item is "
                            "drawn, are ignored"),
)

_RESERVED = {"C", "R"}
assert not ({SKIP_KEY, UNDO_KEY, FLAG_KEY} & _RESERVED), "Streamlit reserves C and R"


@cache
def native_shortcuts() -> bool:
    """Whether this Streamlit's st.button takes `shortcut=` (1.5x and later)."""
    import streamlit as st

    return "shortcut" in inspect.signature(st.button).parameters


def key_button(label: str, shortcut: str, *, key: str, **kwargs) -> bool:
    """st.button bound to `shortcut` (a single key); Streamlit shows the key on the button."""
    import streamlit as st

    if native_shortcuts():
        kwargs["shortcut"] = shortcut
    else:
        label = f"{label} [{shortcut}]"
    return st.button(label, key=key, **kwargs)


def advancing_keys() -> list[str]:
    """Keys that move the page to another item (score, skip, undo)."""
    return [*SCORE_KEYS.values(), SKIP_KEY, UNDO_KEY]


def page_keys() -> list[str]:
    """Every shortcut of the annotate page."""
    return [*advancing_keys(), FLAG_KEY]


def help_markdown() -> str:
    """The shortcut table as Markdown (our own text)."""
    rows = ["| key | does |", "|---|---|"]
    rows.extend(f"| `{s.key}` | {s.action} |" for s in SHORTCUTS)
    return "\n".join(rows)


# Our own constant script (no model text ever enters it): put the cursor in a text area
# and let Esc leave it, so F -> type the comment -> Esc -> 1..5 needs no mouse. Streamlit
# marks each keyed widget's container with the class `st-key-<key>`.
_FOCUS_SCRIPT = """<script data-nonce="%(nonce)s">
(() => {
  let tries = 0;
  const focus = () => {
    const box = document.querySelector(".st-key-%(key)s textarea");
    if (!box) { if (tries++ < 40) setTimeout(focus, 50); return; }
    if (!box.dataset.escBlur) {
      box.dataset.escBlur = "1";
      box.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); box.blur(); } });
    }
    box.focus();
  };
  focus();
})();
</script>"""


def focus_script(widget_key: str, nonce: int = 0) -> str:
    """The script that focuses the text area keyed `widget_key` (Esc then leaves it).
    A new `nonce` makes Streamlit insert (and so run) the script again."""
    if not widget_key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"widget key {widget_key!r} must be letters, digits, '_' or '-'")
    return _FOCUS_SCRIPT % {"key": widget_key, "nonce": int(nonce)}


def focus_text_area(widget_key: str, nonce: int = 0) -> None:
    """Move the keyboard focus into the text area keyed `widget_key` on this run."""
    import streamlit as st

    st.html(focus_script(widget_key, nonce), unsafe_allow_javascript=True)
