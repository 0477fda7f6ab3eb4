"""Drill-down reads on one model's raw inference rows: exact KS / Wasserstein, residuals, offending rows.
SQL is parameterized; table and column names come only from validated model ids and the
positional feature slots (f<slot>), never from a request."""

from __future__ import annotations

import pandas as pd

from lib import metrics
from lib.store.connection import Store
from lib.store.lake_read import inference_source
from lib.store.model_info import _model_info
from lib.store.read import numeric_columns

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)


def raw_drift_by_slot(
    con, model_id: str, snapshot_id: int, slots: list[int], as_of: pd.Timestamp
) -> dict[int, dict[str, float]]:
    """Exact KS and normed Wasserstein of numeric slots, reference vs the 7-day window (raw rows)."""
    ref, cur = numeric_columns(con, model_id, snapshot_id, [int(s) for s in slots], as_of - WEEK, as_of)
    return {
        s: {"ks": metrics.ks_statistic(ref[s], cur[s]), "wasserstein": metrics.normed_wasserstein(ref[s], cur[s])}
        for s in ref
    }


def raw_drift(store: Store, model_id: str, as_of: pd.Timestamp) -> dict[str, dict[str, float]]:
    """Exact KS and normed Wasserstein per numeric feature (by name) over the 7-day window."""
    with store.read() as con:
        info = _model_info(con, model_id)
        feats = info.features[info.features["kind"] == "numeric"]
        if info.snapshot is None or feats.empty:
            return {}
        by_slot = raw_drift_by_slot(con, model_id, int(info.snapshot["snapshot_id"]), list(feats["slot"]), as_of)
    return {f: by_slot[int(s)] for s, f in zip(feats["slot"], feats["feature"])}


def residuals(
    store: Store, model_id: str, as_of: pd.Timestamp, *, window: pd.Timedelta = WEEK, limit: int = 4000
) -> pd.DataFrame:
    """A sample of labelled rows (regression) in the window: actual, predicted, residual."""
    with store.read() as con:
        source, src_params = inference_source(con, model_id, as_of - window, as_of)
        frame = con.execute(
            f"SELECT i.ts, TRY_CAST(coalesce(l.label, i.label) AS DOUBLE) AS actual, i.pred_num AS predicted "
            f"FROM {source} i LEFT JOIN labels l ON l.model_id = ? AND l.rid = i.rid "
            "WHERE i.hour > ? AND i.hour <= ? AND coalesce(l.label, i.label) IS NOT NULL "
            f"USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (7)",
            [*src_params, model_id, (as_of - window).to_pydatetime(), as_of.to_pydatetime()],
        ).df()
    frame["residual"] = frame["predicted"] - frame["actual"]
    return frame.sort_values("ts").reset_index(drop=True)


# -- rows ------------------------------------------------------------------------------------
def offending_rows(
    store: Store,
    model_id: str,
    as_of: pd.Timestamp,
    *,
    problems: list[dict] | None = None,
    window: pd.Timedelta = DAY,
    limit: int = 500,
) -> tuple[pd.DataFrame, str]:
    """Rows of the window that show the model's data problems, with feature names as columns.

    `problems` are reasons ({check, feature}); unseen_categories, out_of_range and missing pick
    the rows with an unseen value, a value outside the reference range, or a NULL in that
    feature. With no such reason, the newest rows of the window. Returns (rows, what), where
    `what` says in words which rows these are. The `problem` column names each row's issue.
    """
    lo, hi = (as_of - window).to_pydatetime(), as_of.to_pydatetime()
    with store.read() as con:
        info = _model_info(con, model_id)
        names = info.feature_names()
        conds, params, labels = [], [], []
        for reason in problems or []:
            slot = info.slot_of(reason.get("feature") or "")
            if slot is None:
                continue
            rp = info.ref.get(slot, {})
            col = f"f{slot}"
            if reason["check"] == "unseen_categories" and rp.get("categories") is not None:
                conds.append(f"({col} IS NOT NULL AND NOT list_contains(?::VARCHAR[], {col}))")
                params.append([str(v) for v in rp["categories"]])
                labels.append(f"unseen {names[slot]}")
            elif reason["check"] == "out_of_range" and rp.get("vmin") is not None and not pd.isna(rp.get("vmin")):
                conds.append(f"({col} < ? OR {col} > ?)")
                params += [float(rp["vmin"]), float(rp["vmax"])]
                labels.append(f"{names[slot]} out of range")
            elif reason["check"] == "missing":
                conds.append(f"({col} IS NULL)")
                labels.append(f"{names[slot]} missing")
        fcols = ", ".join(f"i.f{s}" for s in names)
        problem_sql = "NULL"
        if conds:
            cases = " ".join(f"WHEN {c} THEN ?" for c in conds)
            # The CASE repeats the conditions: parameters for the CASE, then for the WHERE.
            problem_sql = f"CASE {cases} END"
        # The window's raw rows: the stored ones and a lake model's files alike (issue 11).
        source, src_params = inference_source(con, model_id, as_of - window, as_of)
        sql = (
            f"SELECT i.ts, i.rid, i.prediction, i.score, coalesce(l.label, i.label) AS label, "
            f"{problem_sql} AS problem{', ' + fcols if fcols else ''} FROM {source} i "
            "LEFT JOIN labels l ON l.model_id = ? AND l.rid = i.rid WHERE i.hour > ? AND i.hour <= ?"
        )
        case_params = [x for c, lab in zip(_split_params(conds, params), labels) for x in (*c, lab)]
        all_params = case_params + src_params + [model_id, lo, hi]
        if conds:
            sql += " AND (" + " OR ".join(conds) + ")"
            all_params += params
        sql += " ORDER BY i.ts DESC LIMIT ?"
        all_params.append(int(limit))
        frame = con.execute(sql, all_params).df()
        total = con.execute(
            f"SELECT count(*) FROM {source} i WHERE i.hour > ? AND i.hour <= ?"
            + (" AND (" + " OR ".join(conds) + ")" if conds else ""),
            src_params + [lo, hi] + params,
        ).fetchall()[0][0]
    frame = frame.rename(columns={f"f{s}": n for s, n in names.items()})
    if frame["score"].isna().all():
        frame = frame.drop(columns="score")
    for col in ("rid", "label"):
        if frame[col].isna().all():
            frame = frame.drop(columns=col)
    if not conds:
        frame = frame.drop(columns="problem")
        what = f"the newest {len(frame)} of {total} rows in the last {_hours(window)}"
    else:
        what = (
            f"{len(frame)} of {total} rows in the last {_hours(window)} with "
            + ", ".join(labels)
            + (" (newest first)" if total > len(frame) else "")
        )
    return frame, what


def _split_params(conds: list[str], params: list) -> list[list]:
    """The parameters of each condition, in order (each `?` takes one)."""
    out, i = [], 0
    for c in conds:
        k = c.count("?")
        out.append(params[i : i + k])
        i += k
    return out


def _hours(window: pd.Timedelta) -> str:
    h = int(window / HOUR)
    return f"{h // 24} days" if h % 24 == 0 and h > 24 else ("24 h" if h == 24 else f"{h} h")
