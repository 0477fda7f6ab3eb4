"""The demo built with its files read, validated and profiled in worker processes
(lib.ingest.pipeline.prepare_file there, write_prepared in the main process) equals the demo built
serially through ingest_file: every profile table row for row, the reference's profiles,
importance and calibration, and evaluate's JSON byte for byte (issue 14)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from lib.demo import build
from lib.store.reprofile import PROFILE_TABLES
from lib.store.seg_profiles import SEG_PERF_TABLES
from tests.test_demo import evaluate_json, store_checksums

SMALL = dict(models=12, days=8, seed=0)
REFERENCE_TABLES = ("ref_profile", "ref_importance", "ref_calibration", "snapshots")


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-workers")
    workers, serial = root / "workers.duckdb", root / "serial.duckdb"
    summary_w = build.build_demo(workers, workers=2, prepare_in_workers=True, **SMALL)
    summary_s = build.build_demo(serial, workers=1, prepare_in_workers=False, **SMALL)
    return {"workers": workers, "serial": serial, "summary_w": summary_w, "summary_s": summary_s}


def table(path: Path, name: str) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(f'SELECT * FROM "{name}"').df()
    finally:
        con.close()
    frame = frame[[c for c in frame.columns if not c.endswith("_at")]]
    keys = [
        c
        for c in frame.columns
        if frame[c].dtype != object or not any(isinstance(v, (list, tuple, np.ndarray)) for v in frame[c])
    ]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("name", PROFILE_TABLES + REFERENCE_TABLES)
def test_profile_tables_equal_row_for_row(stores, name):
    w, s = table(stores["workers"], name), table(stores["serial"], name)
    if name not in ("prof_auc", "prof_reg", *SEG_PERF_TABLES):  # the 12-model fleet has rows in all the others
        assert len(w) > 0
    pd.testing.assert_frame_equal(w, s, check_exact=True)


def test_whole_store_and_evaluate_equal(stores):
    assert store_checksums(stores["workers"]) == store_checksums(stores["serial"])
    assert evaluate_json(stores["workers"]) == evaluate_json(stores["serial"])
    w, s = dict(stores["summary_w"]), dict(stores["summary_s"])
    for summary in (w, s):
        summary.pop("seconds"), summary.pop("db"), summary.pop("ingest_seconds")
    assert w == s and w["files"]["ingested"] > 2 * SMALL["models"]


@pytest.mark.parametrize("sent", [False, True], ids=["in-process", "sent-without-rows"])
def test_a_prepared_inference_file_is_profiled_again_when_the_store_moved_on(tmp_path, sent):
    """The basis check: a file prepared before its reference arrived (no drift bins, no range)
    is written with the reference's bins, as if ingested after it; also when a worker sent it
    without its validated rows (for_transfer: they are rebuilt from the stored frame)."""
    from lib.ingest import pipeline
    from lib.store.connection import Store

    files = tmp_path / "files"
    files.mkdir()
    result = next(build.write_demo_files(files, models=1, days=2, workers=1))[1]
    (ref_kind, ref_path), (inf_kind, inf_path) = result["files"][:2]
    late, usual = Store(tmp_path / "late.duckdb"), Store(tmp_path / "usual.duckdb")
    for store in (late, usual):
        spec = pipeline.register_spec(store, result["spec"], source="demo")
    with late.read() as con:
        stale = pipeline.store_write.profile_basis(con, spec)
    early = pipeline.prepare_file(inf_kind, spec.model_id, inf_path, stale)
    assert early.prepared.profiles["prof_num_h"].empty  # no reference yet: nothing to bin against
    if sent:
        early = early.for_transfer()
        assert early.rows is None and early.n == len(early.prepared.frame) > 0
    assert pipeline.ingest_file(late, ref_kind, spec.model_id, ref_path).status == "ingested"
    assert pipeline.write_prepared(late, early).status == "ingested"
    for kind, path in (ref_kind, ref_path), (inf_kind, inf_path):
        assert pipeline.ingest_file(usual, kind, spec.model_id, path).status == "ingested"
    for name in ("prof_num_h", "prof_qual_h", "prof_cat_h", "prof_rows", f"inf__{spec.model_id}"):
        w, s = table(late.path, name), table(usual.path, name)
        assert len(w) > 0
        pd.testing.assert_frame_equal(w, s, check_exact=True)


@pytest.mark.parametrize("model_id", ["icecream-sales", "lead-score-b2b-us"])  # regression, binary; late labels
def test_a_labels_file_prepared_in_the_worker_writes_what_the_store_would_compute(tmp_path, model_id):
    """The labels file's performance profiles, computed where the model's files were prepared
    (prepare_labels), equal the re-profile from the store that ingest_file does; and when the
    store holds another file by then (an inference file the worker never saw), the write
    re-profiles from the store instead: the prepared profiles would be wrong there."""
    from lib.demo.fleet import plan_fleet
    from lib.demo.generate import generate_model
    from lib.ingest import pipeline
    from lib.spec import parse_spec
    from lib.store.connection import Store
    from lib.store.reprofile import PERF_TABLES

    plan = next(p for p in plan_fleet(12, seed=0) if p.model_id == model_id)
    result = generate_model(plan, 3, build.DEMO_END, 0, str(tmp_path))
    assert [k for k, _ in result["files"]] == ["reference", "inference", "labels"]
    prepared = pipeline.prepare_new_model(parse_spec(result["spec"], source="demo"), result["files"])
    assert isinstance(prepared[2].prepared, pipeline.store_write.PreparedLabels)
    inference = result["files"][1][1]
    extra = tmp_path / "first-rows.parquet"  # the first 200 rows again, in a file of their own
    pd.read_parquet(inference).head(200).to_parquet(extra)

    def perf(store: Store) -> dict[str, pd.DataFrame]:
        return {t: table(store.path, t).drop(columns="model_id") for t in PERF_TABLES}

    worker, store, moved, moved_store = (Store(tmp_path / f"{n}.duckdb") for n in ("w", "s", "m", "ms"))
    for s in (worker, store, moved, moved_store):
        pipeline.register_spec(s, result["spec"], source="demo")
    for p in prepared:
        assert pipeline.write_prepared(worker, p).status == "ingested"
        assert pipeline.write_prepared(moved, p).status == "ingested"
        if p.kind == "inference":
            assert pipeline.ingest_file(moved, "inference", model_id, extra).status == "ingested"
    for kind, path in result["files"][:2] + [("inference", str(extra)), result["files"][2]]:
        assert pipeline.ingest_file(moved_store, kind, model_id, path).status == "ingested"
    for kind, path in result["files"]:
        assert pipeline.ingest_file(store, kind, model_id, path).status == "ingested"
    w, s, m, ms = perf(worker), perf(store), perf(moved), perf(moved_store)
    labelled = "prof_reg" if plan.domain == "icecream" else "prof_cls"
    assert len(w[labelled]) > 0 and w[labelled]["n"].sum() < m[labelled]["n"].sum()  # the extra rows are labelled too
    for t in PERF_TABLES:  # sums of errors may differ in the last bit: rows summed in another order
        pd.testing.assert_frame_equal(w[t], s[t], check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(m[t], ms[t], check_exact=False, rtol=1e-12)


def test_a_reference_sent_without_its_rows_is_prepared_again_when_the_spec_changed(tmp_path):
    """A reference prepared for one spec and sent without its validated rows (for_transfer),
    written after the spec changed: rebuilt from its frame and prepared again, the same snapshot
    as ingesting the file under the new spec."""
    from lib.ingest import pipeline
    from lib.store.connection import Store

    result = next(build.write_demo_files(tmp_path, models=1, days=2, workers=1))[1]
    kind, path = result["files"][0]
    spec = pipeline.register_spec(Store(tmp_path / "sent.duckdb"), result["spec"], source="demo")
    basis = pipeline.store_incoming.Basis(spec, pipeline.store_incoming.first_slots(spec), None, spec.positive_class)
    sent = pipeline.prepare_file(kind, spec.model_id, path, basis).for_transfer()
    assert sent.rows is None and sent.n == len(sent.prepared.frame) > 0
    changed = {**result["spec"], "owner": "someone.else@example.com"}
    sent_store, usual = Store(tmp_path / "sent.duckdb"), Store(tmp_path / "usual.duckdb")
    pipeline.register_spec(sent_store, changed, source="demo")
    pipeline.register_spec(usual, changed, source="demo")
    assert pipeline.write_prepared(sent_store, sent).status == "ingested"
    assert pipeline.ingest_file(usual, kind, spec.model_id, path).status == "ingested"
    for name in ("ref_profile", "snapshots", "ref_importance", f"ref__{spec.model_id}"):
        w, s = table(sent_store.path, name), table(usual.path, name)
        assert len(w) > 0
        pd.testing.assert_frame_equal(w, s, check_exact=True)
