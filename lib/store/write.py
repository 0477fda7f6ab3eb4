"""Every write to the store: models, rows, labels, the ingest log and the profiles.

Each function runs inside the transaction that lib/store.Store.write() opened, so a file's rows,
its ingest-log entry and its profiles land together or not at all. Table and column names come
from validated model ids and positional slots (f0, f1, …), never from file contents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from lib import metrics
from lib.errors import InputError
from lib.spec import Spec
from lib.store import profiles as profile
from lib.store.connection import fetch_one, inf_table, ref_table
from lib.store.profiles import PREDICTION_SLOT, SCORE_SLOT, RefColumn

PROFILE_TABLES = (
    "prof_rows",
    "prof_num_h",
    "prof_num_d",
    "prof_cat_h",
    "prof_cat_d",
    "prof_qual_h",
    "prof_qual_d",
    "prof_cls",
    "prof_auc",
    "prof_reg",
)
PERF_TABLES = ("prof_cls", "prof_auc", "prof_reg")
_SQL_TYPE = {"numeric": "DOUBLE", "categorical": "VARCHAR"}


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


# -- models --------------------------------------------------------------------------------
def feature_slots(con: duckdb.DuckDBPyConnection, model_id: str) -> dict[str, tuple[int, str]]:
    """feature -> (slot, kind) for the features of the current spec."""
    rows = con.execute(
        "SELECT feature, slot, kind FROM features WHERE model_id = ? AND position IS NOT NULL ORDER BY position",
        [model_id],
    ).fetchall()
    return {f: (s, k) for f, s, k in rows}


def register_model(con: duckdb.DuckDBPyConnection, spec: Spec, *, source: str) -> None:
    old = fetch_one(con, "SELECT task FROM models WHERE model_id = ?", [spec.model_id])
    spec_json = json.dumps(spec.as_dict(), sort_keys=False)
    if old is not None and old[0] != spec.task:
        raise InputError(
            f"{source}: field task: {spec.model_id} is a {old[0]} model; register a changed task under a new model_id"
        )
    known = {
        f: (s, k)
        for f, s, k in con.execute(
            "SELECT feature, slot, kind FROM features WHERE model_id = ?", [spec.model_id]
        ).fetchall()
    }
    for feat, kind in spec.features.items():
        if feat in known and known[feat][1] != kind:
            raise InputError(
                f"{source}: field features.{feat}: was {known[feat][1]}, cannot become {kind}; "
                "register it under a new feature name"
            )
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    if old is None:
        con.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [spec.model_id, spec.name, spec.task, spec.owner, spec.team, list(spec.tags), spec_json, now, now],
        )
        con.execute(
            f"CREATE TABLE {ref_table(spec.model_id)} (snapshot_id INTEGER NOT NULL, row_no BIGINT NOT NULL, "
            "label VARCHAR, prediction VARCHAR, pred_num DOUBLE, score DOUBLE)"
        )
        con.execute(
            f"CREATE TABLE {inf_table(spec.model_id)} (file_id INTEGER NOT NULL, row_no BIGINT NOT NULL, "
            "ts TIMESTAMP NOT NULL, hour TIMESTAMP NOT NULL, rid VARCHAR, prediction VARCHAR, "
            "pred_num DOUBLE, score DOUBLE, label VARCHAR)"
        )
    else:
        con.execute(
            "UPDATE models SET name = ?, owner = ?, team = ?, tags = ?, spec_json = ?, updated_at = ? "
            "WHERE model_id = ?",
            [spec.name, spec.owner, spec.team, list(spec.tags), spec_json, now, spec.model_id],
        )
    con.execute("UPDATE features SET position = NULL WHERE model_id = ?", [spec.model_id])
    next_slot = max((s for s, _ in known.values()), default=-1) + 1
    for position, (feat, kind) in enumerate(spec.features.items()):
        if feat in known:
            con.execute(
                "UPDATE features SET position = ? WHERE model_id = ? AND slot = ?",
                [position, spec.model_id, known[feat][0]],
            )
            continue
        slot, next_slot = next_slot, next_slot + 1
        con.execute("INSERT INTO features VALUES (?, ?, ?, ?, ?)", [spec.model_id, slot, feat, kind, position])
        for table in (ref_table(spec.model_id), inf_table(spec.model_id)):
            con.execute(f"ALTER TABLE {table} ADD COLUMN f{slot} {_SQL_TYPE[kind]}")


def already_ingested(con: duckdb.DuckDBPyConnection, model_id: str, kind: str, digest: str) -> bool:
    return (
        fetch_one(
            con,
            "SELECT count(*) FROM ingest_log WHERE model_id = ? AND kind = ? AND content_hash = ? "
            "AND outcome = 'ingested'",
            [model_id, kind, digest],
        )[0]
        > 0
    )


def reference_classes(con: duckdb.DuckDBPyConnection, model_id: str) -> set[str]:
    """The distinct labels and predictions of the model's active reference snapshot (empty if none)."""
    rows = con.execute(
        f"SELECT DISTINCT v FROM (SELECT unnest([label, prediction]) AS v FROM {ref_table(model_id)} "
        "WHERE snapshot_id = (SELECT max(snapshot_id) FROM snapshots WHERE model_id = ?)) "
        "WHERE v IS NOT NULL",
        [model_id],
    ).fetchall()
    return {r[0] for r in rows}


def _log_file(con: duckdb.DuckDBPyConnection, entry: FileEntry) -> int:
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
    return file_id


def _frame(rows: ValidRows, slots: dict[str, tuple[int, str]], columns: list[str]) -> pd.DataFrame:
    data = {c: rows.columns[c] for c in columns}
    for feat, (slot, _) in slots.items():
        data[f"f{slot}"] = rows.features[feat]
    return pd.DataFrame(data)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("incoming_frame", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming_frame")
    finally:
        con.unregister("incoming_frame")


# -- reference ------------------------------------------------------------------------------
def resolve_positive_class(spec: Spec, labels: set[str], file: str) -> str | None:
    if spec.task != "binary_classification":
        return None
    if spec.positive_class is not None:
        if len(labels) >= 2 and spec.positive_class not in labels:
            # Two or more classes and none is the positive one: a misnamed class, else every row
            # would silently count as a negative (no ROC AUC, an F1 of 0). A single-class
            # reference may legitimately lack it.
            raise InputError(
                f"{file}: column {spec.columns.get('label', 'label')}: positive_class "
                f"{spec.positive_class!r} is not one of the labels {sorted(labels)[:4]} "
                "(labels compare as text)"
            )
        return spec.positive_class
    for default in ("1", "true", "True", "TRUE"):
        if default in labels:
            return default
    raise InputError(
        f"{file}: column {spec.columns.get('label', 'label')}: labels {sorted(labels)[:4]} include "
        "neither 1 nor true; name the positive class in the spec (positive_class)"
    )


def write_reference(con: duckdb.DuckDBPyConnection, spec: Spec, entry: FileEntry, rows: ValidRows) -> None:
    slots = feature_slots(con, spec.model_id)
    labels = {v for v in rows.columns["label"] if v is not None}
    positive = resolve_positive_class(spec, labels, entry.file_name)
    file_id = _log_file(con, entry)
    snapshot = fetch_one(
        con, "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots WHERE model_id = ?", [spec.model_id]
    )[0]
    frame = _frame(rows, slots, ["label", "prediction", "pred_num", "score"])
    frame.insert(0, "row_no", np.arange(1, rows.n + 1, dtype="int64"))
    frame.insert(0, "snapshot_id", snapshot)
    _insert(con, ref_table(spec.model_id), frame)

    ref_cols = reference_columns(frame, slots, spec)
    for rc in ref_cols.values():
        con.execute(
            "INSERT INTO ref_profile VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                spec.model_id,
                snapshot,
                rc.slot,
                rc.kind,
                rc.n_rows,
                rc.n_null,
                rc.vmin,
                rc.vmax,
                rc.std,
                None if rc.edges is None else [float(e) for e in rc.edges],
                None if rc.categories is None else list(rc.categories),
                [int(c) for c in rc.counts],
            ],
        )
    perf = reference_performance(frame, spec, positive)
    con.execute(
        "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            spec.model_id,
            snapshot,
            file_id,
            pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime(),
            rows.n,
            positive,
            json.dumps(perf),
        ],
    )
    reprofile_model(con, spec, positive)


def reference_columns(frame: pd.DataFrame, slots: dict[str, tuple[int, str]], spec: Spec) -> dict[int, RefColumn]:
    cols = {slot: profile.profile_reference_column(slot, kind, frame[f"f{slot}"]) for slot, kind in slots.values()}
    if spec.task == "regression":
        cols[PREDICTION_SLOT] = profile.profile_reference_column(PREDICTION_SLOT, "numeric", frame["pred_num"])
    else:
        cols[PREDICTION_SLOT] = profile.profile_reference_column(PREDICTION_SLOT, "categorical", frame["prediction"])
    if spec.has_score:
        cols[SCORE_SLOT] = profile.profile_reference_column(SCORE_SLOT, "numeric", frame["score"])
    return cols


def reference_performance(frame: pd.DataFrame, spec: Spec, positive: str | None) -> dict[str, float | None]:
    """The reference's performance, from the same aggregates the inference windows use."""
    rows = frame.assign(hour=pd.Timestamp("2000-01-01"))
    aggs = profile.profile_performance(rows, task=spec.task, positive_class=positive, has_score=spec.has_score)
    return performance_from_aggregates(
        spec.task, positive, aggs.get("prof_cls"), aggs.get("prof_auc"), aggs.get("prof_reg")
    )


def performance_from_aggregates(
    task: str, positive: str | None, cls: pd.DataFrame | None, auc: pd.DataFrame | None, reg: pd.DataFrame | None
) -> dict[str, float | None]:
    def clean(d: dict) -> dict:
        return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)) for k, v in d.items()}

    if task == "regression":
        if reg is None or reg.empty:
            return {}
        s = reg[["n", "sse", "sae", "sy", "syy"]].sum()
        return clean({**metrics.regression_metrics_from_sums(s.n, s.sse, s.sae, s.sy, s.syy), "n": s.n})
    if cls is None or cls.empty:
        return {}
    conf = cls.groupby(["label", "prediction"])["n"].sum()
    labels = sorted(set(conf.index.get_level_values(0)) | set(conf.index.get_level_values(1)))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype="int64")
    for (t, p), n in conf.items():
        matrix[index[t], index[p]] += n
    out = metrics.classification_metrics_from_confusion(
        labels, matrix, positive_class=positive if task == "binary_classification" else None
    )
    out["n"] = float(matrix.sum())
    if auc is not None and not auc.empty:
        s = auc.groupby("score")[["n_pos", "n_neg"]].sum()
        out["roc_auc"] = metrics.roc_auc_from_counts(s.index.to_numpy(), s["n_pos"].to_numpy(), s["n_neg"].to_numpy())
    return clean(out)


# -- inference -------------------------------------------------------------------------------
def active_reference(
    con: duckdb.DuckDBPyConnection, model_id: str
) -> tuple[int | None, str | None, dict[int, RefColumn] | None]:
    snap = fetch_one(
        con,
        "SELECT snapshot_id, positive_class FROM snapshots WHERE model_id = ? ORDER BY snapshot_id DESC LIMIT 1",
        [model_id],
    )
    if snap is None:
        return None, None, None
    cols = {}
    for slot, kind, n_rows, n_null, vmin, vmax, std, edges, cats, counts in con.execute(
        "SELECT slot, kind, n_rows, n_null, vmin, vmax, std, edges, categories, counts FROM ref_profile "
        "WHERE model_id = ? AND snapshot_id = ?",
        [model_id, snap[0]],
    ).fetchall():
        cols[slot] = RefColumn(
            slot,
            kind,
            n_rows,
            n_null,
            np.asarray(counts, dtype="int64"),
            edges=None if edges is None else np.asarray(edges, dtype="float64"),
            categories=None if cats is None else tuple(cats),
            vmin=vmin,
            vmax=vmax,
            std=std,
        )
    return snap[0], snap[1], cols


def _append_profiles(con: duckdb.DuckDBPyConnection, model_id: str, frames: dict[str, pd.DataFrame]) -> None:
    for table, frame in frames.items():
        if frame is None or frame.empty:
            continue
        _insert(con, table, frame.assign(model_id=model_id))


def write_inference(con: duckdb.DuckDBPyConnection, spec: Spec, entry: FileEntry, rows: ValidRows) -> None:
    slots = feature_slots(con, spec.model_id)
    file_id = _log_file(con, entry)
    frame = _frame(rows, slots, ["ts", "rid", "prediction", "pred_num", "score", "label"])
    frame["hour"] = profile.hour_of(frame["ts"])
    frame.insert(0, "row_no", np.arange(1, rows.n + 1, dtype="int64"))
    frame.insert(0, "file_id", file_id)
    _insert(con, inf_table(spec.model_id), frame)
    _, positive, ref = active_reference(con, spec.model_id)
    # Late labels that arrived before their inference join now (DESIGN.md, Late labels).
    effective = frame
    late = con.execute(
        f"SELECT l.rid, l.label FROM labels l WHERE l.model_id = ? AND l.rid IN "
        f"(SELECT rid FROM {inf_table(spec.model_id)} WHERE file_id = ?)",
        [spec.model_id, file_id],
    ).df()
    if not late.empty:
        where = pd.Index(late["rid"]).get_indexer(frame["rid"])
        labels = late["label"].to_numpy(dtype=object)
        effective = frame.assign(label=np.where(where >= 0, labels[where], frame["label"].to_numpy(dtype=object)))
    frames = profile.profile_inference(
        effective,
        features=dict(slots.values()),
        task=spec.task,
        ref=ref,
        positive_class=positive or spec.positive_class,
        has_score=spec.has_score,
    )
    _append_profiles(con, spec.model_id, frames)


def stored_inference(con: duckdb.DuckDBPyConnection, spec: Spec, slots: dict[str, tuple[int, str]]) -> pd.DataFrame:
    """All stored inference rows of a model with their effective label (late label wins)."""
    fcols = "".join(f", i.f{s}" for s, _ in slots.values())
    return con.execute(
        f"SELECT i.file_id, i.ts, i.hour, i.rid, i.prediction, i.pred_num, i.score, "
        f"coalesce(l.label, i.label) AS label{fcols} FROM {inf_table(spec.model_id)} i "
        "LEFT JOIN labels l ON l.model_id = ? AND l.rid = i.rid",
        [spec.model_id],
    ).df()


def reprofile_model(
    con: duckdb.DuckDBPyConnection, spec: Spec, positive: str | None, *, only_performance: bool = False
) -> None:
    """Recompute a model's profiles from its stored rows (new reference, or new labels)."""
    # Removed features keep their stored columns; profile every slot that still has a column.
    all_slots = {
        f: (s, k)
        for f, s, k in con.execute(
            "SELECT feature, slot, kind FROM features WHERE model_id = ?", [spec.model_id]
        ).fetchall()
    }
    if fetch_one(con, f"SELECT count(*) FROM {inf_table(spec.model_id)}")[0] == 0:
        return  # no logs yet (the usual first reference): nothing to re-profile
    # Performance needs no feature columns: don't read them.
    rows = stored_inference(con, spec, {} if only_performance else all_slots)
    tables = PERF_TABLES if only_performance else PROFILE_TABLES
    for table in tables:
        con.execute(f"DELETE FROM {table} WHERE model_id = ?", [spec.model_id])
    if only_performance:
        frames = profile.profile_performance(rows, task=spec.task, positive_class=positive, has_score=spec.has_score)
    else:
        _, _, ref = active_reference(con, spec.model_id)
        frames = profile.profile_inference(
            rows,
            features=dict(all_slots.values()),
            task=spec.task,
            ref=ref,
            positive_class=positive,
            has_score=spec.has_score,
        )
    _append_profiles(con, spec.model_id, frames)


# -- labels ------------------------------------------------------------------------------------
def write_labels(con: duckdb.DuckDBPyConnection, spec: Spec, entry: FileEntry, rows: ValidRows) -> None:
    file_id = _log_file(con, entry)
    frame = pd.DataFrame(
        {"model_id": spec.model_id, "rid": rows.columns["rid"], "label": rows.columns["label"], "file_id": file_id}
    )
    con.register("incoming_labels", frame)
    try:
        # A later labels file wins over an earlier one (DESIGN.md, Late labels).
        con.execute(
            "DELETE FROM labels WHERE model_id = ? AND rid IN (SELECT rid FROM incoming_labels)", [spec.model_id]
        )
        con.execute("INSERT INTO labels SELECT model_id, rid, label, file_id FROM incoming_labels")
    finally:
        con.unregister("incoming_labels")
    _, positive, _ = active_reference(con, spec.model_id)
    reprofile_model(con, spec, positive or spec.positive_class, only_performance=True)


WRITERS = {"reference": write_reference, "inference": write_inference, "labels": write_labels}
