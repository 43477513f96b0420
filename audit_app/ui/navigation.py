"""The app's menu: which page each role sees, in order, grouped by section.

A page file that does not exist (yet) is left out rather than breaking the app.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from audit_app.ui.context import current_user

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# (section, file, title, icon, roles); admin sees every page.
PAGES: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("Annotate", "annotate.py", "Annotate", ":material/rate_review:", ("annotator",)),
    ("Audit", "audit.py", "Audit & gate", ":material/query_stats:", ("engineer", "reviewer")),
    ("Engineer", "sample.py", "Sample rollouts", ":material/casino:", ("engineer",)),
    ("Engineer", "training.py", "Train & monitor", ":material/model_training:", ("engineer",)),
    ("Engineer", "jobs.py", "Jobs", ":material/pending_actions:", ("engineer",)),
    ("Review", "compare.py", "Base vs tuned", ":material/compare:", ("reviewer", "engineer")),
    ("Review", "blind_review.py", "Blind review", ":material/visibility_off:", ("reviewer",)),
    ("Admin", "admin.py", "Users & settings", ":material/admin_panel_settings:", ()),
]


def pages_for(role: str | None) -> dict[str, list[str]]:
    """Section -> page files visible to `role` (used by the menu and by tests)."""
    out: dict[str, list[str]] = {}
    for section, file, _title, _icon, roles in PAGES:
        if role == "admin" or (role is not None and role in roles):
            out.setdefault(section, []).append(file)
    return out


def build_navigation():
    user = current_user()
    if user is None:
        return st.navigation([st.Page(str(PAGES_DIR / "login.py"), title="Log in", icon=":material/login:")])
    sections: dict[str, list] = {}
    for section, file, title, icon, roles in PAGES:
        if user.role != "admin" and user.role not in roles:
            continue
        path = PAGES_DIR / file
        if path.exists():
            sections.setdefault(section, []).append(st.Page(str(path), title=title, icon=icon))
    sections.setdefault("Account", []).append(
        st.Page(str(PAGES_DIR / "logout.py"), title=f"Log out ({user.username})", icon=":material/logout:")
    )
    return st.navigation(sections)
