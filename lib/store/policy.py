"""SQL for the policy overrides (issue 10): thresholds and min_rows set on the Policy page.

Reads (`read_overrides`) are used by judging (lib/judge/policy.py layers them above the YAML);
writes are in lib/store/policy_write.py. A store not written since migration 3 has no
table yet: the reader returns no rows.
"""

from __future__ import annotations

from lib.store.connection import fetch_one

COLUMNS = ("scope", "target", "feature", "setting", "yellow", "red", "value", "updated_at", "updated_by", "comment")


def has_table(con) -> bool:
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'policy_overrides'"
    return fetch_one(con, sql)[0] > 0


def read_overrides(con) -> list[dict]:
    """Every override, as dicts with the table's columns (NaN-free: NULL stays None)."""
    if not has_table(con):
        return []
    rows = con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM policy_overrides ORDER BY scope, target, feature, setting"
    ).fetchall()
    return [dict(zip(COLUMNS, r)) for r in rows]
