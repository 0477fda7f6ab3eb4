"""A validated file on its way into a model's tables: what it carries (ValidRows, FileEntry), which
column holds each feature (feature_slots), what its profiles were computed against (Basis), its
ingest-log entry and the insert of its rows.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lib.spec import Spec
from lib.store.connection import fetch_one
from lib.store.profiles import RefColumn


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


@dataclass(frozen=True)
class Basis:
    """What a file's profiles depend on in the store: the model's spec, its feature slots
    (feature -> (slot, kind)), the active reference's column profiles (slot -> RefColumn; None
    before any reference) and the positive class. A file can be profiled outside the write
    transaction (ingest's prepare step, a worker process) against a basis; the writer compares it
    with the store's under the lock and profiles again if the store moved on meanwhile."""

    spec: Spec
    slots: dict[str, tuple[int, str]]
    ref: dict[int, RefColumn] | None
    positive: str | None

    def matches(self, other: Basis) -> bool:
        if (self.spec, self.slots, self.positive) != (other.spec, other.slots, other.positive):
            return False
        if self.ref is None or other.ref is None:
            return self.ref is None and other.ref is None
        return self.ref.keys() == other.ref.keys() and all(_same_column(self.ref[s], other.ref[s]) for s in self.ref)


def _same_column(a: RefColumn, b: RefColumn) -> bool:
    def same(x, y) -> bool:
        if x is None or y is None:
            return x is None and y is None
        return np.array_equal(np.asarray(x), np.asarray(y))

    return (a.slot, a.kind, a.n_rows, a.n_null, a.categories, a.vmin, a.vmax, a.std) == (
        b.slot,
        b.kind,
        b.n_rows,
        b.n_null,
        b.categories,
        b.vmin,
        b.vmax,
        b.std,
    ) and all(same(x, y) for x, y in ((a.counts, b.counts), (a.edges, b.edges)))


def first_slots(spec: Spec) -> dict[str, tuple[int, str]]:
    """The slots register_model gives the features of a model registered for the first time."""
    return {f: (slot, kind) for slot, (f, kind) in enumerate(spec.features.items())}


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
    data = {c: _text_column(rows.columns[c]) for c in columns}
    for feat, (slot, _) in slots.items():
        data[f"f{slot}"] = _text_column(rows.features[feat])
    return pd.DataFrame(data)


def rows_from_frame(frame: pd.DataFrame, slots: dict[str, tuple[int, str]], columns: list[str]) -> ValidRows:
    """rows_frame's inverse: the validated rows of a prepared file's stored frame (a worker sends
    the frame alone: PreparedFile.for_transfer). Text comes back as objects, numbers as floats."""
    numeric = {"ts", "pred_num", "score"}
    out = {c: frame[c].to_numpy() if c in numeric else frame[c].to_numpy(dtype=object) for c in columns}
    features = {
        f: frame[f"f{slot}"].to_numpy(dtype="float64" if kind == "numeric" else object)
        for f, (slot, kind) in slots.items()
    }
    return ValidRows(len(frame), out, features)


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas makes of a column of text


def _text_column(values):
    """A column of text (object array of str and None) as pandas' text dtype, converted by Arrow
    in C: the dtype pandas infers for it, in half the time (a fifth of a file's profiling went
    to that inference). Anything else (numbers, all NULL, mixed) is left to pandas."""
    if not (isinstance(values, np.ndarray) and values.dtype == object and len(values)):
        return values  # numbers, or text already in Arrow (the readers' text columns)
    try:
        text = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return values
    return pd.array(text, dtype=_TEXT) if text.null_count < len(text) else values


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
