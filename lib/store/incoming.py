"""A validated file on its way into a model's tables: what it carries (ValidRows, FileEntry), which
column holds each feature (feature_slots), its ingest-log entry and the insert of its rows.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from lib.store.connection import fetch_one


@dataclass(frozen=True)
class ValidRows:
    """A validated file: its row count, role columns and feature columns (by feature name)."""

    n: int
    columns: dict[str, Any]
    features: dict[str, Any]


@dataclass(frozen=True)
class FileEntry:
    model_id: str
    kind: str
    file_name: str
    content_hash: str
    rows: int
    columns: list[str] = field(default_factory=list)
    missing_features: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    # A lake file (issue 11): its path relative to the lake; its rows stay there (not stored).
    lake_path: str | None = None


def feature_slots(con: duckdb.DuckDBPyConnection, model_id: str) -> dict[str, tuple[int, str]]:
    """feature -> (slot, kind) for the features of the current spec."""
    rows = con.execute(
        "SELECT feature, slot, kind FROM features WHERE model_id = ? AND position IS NOT NULL ORDER BY position",
        [model_id],
    ).fetchall()
    return {f: (s, k) for f, s, k in rows}


def log_file(con: duckdb.DuckDBPyConnection, entry: FileEntry) -> int:
    file_id = fetch_one(con, "SELECT coalesce(max(file_id), 0) + 1 FROM ingest_log")[0]
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    con.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ingested', NULL)",
        [
            file_id,
            entry.model_id,
            entry.kind,
            entry.file_name,
            entry.content_hash,
            entry.rows,
            entry.columns,
            entry.missing_features,
            entry.extra_columns,
            now,
        ],
    )
    if entry.lake_path is not None:
        con.execute(
            "INSERT INTO lake_files VALUES (?, ?, ?, ?, ?)",
            [entry.model_id, entry.kind, entry.lake_path, entry.content_hash, file_id],
        )
    return file_id


def rows_frame(rows: ValidRows, slots: dict[str, tuple[int, str]], columns: list[str]) -> pd.DataFrame:
    data = {c: rows.columns[c] for c in columns}
    for feat, (slot, _) in slots.items():
        data[f"f{slot}"] = rows.features[feat]
    return pd.DataFrame(data)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("incoming_frame", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming_frame")
    except BaseException:
        # a failed insert (out of memory) aborts the transaction, and unregister would then fail
        # with "transaction is aborted", hiding the cause: raise the cause
        with contextlib.suppress(duckdb.Error):
            con.unregister("incoming_frame")
        raise
    con.unregister("incoming_frame")
