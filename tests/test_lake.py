"""`python -m lib sync --lake DIR` (issue 11): a lake profiled in place equals the same files ingested.

One lake (tests/lake_fixtures.py: Parquet and CSV, NULLs, ±inf, unseen categories, hour-edge
timestamps and offsets, logged and late labels, a missing column, one bad file) is synced into
one store and ingested file by file into another. Every profile row must be equal; evaluate's
JSON too; the drill-downs that read raw rows must give the same rows and numbers from the lake
files as from the stored rows; and the inference rows must not be in the lake store.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fixtures import query, query_df, run_cli
from lake_fixtures import BINARY, PROFILE_TABLES, REGRESSION, build_lake

from lib.ingest.lake import sync_lake
from lib.ingest.pipeline import ingest_file, register_spec
from lib.spec import load_spec_file
from lib.store.connection import Store

pytestmark = pytest.mark.xdist_group("lake")


def _version(db: Path) -> int:
    return int(query(db, "SELECT value FROM meta WHERE key = 'data_version'")[0][0])


def profile_rows(db: Path, table: str) -> pd.DataFrame:
    frame = query_df(db, f"SELECT * FROM {table}")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def assert_same_profiles(a: Path, b: Path) -> None:
    for table in PROFILE_TABLES:
        left, right = profile_rows(a, table), profile_rows(b, table)
        assert len(left) > 0 or table in ("prof_auc",) or len(right) == 0, table
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-12, atol=1e-12, obj=table)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("lake")
    lake, order = build_lake(root)
    ingested = root / "ingested.duckdb"
    store = Store(ingested)
    for model in (REGRESSION, BINARY):
        register_spec(store, load_spec_file(lake / model / "spec.yaml"))
    for model, kind, path in order:
        outcome = ingest_file(store, kind, model, path)
        assert outcome.status == "ingested", outcome
    synced = root / "synced.duckdb"
    lines: list[tuple[str, bool]] = []
    report = sync_lake(Store(synced), lake, emit=lambda line, err: lines.append((line, err)))
    return {"root": root, "lake": lake, "ingested": ingested, "synced": synced, "report": report, "lines": lines}


def test_sync_writes_the_profile_rows_ingest_writes(stores):
    assert_same_profiles(stores["synced"], stores["ingested"])
    # Every file's ingest-log entry: same ids, rows and columns; the file name is the lake path.
    log = query_df(
        stores["synced"], "SELECT file_id, kind, file_name, rows, missing_features FROM ingest_log ORDER BY 1"
    )
    ref = query_df(
        stores["ingested"], "SELECT file_id, kind, file_name, rows, missing_features FROM ingest_log ORDER BY 1"
    )
    assert list(log["rows"]) == list(ref["rows"]) and list(log["kind"]) == list(ref["kind"])
    lake = str(stores["lake"].resolve())
    assert log["file_name"][1] == f"{lake}/{REGRESSION}/inference/date=2026-11-20/part-0.parquet"
    assert [list(m) for m in log["missing_features"]] == [list(m) for m in ref["missing_features"]]
    assert list(log["missing_features"][2]) == ["region"]


def test_sync_copies_no_inference_rows(stores):
    for model in (BINARY, REGRESSION):
        assert query(stores["synced"], f'SELECT count(*) FROM "inf__{model}"')[0][0] == 0
        assert query(stores["ingested"], f'SELECT count(*) FROM "inf__{model}"')[0][0] > 0
    assert query(stores["synced"], "SELECT sum(n) FROM prof_rows WHERE model_id = ?", [BINARY])[0][0] == 900


def test_a_bad_file_is_one_line_and_the_others_sync(stores):
    errors = [line for line, err in stores["lines"] if err]
    assert errors == [
        f"{stores['lake'].resolve()}/{BINARY}/inference/date=2026-11-22/part-9-bad.csv: column temperature, row 5: "
        "'warm' is not a number"
    ]
    assert stores["report"].rejected == 1 and stores["report"].synced == 8
    paths = [r[0] for r in query(stores["synced"], "SELECT path FROM lake_files")]
    assert not any("bad" in p for p in paths) and len(paths) == 8


def test_evaluate_json_is_the_same_from_the_lake(stores):
    outs = []
    for key in ("synced", "ingested"):
        result = run_cli("evaluate", "--format", "json", "--timeline", "3", db=stores[key])
        assert result.returncode == 0, result.stderr
        outs.append(json.loads(result.stdout))
    assert outs[0] == outs[1]
    statuses = {m["model_id"]: m["status"] for m in outs[0]["models"]}
    assert statuses == {BINARY: "red", REGRESSION: "red"}  # unseen flavours; a missing feature column
    one = [json.loads(run_cli("evaluate", "--model", BINARY, db=stores[k]).stdout) for k in ("synced", "ingested")]
    assert one[0] == one[1]
    temperature = next(f for f in one[0]["models"][0]["features"] if f["feature"] == "temperature")
    assert temperature["ks"] is not None and temperature["wasserstein"] is not None


def test_a_second_sync_changes_nothing_and_says_so(stores, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(stores["synced"], db)
    shutil.copy(str(stores["synced"]) + ".version", str(db) + ".version")
    before = _version(db)
    result = run_cli("sync", "--lake", str(stores["lake"]), db=db)
    assert result.returncode == 2  # the bad file is still there, and still said
    assert "part-9-bad.csv: column temperature, row 5" in result.stderr
    assert "sync: nothing new (8 files already synced, 1 rejected); the store is unchanged" in result.stdout
    assert _version(db) == before


def test_a_changed_lake_file_is_an_error_naming_it(stores, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(stores["lake"], lake)
    db = tmp_path / "store.duckdb"
    (lake / BINARY / "inference" / "date=2026-11-22" / "part-9-bad.csv").unlink()
    assert run_cli("sync", "--lake", str(lake), db=db).returncode == 0
    target = lake / REGRESSION / "inference" / "date=2026-11-20" / "part-0.parquet"
    shutil.copy(lake / REGRESSION / "inference" / "date=2026-11-21" / "part-0.parquet", target)
    before = _version(db)
    result = run_cli("sync", "--lake", str(lake), db=db)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{target.resolve()}: changed since it was synced (content hash differs); a lake file is never re-read: "
        "write new data as a new file"
    )
    assert _version(db) == before


def test_drill_downs_read_the_same_raw_rows_from_the_lake(stores):
    from lib.store import rows as store_rows

    as_of = pd.Timestamp("2026-11-23 00:00:00")
    synced, ingested = Store(stores["synced"]), Store(stores["ingested"])
    drift = [store_rows.raw_drift(s, BINARY, as_of) for s in (synced, ingested)]
    assert drift[0] == drift[1] and 0 < drift[0]["temperature"]["ks"] < 1
    problems = [
        {"check": "unseen_categories", "feature": "flavor"},
        {"check": "out_of_range", "feature": "temperature"},
        {"check": "missing", "feature": "temperature"},
    ]
    (lake_rows, what), (stored_rows, stored_what) = (
        store_rows.offending_rows(s, BINARY, as_of, problems=problems, window=pd.Timedelta(days=3))
        for s in (synced, ingested)
    )
    assert what == stored_what and len(lake_rows) > 20
    pd.testing.assert_frame_equal(lake_rows, stored_rows)
    # Offsets and on-the-hour timestamps were read as UTC, as the readers read them.
    assert set(lake_rows["problem"]) == {"unseen flavor", "temperature out of range", "temperature missing"}
    plain = [
        store_rows.offending_rows(s, BINARY, as_of, window=pd.Timedelta(days=3))[0]
        .sort_values(["ts", "rid"])  # rows of one second tie in the newest-first order
        .reset_index(drop=True)
        for s in (synced, ingested)
    ]
    pd.testing.assert_frame_equal(plain[0], plain[1])
    assert len(plain[0]) == 500
    res = [store_rows.residuals(s, REGRESSION, as_of) for s in (synced, ingested)]
    pd.testing.assert_frame_equal(res[0], res[1])
    assert len(res[0]) == 480 and res[0]["residual"].sub(-0.25).abs().max() < 0.0011  # both rounded to 3 places


def test_late_labels_and_a_new_reference_in_the_lake_re_profile_like_ingest(stores, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(stores["lake"], lake)
    (lake / BINARY / "inference" / "date=2026-11-22" / "part-9-bad.csv").unlink()
    db, plain = tmp_path / "synced.duckdb", tmp_path / "ingested.duckdb"
    shutil.copy(stores["ingested"], plain)
    assert run_cli("sync", "--lake", str(lake), db=db).returncode == 0
    labels = pd.DataFrame({"request_id": [f"i1-{i}" for i in range(0, 300, 3)], "label": "1"})
    new_labels = lake / BINARY / "labels" / "2026-11-26.csv"
    labels.to_csv(new_labels, index=False)
    from fixtures import reference_frame, write_csv

    new_ref = write_csv(lake / BINARY / "reference" / "2026-11-24.csv", reference_frame(300, seed=9, shift=3.0))
    result = run_cli("sync", "--lake", str(lake), db=db)
    assert result.returncode == 0, result.stderr
    assert "sync: 2 new files profiled" in result.stdout
    for kind, path in (("reference", new_ref), ("labels", new_labels)):
        assert ingest_file(Store(plain), kind, BINARY, path).status == "ingested"
    assert_same_profiles(db, plain)
    n_pos = query(db, "SELECT sum(n) FROM prof_cls WHERE model_id = ? AND label = '1'", [BINARY])[0][0]
    assert n_pos == query(plain, "SELECT sum(n) FROM prof_cls WHERE model_id = ? AND label = '1'", [BINARY])[0][0]
    assert query(db, "SELECT count(*) FROM snapshots WHERE model_id = ?", [BINARY])[0][0] == 2


def test_a_store_from_before_the_lake_is_read_as_it_is(tmp_path):
    # Read connections do not migrate: a version-2 store's drill-down must not look for lake tables.
    import duckdb

    from lib.store import lake, lake_read
    from lib.store.schema import MIGRATIONS

    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    for script in MIGRATIONS[:2]:
        con.execute(script)
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.close()
    with Store(path).read() as con:
        assert lake_read.window_files(con, "m", pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02")) == []
        assert lake.lake_state(con, "m") == lake.LakeState()


def test_a_run_of_a_models_files_opens_the_store_twice_and_writes_what_ingest_writes(tmp_path, monkeypatch):
    # The local engine (lib/ingest/lake_local.py) syncs a model's new files as one run: one read
    # connection, every file prepared outside the lock, then one write connection with a
    # transaction per file; cut every RUN_ROWS rows, the profile rows are the same.
    from fixtures import T0, inference_frame, reference_frame, spec_dict
    from lake_fixtures import _csv, _edgy, _spec

    from lib.ingest import lake_local

    lake = tmp_path / "lake"
    folder = lake / BINARY
    _spec(folder, spec_dict(BINARY))
    _csv(folder / "reference" / "ref.csv", reference_frame(300))
    part = folder / "inference" / f"date={T0.strftime('%Y-%m-%d')}"
    for i in range(3):
        frame = inference_frame(120, start=T0 + pd.Timedelta(hours=5 * i), seed=70 + i, id_prefix=f"r{i}", hours=5)
        _csv(part / f"f{i}.csv", _edgy(frame, i))
    shutil.copy(part / "f0.csv", part / "f3-copy.csv")  # the same bytes again: skipped, as ingest skips it
    opened = []
    real = Store._connect
    monkeypatch.setattr(Store, "_connect", lambda self, **k: opened.append(k["read_only"]) or real(self, **k))
    lines: list[str] = []
    report = sync_lake(Store(tmp_path / "run.duckdb"), lake, emit=lambda line, err: lines.append(line))
    # the spec's registration (a write; no store yet to read the lake state from), the run: one
    # read, one write (ingest_file of each file: a read and a write per file)
    assert opened == [False, True, False]
    assert (report.synced, report.rejected) == (4, 0)
    assert lines[-1] == f"{part / 'f3-copy.csv'}: skipped (already ingested: same content, model and kind)"

    ingested = Store(tmp_path / "ingested.duckdb")
    register_spec(ingested, load_spec_file(folder / "spec.yaml"))
    paths = [folder / "reference" / "ref.csv", *sorted(part.iterdir())]
    for path in paths:
        ingest_file(ingested, "reference" if path.parent.name == "reference" else "inference", BINARY, path)
    assert_same_profiles(tmp_path / "run.duckdb", tmp_path / "ingested.duckdb")

    monkeypatch.setattr(lake_local, "RUN_ROWS", 1)  # every file its own run
    opened.clear()
    sync_lake(Store(tmp_path / "cut.duckdb"), lake)
    assert opened == [False] + [True, False] * 4 + [True]  # the copy: known from the read, skipped
    assert_same_profiles(tmp_path / "cut.duckdb", tmp_path / "ingested.duckdb")
