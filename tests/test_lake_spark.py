"""`sync --engine spark` (issue 11): Spark's profile rows == the DuckDB engine's == `ingest`'s, row for row.

One SparkSession (local[2]) for the module: Spark starts in seconds, not milliseconds. The lake
is tests/lake_fixtures.py's (Parquet and CSV, NULLs, ±inf, unseen categories, hour-edge
timestamps and offsets, logged and late labels, a missing column, a bad file). Without Java the
session cannot start and these tests fail: they never skip.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fixtures import T0, inference_frame, reference_frame, run_cli, spec_dict
from lake_fixtures import BINARY, REGRESSION, _csv, _edgy, _spec, build_lake
from test_lake import assert_same_profiles

from lib.ingest import spark_jobs
from lib.ingest.lake import sync_lake
from lib.ingest.pipeline import ingest_file, register_spec
from lib.ingest.spark_profile import spark_profiler, stop
from lib.spec import load_spec_file
from lib.store.connection import Store

pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("spark-lake")
    lake, order = build_lake(root)
    ingested = root / "ingested.duckdb"
    store = Store(ingested)
    for model in (REGRESSION, BINARY):
        register_spec(store, load_spec_file(lake / model / "spec.yaml"))
    for model, kind, path in order:
        assert ingest_file(store, kind, model, path).status == "ingested"
    out = {"lake": lake, "ingested": ingested}
    for engine, profile_file in (("duckdb", None), ("spark", spark_profiler("local[2]"))):
        lines: list[tuple[str, bool]] = []
        db = root / f"{engine}.duckdb"
        report = sync_lake(
            Store(db), lake, profile_file=profile_file, emit=lambda line, err, to=lines: to.append((line, err))
        )
        out[engine] = {"db": db, "report": report, "lines": lines}
    yield out
    stop("local[2]")


def test_spark_profiles_equal_duckdb_and_ingest_row_for_row(engines):
    from fixtures import query

    # the segment tables (issue 13) are compared too, and are not empty: both models have segments
    for table in ("prof_seg_rows", "prof_seg_num", "prof_seg_cat", "prof_seg_qual", "prof_seg_cls", "prof_seg_reg"):
        assert query(engines["spark"]["db"], f"SELECT count(*) FROM {table}")[0][0] > 0, table
    codes = query(engines["spark"]["db"], "SELECT DISTINCT seg_code FROM prof_seg_rows ORDER BY 1")
    assert [c for (c,) in codes] == [-2, -1, 0, 1, 2]  # (missing), (other), and ranks 0..2
    assert_same_profiles(engines["spark"]["db"], engines["duckdb"]["db"])
    assert_same_profiles(engines["spark"]["db"], engines["ingested"])


def test_spark_reports_every_file_as_the_duckdb_engine_does(engines):
    # Same outcome lines (ingested with rows and missing columns, the bad file's row and column).
    assert engines["spark"]["lines"] == engines["duckdb"]["lines"]
    errors = [line for line, err in engines["spark"]["lines"] if err]
    assert len(errors) == 1 and errors[0].endswith("part-9-bad.csv: column temperature, row 5: 'warm' is not a number")
    assert engines["spark"]["report"].synced == 8


def test_evaluate_is_the_same_from_both_engines(engines):
    outs = []
    for db in (engines["spark"]["db"], engines["duckdb"]["db"]):
        result = run_cli("evaluate", "--format", "json", "--timeline", "3", db=db)
        assert result.returncode == 0, result.stderr
        outs.append(json.loads(result.stdout))
    assert outs[0] == outs[1] and len(outs[0]["models"]) == 2


def test_a_run_of_files_is_profiled_in_one_set_of_jobs_and_a_bad_one_rejected_alone(engines, tmp_path, monkeypatch):
    # Three CSV files of one schema in one partition, the middle one with text in a numeric
    # feature at row 3: Spark profiles the three together (one hourly aggregation), rejects the
    # bad one with the DuckDB engine's line and writes the other two as the DuckDB engine does.
    lake = tmp_path / "lake"
    folder = lake / BINARY
    _spec(folder, spec_dict(BINARY))
    _csv(folder / "reference" / "ref.csv", reference_frame(400))
    part = folder / "inference" / f"date={T0.strftime('%Y-%m-%d')}"
    for i, name in enumerate(("a.csv", "b.csv", "c.csv")):
        frame = _edgy(
            inference_frame(200, start=T0 + pd.Timedelta(hours=8 * i), seed=40 + i, id_prefix=name, hours=8), i
        )
        if name == "b.csv":
            frame = frame.astype({"temperature": object})
            frame.loc[2, "temperature"] = "cold"
        _csv(part / name, frame)
    calls = []
    real = spark_jobs.hourly_profiles
    monkeypatch.setattr(spark_jobs, "hourly_profiles", lambda *a, **k: calls.append(1) or real(*a, **k))
    lines = {}
    for engine, profile_file in (("duckdb", None), ("spark", spark_profiler("local[2]"))):
        got: list[tuple[str, bool]] = []
        report = sync_lake(
            Store(tmp_path / f"{engine}.duckdb"),
            lake,
            profile_file=profile_file,
            emit=lambda ln, err, to=got: to.append((ln, err)),
        )
        assert (report.synced, report.rejected) == (3, 1), engine  # the reference and two inference files
        lines[engine] = got
    assert len(calls) == 1
    assert lines["spark"] == lines["duckdb"]
    assert [ln for ln, err in lines["spark"] if err] == [
        f"{part / 'b.csv'}: column temperature, row 3: 'cold' is not a number"
    ]
    assert_same_profiles(tmp_path / "spark.duckdb", tmp_path / "duckdb.duckdb")


def test_a_run_of_files_costs_five_spark_queries(engines, tmp_path, monkeypatch):
    # The profile of a run of files is a few wide queries, whatever the number of features: the
    # checks (which parse and cache the rows), the long-form count of every slot's bins, values and
    # quality flags, the rows per hour, the classes, and the scores (prof_auc and prof_score_h).
    from pyspark.sql.classic.dataframe import DataFrame

    lake = tmp_path / "lake"
    folder = lake / BINARY
    _spec(folder, spec_dict(BINARY))
    _csv(folder / "reference" / "ref.csv", reference_frame(300))
    part = folder / "inference" / f"date={T0.strftime('%Y-%m-%d')}"
    for i, name in enumerate(("a.csv", "b.csv")):
        _csv(part / name, _edgy(inference_frame(150, start=T0 + pd.Timedelta(hours=6 * i), seed=60 + i, hours=6), i))
    actions = []
    for name in ("collect", "toPandas", "count"):
        real = getattr(DataFrame, name)
        monkeypatch.setattr(
            DataFrame, name, lambda self, *a, _r=real, _n=name, **k: actions.append(_n) or _r(self, *a, **k)
        )
    report = sync_lake(Store(tmp_path / "spark.duckdb"), lake, profile_file=spark_profiler("local[2]"))
    assert (report.synced, report.rejected) == (3, 0)
    assert actions == ["collect"] + ["toPandas"] * 4
    sync_lake(Store(tmp_path / "duckdb.duckdb"), lake)
    assert_same_profiles(tmp_path / "spark.duckdb", tmp_path / "duckdb.duckdb")
