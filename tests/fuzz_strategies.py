"""Hypothesis strategies for the fuzz tests (tests/test_fuzz.py) and the longer campaign
(bench/fuzz.py): spec mappings, CSV bytes and Parquet tables aimed at the standard `icecream`
model of tests/fixtures.py (features flavor, temperature, region; ts, request_id, prediction,
score, label)."""

from __future__ import annotations

import io
import string

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from hypothesis import strategies as st

KNOWN = ["ts", "request_id", "flavor", "temperature", "region", "prediction", "score", "label"]
ODD_NAMES = [
    "",
    " ",
    "ts ",
    "TS",
    "flavor\x00",
    "é",
    "名前",
    "a,b",
    'q"uote',
    "\ufeffts",
    "=cmd|' /C calc'!A0",
    "x" * 300,
]
CELLS = [
    "",
    "0",
    "1",
    "-0",
    "1e308",
    "1e309",
    "-1e309",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "١٢٣",
    "vanilla",
    "NA",
    "null",
    "None",
    "true",
    "\x00",
    "a\x00b",
    "é",
    "🍦",
    '"',
    "'",
    "\\",
    "\n",
    "\r\n",
    ",",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "2026-11-26T01:00:00",
    "2026-11-26T01:00:00+14:00",
    "2026-11-26T01:00:00-12:00",
    "2026-02-30T00:00:00",
    "2026-11-26 25:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999",
    "1e20",
    "-1e20",
    "253402300800",
    "-62135596801",
    "1764115200",
    "1764115200.5",
    "2026-11-26",
    "20261126",
    "T",
    "x" * 10_000,
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]


@st.composite
def csv_bytes(draw) -> bytes:
    names = draw(st.lists(st.sampled_from(KNOWN + ODD_NAMES) | st.text(min_size=0, max_size=8), max_size=10))
    if draw(st.booleans()):
        names = KNOWN + names[:2]  # mostly valid files reach the deeper checks
    n = draw(st.integers(0, 6))
    cell = st.sampled_from(CELLS) | st.text(max_size=12)
    rows = [[draw(cell) for _ in names] for _ in range(n)]
    if rows and draw(st.booleans()):  # a ragged row
        rows[draw(st.integers(0, n - 1))].append("extra")
    buf = io.StringIO()
    import csv

    writer = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerow(names)
    writer.writerows(rows)
    text = buf.getvalue()
    if draw(st.booleans()):  # raw damage: a stray quote, a NUL, a truncated last line
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.sampled_from(['"', "\x00", "", "\n\n", ",,,"])) + text[pos:]
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


_ARROW = {
    "string": (pa.string(), st.text(max_size=10) | st.sampled_from(CELLS)),
    "large_string": (pa.large_string(), st.sampled_from(CELLS)),
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "int8": (pa.int8(), st.integers(-128, 127)),
    "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
    "float64": (pa.float64(), st.floats(allow_nan=True, allow_infinity=True)),
    "float32": (pa.float32(), st.floats(width=32, allow_nan=True, allow_infinity=True)),
    "bool": (pa.bool_(), st.booleans()),
    "ts_us": (pa.timestamp("us"), st.datetimes()),
    "ts_tz": (pa.timestamp("ms", tz="Asia/Kolkata"), st.datetimes()),
    "ts_ns": (pa.timestamp("ns"), st.integers(-(2**62), 2**62)),
    "date32": (pa.date32(), st.dates()),
    "binary": (pa.binary(), st.binary(max_size=8)),
    "list": (pa.list_(pa.int64()), st.lists(st.integers(0, 9), max_size=3)),
    "null": (pa.null(), st.none()),
    "decimal": (pa.decimal128(10, 2), st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)),
    "dict": (pa.dictionary(pa.int32(), pa.string()), st.sampled_from(["vanilla", "mint", "<b>x</b>"])),
}


@st.composite
def parquet_bytes(draw) -> bytes:
    names = draw(st.lists(st.sampled_from(KNOWN + ODD_NAMES[:6]), min_size=0, max_size=9))
    if draw(st.booleans()):
        names = KNOWN + names[:1]
    n = draw(st.integers(0, 5))
    arrays, fields = [], []
    for name in names:
        kind = draw(st.sampled_from(sorted(_ARROW)))
        dtype, values = _ARROW[kind]
        cells = [draw(st.none() | values) for _ in range(n)]
        if kind == "dict":
            arr = pa.array(cells, type=pa.string()).dictionary_encode()
        else:
            arr = pa.array(cells, type=dtype)
        arrays.append(arr)
        fields.append(pa.field(name, arr.type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = buf.getvalue()
    if draw(st.integers(0, 9)) == 0:  # a damaged file now and then
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
    return data


_TEXT = st.text(max_size=12) | st.sampled_from(CELLS[:30])
_ANY = st.none() | st.booleans() | st.integers() | st.floats() | _TEXT | st.lists(_TEXT, max_size=3)


@st.composite
def spec_text(draw) -> str:
    """A spec YAML: mostly valid, with one to three fields replaced by something odd."""
    features = draw(
        st.dictionaries(
            st.sampled_from(["flavor", "temperature", "x", "é", "<script>", "=1+1", "a b", ""]) | st.text(max_size=6),
            st.sampled_from(["numeric", "categorical"]) | _ANY,
            max_size=4,
        )
    )
    spec = {
        "model_id": draw(
            st.sampled_from(["fz", "fz.1", "fz_-x", "..", "Fz", "a" * 65, "0"])
            | st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,10}\Z")
        ),
        "name": draw(_TEXT),
        "task": draw(st.sampled_from(["binary_classification", "multiclass_classification", "regression", "rank"])),
        "owner": draw(_TEXT),
        "team": draw(_TEXT),
        "tags": draw(st.lists(_TEXT, max_size=3) | _ANY),
        "columns": draw(
            st.dictionaries(
                st.sampled_from(["timestamp", "id", "prediction", "score", "label", "other"]), _TEXT | _ANY, max_size=5
            )
        ),
        "features": features,
    }
    for key in draw(
        st.lists(st.sampled_from(sorted(spec) + ["policy", "actions", "positive_class", "zzz"]), max_size=3)
    ):
        spec[key] = draw(_ANY | st.dictionaries(_TEXT, _ANY, max_size=2))
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    if draw(st.integers(0, 5)) == 0:
        pos = draw(st.integers(0, len(text)))
        text = (
            text[:pos]
            + draw(st.sampled_from([":", "\t", "- ", "{", "\x00", "&a", "*a", "!!python/object:os.system"]))
            + text[pos:]
        )
    return text


PRINTABLE = string.printable
