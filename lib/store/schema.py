"""The store's schema: one SQL migration per version, applied in order when a writer opens the file.

To change the schema, append a migration (never edit a released one) and bump SCHEMA_VERSION;
CONTRIBUTING.md says how.
"""

from __future__ import annotations

import duckdb

from lib.errors import StoreError

SCHEMA_VERSION = 6

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
    # 3: policy overrides (issue 10): thresholds and min_rows changed on the Policy page, layered
    # above the policy YAML at the same level (lib/judge/policy.py). scope 'team' (target = the
    # team) or 'model' (target = the model id, feature '' or one of its features); setting = a
    # check (yellow / red, NULL = not overridden) or 'min_rows' (value). SQL in lib/store/policy.py.
    """
    CREATE TABLE policy_overrides (
        scope VARCHAR NOT NULL, target VARCHAR NOT NULL, feature VARCHAR NOT NULL, setting VARCHAR NOT NULL,
        yellow DOUBLE, red DOUBLE, value DOUBLE,
        updated_at TIMESTAMP NOT NULL, updated_by VARCHAR NOT NULL, comment VARCHAR NOT NULL,
        PRIMARY KEY (scope, target, feature, setting));
    """,
    # 4: the lake (issue 11): models whose inference rows stay in a lake, profiled in place by
    # `python -m lib sync`. A lake file is known by its path (relative to the lake) and content
    # hash; file_id is its ingest-log entry (whose file_name is the full lake path).
    """
    CREATE TABLE lake_models (model_id VARCHAR PRIMARY KEY, lake VARCHAR NOT NULL);
    CREATE TABLE lake_files (
        model_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, path VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
        file_id INTEGER NOT NULL, PRIMARY KEY (model_id, path));
    """,
    # 5: investigation depth (issue 13). The reference's isotonic calibration map (knots) for
    # the performance estimate (CBPE), every scored row's (hour, score, predicted positive)
    # count for it, and feature importances per snapshot. (The multivariate-drift cache is a
    # file beside the store: a cache write here would bump data_version, its own key.)
    # A store migrated from version 4 or older has estimates once a reference is ingested again.
    """
    CREATE TABLE ref_calibration (
        model_id VARCHAR NOT NULL, snapshot_id INTEGER NOT NULL, x DOUBLE[] NOT NULL, y DOUBLE[] NOT NULL,
        PRIMARY KEY (model_id, snapshot_id));
    CREATE TABLE prof_score_h (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, score DOUBLE NOT NULL,
        pred_pos BOOLEAN NOT NULL, n BIGINT NOT NULL);
    -- source: 'spec' (the spec's importance block) or 'permutation' (surrogate on the reference).
    CREATE TABLE ref_importance (
        model_id VARCHAR NOT NULL, snapshot_id INTEGER NOT NULL, feature VARCHAR NOT NULL,
        importance DOUBLE NOT NULL, source VARCHAR NOT NULL, PRIMARY KEY (model_id, snapshot_id, feature));
    """,
    # 6: segments (issue 13). Hourly profiles per segment of a `segment: true` feature (seg_slot):
    # seg_code is the value's rank among the active reference's top N values, -1 other, -2 NULL;
    # seg_value names a top value (NULL for -1 / -2). Same cells as the unsegmented hourly tables
    # (lib/store/seg_profiles.py). A store migrated from version 5 has segment profiles once its
    # models' references are ingested again or their specs mark a segment.
    """
    CREATE TABLE prof_seg_rows (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, seg_value VARCHAR, n BIGINT NOT NULL);
    CREATE TABLE prof_seg_num (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, slot INTEGER NOT NULL, bin INTEGER NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_seg_cat (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, slot INTEGER NOT NULL, value VARCHAR NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_seg_qual (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, slot INTEGER NOT NULL, n_null BIGINT NOT NULL, n_below BIGINT NOT NULL,
        n_above BIGINT NOT NULL, n_inf BIGINT NOT NULL);
    CREATE TABLE prof_seg_cls (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, label VARCHAR NOT NULL, prediction VARCHAR NOT NULL, n BIGINT NOT NULL);
    CREATE TABLE prof_seg_auc (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, score DOUBLE NOT NULL, n_pos BIGINT NOT NULL, n_neg BIGINT NOT NULL);
    CREATE TABLE prof_seg_reg (model_id VARCHAR NOT NULL, hour TIMESTAMP NOT NULL, seg_slot INTEGER NOT NULL,
        seg_code INTEGER NOT NULL, n BIGINT NOT NULL, sse DOUBLE NOT NULL, sae DOUBLE NOT NULL,
        sy DOUBLE NOT NULL, syy DOUBLE NOT NULL);
    """,
]


def schema_version(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """The open store's schema version (0: a new file). A store written by a newer Driftlight
    is refused: this one would misread it, and a writer could damage it (issue 12)."""
    has_meta = _fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'")[0]
    version = 0
    if not has_meta and _fetch_one(con, "SELECT count(*) FROM information_schema.tables")[0]:
        raise StoreError(f"{path}: not a Driftlight store (a DuckDB file without Driftlight's meta table)")
    if has_meta:
        row = _fetch_one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
        try:
            version = int(row[0]) if row else 0
        except ValueError:
            raise StoreError(f"{path}: not a Driftlight store (schema_version {row[0]!r})") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer Driftlight (store schema version {version}; this one knows up to "
            f"{SCHEMA_VERSION}): upgrade Driftlight to open it"
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, path: str = "the store") -> None:
    """Bring the open store up to SCHEMA_VERSION, one transaction per step."""
    version = schema_version(con, path)
    for step in range(version, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        con.execute(MIGRATIONS[step])
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(step + 1)])
        con.execute("COMMIT")


def _fetch_one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple | None:
    rows = con.execute(sql).fetchall()  # fetched to the end: an open result blocks register()
    return rows[0] if rows else None
