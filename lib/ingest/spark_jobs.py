"""The per-hour profile of validated rows as Spark aggregations (issue 11; rows from spark_parse.py).

Several files of one model are profiled by one set of jobs: spark_profile.py groups every
aggregate by the file's index in the batch too (FILE first in `keys`) and splits the frames.
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


def hourly_profiles(
    rows, features: dict[int, str], spec, ref, keys: tuple[str, ...] = ("hour",)
) -> dict[str, pd.DataFrame]:
    """prof_rows (without file_id), the hourly num / cat / qual frames, and the classes seen.

    Two Spark jobs: one aggregation per hour (rows, newest timestamp, every slot's quality counts,
    a classifier's logged labels and predictions), and one count of the (hour, slot, bin | value)
    cells of all slots at once. `keys`: the grouping (segments add seg_slot, seg_code: with_segments)."""
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
    names = [*keys, "n", "max_ts", *_quality_names(slots)] + (["labels", "predictions"] if classifier else [])
    q = _pandas(rows.groupBy(*keys).agg(*aggs), names)
    frames: dict = {"prof_rows": q[[*keys, "n", "max_ts"]].astype({"n": "int64"})}
    frames["classes"] = (
        _classes(q, classifier) if FILE not in keys else {k: _classes(g, classifier) for k, g in q.groupby(FILE)}
    )  # per file of a batch
    frames["qual"] = pd.concat(
        [
            pd.DataFrame(
                {
                    **{k: q[k] for k in keys},
                    **{n: q[f"{n}__{slot}"].astype("int64") for n in ("n_null", "n_below", "n_above", "n_inf")},
                }
            ).assign(slot=slot)
            for slot, _, _ in slots
        ],
        ignore_index=True,
    )
    counted = _cells(rows, cells, keys)
    num = counted[counted["bin"].notna()]
    cat = counted[counted["value"].notna()]
    frames["num"] = pd.DataFrame(
        {
            **{k: num[k] for k in keys},
            "bin": num["bin"].astype("int32"),
            "n": num["n"].astype("int64"),
            "slot": num["slot"],
        }
    ).reset_index(drop=True)
    frames["cat"] = pd.DataFrame(
        {
            **{k: cat[k] for k in keys},
            "value": cat["value"].astype(object),
            "n": cat["n"].astype("int64"),
            "slot": cat["slot"],
        }
    ).reset_index(drop=True)
    return frames


def _classes(q: pd.DataFrame, classifier: bool) -> set[str]:
    return {str(v) for col in ("labels", "predictions") for values in q[col] for v in values} if classifier else set()


def _quality_names(slots) -> list[str]:
    return [f"{n}__{slot}" for slot, _, _ in slots for n in ("n_null", "n_below", "n_above", "n_inf")]


def _cells(rows, structs: list, keys: tuple[str, ...] = ("hour",)) -> pd.DataFrame:
    from pyspark.sql import functions as F

    columns = [*keys, "slot", "bin", "value", "n"]
    if not structs:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    cells = rows.select(*keys, F.explode(F.array(*structs)).alias("c")).filter(F.col("c").isNotNull())
    counted = cells.groupBy(*keys, "c.slot", "c.bin", "c.value").agg(F.count(F.lit(1)).alias("n"))
    frame = _pandas(counted, columns)
    return frame.sort_values(["slot", *keys, "bin", "value"], kind="stable").reset_index(drop=True)


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
        pos = F.col("label") == F.lit(positive)
        agg = (
            lab.filter(F.col("score").isNotNull())
            .groupBy(*keys, "score")
            .agg(
                F.sum(F.when(pos, 1).otherwise(0)).cast("long").alias("n_pos"),
                F.sum(F.when(pos, 0).otherwise(1)).cast("long").alias("n_neg"),
            )
        )
        frames["prof_auc"] = _pandas(agg, [*keys, "score", "n_pos", "n_neg"])
        if positive is not None and "seg_slot" not in keys:
            # every scored row, labelled or not: the performance estimate's input, as
            # lib/store/profiles.py profile_scores counts it
            scored = rows.filter(F.col("score").isNotNull()).withColumn(
                "pred_pos", F.coalesce(F.col("prediction") == F.lit(positive), F.lit(False))
            )
            counts = scored.groupBy(*keys, "score", "pred_pos").agg(F.count(F.lit(1)).cast("long").alias("n"))
            frames["prof_score_h"] = (
                _pandas(counts, [*keys, "score", "pred_pos", "n"])
                .sort_values([*keys, "score", "pred_pos"])
                .reset_index(drop=True)
            )
    return frames
