"""Store methods for the assignment settings (mixed into data.store.Store): how many people
score each item, the share scored twice, per-task minimums. The rules and defaults are
data.store.assignment; every change is kept with who made it.
"""

from __future__ import annotations

import json

from data.store import assignment
from data.store.roles import User
from data.store.values import utcnow


class SettingsMixin:
    """Methods use self.conn / self.write() provided by Store."""

    def get_settings(self) -> dict:
        """Assignment settings: the stored values over the defaults (see data.store.assignment)."""
        values = assignment.defaults()
        for key, value in self.conn.execute("SELECT key, value FROM settings"):
            if key in values:
                values[key] = json.loads(value)
        return values

    def update_settings(self, changes: dict, *, actor: User) -> dict:
        """Change assignment settings (admin only); each change is kept with who made it.
        Changing how many annotators items need re-targets every queued item at once."""
        by = self.acting(actor, "admin", action="changing assignment settings")
        checked = {key: assignment.check_setting(key, value) for key, value in changes.items()}

        def write(conn):
            old = self.get_settings()
            stamp = utcnow()
            for key, value in checked.items():
                if old[key] == value:
                    continue
                self.db["settings"].upsert({"key": key, "value": json.dumps(value), "updated_at": stamp,
                                            "updated_by": by.username}, pk="key")
                self.db["settings_history"].insert({"key": key, "old_value": json.dumps(old[key]),
                                                    "new_value": json.dumps(value), "changed_at": stamp,
                                                    "changed_by": by.username})
            new = {**old, **checked}
            if any(old[k] != new[k] for k in assignment.TARGET_KEYS):
                conn.execute(f"UPDATE item_queue SET target = {assignment.target_sql()}",
                             assignment.target_params(new))
            return new

        return self.write(write)

    def settings_history(self, limit: int = 100) -> list[dict]:
        """Setting changes, newest first: key, old_value, new_value, changed_at, changed_by."""
        rows = self.query("SELECT * FROM settings_history ORDER BY id DESC LIMIT ?", [limit])
        for row in rows:
            row["old_value"] = json.loads(row["old_value"]) if row["old_value"] is not None else None
            row["new_value"] = json.loads(row["new_value"])
        return rows
