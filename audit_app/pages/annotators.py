"""Annotators (admins): per person, how many scores, median seconds per item, flags and
skips, and agreement with the others (Krippendorff alpha, leave-one-out; audit_app.ui.team)."""

import streamlit as st

from audit_app.ui.context import get_store, page_guard
from audit_app.ui.navigation import page_button
from audit_app.ui.team import annotator_figures, number, table_rows

user = page_guard("admin")
store = get_store()

st.title("Annotators")
everyone, figures = annotator_figures(store, user)
if not figures:
    st.info("Nobody has scored an item yet. Give people the annotator role on Users & settings; they log in "
            "and score on the Annotate page, and their figures appear here.")
    page_button("admin.py", "Users & settings", ":material/admin_panel_settings:")
    st.stop()
st.metric("Agreement of everyone (Krippendorff alpha, ordinal)", number(everyone),
          help="Over items scored by two or more people in their first round; 1 is perfect agreement, "
               "0 no better than chance.")
st.dataframe(table_rows(figures), hide_index=True, width="stretch", key="annotators_table")
st.caption("**alpha without them**: agreement of everyone else. **effect on alpha**: everyone's alpha minus that; "
           "below zero, this person disagrees with the rest (look at their scores before the audit trusts them). "
           "— means it cannot be told: too few items shared with others, or only two annotators (leaving one "
           "out leaves nobody to agree with). The share of items scored by two people is set "
           "on Users & settings (agreement_share).")
