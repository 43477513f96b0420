"""Log-in page, the only page a visitor sees (audit_app.ui.login_form); every other page
of the menu shows the same form at its own address while nobody is logged in."""

from audit_app.ui.login_form import login_form

login_form()
