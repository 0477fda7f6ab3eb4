"""Ingestion through the Python API: every validation rule, the accepted cases, all or nothing,
several files, idempotent re-ingest and late labels (DESIGN.md "Files", "Precise rules")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fixtures import (  # noqa: F401
    BAD_FILES,
    BINARY,
    INF_COLUMNS,
    REGRESSION,
    BadFile,
    copy_store,
    csv_file,
    db,
    default_row,
    parquet_file,
    query,
    query_df,
    rows_for,
    run_cli,
    spec_dict,
    standard_template,
    table_counts,
    write_csv_rows,
    write_csv_text,
    write_parquet,
)

from lib.errors import InputError
from lib.ingest.pipeline import Outcome, ingest_file, register_spec
from lib.store import profiles as profile
from lib.store import write as store_write
from lib.store.connection import Store


def _version(db: Path) -> str | None:
    side = Path(str(db) + ".version")
    return side.read_text() if side.exists() else None


def _inf_rows(db: Path, model: str = BINARY) -> pd.DataFrame:
    return query_df(db, f'SELECT * FROM "inf__{model}" ORDER BY file_id, row_no')


def _log(db: Path, file_name: str) -> dict:
    frame = query_df(db, "SELECT * FROM ingest_log WHERE file_name = ?", [file_name])
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()


def _values(db: Path, column: str, file_name: str, model: str = BINARY) -> list:
    """One stored column of one ingested file, in row order, as Python values (NULL -> None)."""
    file_id = _log(db, file_name)["file_id"]
    return [
        r[0]
        for r in query(db, f'SELECT {column} FROM "inf__{model}" WHERE file_id = ? ORDER BY row_no', [int(file_id)])
    ]


def _slot(db: Path, feature: str, model: str = BINARY) -> str:
    return f"f{query(db, 'SELECT slot FROM features WHERE model_id = ? AND feature = ?', [model, feature])[0][0]}"


# -- every rejection: one line naming file, column and row; nothing changes --------------------------
@pytest.mark.parametrize("case", BAD_FILES, ids=[c.id for c in BAD_FILES])
def test_bad_file_is_rejected_with_one_line_and_changes_nothing(case: BadFile, db: Path, tmp_path: Path):
    path = case.make(tmp_path)
    before, version = table_counts(db), _version(db)
    outcome = ingest_file(Store(db), case.kind, case.model, path)
    assert outcome.status == "rejected", outcome
    assert outcome.rows == 0
    assert "\n" not in outcome.message
    assert outcome.message.startswith(case.prefix(path)), outcome.message
    assert case.reason in outcome.message[len(case.prefix(path)) :], outcome.message
    assert outcome.line() == outcome.message
    assert table_counts(db) == before
    assert _version(db) == version


def test_bad_file_corpus_covers_every_rule():
    """Guard against the corpus silently shrinking: each rule of DESIGN.md has a case."""
    ids = {c.id for c in BAD_FILES}
    for needed in (
        "ts-empty-csv",
        "ts-null-parquet",
        "ts-unparseable-csv",
        "ts-unparseable-parquet",
        "prediction-empty-csv",
        "numeric-text-csv",
        "reference-label-empty-csv",
        "labels-label-empty",
        "reference-feature-missing",
        "score-column-missing",
        "id-column-missing",
        "duplicate-column-csv",
        "timestamp-column-missing",
        "prediction-column-missing",
        "unknown-model",
        "labels-duplicate-id",
        "unsupported-json",
        "non-utf8-row",
        "ragged-short-row",
        "empty-csv",
    ):
        assert needed in ids


def test_unknown_kind_is_an_input_error(db: Path, tmp_path: Path):
    path = csv_file(tmp_path, "x.csv", "inference")
    with pytest.raises(InputError, match="unknown kind 'predictions'"):
        ingest_file(Store(db), "predictions", BINARY, path)


def test_no_store_yet_means_unknown_model_and_no_store_is_created(tmp_path: Path):
    path = csv_file(tmp_path, "x.csv", "inference")
    db = tmp_path / "none" / "store.duckdb"
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    assert outcome.status == "rejected"
    assert outcome.message.startswith(f"{path}: unknown model 'icecream'")
    assert not db.exists()


# -- accepted cases ----------------------------------------------------------------------------------
def test_missing_feature_is_stored_null_and_extra_column_logged_not_stored(db: Path, tmp_path: Path):
    header, rows = rows_for("inference", n=5, drop=("temperature",), add={"upstream_debug": "x", "zz": "1"})
    path = write_csv_rows(tmp_path / "schema-change.csv", header, rows)
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    assert outcome.status == "ingested" and outcome.rows == 5
    assert "missing feature columns stored as NULL: temperature" in outcome.message
    assert "extra columns not stored: upstream_debug, zz" in outcome.message
    log = _log(db, "schema-change.csv")
    assert list(log["missing_features"]) == ["temperature"]
    assert list(log["extra_columns"]) == ["upstream_debug", "zz"]
    assert list(log["columns"]) == header
    assert log["rows"] == 5 and log["kind"] == "inference" and log["outcome"] == "ingested"
    stored = _inf_rows(db)
    new = stored[stored["file_id"] == log["file_id"]]
    assert new[_slot(db, "temperature")].isna().all()
    assert new[_slot(db, "flavor")].tolist() == [r[header.index("flavor")] for r in rows]
    columns = set(stored.columns)
    assert columns == {
        "file_id",
        "row_no",
        "ts",
        "hour",
        "rid",
        "prediction",
        "pred_num",
        "score",
        "label",
        "f0",
        "f1",
        "f2",
    }
    assert "x" not in set(np.asarray(stored.astype(str).values).ravel())


def test_timestamps_are_normalized_to_utc(db: Path, tmp_path: Path):
    stamps = [
        "2026-11-26T10:30:00+02:00",
        "2026-11-26T10:30:00",
        "2026-11-26T10:30:00Z",
        "2026-11-26 10:30:00-05:30",
        "2026-11-26",
        "2026-11-26T10:30:00.250+00:00",
    ]
    expected = [
        "2026-11-26 08:30:00",
        "2026-11-26 10:30:00",
        "2026-11-26 10:30:00",
        "2026-11-26 16:00:00",
        "2026-11-26 00:00:00",
        "2026-11-26 10:30:00.250",
    ]
    header, rows = rows_for("inference", n=len(stamps), set={i + 1: {"ts": s} for i, s in enumerate(stamps)})
    path = write_csv_rows(tmp_path / "tz.csv", header, rows)
    assert ingest_file(Store(db), "inference", BINARY, path).status == "ingested"
    new = _inf_rows(db).query(f"file_id == {_log(db, 'tz.csv')['file_id']}")
    assert new["ts"].tolist() == [pd.Timestamp(e) for e in expected]
    # hour: the whole hour ending at or after the timestamp
    assert new["hour"].tolist() == [
        pd.Timestamp(e)
        for e in [
            "2026-11-26 09:00",
            "2026-11-26 11:00",
            "2026-11-26 11:00",
            "2026-11-26 16:00",
            "2026-11-26 00:00",
            "2026-11-26 11:00",
        ]
    ]


def test_unix_seconds_csv_and_parquet_and_tz_aware_parquet(db: Path, tmp_path: Path):
    secs = int(pd.Timestamp("2026-11-26 08:30:00", tz="UTC").timestamp())
    header, rows = rows_for("inference", n=2, set={1: {"ts": str(secs)}, 2: {"ts": str(secs + 0.5)}})
    csv_path = write_csv_rows(tmp_path / "unix.csv", header, rows)
    pq_int = parquet_file(
        tmp_path,
        "unix-int.parquet",
        "inference",
        n=2,
        types={"ts": pa.int64()},
        set={1: {"ts": secs}, 2: {"ts": secs + 3600}},
        add={},
    )
    berlin = pd.Timestamp("2026-11-26 10:30:00", tz="Europe/Berlin")
    pq_tz = parquet_file(
        tmp_path,
        "tz.parquet",
        "inference",
        n=2,
        types={"ts": pa.timestamp("us", tz="Europe/Berlin")},
        set={1: {"ts": berlin}, 2: {"ts": berlin + pd.Timedelta(minutes=1)}},
    )
    for p in (csv_path, pq_int, pq_tz):
        assert ingest_file(Store(db), "inference", BINARY, p).status == "ingested", p
    stored = _inf_rows(db)

    def ts_of(name):
        return stored[stored["file_id"] == _log(db, name)["file_id"]]["ts"].tolist()

    assert ts_of("unix.csv") == [pd.Timestamp("2026-11-26 08:30:00"), pd.Timestamp("2026-11-26 08:30:00.5")]
    assert ts_of("unix-int.parquet") == [pd.Timestamp("2026-11-26 08:30:00"), pd.Timestamp("2026-11-26 09:30:00")]
    assert ts_of("tz.parquet") == [pd.Timestamp("2026-11-26 09:30:00"), pd.Timestamp("2026-11-26 09:31:00")]


def test_unix_seconds_and_iso_mixed_in_one_column(db: Path, tmp_path: Path):
    secs = int(pd.Timestamp("2026-11-26 08:30:00", tz="UTC").timestamp())
    header, rows = rows_for("inference", n=2, set={1: {"ts": str(secs)}, 2: {"ts": "2026-11-26T12:00:00+01:00"}})
    path = write_csv_rows(tmp_path / "mixed.csv", header, rows)
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    assert outcome.status == "ingested", outcome
    new = _inf_rows(db).query(f"file_id == {_log(db, 'mixed.csv')['file_id']}")
    assert new["ts"].tolist() == [pd.Timestamp("2026-11-26 08:30"), pd.Timestamp("2026-11-26 11:00")]


def test_csv_values_na_is_a_category_empty_is_null_nan_is_null_inf_kept(db: Path, tmp_path: Path):
    cells = {
        1: {"region": "NA", "temperature": "NaN"},
        2: {"region": None, "temperature": "nan"},
        3: {"region": "N/A", "temperature": "inf"},
        4: {"region": "null", "temperature": "-inf"},
        5: {"region": "NA", "temperature": None},
        6: {"region": "None", "temperature": "-Infinity"},
        7: {"region": "EU", "temperature": " 1e3 "},
    }
    header, rows = rows_for("inference", n=7, set=cells)
    path = write_csv_rows(tmp_path / "values.csv", header, rows)
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    assert outcome.status == "ingested", outcome
    new = _inf_rows(db).query(f"file_id == {_log(db, 'values.csv')['file_id']}")
    region = _values(db, _slot(db, "region"), "values.csv")
    assert region == ["NA", None, "N/A", "null", "NA", "None", "EU"]
    temp = new[_slot(db, "temperature")].to_numpy()
    assert np.isnan(temp[[0, 1, 4]]).all()
    assert temp[2] == np.inf and temp[3] == -np.inf and temp[5] == -np.inf and temp[6] == 1000.0
    # ±inf counted out of range (and as inf), NaN / empty counted as NULL
    slot = int(_slot(db, "temperature")[1:])
    qual = query(
        db,
        "SELECT sum(n_null), sum(n_below), sum(n_above), sum(n_inf) FROM prof_qual_h q "
        "WHERE model_id = ? AND slot = ? AND hour IN (SELECT DISTINCT hour FROM inf__icecream "
        "WHERE file_id = ?)",
        [BINARY, slot, int(new["file_id"].iloc[0])],
    )[0]
    ref_max = query(db, "SELECT max(f1) FROM ref__icecream")[0][0]
    assert ref_max < 1000
    # The hours of this file are shared with the seed file (no out-of-range values there)
    assert qual == (3, 2, 2, 3)  # NULL: NaN, nan, empty; below: -inf, -Infinity; above: inf, 1000


def test_parquet_categories_compare_as_text(db: Path, tmp_path: Path):
    ints = parquet_file(
        tmp_path,
        "int.parquet",
        "inference",
        n=3,
        types={"flavor": pa.int64()},
        set={1: {"flavor": 1}, 2: {"flavor": 2}, 3: {"flavor": 1}},
    )
    ints_null = parquet_file(
        tmp_path,
        "int-null.parquet",
        "inference",
        n=3,
        types={"flavor": pa.int64()},
        set={1: {"flavor": 1}, 2: {"flavor": None}, 3: {"flavor": 10}},
    )
    floats = parquet_file(
        tmp_path,
        "float.parquet",
        "inference",
        n=3,
        types={"flavor": pa.float64()},
        set={1: {"flavor": 1.0}, 2: {"flavor": 2.5}, 3: {"flavor": None}},
    )
    for p in (ints, ints_null, floats):
        assert ingest_file(Store(db), "inference", BINARY, p).status == "ingested"

    def values(name):
        return _values(db, _slot(db, "flavor"), name)

    assert values("int.parquet") == ["1", "2", "1"]
    assert values("int-null.parquet") == ["1", None, "10"]  # a NULL must not turn 1 into "1.0"
    assert values("float.parquet") == ["1.0", "2.5", None]


def test_parquet_integer_ids_with_nulls_join_integer_labels(db: Path, tmp_path: Path):
    """An int64 id column with a NULL must keep "7" as "7" (not "7.0"), or late labels never join."""
    inf = parquet_file(
        tmp_path,
        "ids.parquet",
        "inference",
        n=3,
        types={"request_id": pa.int64()},
        set={1: {"request_id": 7001}, 2: {"request_id": None}, 3: {"request_id": 7003}},
    )
    labels = write_parquet(
        tmp_path / "labels.parquet", {"request_id": pa.array([7001, 7003], pa.int64()), "label": pa.array(["1", "0"])}
    )
    assert ingest_file(Store(db), "inference", BINARY, inf).status == "ingested"
    assert ingest_file(Store(db), "labels", BINARY, labels).status == "ingested"
    joined = query(
        db,
        "SELECT i.rid, l.label FROM inf__icecream i JOIN labels l ON l.rid = i.rid "
        "AND l.model_id = 'icecream' ORDER BY i.rid",
    )
    assert joined == [("7001", "1"), ("7003", "0")]


def test_header_only_files_ingest_zero_rows(db: Path, tmp_path: Path):
    header, _ = rows_for("inference", n=1)
    csv_path = write_csv_text(tmp_path / "header-only.csv", ",".join(header) + "\n")
    pq_path = parquet_file(tmp_path, "zero.parquet", "inference", n=1)
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(pq_path).slice(0, 0), pq_path)
    before = table_counts(db)
    for p in (csv_path, pq_path):
        outcome = ingest_file(Store(db), "inference", BINARY, p)
        assert (outcome.status, outcome.rows) == ("ingested", 0), outcome
    after = table_counts(db)
    assert after["inf__icecream"] == before["inf__icecream"]
    assert after["ingest_log"] == before["ingest_log"] + 2
    assert _log(db, "header-only.csv")["rows"] == 0


def test_csv_with_byte_order_mark_and_quoted_fields(db: Path, tmp_path: Path):
    text = (
        "\ufeff"
        + ",".join(INF_COLUMNS)
        + "\n"
        + '2026-11-26T10:00:00,r1,"mint, extra",21.5,"NA",1,0.5\n'
        + '2026-11-26T10:00:00,r2,"two\nlines",22.5,EU,0,0.25\n'
        + "2026-11-26T10:00:00,r3,mint,bad,EU,0,0.25\n"
    )
    path = write_csv_text(tmp_path / "bom.csv", text)
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    # data rows are numbered as records, not lines: the quoted newline does not shift row 3
    assert outcome.status == "rejected"
    assert outcome.message.startswith(f"{path}: column temperature, row 3: 'bad'")
    write_csv_text(path, text.rsplit("2026", 1)[0])
    assert ingest_file(Store(db), "inference", BINARY, path).status == "ingested"
    new = _inf_rows(db).query(f"file_id == {_log(db, 'bom.csv')['file_id']}")
    assert new[_slot(db, "flavor")].tolist() == ["mint, extra", "two\nlines"]
    assert new[_slot(db, "region")].tolist() == ["NA", "EU"]
    assert new["ts"].notna().all()


def test_reference_snapshot_stored_and_versioned(db: Path, tmp_path: Path):
    path = csv_file(tmp_path, "ref2.csv", "reference", n=12, set={2: {"region": "NA"}})
    assert ingest_file(Store(db), "reference", BINARY, path).status == "ingested"
    snaps = query(db, "SELECT snapshot_id, rows, positive_class FROM snapshots WHERE model_id = ? ORDER BY 1", [BINARY])
    assert snaps == [(1, 40, "1"), (2, 12, "1")]
    ref = query_df(db, "SELECT * FROM ref__icecream WHERE snapshot_id = 2 ORDER BY row_no")
    header, rows = rows_for("reference", n=12, set={2: {"region": "NA"}})
    assert ref["label"].tolist() == [r[header.index("label")] for r in rows]
    assert ref["f2"].tolist() == [r[header.index("region")] for r in rows]
    assert ref["score"].tolist() == [float(r[header.index("score")]) for r in rows]


# -- all or nothing --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_error_in_the_middle_of_a_big_file_changes_nothing(fmt: str, db: Path, tmp_path: Path):
    n = 10_000
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "ts": (pd.Timestamp("2026-11-27") + pd.to_timedelta(np.arange(n) * 7, unit="s")).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "request_id": [f"big{i}" for i in range(n)],
            "flavor": rng.choice(["mint", "lemon"], n),
            "temperature": rng.normal(20, 5, n).round(2).astype(str),
            "region": "EU",
            "prediction": "1",
            "score": "0.5",
        }
    )
    frame.loc[4999, "ts"] = "2026-11-27T99:00:00"  # row 5000
    path = tmp_path / f"big.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.loc[4999, "ts"] = "2026-11-27T10:00:00"
        frame.loc[4999, "temperature"] = "twenty"  # row 5000, in a text column of a Parquet file
        write_parquet(path, frame)
    before, version = table_counts(db), _version(db)
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    assert outcome.status == "rejected"
    column = "ts" if fmt == "csv" else "temperature"
    assert outcome.message.startswith(f"{path}: column {column}, row 5000: ")
    assert table_counts(db) == before and _version(db) == version
    # the same file, fixed, goes in whole
    frame.loc[4999, "ts"] = "2026-11-27T10:00:00"
    frame.loc[4999, "temperature"] = "20.0"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        write_parquet(path, frame)
    assert ingest_file(Store(db), "inference", BINARY, path).rows == n
    assert table_counts(db)["inf__icecream"] == before["inf__icecream"] + n


def test_failure_inside_the_write_transaction_rolls_back_everything(db: Path, tmp_path: Path, monkeypatch):
    """Rows are inserted before the profiles: a failure while profiling must leave no row behind."""
    path = csv_file(tmp_path, "ok.csv", "inference", n=20)
    before, version = table_counts(db), _version(db)

    def boom(*a, **k):
        raise RuntimeError("disk full while profiling")

    monkeypatch.setattr(profile, "profile_inference", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(Store(db), "inference", BINARY, path)
    assert table_counts(db) == before and _version(db) == version
    monkeypatch.undo()
    assert ingest_file(Store(db), "inference", BINARY, path).status == "ingested"
    assert table_counts(db)["inf__icecream"] == before["inf__icecream"] + 20


def test_labels_failure_inside_transaction_keeps_old_labels(db: Path, tmp_path: Path, monkeypatch):
    first = csv_file(tmp_path, "l1.csv", "labels", n=5)
    assert ingest_file(Store(db), "labels", BINARY, first).status == "ingested"
    before = query(db, "SELECT rid, label, file_id FROM labels ORDER BY rid")
    second = csv_file(tmp_path, "l2.csv", "labels", n=5, set={i: {"label": "0"} for i in range(1, 6)})

    def boom(*a, **k):
        raise RuntimeError("crash after the labels were replaced")

    monkeypatch.setattr(store_write, "reprofile_model", boom)
    with pytest.raises(RuntimeError):
        ingest_file(Store(db), "labels", BINARY, second)
    assert query(db, "SELECT rid, label, file_id FROM labels ORDER BY rid") == before


# -- several files, idempotency -------------------------------------------------------------------
def test_several_files_each_its_own_unit(db: Path, tmp_path: Path):
    good1 = csv_file(tmp_path, "good1.csv", "inference", n=6)
    bad = csv_file(tmp_path, "bad.csv", "inference", n=6, set={4: {"ts": "soon"}})
    good2 = csv_file(tmp_path, "good2.csv", "inference", n=9, set={i: {"request_id": f"g2-{i}"} for i in range(1, 10)})
    before = table_counts(db)
    outcomes = [ingest_file(Store(db), "inference", BINARY, p) for p in (good1, bad, good2)]
    assert [o.status for o in outcomes] == ["ingested", "rejected", "ingested"]
    assert [o.rows for o in outcomes] == [6, 0, 9]
    after = table_counts(db)
    assert after["inf__icecream"] == before["inf__icecream"] + 15
    assert after["ingest_log"] == before["ingest_log"] + 2
    names = [r[0] for r in query(db, "SELECT file_name FROM ingest_log ORDER BY file_id")]
    assert names[-2:] == ["good1.csv", "good2.csv"] and "bad.csv" not in names


def test_reingest_same_content_is_skipped(db: Path, tmp_path: Path):
    path = csv_file(tmp_path, "once.csv", "inference", n=7)
    store = Store(db)
    assert ingest_file(store, "inference", BINARY, path) == Outcome(str(path), "ingested", 7, "7 rows")
    counts, version = table_counts(db), _version(db)
    again = ingest_file(store, "inference", BINARY, path)
    assert again.status == "skipped" and again.rows == 0
    assert again.line() == f"{path}: skipped (already ingested: same content, model and kind)"
    # the same bytes under another name are the same file
    copy = write_csv_text(tmp_path / "renamed.csv", path.read_bytes())
    assert ingest_file(store, "inference", BINARY, copy).status == "skipped"
    assert table_counts(db) == counts and _version(db) == version


def test_same_bytes_for_another_kind_is_not_skipped(db: Path, tmp_path: Path):
    path = write_csv_rows(tmp_path / "ids.csv", ["request_id", "label"], [["r1", "1"], ["r2", "0"]])
    store = Store(db)
    assert ingest_file(store, "labels", BINARY, path).status == "ingested"
    assert ingest_file(store, "labels", BINARY, path).status == "skipped"
    assert ingest_file(store, "labels", REGRESSION, path).status == "ingested"


def test_rejected_file_is_not_remembered(db: Path, tmp_path: Path):
    path = csv_file(tmp_path, "twice.csv", "inference", set={2: {"temperature": "hot"}})
    store = Store(db)
    first = ingest_file(store, "inference", BINARY, path)
    second = ingest_file(store, "inference", BINARY, path)
    assert first.status == second.status == "rejected"
    assert first.message == second.message


def test_regression_nan_label_in_inference_is_null_and_not_counted(db: Path, tmp_path: Path):
    """Numeric NaN is NULL: a NaN label must not count as a labelled row (it would enter n but
    not the error sums, and bend RMSE, MAE and R²)."""
    path = csv_file(
        tmp_path,
        "reg-nan-label.csv",
        "inference",
        model=REGRESSION,
        n=4,
        set={i: {"request_id": f"n{i}", "label": "2.0"} for i in range(1, 5)}
        | {2: {"request_id": "n2", "label": "NaN"}},
    )
    assert ingest_file(Store(db), "inference", REGRESSION, path).status == "ingested"
    assert _values(db, "label", "reg-nan-label.csv", REGRESSION) == ["2.0", None, "2.0", "2.0"]
    preds = [1.25 * i for i in (1, 3, 4)]
    n, sse = query(db, "SELECT sum(n), sum(sse) FROM prof_reg WHERE model_id = ?", [REGRESSION])[0]
    assert n == 3 and sse == pytest.approx(sum((p - 2.0) ** 2 for p in preds))


# -- late labels -----------------------------------------------------------------------------------
def _effective_labels(db: Path) -> dict[str, str | None]:
    return dict(
        query(
            db,
            "SELECT i.rid, coalesce(l.label, i.label) FROM inf__icecream i LEFT JOIN labels l "
            "ON l.model_id = 'icecream' AND l.rid = i.rid WHERE i.rid LIKE 'late%'",
        )
    )


def _cls_total(db: Path) -> dict[tuple[str, str], int]:
    return {
        (a, b): int(n)
        for a, b, n in query(
            db, "SELECT label, prediction, sum(n) FROM prof_cls WHERE model_id = 'icecream' GROUP BY 1, 2"
        )
    }


def test_late_labels_win_override_and_wait_for_their_inference(db: Path, tmp_path: Path):
    store = Store(db)
    ids = {i: {"request_id": f"late{i}"} for i in range(1, 7)}
    logged = csv_file(tmp_path, "logged.csv", "inference", n=6, set=ids, add={"label": "0"})
    assert ingest_file(store, "inference", BINARY, logged).status == "ingested"
    assert _effective_labels(db) == {f"late{i}": "0" for i in range(1, 7)}
    base = _cls_total(db)
    # a labels file wins over the logged label; it also names ids not ingested yet (late7, late8)
    l1 = write_csv_rows(
        tmp_path / "l1.csv", ["request_id", "label"], [["late1", "1"], ["late2", "1"], ["late7", "1"], ["late8", "0"]]
    )
    assert ingest_file(store, "labels", BINARY, l1).status == "ingested"
    assert _effective_labels(db) == {"late1": "1", "late2": "1", "late3": "0", "late4": "0", "late5": "0", "late6": "0"}
    # a later labels file wins over the earlier one
    l2 = write_csv_rows(tmp_path / "l2.csv", ["request_id", "label"], [["late2", "0"], ["late7", "0"]])
    assert ingest_file(store, "labels", BINARY, l2).status == "ingested"
    assert _effective_labels(db)["late2"] == "0" and _effective_labels(db)["late1"] == "1"
    # the inference for late7 / late8 arrives after their labels: they join now
    later = csv_file(
        tmp_path,
        "later.csv",
        "inference",
        n=2,
        set={1: {"request_id": "late7", "prediction": "1"}, 2: {"request_id": "late8", "prediction": "0"}},
    )
    assert ingest_file(store, "inference", BINARY, later).status == "ingested"
    eff = _effective_labels(db)
    assert eff["late7"] == "0" and eff["late8"] == "0"
    assert query(db, "SELECT rid, label FROM labels WHERE model_id = 'icecream' AND rid LIKE 'late%' ORDER BY rid") == [
        ("late1", "1"),
        ("late2", "0"),
        ("late7", "0"),
        ("late8", "0"),
    ]
    # the performance profile counts each labelled row once, with its effective label
    total = _cls_total(db)
    diff = {k: total.get(k, 0) - base.get(k, 0) for k in set(total) | set(base)}
    diff = {k: v for k, v in diff.items() if v}
    # late1: logged 0 -> 1 with prediction 1: (0,1) -1, (1,1) +1; late7 (label 0, prediction 1): (0,1) +1;
    # late8 (label 0, prediction 0): (0,0) +1; late2 went 0 -> 1 -> 0: no change
    assert diff == {("1", "1"): 1, ("0", "0"): 1}


def test_labels_for_the_seed_inference_change_only_performance_profiles(db: Path, tmp_path: Path):
    before = {
        t: query(db, f"SELECT * FROM {t} WHERE model_id = 'icecream' ORDER BY ALL")
        for t in ("prof_rows", "prof_num_h", "prof_cat_h", "prof_qual_h")
    }
    labels = csv_file(tmp_path, "seed-labels.csv", "labels", n=30)
    assert ingest_file(Store(db), "labels", BINARY, labels).status == "ingested"
    for t, rows in before.items():
        assert query(db, f"SELECT * FROM {t} WHERE model_id = 'icecream' ORDER BY ALL") == rows, t
    n = query(db, "SELECT sum(n) FROM prof_cls WHERE model_id = 'icecream'")[0][0]
    assert n == 30
    auc = query(db, "SELECT sum(n_pos), sum(n_neg) FROM prof_auc WHERE model_id = 'icecream'")[0]
    labels_text = [default_row("labels", i)["label"] for i in range(1, 31)]
    assert auc == (labels_text.count("1"), labels_text.count("0"))


def test_labels_in_a_write_group_replace_the_groups_waiting_performance_rows(db: Path, tmp_path: Path):
    """In a Store.group (the demo's writes) profile rows wait for the commit; a labels file
    re-profiles its model's performance, and that model's waiting performance rows must go, not
    be inserted beside the new ones: the grouped store equals the one written file by file."""
    header, rows = rows_for("inference", n=20, add={"label": "1"})
    for r in rows:
        r[header.index("request_id")] = "g" + r[header.index("request_id")]
    files = [
        ("inference", write_csv_rows(tmp_path / "logged.csv", header, rows)),
        (
            "labels",
            write_csv_rows(tmp_path / "late.csv", ["request_id", "label"], [[f"gr{i}", "0"] for i in range(1, 11)]),
        ),
    ]
    plain, grouped = Store(db), Store(copy_store(db, tmp_path / "grouped"))
    for kind, path in files:
        assert ingest_file(plain, kind, BINARY, path).status == "ingested"
    with grouped.batch(), grouped.group():
        for kind, path in files:
            assert ingest_file(grouped, kind, BINARY, path).status == "ingested"
    by_label = "SELECT label, sum(n) FROM prof_cls WHERE model_id = ? GROUP BY label ORDER BY label"
    # 20 rows logged with label 1, the late labels file says 0 for 10 of them
    assert query(db, by_label, [BINARY]) == query(grouped.path, by_label, [BINARY]) == [("0", 10), ("1", 10)]
    for table in ("prof_cls", "prof_auc"):
        sql = f"SELECT * FROM {table} WHERE model_id = ? ORDER BY ALL"
        assert query(db, sql, [BINARY]) == query(grouped.path, sql, [BINARY])


def test_a_feature_added_in_a_write_group_counts_the_groups_rows_as_null(db: Path, tmp_path: Path):
    """The added feature's NULL counts are read from prof_rows: in a Store.group they must see
    the rows the group wrote before (still waiting for the commit)."""
    inference = csv_file(
        tmp_path, "more.csv", "inference", n=12, set={i: {"request_id": f"m{i}"} for i in range(1, 13)}
    )
    wider = spec_dict(BINARY, features={"temperature": "numeric", "flavor": "categorical", "wind": "numeric"})
    plain, grouped = Store(db), Store(copy_store(db, tmp_path / "grouped"))
    assert ingest_file(plain, "inference", BINARY, inference).status == "ingested"
    register_spec(plain, wider)
    with grouped.batch(), grouped.group():
        assert ingest_file(grouped, "inference", BINARY, inference).status == "ingested"
        register_spec(grouped, wider)
    nulls = "SELECT sum(n_null) FROM prof_qual_h WHERE model_id = ? AND slot = 3"
    total = "SELECT sum(n) FROM prof_rows WHERE model_id = ?"
    assert query(db, nulls, [BINARY]) == query(grouped.path, nulls, [BINARY]) == query(db, total, [BINARY])


def test_labels_the_reference_never_had_are_named_in_the_outcome(db, tmp_path):
    """Labels written as 1.0 / 0.0 (a label column with gaps, saved by pandas) never equal the
    reference's 1 / 0: accepted, stored as given, and the outcome says so."""
    store = Store(db)
    floats = {i: {"label": f"{i % 2}.0"} for i in range(1, 9)}
    path = csv_file(tmp_path, "float-labels.csv", "labels", set=floats)
    outcome = ingest_file(store, "labels", BINARY, path)
    assert outcome.status == "ingested"
    assert outcome.message.endswith(
        "labels or predictions the reference never had (values compare as text, 1 and 1.0 differ): 0.0, 1.0"
    )
    proc = run_cli(
        "ingest",
        "inference",
        "--model",
        BINARY,
        str(csv_file(tmp_path, "new-class.csv", "inference", add={"label": "2"}, set={3: {"prediction": "7"}})),
        db=db,
    )
    assert proc.returncode == 0
    assert proc.stdout.strip().endswith("(values compare as text, 1 and 1.0 differ): 2, 7)")


def test_known_labels_and_regression_models_get_no_class_note(db, tmp_path):
    store = Store(db)
    assert "never had" not in ingest_file(store, "labels", BINARY, csv_file(tmp_path, "ok.csv", "labels")).message
    reg = ingest_file(store, "labels", REGRESSION, csv_file(tmp_path, "reg.csv", "labels", model=REGRESSION))
    assert reg.status == "ingested" and "never had" not in reg.message


def test_a_csv_with_an_unnamed_index_column_is_accepted_with_it_as_an_extra_column(db, tmp_path):
    """pandas' to_csv writes the index as a first column without a name: DESIGN.md's list of
    reasons to reject a file does not include it; it is an extra column, named as pandas reads it."""
    header, rows = rows_for("inference")
    path = write_csv_rows(tmp_path / "with-index.csv", [""] + header, [[str(i)] + r for i, r in enumerate(rows)])
    outcome = ingest_file(Store(db), "inference", BINARY, path)
    assert outcome.status == "ingested" and outcome.rows == len(rows)
    assert "extra columns not stored: Unnamed: 0" in outcome.message
    assert pd.read_csv(path).columns[0] == "Unnamed: 0"  # the name pandas gives it
    logged = query(db, "SELECT extra_columns FROM ingest_log WHERE file_name = 'with-index.csv'")
    assert list(logged[0][0]) == ["Unnamed: 0"]
