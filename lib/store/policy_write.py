"""Writes of the policy overrides (issue 10), apart from their reader (lib/store/policy.py) so
that judging, which reads them, cannot write them (pyproject.toml's import contracts). Used only
by lib/actions/policy_edit.py, inside a write transaction that also appends to the audit log."""

from __future__ import annotations

from datetime import datetime

from lib.store.connection import fetch_one


def set_override(
    con,
    *,
    scope: str,
    target: str,
    feature: str,
    setting: str,
    yellow: float | None,
    red: float | None,
    value: float | None,
    at: datetime,
    by: str,
    comment: str,
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO policy_overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [scope, target, feature, setting, yellow, red, value, at, by, comment],
    )


def delete_override(con, *, scope: str, target: str, feature: str, setting: str) -> bool:
    row = fetch_one(
        con,
        "DELETE FROM policy_overrides WHERE scope = ? AND target = ? AND feature = ? AND setting = ? RETURNING scope",
        [scope, target, feature, setting],
    )
    return row is not None
