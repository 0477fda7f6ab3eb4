"""The data-access core: the only place that opens DuckDB (STYLE.md habit 6).

- No process keeps the file open between operations: `read()` opens it read-only under the
  shared lock, `write()` opens it read-write under the exclusive lock (lib/lock.py), and both
  close it on exit. `batch()` keeps one write connection open for many writes (the demo).
- Every write transaction bumps `meta.data_version` and mirrors it to a sidecar file, so the
  app can key its caches on the data version without opening the database.
- Schema and migrations live here; per-model row tables are named from validated model ids and
  their feature columns are positional (`f0`, `f1`, …), so user-supplied feature names never
  become SQL identifiers.
SQL elsewhere lives in lib/store_write.py and lib/store_read.py, which take connections from here.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from lib.store import lock
from lib.errors import StoreMissing
from lib.spec import MODEL_ID_PATTERN

DEFAULT_DB = "data/driftlight.duckdb"
DB_ENV = "DRIFTLIGHT_DB"
SCHEMA_VERSION = 2
# Nothing may download at run time: DuckDB must never try to fetch an extension.
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

# Migrations: index i brings the schema from version i to i + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
    CREATE TABLE models (
        model_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, task VARCHAR NOT NULL,
        owner VARCHAR NOT NULL, team VARCHAR NOT NULL, tags VARCHAR[] NOT NULL,
        spec_json VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL);
    -- slot: the feature's stable column index in the model's row tables (f<slot>);
    -- position: its place in the current spec (NULL once removed from the spec).
    CREATE TABLE features (
        model_id VARCHAR NOT NULL, slot INTEGER NOT NULL, feature VARCHAR NOT NULL,
        kind VARCHAR NOT NULL, position INTEGER, PRIMARY KEY (model_id, slot));
    CREATE TABLE ingest_log (
        file_id INTEGER PRIMARY KEY, model_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL, content_hash VARCHAR NOT NULL, rows BIGINT NOT NULL,
        columns VARCHAR[] NOT NULL, missing_features VARCHAR[] NOT NULL, extra_columns VARCHAR[] NOT NULL,
        ingested_at TIMESTAMP NOT NULL, outcome VARCHAR NOT NULL, message VARCHAR);
    CREATE TABLE snapshots (
        model_id VARCHAR NOT NULL, snapshot_id INTEGER NOT NULL, file_id INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL, rows BIGINT NOT NULL, positive_class VARCHAR,
        performance_json VARCHAR NOT NULL, PRIMARY KEY (model_id, snapshot_id));
    -- Reference profile per slot; slot -1 is the prediction, -2 the score.
    CREATE TABLE ref_profile (
        model_id VARCHAR NOT NULL, snapshot_id INTEGER NOT NULL, slot INTEGER NOT NULL,
        kind VARCHAR NOT NULL, n_rows BIGINT NOT NULL, n_null BIGINT NOT NULL,
        vmin DOUBLE, vmax DOUBLE, std DOUBLE, edges DOUBLE[], categories VARCHAR[], counts BIGINT[] NOT NULL,
        PRIMARY KEY (model_id, snapshot_id, slot));
    -- Late labels by id: the newest labels file wins over older ones and over logged labels.
    CREATE TABLE labels (
        model_id VARCHAR NOT NULL, rid VARCHAR NOT NULL, label VARCHAR NOT NULL, file_id INTEGER NOT NULL,
        PRIMARY KEY (model_id, rid));
    -- Profiles ("profile, then judge"). Hour = the whole hour ending at or after the row's
    -- timestamp; day = the UTC day-end (00:00) ending at or after the hour. Rows of the same
    -- key may repeat (one per ingest); readers always SUM.
    CREATE TABLE prof_rows (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, file_id INTEGER NOT NULL,
        n BIGINT NOT NULL, max_ts TIMESTAMP NOT NULL);
    CREATE TABLE prof_num_h (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, slot INTEGER NOT NULL, bin INTEGER NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_num_d (model_id VARCHAR NOT NULL, day TIMESTAMP NOT NULL, slot INTEGER NOT NULL, bin INTEGER NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_cat_h (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, slot INTEGER NOT NULL, value VARCHAR NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_cat_d (model_id VARCHAR NOT NULL, day TIMESTAMP NOT NULL, slot INTEGER NOT NULL, value VARCHAR NOT NULL, n BIGINT NOT NULL);
    -- n_null: NULL (or NaN); n_below / n_above: outside the reference range (±inf included);
    -- n_inf: ±inf (left out of distributions like NULL, but counted out of range).
    CREATE TABLE prof_qual_h (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, slot INTEGER NOT NULL,
        n_null BIGINT NOT NULL, n_below BIGINT NOT NULL, n_above BIGINT NOT NULL, n_inf BIGINT NOT NULL);
    CREATE TABLE prof_qual_d (model_id VARCHAR NOT NULL, day TIMESTAMP NOT NULL, slot INTEGER NOT NULL,
        n_null BIGINT NOT NULL, n_below BIGINT NOT NULL, n_above BIGINT NOT NULL, n_inf BIGINT NOT NULL);
    -- Performance aggregates over labelled rows (effective label = late label, else logged).
    CREATE TABLE prof_cls (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, label VARCHAR NOT NULL,
        prediction VARCHAR NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_auc (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, score DOUBLE NOT NULL,
        n_pos BIGINT NOT NULL, n_neg BIGINT NOT NULL);
    CREATE TABLE prof_reg (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, n BIGINT NOT NULL,
        sse DOUBLE NOT NULL, sae DOUBLE NOT NULL, sy DOUBLE NOT NULL, syy DOUBLE NOT NULL);
    INSERT INTO meta VALUES ('data_version', '0');
    """,
    # 2: actions (issue 5): alert runs, findings, the action queue, the audit log and per-model
    # controls (acknowledge / snooze / mute). SQL over these lives in lib/store_actions.py.
    """
    CREATE TABLE alert_runs (
        run_id INTEGER PRIMARY KEY, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
        as_of TIMESTAMP, data_version BIGINT, summary_json VARCHAR);
    -- A finding: (model, check, feature) at yellow or red, from the alert run that first saw it
    -- (under one reference snapshot) until the run that no longer did. feature '' = model-level.
    CREATE TABLE alert_findings (
        finding_id VARCHAR PRIMARY KEY, model_id VARCHAR NOT NULL, "check" VARCHAR NOT NULL,
        feature VARCHAR NOT NULL, snapshot_id INTEGER, status VARCHAR NOT NULL, worst_status VARCHAR NOT NULL,
        opened_run INTEGER NOT NULL, opened_at TIMESTAMP NOT NULL, last_run INTEGER NOT NULL,
        closed_at TIMESTAMP, value DOUBLE, threshold DOUBLE, message VARCHAR,
        notified_at TIMESTAMP, triggered_at TIMESTAMP, acknowledged_at TIMESTAMP, acknowledged_by VARCHAR);
    -- The action queue: one row per (notice or trigger, target). action_id is the idempotency key.
    CREATE TABLE alert_actions (
        action_id VARCHAR PRIMARY KEY, run_id INTEGER NOT NULL, model_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL, target VARCHAR NOT NULL, finding_ids VARCHAR[] NOT NULL,
        status VARCHAR NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TIMESTAMP,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, claimed_by INTEGER,
        payload_json VARCHAR NOT NULL, last_error VARCHAR, delivered_at TIMESTAMP);
    -- The audit log: every attempt, outcome and control change, append-only.
    CREATE TABLE audit_log (
        log_id BIGINT PRIMARY KEY, logged_at TIMESTAMP NOT NULL, run_id INTEGER, action_id VARCHAR,
        model_id VARCHAR, kind VARCHAR NOT NULL, target VARCHAR, event VARCHAR NOT NULL,
        outcome VARCHAR, detail VARCHAR, actor VARCHAR);
    CREATE TABLE model_controls (
        model_id VARCHAR PRIMARY KEY, muted BOOLEAN NOT NULL, snooze_until TIMESTAMP,
        note VARCHAR, updated_at TIMESTAMP NOT NULL, updated_by VARCHAR);
    """,
]


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = ()) -> tuple | None:
    """First row of a query, or None. DuckDB 2.0 keeps a result open until it is fetched to
    the end, and an open result blocks the connection's next register(); so fetch all."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0] if rows else None


def default_db_path() -> str:
    return os.environ.get(DB_ENV) or DEFAULT_DB


def ref_table(model_id: str) -> str:
    """Quoted name of a model's reference-rows table (model ids are validated: no quotes)."""
    assert MODEL_ID_PATTERN.match(model_id), model_id
    return f'"ref__{model_id}"'


def inf_table(model_id: str) -> str:
    """Quoted name of a model's inference-rows table."""
    assert MODEL_ID_PATTERN.match(model_id), model_id
    return f'"inf__{model_id}"'


class Store:
    """A DuckDB store file with its readers–writer lock. Cheap to create; holds no connection."""

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 60.0):
        self.path = str(path or default_db_path())
        self.timeout = timeout
        self._batch_con: duckdb.DuckDBPyConnection | None = None
        self._batch_owner: int | None = None

    # -- state -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return Path(self.path).is_file()

    def data_version(self) -> int:
        """The store's data version (sidecar file; 0 when there is no store yet)."""
        try:
            return int(Path(self.path + ".version").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    # -- connections -------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection under the shared lock; closed on exit."""
        if self._batch_con is not None and self._batch_owner == threading.get_ident():
            yield self._batch_con.cursor()
            return
        if not self.exists():
            raise StoreMissing(f"{self.path}: no store yet (build the demo with: python -m lib demo)")
        with lock.shared(self.path, self.timeout):
            con = duckdb.connect(self.path, read_only=True, config=_CONFIG)
            try:
                yield con
            finally:
                con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in one transaction under the exclusive lock.

        Commits (and bumps the data version) on success, rolls back on any exception.
        """
        if self._batch_con is not None and self._batch_owner == threading.get_ident():
            yield from self._transaction(self._batch_con)
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with lock.exclusive(self.path, self.timeout):
            con = duckdb.connect(self.path, config=_CONFIG)
            try:
                _migrate(con)
                yield from self._transaction(con)
            finally:
                con.close()

    def _transaction(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            version = fetch_one(con, "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                                "WHERE key = 'data_version' RETURNING value")[0]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        # Atomically (temp file + rename): write_text truncates first, and the app reads the
        # sidecar without the lock, so it could see an empty file, i.e. version 0.
        tmp = f"{self.path}.version.{os.getpid()}.{threading.get_ident()}.tmp"
        Path(tmp).write_text(str(version))
        os.replace(tmp, self.path + ".version")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Keep one write connection (and the exclusive lock) for many write() calls."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with lock.exclusive(self.path, self.timeout):
            con = duckdb.connect(self.path, config=_CONFIG)
            try:
                _migrate(con)
                # Many small transactions in a row (the demo): checkpoint once at the end, not
                # whenever the WAL passes the default 16 MB (closing the connection checkpoints).
                con.execute("SET checkpoint_threshold = '1GB'")
                self._batch_con, self._batch_owner = con, threading.get_ident()
                yield
            finally:
                self._batch_con, self._batch_owner = None, None
                con.close()


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    has_meta = fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'")[0]
    version = 0
    if has_meta:
        row = fetch_one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
        version = int(row[0]) if row else 0
    for step in range(version, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        con.execute(MIGRATIONS[step])
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(step + 1)])
        con.execute("COMMIT")
