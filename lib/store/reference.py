"""A reference snapshot written (rows, positive class, column profiles, performance), then the model re-profiled
against it; and the active snapshot's classes, which inference and labels files are checked against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from lib import metrics
from lib.errors import InputError
from lib.spec import Spec
from lib.store import profiles as profile
from lib.store.connection import fetch_one, ref_table
from lib.store.incoming import FileEntry, ValidRows, feature_slots, insert_frame, log_file, rows_frame, rows_from_frame
from lib.store.profiles import PREDICTION_SLOT, SCORE_SLOT, RefColumn
from lib.store.reprofile import reprofile_model


def reference_classes(con: duckdb.DuckDBPyConnection, model_id: str) -> set[str]:
    """The distinct labels and predictions of the model's active reference snapshot (empty if none)."""
    rows = con.execute(
        f"SELECT DISTINCT v FROM (SELECT unnest([label, prediction]) AS v FROM {ref_table(model_id)} "
        "WHERE snapshot_id = (SELECT max(snapshot_id) FROM snapshots WHERE model_id = ?)) "
        "WHERE v IS NOT NULL",
        [model_id],
    ).fetchall()
    return {r[0] for r in rows}


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


@dataclass(frozen=True)
class PreparedReference:
    """A reference file summarised outside the write transaction (pure, picklable: ingest's
    prepare step or a worker process): its rows as stored (snapshot_id 0 until written), positive
    class, column profiles, performance, feature importance and calibration, all for `slots`."""

    spec: Spec
    slots: dict[str, tuple[int, str]]
    positive: str | None
    frame: pd.DataFrame
    columns: dict[int, RefColumn]
    performance: dict[str, float | None]
    importance: tuple[dict[str, float], str]  # weights, source (spec | permutation)
    calibration: tuple[np.ndarray, np.ndarray] | None  # the isotonic map's knots (x, y)


def prepare_reference(spec: Spec, slots: dict[str, tuple[int, str]], rows: ValidRows, file: str) -> PreparedReference:
    """Everything a reference snapshot stores, computed from its validated rows (no store access)."""
    labels = {v for v in rows.columns["label"] if v is not None}
    positive = resolve_positive_class(spec, labels, file)
    frame = rows_frame(rows, slots, ["label", "prediction", "pred_num", "score"])
    frame.insert(0, "row_no", np.arange(1, rows.n + 1, dtype="int64"))
    frame.insert(0, "snapshot_id", 0)
    calibration = None
    if spec.task == "binary_classification" and spec.has_score and positive is not None:
        calibration = reference_calibration(frame, positive)
    return PreparedReference(
        spec,
        slots,
        positive,
        frame,
        reference_columns(frame, slots, spec),
        reference_performance(frame, spec, positive),
        reference_importance(spec, frame, slots),
        calibration,
    )


def write_reference(
    con: duckdb.DuckDBPyConnection,
    spec: Spec,
    entry: FileEntry,
    rows: ValidRows,
    *,
    lake_rows=None,
    prepared: PreparedReference | None = None,
) -> None:
    """Write a reference snapshot; `prepared` (prepare_reference) when made for the store's spec and slots."""
    slots = feature_slots(con, spec.model_id)
    if prepared is None or (prepared.spec, prepared.slots) != (spec, slots):
        if rows is None:  # sent without them (PreparedFile.for_transfer): back from its frame
            rows = rows_from_frame(prepared.frame, prepared.slots, ["label", "prediction", "pred_num", "score"])
        prepared = prepare_reference(spec, slots, rows, entry.file_name)
    positive = prepared.positive
    file_id = log_file(con, entry)
    snapshot = fetch_one(
        con, "SELECT coalesce(max(snapshot_id), 0) + 1 FROM snapshots WHERE model_id = ?", [spec.model_id]
    )[0]
    frame = prepared.frame
    frame["snapshot_id"] = snapshot
    insert_frame(con, ref_table(spec.model_id), frame)
    profiles = [
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
        ]
        for rc in prepared.columns.values()
    ]
    _insert_rows(con, "ref_profile", profiles)
    con.execute(
        "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            spec.model_id,
            snapshot,
            file_id,
            pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime(),
            len(prepared.frame),
            positive,
            json.dumps(prepared.performance),
        ],
    )
    weights, source = prepared.importance
    _insert_rows(con, "ref_importance", [[spec.model_id, snapshot, f, float(w), source] for f, w in weights.items()])
    if prepared.calibration is not None and prepared.calibration[0].size:
        x, y = prepared.calibration
        con.execute(
            "INSERT INTO ref_calibration VALUES (?, ?, ?, ?)",
            [spec.model_id, snapshot, [float(v) for v in x], [float(v) for v in y]],
        )
    reprofile_model(con, spec, positive, lake_rows=lake_rows)


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list]) -> None:
    """Rows into a table in one parameterized statement (`table` is a constant of this module)."""
    if rows:
        one = "(" + ", ".join(["?"] * len(rows[0])) + ")"
        con.execute(f"INSERT INTO {table} VALUES " + ", ".join([one] * len(rows)), [v for row in rows for v in row])


def reference_importance(
    spec: Spec, frame: pd.DataFrame, slots: dict[str, tuple[int, str]]
) -> tuple[dict[str, float], str]:
    """Each feature's importance for this snapshot: the spec's `importance:` weights when given, else
    permutation importance of a surrogate fitted to the reference's own predictions."""
    feats = {f: slots[f] for f in spec.features if f in slots}
    if spec.importance:
        return {f: spec.importance.get(f, 0.0) for f in feats}, "spec"
    data = frame[[f"f{s}" for s, _ in feats.values()]].set_axis(list(feats), axis=1)
    target = frame["pred_num"] if spec.task == "regression" else frame["prediction"]
    kinds = {f: k for f, (_, k) in feats.items()}
    return metrics.surrogate_importance(data, kinds, target, task=spec.task), "permutation"


def reference_calibration(frame: pd.DataFrame, positive: str) -> tuple[np.ndarray, np.ndarray]:
    """The reference's isotonic map score -> P(positive) (lib/metrics/cbpe.py), as its knots."""
    scored = frame[frame["score"].notna()]
    return metrics.fit_calibration(scored["score"].to_numpy(dtype="float64"), (scored["label"] == positive).to_numpy())


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
