"""SQL for actions (issue 5): alert runs, findings, the action queue, the audit log, controls.

Every function takes an open connection from lib/store.Store.read() or .write() and uses
parameterized SQL only. Results are fetched fully (DuckDB 2.0 blocks a connection on a
half-read result). The tables come from migration 2 in lib/store.py; a store that has not been
written since that migration has none of them yet, so the readers return empty frames.
This module knows nothing of statuses, Apprise or HTTP: lib/actions/plan.py decides, this stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from lib.store.connection import fetch_one

ACTION_COLUMNS = [
    "action_id",
    "run_id",
    "model_id",
    "kind",
    "target",
    "finding_ids",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
    "claimed_by",
    "payload_json",
    "last_error",
    "delivered_at",
]
FINDING_COLUMNS = [
    "finding_id",
    "model_id",
    "check",
    "feature",
    "snapshot_id",
    "status",
    "worst_status",
    "opened_run",
    "opened_at",
    "last_run",
    "closed_at",
    "value",
    "threshold",
    "message",
    "notified_at",
    "triggered_at",
    "acknowledged_at",
    "acknowledged_by",
]
LOG_COLUMNS = [
    "log_id",
    "logged_at",
    "run_id",
    "action_id",
    "model_id",
    "kind",
    "target",
    "event",
    "outcome",
    "detail",
    "actor",
]


def has_action_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_log'")[0] > 0


def _frame(con, sql: str, params: list, columns: list[str]) -> pd.DataFrame:
    if not has_action_tables(con):
        return pd.DataFrame(columns=columns)
    return con.execute(sql, params).df()


# -- reads ------------------------------------------------------------------------------------
def model_specs(con) -> dict[str, dict]:
    """model_id -> spec dict (for actions: notify URLs, retrain endpoints, policy overrides)."""
    rows = con.execute("SELECT model_id, spec_json FROM models").fetchall()
    return {m: json.loads(s) for m, s in rows}


def snapshot_info(con) -> dict[str, dict]:
    """The active reference snapshot of each model: id, created_at, rows."""
    rows = con.execute(
        "SELECT s.model_id, s.snapshot_id, s.created_at, s.rows FROM snapshots s JOIN "
        "(SELECT model_id, max(snapshot_id) AS snapshot_id FROM snapshots GROUP BY model_id) a "
        "USING (model_id, snapshot_id)"
    ).fetchall()
    return {
        m: {"snapshot_id": int(sid), "created_at": pd.Timestamp(ts).tz_localize("UTC").isoformat(), "rows": int(n)}
        for m, sid, ts, n in rows
    }


def open_findings(con) -> pd.DataFrame:
    return _frame(
        con,
        'SELECT * FROM alert_findings WHERE closed_at IS NULL ORDER BY model_id, "check", feature',
        [],
        FINDING_COLUMNS,
    )


def findings(con, *, model_id: str | None = None, limit: int = 1000) -> pd.DataFrame:
    where, params = ("WHERE model_id = ?", [model_id]) if model_id else ("", [])
    return _frame(
        con,
        f"SELECT * FROM alert_findings {where} ORDER BY opened_at DESC, finding_id LIMIT ?",
        params + [limit],
        FINDING_COLUMNS,
    )


def last_notices(con) -> dict[tuple[str, str, str, Any], datetime]:
    """Newest notice per (model, check, feature, snapshot): the cool-down's clock."""
    if not has_action_tables(con):
        return {}
    rows = con.execute(
        'SELECT model_id, "check", feature, snapshot_id, max(notified_at) FROM alert_findings '
        "WHERE notified_at IS NOT NULL GROUP BY ALL"
    ).fetchall()
    return {(m, c, f, s): t for m, c, f, s, t in rows}


def actions(
    con, *, statuses: Iterable[str] | None = None, model_id: str | None = None, limit: int = 1000
) -> pd.DataFrame:
    clauses, params = [], []
    if statuses is not None:
        statuses = list(statuses)
        clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params += statuses
    if model_id:
        clauses.append("model_id = ?")
        params.append(model_id)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return _frame(
        con,
        f"SELECT * FROM alert_actions {where} ORDER BY created_at DESC, action_id LIMIT ?",
        params + [limit],
        ACTION_COLUMNS,
    )


def audit_log(con, *, model_id: str | None = None, limit: int = 500) -> pd.DataFrame:
    where, params = ("WHERE model_id = ?", [model_id]) if model_id else ("", [])
    return _frame(con, f"SELECT * FROM audit_log {where} ORDER BY log_id DESC LIMIT ?", params + [limit], LOG_COLUMNS)


def controls(con) -> pd.DataFrame:
    return _frame(
        con,
        "SELECT * FROM model_controls ORDER BY model_id",
        [],
        ["model_id", "muted", "snooze_until", "note", "updated_at", "updated_by"],
    )


def runs(con, limit: int = 50) -> pd.DataFrame:
    return _frame(
        con,
        "SELECT * FROM alert_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
        ["run_id", "started_at", "finished_at", "as_of", "data_version", "summary_json"],
    )


# -- writes (inside Store.write()) ------------------------------------------------------------
def new_run(con, started_at: datetime, as_of: datetime | None, data_version: int) -> int:
    run_id = fetch_one(con, "SELECT coalesce(max(run_id), 0) + 1 FROM alert_runs")[0]
    con.execute("INSERT INTO alert_runs VALUES (?, ?, NULL, ?, ?, NULL)", [run_id, started_at, as_of, data_version])
    return int(run_id)


def finish_run(con, run_id: int, finished_at: datetime, summary: dict) -> None:
    con.execute(
        "UPDATE alert_runs SET finished_at = ?, summary_json = ? WHERE run_id = ?",
        [finished_at, json.dumps(summary), run_id],
    )


def log(
    con,
    at: datetime,
    *,
    kind: str,
    event: str,
    run_id: int | None = None,
    action_id: str | None = None,
    model_id: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    detail: str | None = None,
    actor: str | None = None,
) -> None:
    log_id = fetch_one(con, "SELECT coalesce(max(log_id), 0) + 1 FROM audit_log")[0]
    con.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [log_id, at, run_id, action_id, model_id, kind, target, event, outcome, detail, actor],
    )


def open_finding(con, rec: dict) -> None:
    con.execute(
        'INSERT INTO alert_findings (finding_id, model_id, "check", feature, snapshot_id, status, worst_status, '
        "opened_run, opened_at, last_run, value, threshold, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            rec["finding_id"],
            rec["model_id"],
            rec["check"],
            rec["feature"],
            rec["snapshot_id"],
            rec["status"],
            rec["status"],
            rec["run_id"],
            rec["at"],
            rec["run_id"],
            rec["value"],
            rec["threshold"],
            rec["message"],
        ],
    )


def update_finding(con, finding_id: str, *, run_id: int, status: str, value, threshold, message: str) -> None:
    con.execute(
        "UPDATE alert_findings SET status = ?, last_run = ?, value = ?, threshold = ?, message = ?, "
        "worst_status = CASE WHEN ? = 'red' THEN 'red' ELSE worst_status END WHERE finding_id = ?",
        [status, run_id, value, threshold, message, status, finding_id],
    )


def close_finding(con, finding_id: str, at: datetime) -> None:
    con.execute("UPDATE alert_findings SET closed_at = ? WHERE finding_id = ?", [at, finding_id])


def mark_findings(con, finding_ids: list[str], column: str, at: datetime) -> None:
    assert column in ("notified_at", "triggered_at")
    if finding_ids:
        con.execute(
            f"UPDATE alert_findings SET {column} = ? WHERE finding_id IN ({', '.join('?' for _ in finding_ids)})",
            [at] + list(finding_ids),
        )


def insert_action(con, rec: dict) -> bool:
    """Queue an action; False when one with this id (idempotency key) already exists."""
    if fetch_one(con, "SELECT 1 FROM alert_actions WHERE action_id = ?", [rec["action_id"]]):
        return False
    con.execute(
        "INSERT INTO alert_actions VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, NULL, NULL)",
        [
            rec["action_id"],
            rec["run_id"],
            rec["model_id"],
            rec["kind"],
            rec["target"],
            rec["finding_ids"],
            rec["at"],
            rec["at"],
            rec["at"],
            rec["run_id"],
            rec["payload_json"],
        ],
    )
    return True


def claim_due(con, run_id: int, now: datetime, lease_before: datetime) -> list[str]:
    """Claim for this run every action due now: retries whose time has come, and actions left
    'sending' by a run that died (older than the lease). Returns their ids."""
    rows = con.execute(
        "SELECT action_id FROM alert_actions WHERE (status = 'retry' AND next_attempt_at <= ?) "
        "OR (status IN ('sending', 'pending') AND updated_at < ? AND claimed_by <> ?)",
        [now, lease_before, run_id],
    ).fetchall()
    ids = [r[0] for r in rows]
    if ids:
        con.execute(
            f"UPDATE alert_actions SET status = 'pending', claimed_by = ?, updated_at = ? WHERE action_id IN "
            f"({', '.join('?' for _ in ids)})",
            [run_id, now] + ids,
        )
    return ids


def start_sending(con, action_id: str, run_id: int, now: datetime) -> bool:
    """Move a pending action claimed by this run to 'sending'; False if someone else holds it."""
    row = fetch_one(
        con,
        "UPDATE alert_actions SET status = 'sending', updated_at = ? WHERE action_id = ? "
        "AND status = 'pending' AND claimed_by = ? RETURNING action_id",
        [now, action_id, run_id],
    )
    return row is not None


def get_action(con, action_id: str) -> dict | None:
    df = con.execute("SELECT * FROM alert_actions WHERE action_id = ?", [action_id]).df()
    return None if df.empty else df.iloc[0].to_dict()


def finish_action(
    con,
    action_id: str,
    *,
    status: str,
    attempts: int,
    now: datetime,
    next_attempt_at=None,
    last_error: str | None = None,
) -> None:
    con.execute(
        "UPDATE alert_actions SET status = ?, attempts = ?, updated_at = ?, next_attempt_at = ?, "
        "last_error = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END "
        "WHERE action_id = ?",
        [status, attempts, now, next_attempt_at, last_error, status, now, action_id],
    )


def set_control(
    con,
    model_id: str,
    *,
    muted: bool | None = None,
    snooze_until=...,
    note: str | None = None,
    at: datetime,
    actor: str | None,
) -> None:
    row = fetch_one(con, "SELECT muted, snooze_until, note FROM model_controls WHERE model_id = ?", [model_id])
    cur_muted, cur_snooze, cur_note = row if row else (False, None, None)
    con.execute(
        "INSERT OR REPLACE INTO model_controls VALUES (?, ?, ?, ?, ?, ?)",
        [
            model_id,
            cur_muted if muted is None else muted,
            cur_snooze if snooze_until is ... else snooze_until,
            cur_note if note is None else note,
            at,
            actor,
        ],
    )


def acknowledge(con, model_id: str, at: datetime, actor: str | None) -> int:
    rows = con.execute(
        "UPDATE alert_findings SET acknowledged_at = ?, acknowledged_by = ? WHERE model_id = ? "
        "AND closed_at IS NULL AND acknowledged_at IS NULL RETURNING finding_id",
        [at, actor, model_id],
    ).fetchall()
    return len(rows)


def requeue(con, action_id: str, at: datetime) -> bool:
    row = fetch_one(
        con,
        "UPDATE alert_actions SET status = 'retry', next_attempt_at = ?, updated_at = ? "
        "WHERE action_id = ? AND status = 'failed' RETURNING action_id",
        [at, at, action_id],
    )
    return row is not None


def model_owner(con, model_id: str) -> tuple[str, str] | None:
    """(owner, team) of a registered model, None when there is no such model."""
    row = fetch_one(con, "SELECT owner, team FROM models WHERE model_id = ?", [model_id])
    return (row[0], row[1]) if row else None


def action_model(con, action_id: str) -> str | None:
    row = (
        fetch_one(con, "SELECT model_id FROM alert_actions WHERE action_id = ?", [action_id])
        if has_action_tables(con)
        else None
    )
    return row[0] if row else None
