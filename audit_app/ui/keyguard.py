"""The key guard: a key press scores only the item the annotator is looking at.

Two halves keep every human score on the item that was on screen:

- In the server, every action button is keyed by the id of the item it was drawn for
  (`annotate_score_<rollout>_<score>`), and its callback compares that id with the item
  the page last handed out; a press meant for another item is dropped without a word
  (`on_screen`). A fast second press therefore cannot land on an item that the browser
  has not drawn yet: it carries the old item's id.
- In the browser, this constant script (our own text; no model output ever enters it)
  listens before Streamlit's shortcut handler does (window, capture phase) and swallows
  a key that would act while the page is still moving on: auto-repeat events of a held
  key never act, and after a key that advances, further keys are ignored until the next
  item's buttons are drawn (or the run the key started has finished without a new item,
  e.g. when the store refused; a run that never starts frees the keys after a few seconds).

The page marks the item on screen with a keyed container (`<marker><id>`, Streamlit adds
the class `st-key-<key>`) and its buttons with keys that start with `<ready><id>_`.
"""

from __future__ import annotations

import json
import re

# When a key press started nothing at all (no button under that key), free the keys after this.
STUCK_MS = 4000

_KEY_PART = re.compile(r"^[A-Za-z0-9_-]+$")

_SCRIPT = """<script>
(() => {
  const cfg = %(config)s;
  const installed = (window.__tucanoKeyGuards = window.__tucanoKeyGuards || {});
  if (installed[cfg.marker]) return;
  installed[cfg.marker] = true;
  const prefix = "st-key-" + cfg.marker;
  const shown = () => {
    const el = document.querySelector(`[class*="${prefix}"]`);
    if (!el) return null;
    const cls = [...el.classList].find((c) => c.startsWith(prefix));
    return cls ? cls.slice(prefix.length) : null;
  };
  const drawn = (id) => id !== null && !!document.querySelector(`[class*="st-key-${cfg.ready}${id}_"]`);
  const running = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute("data-test-script-state") === "running";
  };
  let lock = null;  // {item, at, ran}: set by a key that moves to another item
  // A run seen in progress, or one that ended between two callbacks (a record whose old
  // value is "running"): reading only the state at callback time missed short runs, and the
  // keys then stayed locked for stuckMs after a press the server dropped.
  new MutationObserver((records) => {
    if (lock && (running() || records.some((r) => r.oldValue === "running"))) lock.ran = true;
  }).observe(document.documentElement, {subtree: true, attributes: true, attributeOldValue: true,
                                        attributeFilter: ["data-test-script-state"]});
  const locked = () => {
    if (!lock) return false;
    const now = shown();
    if ((now !== lock.item && drawn(now)) || (lock.ran && !running()) || Date.now() - lock.at > cfg.stuckMs) {
      lock = null;
    }
    return lock !== null;
  };
  window.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || shown() === null) return;
    const key = (e.key || "").toLowerCase();
    if (!cfg.keys.includes(key)) return;
    const t = e.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    if (e.repeat || locked()) {
      e.stopImmediatePropagation();
      e.preventDefault();
      return;
    }
    // A key acts only through a drawn button: before the buttons are there it does nothing, and locks nothing.
    if (cfg.advance.includes(key) && drawn(shown())) lock = {item: shown(), at: Date.now(), ran: false};
  }, true);
})();
</script>"""


def guard_script(marker: str, ready: str, *, keys, advance) -> str:
    """The guard for a page whose item container is keyed `<marker><id>` and whose buttons
    for that item are keyed `<ready><id>_...`; `keys` are every shortcut of the page (their
    auto-repeat never acts), `advance` those that move to another item (locked after)."""
    for part in (marker, ready):
        if not _KEY_PART.match(part):
            raise ValueError(f"key prefix {part!r} must be letters, digits, '_' or '-'")
    keys = sorted({str(k).lower() for k in keys})
    advance = sorted({str(k).lower() for k in advance})
    if not set(advance) <= set(keys):
        raise ValueError(f"advancing keys {advance} must be among the page's keys {keys}")
    config = {"marker": marker, "ready": ready, "keys": keys, "advance": advance, "stuckMs": STUCK_MS}
    # json.dumps of our own short strings: nothing here can close the script element.
    return _SCRIPT % {"config": json.dumps(config)}


def install(marker: str, ready: str, *, keys, advance) -> None:
    """Put the guard into the page (once per browser tab: later runs find it installed)."""
    import streamlit as st

    st.html(guard_script(marker, ready, keys=keys, advance=advance), unsafe_allow_javascript=True)


def on_screen(shown_id, pressed_id) -> bool:
    """Whether an action drawn for item `pressed_id` may act: only while that item is still
    the one the page shows (a press meant for an earlier item is dropped)."""
    return shown_id is not None and pressed_id is not None and shown_id == pressed_id
