"""The reader's rules and the per-hour profile as Spark expressions (issue 11; used by spark_profile.py).

Each rule of lib/ingest/readers.py and lib/ingest/pipeline.py (DESIGN.md "Values", "Files") is
repeated here for Spark, and tests/test_lake_spark.py checks that both engines give the same
profile rows: in CSV only the empty cell is NULL; a number is NaN-is-NULL, ±inf kept, text that is
not a number rejects the file; a timestamp without an offset is UTC and a number is Unix seconds;
a categorical value is its text (a Parquet float in Python's spelling, `1.0`). The first bad row
of the first bad column, in the local engine's order, rejects the file with the same message.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lib.errors import InputError
from lib.ingest import readers
from lib.ingest.pipeline import column_name

_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_SPECIAL = r"(?i)^\s*[-+]?(inf|infinity|nan)\s*$"
_NUMERIC_TYPES = ("double", "float", "tinyint", "smallint", "int", "bigint", "decimal")
MID = "__row_mid"
FILE = "__file"  # the file's index in a batch: several files of one model profiled in one set of jobs
BAD = "__bad"  # a check's bad-cell flag column (__bad0, __bad1, …)


def _c(name: str):
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def read(spark, path: Path, name: str):
    """(DataFrame with a row-order id, {column: Spark type}); CSV as text, '' as NULL."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    location = str(path)
    if location.lower().endswith((".csv", ".txt")):
        delimiter = readers.detect_delimiter(path)  # the readers' dialect rule (docs/files.md)
        header = readers.csv_header(path, delimiter)
        schema = StructType([StructField(h, StringType()) for h in header])
        df = (
            spark.read.schema(schema)
            .option("header", True)
            .option("sep", delimiter)
            .option("mode", "FAILFAST")
            .option("quote", '"')
            .option("escape", '"')  # RFC 4180 (a doubled quote), as pyarrow reads it; Spark's default is \\
            .csv(location)
        )
        df = df.select(*[F.when(_c(h) == "", None).otherwise(_c(h)).alias(h) for h in header])
    elif location.lower().endswith((".parquet", ".pq")):
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{name}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise InputError(f"{name}: column {n}: duplicate column name")
            seen.add(n)
        schema = pq.read_schema(path)
        # pandas' index columns are not data (pyarrow's to_pandas makes them the index).
        index = [c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)]
        # Nanosecond timestamps (pandas' default) come as longs; made microseconds below, as pandas does.
        nanos = [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]
        df = spark.read.parquet(location).drop(*index)
        types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
        types.update({c: "timestamp_nanos" for c in nanos if c in types})
        return df.withColumn(MID, F.monotonically_increasing_id()), types
    else:
        suffix = Path(location).suffix.lower()
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use .parquet or .csv")
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    return df.withColumn(MID, F.monotonically_increasing_id()), types


def _base(t: str) -> str:
    return t.split("(")[0]


def _num(name: str, t: str):
    """(value with NaN as NULL, bad-cell condition or None) of a numeric column."""
    from pyspark.sql import functions as F

    c = _c(name)
    if _base(t) in _NUMERIC_TYPES:
        x = c.cast("double")
        return F.when(F.isnan(x), None).otherwise(x), None
    ok = c.rlike(_NUMBER) | c.rlike(_SPECIAL)
    x = F.when(ok, F.trim(c).cast("double"))
    return F.when(F.isnan(x), None).otherwise(x), c.isNotNull() & ~ok


def _text(name: str, t: str):
    from pyspark.sql import functions as F

    c = _c(name)
    b = _base(t)
    if b in ("double", "float"):
        return _repr_udf()(c.cast("double"))
    if b == "boolean":
        return F.when(c.isNull(), None).when(c, "True").otherwise("False")
    return c if b == "string" else c.cast("string")


def _repr_udf():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def as_text(values: pd.Series) -> pd.Series:  # Python's spelling of a float, as readers.parse_text
        return pd.Series([None if v != v else repr(float(v)) for v in values], dtype=object)

    return as_text


def _ts(name: str, t: str):
    from pyspark.sql import functions as F

    c = _c(name)
    b = _base(t)
    if b in ("timestamp", "timestamp_ntz", "date"):
        return c.cast("timestamp")
    if b == "timestamp_nanos":
        return F.timestamp_micros(F.floor(c / 1000).cast("long"))
    if b in _NUMERIC_TYPES:
        return F.timestamp_seconds(c.cast("double"))
    trimmed = F.trim(c)
    return F.when(trimmed.rlike(_NUMBER), F.timestamp_seconds(trimmed.cast("double"))).otherwise(
        trimmed.cast("timestamp")
    )


class _Checks:
    """Bad-row conditions in the local engine's order; the first that fires names its first row."""

    def __init__(self, name: str):
        self.name = name
        self.items: list[tuple[str, object, object]] = []  # (column, condition, message(raw) -> str)

    def require(self, types: dict, column: str, why: str) -> None:
        if column not in types:
            raise InputError(f"{self.name}: column {column}: missing ({why})")

    def add(self, column: str, condition, message) -> None:
        if condition is not None:
            self.items.append((column, condition, message))

    def numeric(self, types: dict, column: str):
        b = _base(types[column])
        if b == "boolean":
            raise InputError(f"{self.name}: column {column}, row 1: boolean values in a numeric column")
        if b not in _NUMERIC_TYPES and b != "string":
            raise InputError(f"{self.name}: column {column}, row 1: {types[column]} values in a numeric column")
        value, bad = _num(column, types[column])
        self.add(column, bad, lambda raw: f"{readers._show(raw)} is not a number")
        return value

    def flags(self) -> list:
        """Each check's bad-cell condition as a column (__bad<i>), computed with the parsed rows."""
        return [cond.alias(f"{BAD}{i}") for i, (_, cond, _) in enumerate(self.items)]

    def first_errors(self, df, names: dict[int, str], flagged) -> dict[int, str]:
        """{file index: the one-line reason of its first bad cell} for every bad file of the batch:
        the first bad row of each check from `flagged` (the parsed rows with the flags()); a bad
        file's row number and raw value are then looked up in `df` (its raw rows)."""
        from pyspark.sql import functions as F

        if not self.items:
            return {}
        aggs = [F.min(F.when(F.col(f"{BAD}{i}"), F.col(MID))).alias(f"c{i}") for i in range(len(self.items))]
        errors: dict[int, str] = {}
        for row in flagged.groupBy(FILE).agg(*aggs).collect():
            k = row[FILE]
            for i, (column, _, message) in enumerate(self.items):
                mid = row[f"c{i}"]
                if mid is None:
                    continue
                mine = df.filter(F.col(FILE) == k)
                before = mine.filter(F.col(MID) < mid).count()
                raw = mine.filter(F.col(MID) == mid).select(_c(column)).collect()[0][0]
                errors[k] = f"{names[k]}: column {column}, row {before + 1}: {message(raw)}"
                break
        return errors


def validated_rows(
    raw, types: dict, spec, names: dict[int, str], late: pd.DataFrame, slots: dict[str, tuple[int, str]]
):
    """(rows, {file index: reason}, cached): the batch's rows (`raw` with its FILE column; every file of the
    batch has the columns `types`) as the store's row columns (FILE, ts, hour, rid, prediction,
    pred_num, score, label = late label else logged, logged_label, f<slot>), and the first bad
    cell's reason of each bad file (its rows left out). A column missing or of a wrong type is an
    InputError naming the first file: a batch holds files of one schema, so the caller re-runs
    such a batch file by file for each file's own message."""
    from pyspark.sql import functions as F

    name = names[min(names)]
    checks = _Checks(name)
    ts_col = column_name(spec, "timestamp")
    checks.require(types, ts_col, "the spec's timestamp column")
    tb = _base(types[ts_col])
    if tb == "boolean":
        raise InputError(f"{name}: column {ts_col}, row 1: boolean values are not timestamps")
    if tb not in _NUMERIC_TYPES and tb not in ("string", "timestamp", "timestamp_ntz", "timestamp_nanos", "date"):
        raise InputError(f"{name}: column {ts_col}, row 1: {types[ts_col]} values are not timestamps")
    ts = _ts(ts_col, types[ts_col])
    checks.add(
        ts_col,
        ts.isNull(),
        lambda v: "empty timestamp" if v is None else f"{readers._show(v)} is not a timestamp",
    )
    pred_col = column_name(spec, "prediction")
    checks.require(types, pred_col, "the spec's prediction column")
    pred_raw = _c(pred_col)
    null_pred = pred_raw.isNull() | (
        F.isnan(pred_raw) if _base(types[pred_col]) in ("double", "float") else F.lit(False)
    )
    checks.add(pred_col, null_pred, lambda v: "empty prediction")
    cols = {"ts": ts, "prediction": _text(pred_col, types[pred_col])}
    if spec.task == "regression":
        cols["pred_num"] = checks.numeric(types, pred_col)
        checks.add(pred_col, cols["pred_num"].isNull(), lambda v: "empty prediction (NaN is NULL)")
    else:
        cols["pred_num"] = F.lit(None).cast("double")
    if spec.has_score:
        checks.require(types, spec.columns["score"], "the spec's score column")
        cols["score"] = checks.numeric(types, spec.columns["score"])
    else:
        cols["score"] = F.lit(None).cast("double")
    if "id" in spec.columns:
        checks.require(types, spec.columns["id"], "the spec's id column")
        cols["rid"] = _text(spec.columns["id"], types[spec.columns["id"]])
    else:
        cols["rid"] = F.lit(None).cast("string")
    label_col = column_name(spec, "label")
    if label_col in types:
        label = _text(label_col, types[label_col])
        if spec.task == "regression":
            label = F.when(checks.numeric(types, label_col).isNull(), None).otherwise(label)
        cols["logged_label"] = label
    else:
        cols["logged_label"] = F.lit(None).cast("string")
    for feature, kind in spec.features.items():
        key = f"f{slots[feature][0]}"
        if feature not in types:
            cols[key] = F.lit(None).cast("double" if kind == "numeric" else "string")
        elif kind == "numeric":
            cols[key] = checks.numeric(types, feature)
        else:
            cols[key] = _text(feature, types[feature])
    rows = raw.select(F.col(MID), F.col(FILE), *[expr.alias(key) for key, expr in cols.items()], *checks.flags())
    rows = rows.withColumn(
        "hour",
        F.when(F.col("ts") == F.date_trunc("hour", "ts"), F.col("ts")).otherwise(
            F.date_trunc("hour", "ts") + F.expr("INTERVAL 1 HOUR")
        ),
    )
    if late is not None and len(late):
        spark = raw.sparkSession
        labels = spark.createDataFrame(late[["rid", "label"]].rename(columns={"label": "late_label"}).astype(str))
        rows = rows.join(F.broadcast(labels), on="rid", how="left")
        rows = rows.withColumn("label", F.coalesce(F.col("late_label"), F.col("logged_label")))
    else:
        rows = rows.withColumn("label", F.col("logged_label"))
    # Parsed once: the files are read and parsed by the first job (the checks), which caches the
    # rows for the profile jobs (the caller unpersists `cached`).
    cached = rows.cache()
    try:
        errors = checks.first_errors(raw, names, cached)
    except BaseException:
        cached.unpersist()
        raise
    rows = cached.drop(*[f"{BAD}{i}" for i in range(len(checks.items))])
    if errors:
        rows = rows.filter(~F.col(FILE).isin(list(errors)))
    return rows, errors, cached
