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
import resource
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lib.errors import InputError
from lib.store.csv_dialect import DELIMITERS, detect_delimiter  # noqa: F401 (DELIMITERS: part of this module's API)

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
# A number written with a decimal comma (3,14; -0,5; 1.234,5): named as such in the message.
_DECIMAL_COMMA = re.compile(r"^\s*([-+]?)(\d{1,3}(?:\.\d{3})+|\d+),(\d+)\s*$")


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_NULLABLE_INTS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def _duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None


# Allocation failures that Arrow reports in other words than ArrowMemoryError (a Parquet page
# buffer, a thrift header; "Wrapping v0 failed": no memory for a Python string): they are memory,
# not a bad file (found under `ulimit -v`, issue 12).
_MEMORY = re.compile(
    r"alloc of size|bad_alloc|bad allocation|out of memory|cannot allocate memory|^unknown error: wrapping \S+ failed"
)


def memory_error(exc: BaseException) -> MemoryError | None:
    """A MemoryError for an exception that reports an allocation failure, else None."""
    first = (str(exc).splitlines() or [""])[0]
    if isinstance(exc, MemoryError) or (
        isinstance(exc, (pa.ArrowException, OSError)) and _MEMORY.search(first.lower())
    ):
        return MemoryError(first or f"an allocation failed ({type(exc).__name__})")
    return None


def threaded() -> bool:
    """Whether readers may use Arrow's thread pools: not under an address-space cap (`ulimit -v`),
    where each thread's stack and malloc arena count against the cap, and an allocation that fails
    in a pool thread aborts the process (std::bad_alloc) instead of raising (issue 12)."""
    if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
        return True
    pa.set_cpu_count(1)  # for what pyarrow and pandas run on the pools without asking
    pa.set_io_thread_count(1)
    return False


def read_table(path: Path) -> pd.DataFrame:
    """Read a whole Parquet or CSV file (CSV: every column as text, only '' is NULL)."""
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            # Names first: pyarrow cannot even read a file whose columns share a name.
            dup = _duplicate(pq.read_schema(path).names)
            if dup is not None:
                raise InputError(f"{name}: column {dup}: duplicate column name")
            table = _binary_as_text(pq.read_table(path, use_threads=threaded()), name)
        except (pa.ArrowException, OSError) as exc:
            if (oom := memory_error(exc)) is not None:
                raise oom from None
            raise InputError(f"{name}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        try:
            # Integers stay integers when a column has NULLs (else 7 would become the text "7.0").
            return table.to_pandas(types_mapper=_NULLABLE_INTS.get, use_threads=threaded())
        except (pa.ArrowException, ValueError) as exc:
            if (oom := memory_error(exc)) is not None:
                raise oom from None
            raise InputError(f"{name}: cannot convert ({exc})") from None
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise InputError(f"{name}: unsupported file type {suffix or '(none)'}; use .parquet or .csv")


def _binary_as_text(table: pa.Table, name: str) -> pa.Table:
    """Binary columns (some writers store text so) as UTF-8 text; bytes that are not UTF-8 reject
    the file naming column and row. Found by bench/fuzz.py: they escaped as UnicodeDecodeError."""
    for i, field in enumerate(table.schema):
        if (
            pa.types.is_binary(field.type)
            or pa.types.is_large_binary(field.type)
            or pa.types.is_fixed_size_binary(field.type)
        ):
            try:
                table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
            except pa.ArrowInvalid:
                values = table.column(i).to_pylist()
                row = next(k for k, v in enumerate(values, start=1) if v is not None and not _decodes(v))
                raise InputError(f"{name}: column {field.name}, row {row}: not UTF-8 text") from None
    return table


def _decodes(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def csv_header(path: Path, delimiter: str = ",") -> list[str]:
    """A CSV file's column names as the reader names them (BOM stripped, one unnamed column
    named 'Unnamed: N'); InputError for a missing, non-UTF-8 or duplicate header."""
    name = str(path)
    # Decode only the header here (surrogateescape: a bad byte further down is located below).
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            header = next(csv.reader(fh, delimiter=delimiter), None)
    except csv.Error as exc:
        raise InputError(f"{name}: malformed CSV header ({exc})") from None
    if not header:
        raise InputError(f"{name}: empty file (a CSV needs a header row)")
    if not all(_is_utf8(h) for h in header):
        raise InputError(f"{name}: not UTF-8 text (in the header row)")
    header[0] = header[0].lstrip("\ufeff")
    if header.count("") > 1:
        raise InputError(
            f"{name}: column {header.index('', header.index('') + 1) + 1}: duplicate column name "
            "(two columns without a name)"
        )
    # One unnamed column (pandas' to_csv writes its index so) is named as pandas reads it,
    # "Unnamed: <position>": a column like any other, extra unless the spec names it.
    header = [h or f"Unnamed: {i}" for i, h in enumerate(header)]
    dup = _duplicate(header)
    if dup is not None:
        raise InputError(f"{name}: column {dup}: duplicate column name")
    return header


def _read_csv(path: Path) -> pd.DataFrame:
    name = str(path)
    delimiter = detect_delimiter(path)
    header = csv_header(path, delimiter)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=threaded()),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        if (oom := memory_error(exc)) is not None:
            raise oom from None
        first = str(exc).splitlines()[0]
        reason = "not UTF-8 text" if "UTF8" in first else f"malformed CSV ({first})"
        raise InputError(f"{name}: {_csv_error_row(path, header, delimiter)}{reason}") from None
    return table.to_pandas(use_threads=threaded())


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a surrogate-escaped byte that was not UTF-8
        return False


def _csv_error_row(path: Path, header: list[str], delimiter: str) -> str:
    """Locate the first bad data row (for the message): a field count that differs from the
    header's, or a cell that is not UTF-8. Blank lines are skipped: they are not data rows."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            next(reader, None)
            i = 0
            for row in reader:
                if not row:
                    continue
                i += 1
                if len(row) != len(header):
                    return f"row {i}: "
                bad = next((col for col, cell in zip(header, row) if not _is_utf8(cell)), None)
                if bad is not None:
                    return f"column {bad}, row {i}: "
    except csv.Error:
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
        raw = series.iloc[row - 1]
        comma = _DECIMAL_COMMA.match(str(raw))
        if comma:
            sign, whole, frac = comma.groups()
            fixed = f"{sign}{whole.replace('.', '')}.{frac}"
            raise InputError(
                f"{file}: column {column}, row {row}: {_show(raw)} looks like a decimal comma; write {fixed}"
            )
        raise InputError(f"{file}: column {column}, row {row}: {_show(raw)} is not a number")
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
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)  # vectorized: 1 -> "1"
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)  # True -> "True"
    out = series.astype(object).map(
        lambda v: None if v is None or (isinstance(v, float) and v != v) or v is pd.NA else str(v)
    )
    return out


_ARROW_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' text dtype: what read_table gives text


def text_values(series: pd.Series):
    """A text column's values for the validated rows: kept in Arrow when the file gave text (NULL
    is NaN there; turning a month of rows into Python strings and back was a twentieth of
    preparing a file), else as parse_text spells them (objects, None for NULL)."""
    if series.dtype == _ARROW_TEXT:
        return series.array
    return parse_text(series).to_numpy(dtype=object)


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
        # Cell by cell: a number is Unix seconds, anything else ISO8601 (a file may mix them).
        numeric = text.str.fullmatch(_NUMBER.pattern.strip("^$")).fillna(False).astype(bool)
        ts = pd.to_datetime(text.where(~numeric), utc=True, format="ISO8601", errors="coerce")
        if numeric.any():
            seconds = pd.to_datetime(text.where(numeric).astype("float64"), unit="s", utc=True, errors="coerce")
            ts = ts.where(~numeric, seconds)
    else:
        raise InputError(f"{file}: column {column}, row 1: {series.dtype} values are not timestamps")
    bad = ts.isna().to_numpy()
    if bad.any():
        row = _first_bad(bad)
        raw = series.iloc[row - 1]
        why = (
            "empty timestamp"
            if raw is None or (not isinstance(raw, str) and pd.isna(raw))
            else f"{_show(raw)} is not a timestamp"
        )
        raise InputError(f"{file}: column {column}, row {row}: {why}")
    return ts.dt.tz_localize(None).astype("datetime64[us]")


def require_not_null(values: pd.Series, file: str, column: str, what: str) -> None:
    bad = values.isna().to_numpy()
    if bad.any():
        raise InputError(f"{file}: column {column}, row {_first_bad(bad)}: empty {what}")
