"""Read Parquet and CSV files into pandas, and parse columns into the spec's kinds.

Every problem becomes an InputError reading `FILE: column COL, row N: REASON` (data rows are
numbered from 1). Nothing here touches the store. Rules from DESIGN.md "Values":
- in CSV only the empty cell is NULL (`NA` may be a real category: Namibia);
- numeric NaN is NULL; ±inf is kept; text in a numeric column rejects the file;
- categorical values compare as text (Parquet `1` -> "1", `1.0` -> "1.0");
- timestamps: ISO8601 text, timestamp types or Unix seconds; without an offset they are UTC.
"""
from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lib.errors import InputError

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None


def read_table(path: Path) -> pd.DataFrame:
    """Read a whole Parquet or CSV file (CSV: every column as text, only '' is NULL)."""
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{name}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        dup = _duplicate(table.column_names)
        if dup is not None:
            raise InputError(f"{name}: column {dup}: duplicate column name")
        try:
            return table.to_pandas()
        except (pa.ArrowException, ValueError) as exc:
            raise InputError(f"{name}: cannot convert ({exc})") from None
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use .parquet or .csv")


def _read_csv(path: Path) -> pd.DataFrame:
    name = str(path)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    if not header:
        raise InputError(f"{name}: empty file (a CSV needs a header row)")
    header[0] = header[0].lstrip("\ufeff")
    if any(h == "" for h in header):
        raise InputError(f"{name}: column {header.index('') + 1}: empty column name")
    dup = _duplicate(header)
    if dup is not None:
        raise InputError(f"{name}: column {dup}: duplicate column name")
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{name}: {_csv_error_row(path, len(header))}malformed CSV ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    return table.to_pandas()


def _csv_error_row(path: Path, width: int) -> str:
    """Find the first data row whose field count differs from the header's (for the message)."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for i, row in enumerate(reader, start=1):
                if len(row) != width:
                    return f"row {i}: "
    except (UnicodeDecodeError, csv.Error):
        pass
    return ""


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _show(value) -> str:
    text = str(value)
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def parse_numeric(series: pd.Series, file: str, column: str) -> np.ndarray:
    """float64 values; NaN is NULL, ±inf kept. Text that is not a number rejects the file."""
    if pd.api.types.is_bool_dtype(series):
        raise InputError(f"{file}: column {column}, row 1: boolean values in a numeric column")
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    if not is_text(series):
        raise InputError(f"{file}: column {column}, row 1: {series.dtype} values in a numeric column")
    text = series.astype("string")
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = text.notna().to_numpy() & np.isnan(parsed)
    if bad.any():
        # 'nan' / 'NaN' spelled out is NULL, not an error (numeric NaN is NULL).
        spelled_nan = text.str.strip().str.lower().eq("nan").fillna(False).to_numpy()
        bad &= ~spelled_nan
    if bad.any():
        row = _first_bad(bad)
        raise InputError(f"{file}: column {column}, row {row}: {_show(series.iloc[row - 1])} is not a number")
    return parsed


def parse_text(series: pd.Series) -> pd.Series:
    """Values as text (object dtype, None for NULL); numbers keep their Parquet spelling."""
    if is_text(series) and series.dtype != object:
        out = series.astype(object)
        return out.where(series.notna(), None)
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        out = pd.Series([None if v != v else repr(float(v)) for v in values], index=series.index, dtype=object)
        return out
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)   # vectorized: 1 -> "1"
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)   # True -> "True"
    out = series.astype(object).map(lambda v: None if v is None or (isinstance(v, float) and v != v) or v is pd.NA else str(v))
    return out


def parse_timestamps(series: pd.Series, file: str, column: str) -> pd.Series:
    """UTC timestamps (naive, microseconds). NULL or unparseable values reject the file."""
    if pd.api.types.is_datetime64_any_dtype(series):
        ts = series.dt.tz_convert("UTC") if series.dt.tz is not None else series.dt.tz_localize("UTC")
    elif pd.api.types.is_bool_dtype(series):
        raise InputError(f"{file}: column {column}, row 1: boolean values are not timestamps")
    elif pd.api.types.is_numeric_dtype(series):
        ts = pd.to_datetime(series.astype("float64"), unit="s", utc=True, errors="coerce")
    elif is_text(series):
        text = series.astype("string").str.strip()
        numeric = text.str.fullmatch(_NUMBER.pattern.strip("^$")).fillna(False)
        if bool(numeric[text.notna()].all()) and text.notna().any():
            ts = pd.to_datetime(text.astype("float64"), unit="s", utc=True, errors="coerce")
        else:
            ts = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    else:
        raise InputError(f"{file}: column {column}, row 1: {series.dtype} values are not timestamps")
    bad = ts.isna().to_numpy()
    if bad.any():
        row = _first_bad(bad)
        raw = series.iloc[row - 1]
        why = "empty timestamp" if raw is None or (not isinstance(raw, str) and pd.isna(raw)) else f"{_show(raw)} is not a timestamp"
        raise InputError(f"{file}: column {column}, row {row}: {why}")
    return ts.dt.tz_localize(None).astype("datetime64[us]")


def require_not_null(values: pd.Series, file: str, column: str, what: str) -> None:
    bad = values.isna().to_numpy()
    if bad.any():
        raise InputError(f"{file}: column {column}, row {_first_bad(bad)}: empty {what}")
