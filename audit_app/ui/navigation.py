"""The app's menu: which page each role sees, in order, grouped by section.

Every page keeps its address whoever asks for it (Streamlit names a page by its URL path):
- logged out, each page's address shows the log-in form (a hidden page per address), so
  a reload, a bookmark or a shared link logs in straight onto the page it names;
- logged in, a page the role cannot open says so at its own address (instead of
  Streamlit's "page not found") and offers the role's first page.

A page file that does not exist (yet) is left out rather than breaking the app.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from audit_app.ui.context import current_user
from audit_app.ui.login_form import GO_FIRST, login_form

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# (section, file, title, icon, roles); admin sees every page.
PAGES: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("Annotate", "annotate.py", "Annotate", ":material/rate_review:", ("annotator",)),
    ("Audit", "audit.py", "Audit & gate", ":material/query_stats:", ("engineer", "reviewer")),
    ("Engineer", "sample.py", "Sample rollouts", ":material/casino:", ("engineer",)),
    ("Engineer", "rollouts.py", "Rollouts", ":material/table_rows:", ("engineer",)),
    ("Engineer", "training.py", "Train & monitor", ":material/model_training:", ("engineer",)),
    ("Engineer", "jobs.py", "Jobs", ":material/pending_actions:", ("engineer",)),
    ("Review", "compare.py", "Base vs tuned", ":material/compare:", ("reviewer", "engineer")),
    ("Review", "blind_review.py", "Blind review", ":material/visibility_off:", ("reviewer",)),
    ("Admin", "admin.py", "Users & settings", ":material/admin_panel_settings:", ()),
    ("Admin", "annotators.py", "Annotators", ":material/groups:", ()),
]
LOGOUT = "logout.py"


def allowed(role: str | None, roles: tuple[str, ...]) -> bool:
    return role == "admin" or (role is not None and role in roles)


def pages_for(role: str | None) -> dict[str, list[str]]:
    """Section -> page files visible to `role` (used by the menu and by tests)."""
    out: dict[str, list[str]] = {}
    for section, file, _title, _icon, roles in PAGES:
        if allowed(role, roles):
            out.setdefault(section, []).append(file)
    return out


def page_path(file: str) -> str:
    """The path st.page_link and st.switch_page take for a page of the menu."""
    return str(PAGES_DIR / file)


def page_button(file: str, label: str, icon: str | None = None) -> None:
    """A link to a page of the menu, drawn as a button (empty states: "do this next").
    A page outside this user's menu (or a page run on its own, as tests do) gets its name
    in words instead, since Streamlit can only link to pages of the current menu."""
    try:
        st.page_link(page_path(file), label=label, icon=icon)
    except StreamlitPageNotFoundError:
        st.caption(f"→ {label}")


def _existing():
    return [p for p in PAGES if (PAGES_DIR / p[1]).exists()]


def _logged_out():
    pages = [st.Page(page_path("login.py"), title="Log in", icon=":material/login:", default=True)]
    for _section, file, _title, _icon, _roles in _existing():
        pages.append(st.Page(login_form, title="Log in", url_path=Path(file).stem, visibility="hidden"))
    # A bookmarked log-out address logs in onto the first page, not straight out again.
    pages.append(st.Page(_login_then_first, title="Log in", url_path=Path(LOGOUT).stem, visibility="hidden"))
    return st.navigation(pages, position="hidden")


def _login_then_first() -> None:
    login_form(go_first=True)


def _not_for(role: str, title: str, roles: tuple[str, ...], first: str | None):
    def page() -> None:
        who = ", ".join(f"{r}s" for r in roles) or "admins"
        st.error(f"{title} is for {who}; you are logged in as {role}.")
        if first is not None:
            page_button(first, "Go to my first page", ":material/arrow_forward:")
    return page


def build_navigation():
    user = current_user()
    if user is None:
        return _logged_out()
    sections: dict[str, list] = {}
    hidden = []
    mine = [p for p in _existing() if allowed(user.role, p[4])]
    first = mine[0][1] if mine else None
    for section, file, title, icon, roles in _existing():
        if allowed(user.role, roles):
            sections.setdefault(section, []).append(st.Page(page_path(file), title=title, icon=icon))
        else:
            hidden.append(st.Page(_not_for(user.role, title, roles, first), title=title,
                                  url_path=Path(file).stem, visibility="hidden"))
    sections.setdefault("Account", []).append(
        st.Page(page_path(LOGOUT), title=f"Log out ({user.username})", icon=":material/logout:"))
    sections["Account"].extend(hidden)
    navigation = st.navigation(sections)
    if st.session_state.pop(GO_FIRST, False) and first is not None:
        st.switch_page(page_path(first))
    return navigation
