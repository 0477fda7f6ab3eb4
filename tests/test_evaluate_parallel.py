"""Issue 11: a large fleet's chunks are judged by two processes (lib/judge/parallel.py), and
`python -m lib evaluate` infers object strings, not Arrow ones: neither may change a byte of the
JSON — with and without a timeline, for a subset of models (whose detail reads raw rows in the
helper) and with the fleet-wide FDR family. A helper's failure is the caller's error; under an
address-space cap there is one process only."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fixtures import write_spec

from lib.demo.build import build_demo
from lib.errors import StoreError
from lib.judge import parallel
from lib.judge.evaluate import chunks, evaluate
from lib.judge.fleet import load_fleet
from lib.judge.policy import load_policy
from lib.store.connection import Store
from lib.store.read import Reader

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("parallel")
    build_demo(d / "demo.duckdb", models=12, days=10)
    return Store(d / "demo.duckdb"), d


@pytest.fixture
def lean():
    """This process as lean as `python -m lib evaluate` (object strings, no cyclic GC), and so
    its helpers; undone after."""
    undo = parallel.lean_process()
    yield
    undo()


def _text(out: dict) -> str:
    return json.dumps(out, allow_nan=False)


def test_two_processes_give_the_same_bytes_with_a_timeline(demo):
    store, _ = demo
    one = evaluate(store, timeline_days=10, chunk_models=10_000, workers=1)
    assert len(one["models"]) == 12 and {"red", "green"} <= {m["status"] for m in one["models"]}
    assert _text(evaluate(store, timeline_days=10, chunk_models=3, workers=2)) == _text(one)


def test_two_processes_with_fdr_and_a_subset_in_detail(demo, lean):
    """FDR on, a subset of models (detail: exact KS / Wasserstein from raw rows, read in the
    helper too), both processes lean: the bytes of one ordinary process."""
    store, d = demo
    policy = load_policy(write_spec(d, "fdr: {enabled: true, alpha: 0.05}\n", "fdr.yaml"))
    ids = sorted(m["model_id"] for m in evaluate(store)["models"])[:5]
    undo = parallel.lean_process()
    undo()
    want = evaluate(store, policy=policy, model_ids=ids, workers=1)
    parallel.lean_process()
    assert pd.get_option("future.infer_string") is False and parallel._lean_now()
    got = evaluate(store, policy=policy, model_ids=ids, chunk_models=2, workers=2)
    assert _text(got) == _text(want)
    assert got["fdr"]["family"] > 0 and len(got["models"]) == 5
    assert any(f["ks"] is not None for m in got["models"] for f in m["features"])  # raw rows read


def test_lean_process_same_bytes(demo, lean):
    store, _ = demo
    mine = _text(evaluate(store, timeline_days=5))
    parallel.lean_process()()  # undone
    assert pd.get_option("future.infer_string") is True and not parallel._lean_now()
    assert _text(evaluate(store, timeline_days=5)) == mine


def test_a_helpers_failure_is_the_callers_error(demo, tmp_path):
    """The helper reads through its own connection: a store it cannot open fails its chunk, and
    the caller raises that error (after its own chunk), not a partial fleet."""
    store, _ = demo
    with store.read() as con:
        fleet = load_fleet(Reader(con), None)
        parts = chunks(fleet.models["model_id"].tolist(), 2)
        job = (load_policy(), pd.Timestamp("2026-01-01"), None, False, None)
        with pytest.raises(StoreError, match="gone.duckdb"):
            parallel.judge_parts(Store(tmp_path / "gone.duckdb"), con, fleet, parts, job, 2)


def test_worth_it_only_for_chunks_without_an_address_cap(monkeypatch):
    two = [["a"], ["b"]]
    assert parallel.worth_it(two, 2) and not parallel.worth_it(two, 1) and not parallel.worth_it([["a", "b"]], 2)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (4 << 30, resource.RLIM_INFINITY))
    assert not parallel.worth_it(two, 2)  # `ulimit -v`: the cap is per process (issue 12)


def test_cli_workers_out_of_range_is_one_line_exit_2(demo):
    store, _ = demo
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "evaluate", "--db", store.path, "--workers", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.strip() == "--workers: 0 is not between 1 and 64"


def test_counts_joined_on_features_equal_the_join_on_cells(demo, monkeypatch):
    """Numeric bins are joined on (model, slot) and numbered base + bin (lib/store/read.py): the
    same counts per cell as the join on every (model, slot, bin) cell, days and single hours."""
    from lib.judge.cube import _ref_cells
    from lib.store import read

    store, _ = demo
    with store.read() as con:
        reader = Reader(con)
        cells = _ref_cells(load_fleet(reader, None).ref, "numeric")
        cells["cell"] = range(len(cells))
        assert read._binned_features(cells) is not None and len(read._binned_features(cells)) < len(cells) / 5
        hi = reader.newest_inference().ceil("D")
        lo, hours = (
            hi - pd.Timedelta(days=6),
            [(hi - pd.Timedelta(hours=k + 1), hi - pd.Timedelta(hours=k)) for k in range(30)],
        )

        def both():
            days = reader.cell_days("prof_num", cells, lo, hi, key="bin")
            per_hour = reader.cell_hours("prof_num", cells, hours, key="bin")
            return [pd.DataFrame(d).sort_values(list(d)).reset_index(drop=True) for d in (days, per_hour)]

        fast = both()
        monkeypatch.setattr(read, "_binned_features", lambda cells: None)
        slow = both()
    assert len(fast[0]) > 1000 and len(fast[1]) > 100
    for a, b in zip(fast, slow):
        pd.testing.assert_frame_equal(a, b)


def test_the_command_in_process_leaves_the_process_as_it_was(demo, capsys):
    """`main(["evaluate", ...])` called in a process that goes on (the tests) keeps pandas'
    string inference and the garbage collector as they were: only `python -m lib` goes lean."""
    import gc

    from lib.__main__ import main

    store, _ = demo
    assert main(["evaluate", "--db", str(store.path), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["models"]) == 12
    assert gc.isenabled() and pd.get_option("future.infer_string") is True and not parallel._lean_now()


def test_helpers_do_not_rerun_a_page_script_left_as_main(demo, tmp_path, monkeypatch):
    """A process that ran a Streamlit page (the app's server, AppTest) has that script as
    `__main__`, with no `__name__` guard: a spawned helper must not run it again (it did, and
    died: the full suite's BrokenProcessPool)."""
    import types

    store, _ = demo
    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('a page script ran in the helper')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    one = evaluate(store, timeline_days=3, chunk_models=10_000, workers=1)
    assert _text(evaluate(store, timeline_days=3, chunk_models=3, workers=2)) == _text(one)
    assert sys.modules["__main__"] is fake
