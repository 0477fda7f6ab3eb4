"""A model's raw inference rows of a window, from the store's rows and its lake files (issue 11).

The drill-downs that need raw rows (exact KS / Wasserstein, the Rows tab, the offending rows,
residuals) read `inference_source`: a subquery with the columns of a model's row table
(file_id, ts, hour, rid, prediction, pred_num, score, label, f<slot>) over the window's rows.
For a lake model it reads the lake files in place with DuckDB's `read_parquet` / `read_csv`,
only the files whose profiled hours meet the window (`prof_rows` knows each file's hours, which
is exact where a file's date= partition is only a hint). The SQL repeats the reader's rules
(lib/ingest/readers.py): CSV cells are text and only the empty cell is NULL; NaN is NULL and
±inf is kept; a timestamp without an offset is UTC, a number is Unix seconds; values of a
categorical feature compare as text. File paths are parameters; column names come from the
validated spec and are quoted.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from lib.store.connection import inf_table
from lib.store.csv_dialect import detect_delimiter
from lib.store.lake import has_lake_tables

ROLE_DEFAULTS = {"timestamp": "timestamp", "prediction": "prediction", "label": "label", "id": "id"}
_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_TEXT_TYPES = ("VARCHAR",)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _num(col: str, sql_type: str) -> str:
    x = f"TRY_CAST(trim({col}) AS DOUBLE)" if sql_type in _TEXT_TYPES else f"CAST({col} AS DOUBLE)"
    return f"(CASE WHEN isnan({x}) THEN NULL ELSE {x} END)"


def _text(col: str, sql_type: str) -> str:
    return col if sql_type in _TEXT_TYPES else f"CAST({col} AS VARCHAR)"


def _ts(col: str, sql_type: str) -> str:
    if sql_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST({col} AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if sql_type.startswith("TIMESTAMP") or sql_type == "DATE":
        return f"CAST({col} AS TIMESTAMP)"
    if sql_type in _TEXT_TYPES:
        t = f"trim({col})"
        return (
            f"(CASE WHEN regexp_full_match({t}, '{_NUMBER}') THEN "
            f"CAST(to_timestamp(CAST({t} AS DOUBLE)) AT TIME ZONE 'UTC' AS TIMESTAMP) "
            f"ELSE CAST(CAST({t} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) END)"
        )
    return f"CAST(to_timestamp(CAST({col} AS DOUBLE)) AT TIME ZONE 'UTC' AS TIMESTAMP)"


# The delimiter as a DuckDB literal: only the four of the CSV rule (never text from a file).
_DELIM_SQL = {",": "','", ";": "';'", "|": "'|'", "\t": "'\\t'"}


def _reader(path: str) -> str:
    if path.lower().endswith((".csv", ".txt")):
        # the same dialect rule as the ingest readers (lib/store/csv_dialect.py), so the rows read
        # in place are the rows that were profiled
        delim = _DELIM_SQL[detect_delimiter(Path(path))]
        return f"read_csv(?, all_varchar = true, header = true, delim = {delim}, quote = '\"', escape = '\"')"
    return "read_parquet(?)"


def window_files(con: duckdb.DuckDBPyConnection, model_id: str, lo, hi) -> list[tuple[int, str]]:
    """The model's lake files with rows in (lo, hi]: (file_id, full path)."""
    if not has_lake_tables(con):
        return []  # a store from before the lake (read connections do not migrate)
    return con.execute(
        "SELECT DISTINCT f.file_id, m.lake || '/' || f.path FROM prof_rows p "
        "JOIN lake_files f ON f.file_id = p.file_id AND f.model_id = p.model_id "
        "JOIN lake_models m ON m.model_id = f.model_id "
        "WHERE p.model_id = ? AND p.hour > ? AND p.hour <= ? ORDER BY 1",
        [model_id, lo, hi],
    ).fetchall()


def _file_select(con, path: str, file_id: int, spec: dict, slots: list[tuple[int, str, str]]) -> str:
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {_reader(path)}", [path]).fetchall()}
    cols = {**ROLE_DEFAULTS, **spec.get("columns", {})}

    def role(name: str | None, make) -> str:
        return make(_q(name), types[name]) if name is not None and name in types else "NULL"

    ts = role(cols["timestamp"], _ts)
    regression = spec["task"] == "regression"
    parts = [
        f"{int(file_id)} AS file_id",
        f"{ts} AS ts",
        f"(CASE WHEN {ts} = date_trunc('hour', {ts}) THEN {ts} ELSE date_trunc('hour', {ts}) + INTERVAL 1 HOUR END) AS hour",
        f"{role(spec.get('columns', {}).get('id'), _text)}::VARCHAR AS rid",
        f"{role(cols['prediction'], _text)}::VARCHAR AS prediction",
        f"{role(cols['prediction'], _num) if regression else 'NULL'}::DOUBLE AS pred_num",
        f"{role(spec.get('columns', {}).get('score'), _num)}::DOUBLE AS score",
        f"{role(cols['label'], _text)}::VARCHAR AS label",
    ]
    for slot, feature, kind in slots:
        make = _num if kind == "numeric" else _text
        parts.append(f"{role(feature, make)}::{'DOUBLE' if kind == 'numeric' else 'VARCHAR'} AS f{int(slot)}")
    return f"SELECT {', '.join(parts)} FROM {_reader(path)}"


def inference_source(con: duckdb.DuckDBPyConnection, model_id: str, lo: pd.Timestamp, hi: pd.Timestamp):
    """(SQL, params): a parenthesized subquery of the model's raw inference rows with hour in (lo, hi],
    stored rows and lake files alike, with the row table's columns."""
    lo, hi = pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()
    spec = json.loads(con.execute("SELECT spec_json FROM models WHERE model_id = ?", [model_id]).fetchall()[0][0])
    slots = con.execute(
        "SELECT slot, feature, kind FROM features WHERE model_id = ? ORDER BY slot", [model_id]
    ).fetchall()
    fcols = "".join(f", f{int(s)}" for s, _, _ in slots)
    selects = [
        f"SELECT file_id, ts, hour, rid, prediction, pred_num, score, label{fcols} FROM {inf_table(model_id)} "
        "WHERE hour > ? AND hour <= ?"
    ]
    params: list = [lo, hi]
    files = window_files(con, model_id, lo, hi)
    if files:
        con.execute("SET TimeZone = 'UTC'")  # a timestamp text without an offset is UTC (DESIGN.md, Values)
    for file_id, path in files:
        selects.append(f"SELECT * FROM ({_file_select(con, path, file_id, spec, slots)}) WHERE hour > ? AND hour <= ?")
        params += [path, lo, hi]
    return "(" + " UNION ALL BY NAME ".join(selects) + ")", params
