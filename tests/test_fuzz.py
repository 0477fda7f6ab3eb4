"""Fuzzing the boundary (issue 12): generated CSV and Parquet files through `ingest`, generated
specs through `register`. Each case is ingested / registered with consistent counts and profiles,
or rejected with one line naming the file and nothing changed; any other exception fails.

Bounded and derandomized here (a fixed set of examples, well under a minute); bench/fuzz.py runs
the same properties with many more random examples. Cases the fuzzers found are kept below as
explicit regression tests."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fixtures import copy_store, query, standard_template, table_counts  # noqa: F401
from fuzz_strategies import csv_bytes, parquet_bytes, spec_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, register_spec
from lib.spec import load_spec_file
from lib.store.connection import Store

MODEL = "icecream"
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
_n = itertools.count()


def check_ingest(store: Store, folder: Path, kind: str, data: bytes, suffix: str) -> str:
    """Ingest the bytes as a file of `kind`; assert the outcome's contract; return its status."""
    path = folder / f"fuzz-{next(_n)}{suffix}"
    path.write_bytes(data)
    before = table_counts(store.path)
    outcome = ingest_file(store, kind, MODEL, path)  # anything but an outcome is a failure
    after = table_counts(store.path)
    if outcome.status == "rejected":
        assert "\n" not in outcome.message and outcome.message.startswith(str(path)), outcome.message
        assert after == before
    elif outcome.status == "skipped":
        assert after == before
    else:
        assert outcome.status == "ingested"
        assert_consistent(store, before, after, kind, outcome.rows)
    return outcome.status


def assert_consistent(store: Store, before: dict, after: dict, kind: str, rows: int) -> None:
    assert after["ingest_log"] == before["ingest_log"] + 1
    inf = f"inf__{MODEL}"
    if kind == "inference":
        assert after[inf] == before[inf] + rows
    elif kind == "reference":
        assert after[f"ref__{MODEL}"] == before[f"ref__{MODEL}"] + rows
    # every stored inference row is profiled once: rows, and per feature slot values + NULLs
    n_rows = query(store.path, f'SELECT count(*) FROM "{inf}"')[0][0]
    assert query(store.path, "SELECT sum(n) FROM prof_rows WHERE model_id = ?", [MODEL])[0][0] == n_rows
    for slot, kind_ in query(store.path, "SELECT slot, kind FROM features WHERE model_id = ?", [MODEL]):
        table = "prof_cat_h" if kind_ == "categorical" else "prof_num_h"
        valued = query(
            store.path, f"SELECT coalesce(sum(n), 0) FROM {table} WHERE model_id = ? AND slot = ?", [MODEL, slot]
        )
        nulls = query(
            store.path,
            "SELECT coalesce(sum(n_null), 0), coalesce(sum(n_inf), 0) FROM prof_qual_h WHERE model_id = ? AND slot = ?",
            [MODEL, slot],
        )[0]
        assert valued[0][0] + nulls[0] + nulls[1] == n_rows, (slot, kind_)


@pytest.fixture(scope="module")
def fuzz_store(standard_template, tmp_path_factory) -> tuple[Store, Path]:
    folder = tmp_path_factory.mktemp("fuzz")
    return Store(copy_store(standard_template, folder / "store"), timeout=10), folder


KINDS = st.sampled_from(["inference", "inference", "reference", "labels"])


@FUZZ
@given(data=csv_bytes(), kind=KINDS)
def test_fuzzed_csv_is_ingested_consistently_or_rejected_cleanly(fuzz_store, data, kind):
    check_ingest(*fuzz_store, kind, data, ".csv")


@FUZZ
@given(data=parquet_bytes(), kind=KINDS)
def test_fuzzed_parquet_is_ingested_consistently_or_rejected_cleanly(fuzz_store, data, kind):
    check_ingest(*fuzz_store, kind, data, ".parquet")


@FUZZ
@given(text=spec_text())
def test_fuzzed_spec_registers_or_is_rejected_cleanly(fuzz_store, text):
    store, folder = fuzz_store
    path = folder / f"spec-{next(_n)}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = table_counts(store.path)
    try:
        spec = load_spec_file(path)
        register_spec(store, spec, source=str(path))
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path)), str(exc)
        assert table_counts(store.path) == before
        return
    assert query(store.path, "SELECT count(*) FROM models WHERE model_id = ?", [spec.model_id]) == [(1,)]
    stored = query(
        store.path,
        "SELECT feature FROM features WHERE model_id = ? AND position IS NOT NULL ORDER BY position",
        [spec.model_id],
    )
    assert [f for (f,) in stored] == list(spec.features)


# -- cases the fuzzers found ------------------------------------------------------------------------
def test_a_spec_with_a_nul_byte_is_one_line(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("\x00model_id: fz\ntask: regression\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_spec_file(path)
    assert str(err.value) == (
        f"{path}: not valid YAML (unacceptable character #x0000: special characters are not allowed "
        'in "<unicode string>", position 0)'
    )


def test_a_parquet_binary_column_is_text_or_rejected_naming_the_row(fuzz_store):
    """Found by bench/fuzz.py: a binary Parquet column with bytes that are not UTF-8 escaped the
    readers as UnicodeDecodeError. Binary columns are read as UTF-8 text, or rejected in one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    store, folder = fuzz_store
    ok = {
        "ts": pa.array(["2026-11-26T01:00:00", "2026-11-26T02:00:00"]),
        "flavor": pa.array([b"vanilla", b"mint"], type=pa.binary()),
        "temperature": pa.array([b"1.5", None], type=pa.binary()),
        "request_id": pa.array(["bin1", "bin2"]),
        "prediction": pa.array(["1", "0"]),
        "score": pa.array([0.7, 0.2]),
    }
    pq.write_table(pa.table(ok), folder / "binary-ok.parquet")
    assert (
        check_ingest(store, folder, "inference", (folder / "binary-ok.parquet").read_bytes(), ".parquet") == "ingested"
    )
    bad = {**ok, "temperature": pa.array([b"1.5", b"\x80"], type=pa.binary())}
    pq.write_table(pa.table(bad), folder / "binary-bad.parquet")
    path = folder / "binary-bad.parquet"
    from lib.ingest.pipeline import ingest_file as ingest

    outcome = ingest(store, "inference", MODEL, path)
    assert outcome.status == "rejected" and outcome.message == f"{path}: column temperature, row 2: not UTF-8 text"
