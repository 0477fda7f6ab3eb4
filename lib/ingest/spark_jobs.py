"""The per-hour profile of validated rows as Spark aggregations (issue 11; rows from spark_parse.py).

Several files of one model are profiled by one set of jobs: spark_profile.py groups every
aggregate by the file's index in the batch too (FILE first in `keys`) and splits the frames.
Only aggregates come back to the driver: per (hour, slot, bin), (hour, slot, value), per-hour
quality counts of every slot, and the performance aggregates, shaped as lib/store/profiles.py
shapes them (the driver then sums days with the same code). Bins: a value's bin is the number of
reference edges at or below it (numpy.searchsorted(edges, x, side="right")), edges from the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.ingest.spark_parse import FILE
from lib.store.profiles import PREDICTION_SLOT, SCORE_SLOT


def _pandas(df, columns: list[str]) -> pd.DataFrame:
    frame = df.toPandas()
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for c in ("hour", "max_ts"):
        if c in frame.columns:
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
    return frame[columns]


def _slots(features: dict[int, str], spec) -> list[tuple[int, str, str]]:
    """(slot, kind, column) of every profiled slot, in the local engine's order."""
    out = [(s, k, f"f{s}") for s, k in features.items()]
    if spec.task == "regression":
        out.append((PREDICTION_SLOT, "numeric", "pred_num"))
    else:
        out.append((PREDICTION_SLOT, "categorical", "prediction"))
    if spec.has_score:
        out.append((SCORE_SLOT, "numeric", "score"))
    return out


LABEL_SLOT = -100  # the logged label's pseudo-slot in the long form (a classifier's classes seen)
_NULL, _BELOW, _ABOVE, _INF = 1, 2, 4, 8  # a cell's quality flags


def _bin(x, edges: list) -> object:
    """The bin of a finite value: how many edges are at or below it (numpy.searchsorted(edges, x,
    side="right")), as a binary search of comparisons (~log2(edges) of them per value)."""
    from pyspark.sql import functions as F

    def below(lo: int, hi: int):  # the count is in [lo, hi]
        if lo == hi:
            return F.lit(lo)
        mid = (lo + hi) // 2  # edges[mid] <= x: more than mid edges are
        return F.when(x >= edges[mid], below(mid + 1, hi)).otherwise(below(lo, mid))

    return below(0, len(edges))


def hourly_profiles(
    rows, features: dict[int, str], spec, ref, keys: tuple[str, ...] = ("hour",)
) -> dict[str, pd.DataFrame]:
    """prof_rows (without file_id), the hourly num / cat / qual frames, and the classes seen.

    Two Spark jobs. The rows per hour and the newest timestamp (one small aggregation); and one
    pass over the long form: every row becomes one cell per slot, (slot, bin | value, quality
    flags), the bins first computed as columns of their own, and one grouped count of all cells
    gives the bin and value counts and every slot's quality counts at once (the driver sums them:
    a few thousand rows a file). `keys`: the grouping (segments add seg_slot, seg_code)."""
    from pyspark.sql import functions as F

    slots = _slots(features, spec)
    classifier = spec.task != "regression"
    zero = F.lit(0)
    columns, cells = [], []

    for slot, kind, column in slots:
        x = F.col(column)
        rc = ref.get(slot) if ref is not None else None
        null = F.when(x.isNull(), _NULL).otherwise(zero)
        if kind == "numeric":
            inf = x.isNotNull() & ((x == float("inf")) | (x == float("-inf")))
            below = (x < float(rc.vmin)) if rc is not None and rc.vmin is not None else (x == float("-inf"))
            above = (x > float(rc.vmax)) if rc is not None and rc.vmax is not None else (x == float("inf"))
            flags = (
                null
                + F.when(below, _BELOW).otherwise(zero)
                + F.when(above, _ABOVE).otherwise(zero)
                + F.when(inf, _INF).otherwise(zero)
            )
            finite = x.isNotNull() & ~inf
            bin_ = F.when(finite, _bin(x, [float(e) for e in rc.edges])) if rc is not None else F.lit(None)
            columns += [bin_.cast("int").alias(f"__b{len(cells)}"), flags.cast("int").alias(f"__q{len(cells)}")]
            cells.append((slot, F.col(f"__b{len(cells)}"), F.lit(None).cast("string"), F.col(f"__q{len(cells)}")))
        else:
            cells.append((slot, F.lit(None).cast("int"), x.cast("string"), null.cast("int")))
    if classifier:
        label = F.col("logged_label")
        cells.append((LABEL_SLOT, F.lit(None).cast("int"), label, F.lit(0)))
    wide = rows.select(
        *keys, *[F.col(c) for _, k, c in slots if k != "numeric"], *(["logged_label"] if classifier else []), *columns
    )
    structs = [
        F.struct(F.lit(s).alias("slot"), b.alias("bin"), v.alias("value"), q.cast("int").alias("flags"))
        for s, b, v, q in cells
    ]
    long = wide.select(*keys, F.explode(F.array(*structs)).alias("c"))
    counted = long.groupBy(*keys, "c.slot", "c.bin", "c.value", "c.flags").agg(F.count(F.lit(1)).alias("n"))
    c = _pandas(counted, [*keys, "slot", "bin", "value", "flags", "n"])
    per_hour = rows.groupBy(*keys).agg(F.count(F.lit(1)).alias("n"), F.max("ts").alias("max_ts"))
    q = _pandas(per_hour, [*keys, "n", "max_ts"])
    frames: dict = {"prof_rows": q[[*keys, "n", "max_ts"]].astype({"n": "int64"})}
    frames["classes"] = _classes(c, classifier, keys)
    c = c[c["slot"] != LABEL_SLOT]
    order = {slot: i for i, (slot, _, _) in enumerate(slots)}
    c = c.assign(n=c["n"].astype("int64"), flags=c["flags"].astype("int64"), slot=c["slot"].astype("int64"))
    c = c.assign(_o=c["slot"].map(order))
    flags = c["flags"].to_numpy()
    qual = c[list(keys) + ["slot", "_o"]].assign(
        **{
            name: np.where(flags & bit, c["n"].to_numpy(), 0)
            for name, bit in (("n_null", _NULL), ("n_below", _BELOW), ("n_above", _ABOVE), ("n_inf", _INF))
        }
    )
    qual = qual.groupby(["_o", *keys, "slot"], sort=True).sum().reset_index()
    frames["qual"] = qual[[*keys, "n_null", "n_below", "n_above", "n_inf", "slot"]].reset_index(drop=True)
    num = c[c["bin"].notna()]
    num = num.assign(bin=num["bin"].astype("int32")).groupby(["slot", *keys, "bin"], sort=True)["n"].sum().reset_index()
    frames["num"] = num[[*keys, "bin", "n", "slot"]].reset_index(drop=True)
    cat = c[c["value"].notna()].groupby(["slot", *keys, "value"], sort=True)["n"].sum().reset_index()
    frames["cat"] = cat.assign(value=cat["value"].astype(object))[[*keys, "value", "n", "slot"]].reset_index(drop=True)
    return frames


def _classes(c: pd.DataFrame, classifier: bool, keys: tuple[str, ...]):
    """The labels (logged) and predictions seen: a set, or {file: set} with the batch's file key."""
    if not classifier:
        return set() if FILE not in keys else {}
    seen = c[c["slot"].isin([LABEL_SLOT, PREDICTION_SLOT]) & c["value"].notna()]
    if FILE not in keys:
        return {str(v) for v in seen["value"]}
    return {k: {str(v) for v in g["value"]} for k, g in seen.groupby(FILE)}


def with_segments(rows, segments: dict[int, tuple[str, ...]]):
    """Each row once per segment feature, with its (seg_slot, seg_code) as lib/store/seg_profiles.py
    codes it: the value's rank among the reference's top values, -1 other, -2 NULL."""
    from pyspark.sql import functions as F

    from lib.store.seg_profiles import SEG_MISSING, SEG_OTHER

    structs = []
    for seg_slot, top in segments.items():
        x = F.col(f"f{seg_slot}")
        if top:
            ranks = F.create_map(*[F.lit(item) for rank, value in enumerate(top) for item in (value, rank)])
            code = F.coalesce(ranks[x], F.lit(SEG_OTHER))
        else:
            code = F.lit(SEG_OTHER)
        code = F.when(x.isNull(), F.lit(SEG_MISSING)).otherwise(code)
        structs.append(F.struct(F.lit(seg_slot).alias("seg_slot"), code.cast("int").alias("seg_code")))
    return rows.withColumn("seg", F.explode(F.array(*structs))).select("*", "seg.seg_slot", "seg.seg_code").drop("seg")


def performance(rows, spec, positive, keys: tuple[str, ...] = ("hour",)) -> dict[str, pd.DataFrame]:
    """prof_reg, or prof_cls (+ prof_auc and prof_score_h for a binary model with a score), per hour
    (per `keys`; with segment keys, no prof_score_h: the estimate is not segmented)."""
    from pyspark.sql import functions as F

    lab = rows.filter(F.col("label").isNotNull())
    if spec.task == "regression":
        y = F.col("label").cast("double")
        err = F.col("pred_num") - y
        agg = lab.groupBy(*keys).agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(err * err).alias("sse"),
            F.sum(F.abs(err)).alias("sae"),
            F.sum(y).alias("sy"),
            F.sum(y * y).alias("syy"),
        )
        return {"prof_reg": _pandas(agg, [*keys, "n", "sse", "sae", "sy", "syy"]).sort_values(list(keys))}
    frames = {
        "prof_cls": _pandas(
            lab.groupBy(*keys, "label", "prediction").agg(F.count(F.lit(1)).alias("n")),
            [*keys, "label", "prediction", "n"],
        )
    }
    if spec.task == "binary_classification" and spec.has_score:
        # One job for both score tables: scored rows counted per (score, predicted positive,
        # label state: -1 none, 1 positive, 0 other); prof_auc is the labelled part, prof_score_h
        # every scored row (the estimate's input, as lib/store/profiles.py profile_scores counts it).
        pos = F.col("label") == F.lit(positive)
        state = F.when(F.col("label").isNull(), -1).when(pos, 1).otherwise(0)
        pred_pos = F.coalesce(F.col("prediction") == F.lit(positive), F.lit(False))
        scored = rows.filter(F.col("score").isNotNull()).select(
            *keys, "score", pred_pos.alias("pred_pos"), state.alias("state")
        )
        counts = _pandas(
            scored.groupBy(*keys, "score", "pred_pos", "state").agg(F.count(F.lit(1)).cast("long").alias("n")),
            [*keys, "score", "pred_pos", "state", "n"],
        ).astype({"n": "int64", "state": "int64"})
        lab = counts[counts["state"] >= 0]
        auc = lab.assign(
            n_pos=np.where(lab["state"] == 1, lab["n"], 0).astype("int64"),
            n_neg=np.where(lab["state"] == 0, lab["n"], 0).astype("int64"),
        )
        frames["prof_auc"] = auc.groupby([*keys, "score"], sort=True)[["n_pos", "n_neg"]].sum().reset_index()
        if positive is not None and "seg_slot" not in keys:
            frames["prof_score_h"] = (
                counts.assign(pred_pos=counts["pred_pos"].astype(bool))
                .groupby([*keys, "score", "pred_pos"], sort=True)["n"]
                .sum()
                .reset_index()
            )
    return frames
