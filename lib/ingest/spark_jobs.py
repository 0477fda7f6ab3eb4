"""The per-hour profile of validated rows as Spark aggregations (issue 11; rows from spark_parse.py).

Several files of one model are profiled by one set of jobs: every aggregate is grouped by the
file's index in the batch too (column FILE), and the frames carry it for the caller to split.
Only aggregates come back to the driver: per (hour, slot, bin), (hour, slot, value), per-hour
quality counts of every slot, and the performance aggregates, shaped as lib/store/profiles.py
shapes them (the driver then sums days with the same code). Bins: a value's bin is the number of
reference edges at or below it (numpy.searchsorted(edges, x, side="right")), edges from the store.
"""

from __future__ import annotations

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


def hourly_profiles(rows, features: dict[int, str], spec, ref) -> dict[str, pd.DataFrame]:
    """prof_rows (without file_id), the hourly num / cat / qual frames, and the classes seen.

    Two Spark jobs: one aggregation per hour (rows, newest timestamp, every slot's quality counts,
    a classifier's logged labels and predictions), and one count of the (hour, slot, bin | value)
    cells of all slots at once."""
    from pyspark.sql import functions as F

    slots = _slots(features, spec)
    aggs = [F.count(F.lit(1)).alias("n"), F.max("ts").alias("max_ts")]
    cells = []
    for slot, kind, column in slots:
        x = F.col(column)
        rc = ref.get(slot) if ref is not None else None
        if kind == "numeric":
            inf = x.isNotNull() & ((x == float("inf")) | (x == float("-inf")))
            finite = x.isNotNull() & ~inf
            below = (x < float(rc.vmin)) if rc is not None and rc.vmin is not None else (x == float("-inf"))
            above = (x > float(rc.vmax)) if rc is not None and rc.vmax is not None else (x == float("inf"))
            if rc is not None:
                count = sum((F.when(x >= float(e), 1).otherwise(0) for e in rc.edges), F.lit(0))
                cells.append(
                    F.when(
                        finite,
                        F.struct(
                            F.lit(slot).alias("slot"),
                            count.cast("int").alias("bin"),
                            F.lit(None).cast("string").alias("value"),
                        ),
                    )
                )
        else:
            inf = below = above = F.lit(False)
            cells.append(
                F.when(
                    x.isNotNull(),
                    F.struct(F.lit(slot).alias("slot"), F.lit(None).cast("int").alias("bin"), x.alias("value")),
                )
            )
        for name, cond in (("n_null", x.isNull()), ("n_below", below), ("n_above", above), ("n_inf", inf)):
            aggs.append(F.sum(F.when(cond, 1).otherwise(0)).cast("long").alias(f"{name}__{slot}"))
    classifier = spec.task != "regression"
    if classifier:
        aggs += [F.collect_set("logged_label").alias("labels"), F.collect_set("prediction").alias("predictions")]
    names = [FILE, "hour", "n", "max_ts", *_quality_names(slots)] + (["labels", "predictions"] if classifier else [])
    q = _pandas(rows.groupBy(FILE, "hour").agg(*aggs), names).sort_values([FILE, "hour"], kind="stable")
    frames: dict = {"prof_rows": q[[FILE, "hour", "n", "max_ts"]].astype({"n": "int64"})}
    frames["classes"] = {
        k: ({str(v) for col in ("labels", "predictions") for values in g[col] for v in values} if classifier else set())
        for k, g in q.groupby(FILE)
    }
    frames["qual"] = pd.concat(
        [
            pd.DataFrame(
                {
                    FILE: q[FILE],
                    "hour": q["hour"],
                    **{n: q[f"{n}__{slot}"].astype("int64") for n in ("n_null", "n_below", "n_above", "n_inf")},
                }
            ).assign(slot=slot)
            for slot, _, _ in slots
        ],
        ignore_index=True,
    )
    counted = _cells(rows, cells)
    num = counted[counted["bin"].notna()]
    cat = counted[counted["value"].notna()]
    frames["num"] = pd.DataFrame(
        {
            FILE: num[FILE],
            "hour": num["hour"],
            "bin": num["bin"].astype("int32"),
            "n": num["n"].astype("int64"),
            "slot": num["slot"],
        }
    ).reset_index(drop=True)
    frames["cat"] = pd.DataFrame(
        {
            FILE: cat[FILE],
            "hour": cat["hour"],
            "value": cat["value"].astype(object),
            "n": cat["n"].astype("int64"),
            "slot": cat["slot"],
        }
    ).reset_index(drop=True)
    return frames


def _quality_names(slots) -> list[str]:
    return [f"{n}__{slot}" for slot, _, _ in slots for n in ("n_null", "n_below", "n_above", "n_inf")]


def _cells(rows, structs: list) -> pd.DataFrame:
    from pyspark.sql import functions as F

    columns = [FILE, "hour", "slot", "bin", "value", "n"]
    if not structs:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    cells = rows.select(FILE, "hour", F.explode(F.array(*structs)).alias("c")).filter(F.col("c").isNotNull())
    counted = cells.groupBy(FILE, "hour", "c.slot", "c.bin", "c.value").agg(F.count(F.lit(1)).alias("n"))
    frame = _pandas(counted, columns)
    return frame.sort_values([FILE, "slot", "hour", "bin", "value"], kind="stable").reset_index(drop=True)


def performance(rows, spec, positive) -> dict[str, pd.DataFrame]:
    """prof_reg, or prof_cls (+ prof_auc and prof_score_h for a binary model with a score), per hour."""
    from pyspark.sql import functions as F

    lab = rows.filter(F.col("label").isNotNull())
    if spec.task == "regression":
        y = F.col("label").cast("double")
        err = F.col("pred_num") - y
        agg = lab.groupBy(FILE, "hour").agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(err * err).alias("sse"),
            F.sum(F.abs(err)).alias("sae"),
            F.sum(y).alias("sy"),
            F.sum(y * y).alias("syy"),
        )
        return {"prof_reg": _pandas(agg, [FILE, "hour", "n", "sse", "sae", "sy", "syy"]).sort_values([FILE, "hour"])}
    frames = {
        "prof_cls": _pandas(
            lab.groupBy(FILE, "hour", "label", "prediction").agg(F.count(F.lit(1)).alias("n")),
            [FILE, "hour", "label", "prediction", "n"],
        )
    }
    if spec.task == "binary_classification" and spec.has_score:
        pos = F.col("label") == F.lit(positive)
        agg = (
            lab.filter(F.col("score").isNotNull())
            .groupBy(FILE, "hour", "score")
            .agg(
                F.sum(F.when(pos, 1).otherwise(0)).cast("long").alias("n_pos"),
                F.sum(F.when(pos, 0).otherwise(1)).cast("long").alias("n_neg"),
            )
        )
        frames["prof_auc"] = _pandas(agg, [FILE, "hour", "score", "n_pos", "n_neg"])
        if positive is not None:
            # every scored row, labelled or not: the performance estimate's input, as
            # lib/store/profiles.py profile_scores counts it
            scored = rows.filter(F.col("score").isNotNull()).withColumn(
                "pred_pos", F.coalesce(F.col("prediction") == F.lit(positive), F.lit(False))
            )
            counts = scored.groupBy(FILE, "hour", "score", "pred_pos").agg(F.count(F.lit(1)).cast("long").alias("n"))
            frames["prof_score_h"] = (
                _pandas(counts, [FILE, "hour", "score", "pred_pos", "n"])
                .sort_values([FILE, "hour", "score", "pred_pos"])
                .reset_index(drop=True)
            )
    return frames
