"""Drill-down reads for one model from its hourly profiles: per-day series, distributions, unseen
values, schema files, confusion counts; and the catalog of models.

The model page (app_pages/model.py) asks "what changed, and when" about a single model. The
fleet judging in lib/judge/checks.py answers "which models are unwell" from windowed profile
sums; this module reads the same profiles bucketed per UTC day (lib/store/rows.py reads the
raw rows: exact KS, residuals, sample rows), and turns counts into metric values with
lib.metrics. It renders nothing and knows no statuses. Every function opens its own read
under the store's lock.

Days: a row belongs to the hour that ends at its timestamp rounded up; an hour belongs to the
UTC date it lies in (the hour ending 00:00 belongs to the day before), so the day labelled
2026-11-25 is the window (2026-11-25T00:00, 2026-11-26T00:00] — the same as the status
timeline's dates.

SQL is parameterized; table and column names come only from validated model ids and the
positional feature slots (f<slot>), never from a request.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.store.connection import Store
from lib.store.model_info import ModelInfo, _model_info
from lib.store.profiles import PREDICTION_SLOT, SCORE_SLOT, round_up_hour
from lib.store.read import newest_setup

DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
MIN_ROWS = 100


# -- the catalog -----------------------------------------------------------------------------
def catalog(store: Store) -> dict[str, Any]:
    """Registered models (id, name, task, owner, team, tags) and the inference time span.

    Cheap: what the sidebar needs for its filter options and the as-of default.
    """
    with store.read() as con:
        models = con.execute("SELECT model_id, name, task, owner, team, tags FROM models ORDER BY model_id").df()
        first, last = con.execute("SELECT min(hour), max(max_ts) FROM prof_rows").fetchall()[0]
        setup = newest_setup(con) if last is None else None  # as evaluate's default as_of
    models["tags"] = models["tags"].map(lambda t: list(t) if t is not None else [])
    return {
        "models": models,
        "first_inference": None if first is None else pd.Timestamp(first),
        "newest_inference": None if last is None else pd.Timestamp(last),
        "default_as_of": round_up_hour(pd.Timestamp(last))
        if last is not None
        else (None if setup is None else round_up_hour(setup)),
    }


def _days(as_of: pd.Timestamp, days: int) -> list[pd.Timestamp]:
    """The UTC dates (as midnight timestamps) of the last `days` days up to as_of, oldest first."""
    last = (as_of - pd.Timedelta(microseconds=1)).floor("D")
    return [last - k * DAY for k in range(days - 1, -1, -1)]


def _span(as_of: pd.Timestamp, days: int) -> tuple[Any, Any]:
    start = _days(as_of, days)[0]
    return start.to_pydatetime(), as_of.to_pydatetime()


_DAY_SQL = "CAST(date_trunc('day', hour - INTERVAL 1 HOUR) AS TIMESTAMP)"


def _aligned(info: ModelInfo, slot: int, cur: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, list[bool]]:
    """Reference and current counts of one slot on the reference's bins (+ unseen categories).

    `cur` has (bin, n) for numeric or (value, n) for categorical. Returns labels, ref, cur, and
    whether each bin is an unseen category.
    """
    rp = info.ref.get(slot)
    if rp is None:
        return [], np.zeros(0), np.zeros(0), []
    ref_counts = np.asarray(rp["counts"], dtype="int64")
    if rp["kind"] == "numeric":
        labels = metrics.numeric_bin_labels(
            [float(e) for e in (rp["edges"] if rp["edges"] is not None else [])], len(ref_counts)
        )
        c = np.zeros(len(ref_counts), dtype="int64")
        for b, n in zip(cur.get("bin", []), cur.get("n", [])):
            if 0 <= int(b) < len(c):
                c[int(b)] += int(n)
        return labels, ref_counts, c, [False] * len(c)
    cats = [str(x) for x in rp["categories"]]
    counts = dict(zip(cur["value"], cur["n"].astype("int64"))) if len(cur) else {}
    r, c, unseen = metrics.categorical_counts(cats, ref_counts, counts)
    return cats + list(unseen), r, c, [False] * len(cats) + [True] * len(unseen)


# -- per-day series --------------------------------------------------------------------------
def daily_series(store: Store, model_id: str, as_of: pd.Timestamp, *, days: int = 30) -> dict[str, pd.DataFrame]:
    """Everything the model page plots per day, from the hourly profiles of one model.

    Returns frames:
      rows:        date, rows
      drift:       date, feature, slot, kind, psi, js            (each day's counts vs the reference)
      quality:     date, feature, slot, kind, rows, missing_share, out_of_range_share, unseen_share
      performance: date, metric, current, reference, n_labeled  (labelled rows of that day)
    """
    start, end = _span(as_of, days)
    with store.read() as con:
        info = _model_info(con, model_id)
        p = [model_id, start, end]
        where = "model_id = ? AND hour > ? AND hour <= ?"
        rows = con.execute(
            f"SELECT {_DAY_SQL} AS date, sum(n) AS rows FROM prof_rows WHERE {where} GROUP BY ALL", p
        ).df()
        num = con.execute(
            f"SELECT {_DAY_SQL} AS date, slot, bin, sum(n) AS n FROM prof_num_h WHERE {where} GROUP BY ALL", p
        ).df()
        cat = con.execute(
            f"SELECT {_DAY_SQL} AS date, slot, value, sum(n) AS n FROM prof_cat_h WHERE {where} GROUP BY ALL", p
        ).df()
        qual = con.execute(
            f"SELECT {_DAY_SQL} AS date, slot, sum(n_null) AS n_null, sum(n_below + n_above) AS n_out "
            f"FROM prof_qual_h WHERE {where} GROUP BY ALL",
            p,
        ).df()
        perf = _daily_performance(con, info, as_of, days)
    dates = _days(as_of, days)
    rows_by_day = rows.set_index("date")["rows"] if len(rows) else pd.Series(dtype="int64")
    out_rows = pd.DataFrame({"date": dates, "rows": [int(rows_by_day.get(d, 0)) for d in dates]})

    drift, quality = [], []
    slots = [(int(s), f, k) for s, f, k in zip(info.features["slot"], info.features["feature"], info.features["kind"])]
    slots.append((PREDICTION_SLOT, "prediction", "numeric" if info.task == "regression" else "categorical"))
    if SCORE_SLOT in info.ref:
        slots.append((SCORE_SLOT, "score", "numeric"))
    # Not dict(groupby): a GroupBy has a .keys attribute, so dict() takes it for a mapping and fails.
    num_g = {k: g for k, g in num.groupby(["date", "slot"])} if len(num) else {}  # noqa: C416
    cat_g = {k: g for k, g in cat.groupby(["date", "slot"])} if len(cat) else {}  # noqa: C416
    qual_i = qual.set_index(["date", "slot"]) if len(qual) else None
    empty_num = pd.DataFrame({"bin": [], "n": []})
    empty_cat = pd.DataFrame({"value": [], "n": []})
    for d in dates:
        n_rows = int(rows_by_day.get(d, 0))
        for slot, feat, kind in slots:
            part = (num_g if kind == "numeric" else cat_g).get((d, slot), empty_num if kind == "numeric" else empty_cat)
            labels, r, c, unseen = _aligned(info, slot, part)
            psi = js = math.nan
            # A day with fewer than MIN_ROWS rows gives a noisy PSI: leave it out (as a check would).
            if len(r) and c.sum() >= MIN_ROWS:
                psi = metrics.population_stability_index(r, c)
                js = metrics.jensen_shannon_distance(r, c)
            drift.append((d, feat, slot, kind, psi, js, int(c.sum()) if len(c) else 0))
            if slot < 0:
                continue
            n_null = n_out = 0
            if qual_i is not None and (d, slot) in qual_i.index:
                n_null, n_out = int(qual_i.loc[(d, slot), "n_null"]), int(qual_i.loc[(d, slot), "n_out"])
            nonnull = n_rows - n_null
            unseen_n = int(sum(x for x, u in zip(c, unseen) if u)) if kind == "categorical" else 0
            quality.append(
                (
                    d,
                    feat,
                    slot,
                    kind,
                    n_rows,
                    metrics.share(n_null, n_rows) if n_rows else math.nan,
                    (metrics.share(n_out, nonnull) if nonnull else math.nan) if kind == "numeric" else math.nan,
                    (metrics.share(unseen_n, nonnull) if nonnull else math.nan) if kind == "categorical" else math.nan,
                )
            )
    return {
        "rows": out_rows,
        "drift": pd.DataFrame(drift, columns=["date", "feature", "slot", "kind", "psi", "js", "n"]),
        "quality": pd.DataFrame(
            quality,
            columns=["date", "feature", "slot", "kind", "rows", "missing_share", "out_of_range_share", "unseen_share"],
        ),
        "performance": perf,
    }


def daily_performance(
    store: Store, model_ids: list[str], as_of: pd.Timestamp, *, days: int = 30
) -> dict[str, pd.DataFrame]:
    """The model page's per-day performance series (see `daily_series`) for several models.

    One read for all of them (a fleet report draws up to 25): per model the frame of
    `_daily_performance`, only the days with labelled rows; a model without a reference
    snapshot gets an empty frame.
    """
    with store.read() as con:
        return {m: _daily_performance(con, _model_info(con, m), as_of, days) for m in model_ids}


def _daily_performance(con, info: ModelInfo, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    """The primary metric per day over that day's labelled rows, with the reference's value.

    One model's profiles only (lib.judge.performance.performance_by_window serves the fleet and reads every
    model's windows); the same metric functions, so a day's value equals a 1-day evaluation.
    """
    cols = ["date", "metric", "current", "reference", "n_labeled"]
    if info.snapshot is None:
        return pd.DataFrame(columns=cols)
    metric = metrics.primary_metric_name(info.task, "score" in info.spec.get("columns", {}))
    reference = json.loads(info.snapshot["performance_json"]).get(metric)
    positive = info.snapshot.get("positive_class")
    start, end = _span(as_of, days)
    p = [info.model_id, start, end]
    where = "model_id = ? AND hour > ? AND hour <= ?"
    out = []
    if metric == "rmse":
        frame = con.execute(
            f"SELECT {_DAY_SQL} AS date, sum(n) AS n, sum(sse) AS sse, sum(sae) AS sae, sum(sy) AS sy, "
            f"sum(syy) AS syy FROM prof_reg WHERE {where} GROUP BY ALL ORDER BY date",
            p,
        ).df()
        for r in frame.itertuples(index=False):
            out.append((r.date, metrics.regression_metrics_from_sums(r.n, r.sse, r.sae, r.sy, r.syy)["rmse"], int(r.n)))
    elif metric == "roc_auc":
        frame = con.execute(
            f"SELECT {_DAY_SQL} AS date, score, sum(n_pos) AS n_pos, sum(n_neg) AS n_neg FROM prof_auc "
            f"WHERE {where} GROUP BY ALL ORDER BY date, score",
            p,
        ).df()
        for d, g in frame.groupby("date"):
            out.append(
                (
                    d,
                    metrics.roc_auc_from_counts(g["score"].to_numpy(), g["n_pos"].to_numpy(), g["n_neg"].to_numpy()),
                    int(g["n_pos"].sum() + g["n_neg"].sum()),
                )
            )
    else:
        frame = con.execute(
            f"SELECT {_DAY_SQL} AS date, label, prediction, sum(n) AS n FROM prof_cls WHERE {where} "
            "GROUP BY ALL ORDER BY date",
            p,
        ).df()
        for d, g in frame.groupby("date"):
            labels = sorted(set(g["label"]) | set(g["prediction"]))
            index = {v: i for i, v in enumerate(labels)}
            matrix = np.zeros((len(labels), len(labels)), dtype="int64")
            np.add.at(
                matrix,
                (g["label"].map(index).to_numpy(), g["prediction"].map(index).to_numpy()),
                g["n"].to_numpy(dtype="int64"),
            )
            values = metrics.classification_metrics_from_confusion(
                labels, matrix, positive_class=positive if info.task == "binary_classification" else None
            )
            out.append((d, values.get(metric, values.get("f1")), int(g["n"].sum())))
    frame = pd.DataFrame(out, columns=["date", "current", "n_labeled"])
    frame.insert(1, "metric", metric)
    frame["reference"] = reference
    return frame[cols]


# -- distributions ---------------------------------------------------------------------------
def distribution(
    store: Store, model_id: str, feature: str, as_of: pd.Timestamp, *, window: pd.Timedelta = WEEK
) -> pd.DataFrame:
    """Reference vs current counts and shares of one feature ("prediction"/"score" for outputs)
    on the reference's bins, over (as_of − window, as_of]. Columns: bin, reference, current,
    reference_share, current_share, unseen, order."""
    lo, hi = (as_of - window).to_pydatetime(), as_of.to_pydatetime()
    with store.read() as con:
        info = _model_info(con, model_id)
        slot = {"prediction": PREDICTION_SLOT, "score": SCORE_SLOT}.get(feature, info.slot_of(feature))
        if slot is None or slot not in info.ref:
            return pd.DataFrame(columns=["bin", "reference", "current", "reference_share", "current_share", "unseen"])
        kind = info.ref[slot]["kind"]
        table, key = ("prof_num_h", "bin") if kind == "numeric" else ("prof_cat_h", "value")
        cur = con.execute(
            f"SELECT {key}, sum(n) AS n FROM {table} WHERE model_id = ? AND slot = ? AND hour > ? AND hour <= ? "
            "GROUP BY ALL",
            [model_id, slot, lo, hi],
        ).df()
    labels, r, c, unseen = _aligned(info, slot, cur)
    frame = pd.DataFrame({"bin": labels, "reference": r, "current": c, "unseen": unseen})
    frame["reference_share"] = frame["reference"] / max(int(r.sum()), 1)
    frame["current_share"] = frame["current"] / max(int(c.sum()), 1)
    frame["order"] = range(len(frame))
    return frame


# -- data quality ----------------------------------------------------------------------------
def unseen_values(store: Store, model_id: str, as_of: pd.Timestamp, *, days: int = 30) -> pd.DataFrame:
    """Categorical values never seen in the reference, per feature: rows in the last 24 h and
    7 days, and the first and last hour they appeared (hour ends, UTC) within `days`."""
    lo = (as_of - days * DAY).to_pydatetime()
    d1, w7, hi = (as_of - DAY).to_pydatetime(), (as_of - WEEK).to_pydatetime(), as_of.to_pydatetime()
    cols = ["feature", "value", "rows_24h", "rows_7d", "first_seen", "last_seen"]
    with store.read() as con:
        info = _model_info(con, model_id)
        cat_slots = [int(s) for s, k in zip(info.features["slot"], info.features["kind"]) if k == "categorical"]
        if not cat_slots:
            return pd.DataFrame(columns=cols)
        seen = pd.DataFrame(
            [(s, str(v)) for s in cat_slots for v in _list(info.ref.get(s, {}).get("categories"))],
            columns=["slot", "value"],
        )
        con.register(
            "ref_seen",
            seen if len(seen) else pd.DataFrame({"slot": pd.Series(dtype="int64"), "value": pd.Series(dtype="str")}),
        )
        frame = con.execute(
            "SELECT p.slot, p.value, sum(CASE WHEN p.hour > ? THEN p.n ELSE 0 END) AS rows_24h, "
            "  sum(CASE WHEN p.hour > ? THEN p.n ELSE 0 END) AS rows_7d, min(p.hour) AS first_seen, max(p.hour) AS last_seen "
            "FROM prof_cat_h p ANTI JOIN ref_seen r ON r.slot = p.slot AND r.value = p.value "
            "WHERE p.model_id = ? AND p.slot >= 0 AND p.hour > ? AND p.hour <= ? GROUP BY ALL",
            [d1, w7, model_id, lo, hi],
        ).df()
        con.unregister("ref_seen")
    if frame.empty:
        return pd.DataFrame(columns=cols)
    names = info.feature_names()
    frame["feature"] = frame["slot"].map(names)
    frame = frame.sort_values(["rows_24h", "rows_7d", "value"], ascending=[False, False, True])
    for c in ("rows_24h", "rows_7d"):
        frame[c] = frame[c].astype("int64")
    # first_seen/last_seen are hour ends: the row arrived within the hour before.
    return frame[cols].reset_index(drop=True)


def schema_files(store: Store, model_id: str, as_of: pd.Timestamp, *, days: int = 30) -> pd.DataFrame:
    """Inference files with rows in the last `days`: rows, missing feature columns, extra columns."""
    with store.read() as con:
        frame = con.execute(
            "SELECT l.file_name, l.ingested_at, l.rows, l.missing_features, l.extra_columns, min(p.hour) AS first_hour, "
            "  max(p.max_ts) AS last_row FROM ingest_log l JOIN prof_rows p ON p.file_id = l.file_id AND p.model_id = l.model_id "
            "WHERE l.model_id = ? AND p.hour > ? AND p.hour <= ? GROUP BY ALL ORDER BY last_row DESC",
            [model_id, (as_of - days * DAY).to_pydatetime(), as_of.to_pydatetime()],
        ).df()
    for c in ("missing_features", "extra_columns"):
        frame[c] = frame[c].map(lambda v: ", ".join(v) if v is not None and len(v) else "")
    return frame


# -- performance detail ----------------------------------------------------------------------
def confusion(store: Store, model_id: str, as_of: pd.Timestamp, *, window: pd.Timedelta = WEEK) -> pd.DataFrame:
    """Confusion counts (label × prediction) over the labelled rows of the window, long form."""
    with store.read() as con:
        return con.execute(
            "SELECT label, prediction, sum(n) AS n FROM prof_cls WHERE model_id = ? AND hour > ? AND hour <= ? "
            "GROUP BY ALL ORDER BY label, prediction",
            [model_id, (as_of - window).to_pydatetime(), as_of.to_pydatetime()],
        ).df()


def _list(value) -> list:
    return [] if value is None else list(value)
