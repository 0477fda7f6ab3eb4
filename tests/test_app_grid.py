"""The fleet grid at scale (issue 11): counts, server-side filters and search, pages, and the
background judge (a new data version picked up without a visitor; the last result persisted
beside the store and shown at once after a restart).

AppTest through app.py with a page size of 5 on a 24-model demo fleet (built once for the module),
and the judge itself (lib/ui/judged.py) on copies of that store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.ingest.pipeline import register_spec
from lib.judge.evaluate import evaluate
from lib.store.connection import Store
from lib.ui import fleet_view as fv
from lib.ui import judged as judged_mod
from lib.ui.frame import matches
from lib.ui.judged import FleetJudge, persisted_path
from tests.fixtures import spec_dict

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 180
SIZE = 5
STATUSES = ("red", "yellow", "grey", "green")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("grid-demo") / "demo.duckdb"
    build_demo(path, models=24, days=10)
    return str(path)


@pytest.fixture(scope="module")
def judged(demo_db) -> dict:
    return evaluate(Store(demo_db), timeline_days=30)


def copy_of(db: str, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "store.duckdb"
    shutil.copyfile(db, target)
    shutil.copyfile(db + ".version", str(target) + ".version")
    return str(target)


@pytest.fixture
def quick(monkeypatch):
    """The judge's watcher looks often and judges a new version at once."""
    monkeypatch.setattr(judged_mod, "POLL_S", 0.1)
    monkeypatch.setattr(judged_mod, "SETTLE_S", 0.0)


@pytest.fixture
def app(demo_db, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_DB", demo_db)
    monkeypatch.setenv("DRIFTLIGHT_LOCK_TIMEOUT", "20")
    monkeypatch.setenv("DRIFTLIGHT_JUDGE_WAIT", "120")
    monkeypatch.setattr(fv, "PAGE_SIZE", SIZE)
    st.cache_data.clear()

    def make(**params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
        return at

    return make


def html_text(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.html)


def tiles(at: AppTest) -> list[str]:
    return re.findall(r'data-testid="dl-tile" data-model="([^"]+)"', html_text(at))


def counts(at: AppTest) -> dict[str, int]:
    return {s: int(n) for s, n in re.findall(r'data-testid="dl-count-([a-z]+)">(\d+)<', html_text(at))}


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def ids(models) -> list[str]:
    return [m["model_id"] for m in models]


def by_status(models) -> dict[str, int]:
    return {s: sum(m["status"] == s for m in models) for s in STATUSES}


# -- the page ------------------------------------------------------------------------------------
def test_counts_equal_evaluate_and_first_page(app, judged):
    at = app()
    at.run()
    no_errors(at)
    got = counts(at)
    assert {s: got[s] for s in STATUSES} == by_status(judged["models"])
    assert got["total"] == len(judged["models"]) == 24
    assert tiles(at) == ids(judged["models"])[:SIZE]  # worst first, then by id: one page
    assert "Models <b>1–5</b> of <b>24</b>" in markdown(at)
    assert 'data-current="true"' in markdown(at)  # the judgment shown is of the store's data version
    assert "dl-fleet-count" not in html_text(at)  # no filter: no "of N" beside the counts


def test_page_two_and_next(app, judged):
    order = ids(judged["models"])
    at = app(page="2")
    at.run()
    no_errors(at)
    assert tiles(at) == order[5:10]
    at.button(key="dl_next_top").click().run()
    assert tiles(at) == order[10:15]
    assert at.query_params["page"] == ["3"] or at.query_params["page"] == "3"
    at.button(key="dl_prev_bottom").click().run()
    assert tiles(at) == order[5:10]
    at.number_input(key="page").set_value(5).run()  # the last page holds the rest
    assert tiles(at) == order[20:24]
    assert at.button(key="dl_next_top").disabled
    # a page that does not exist falls back to the first
    at = app(page="99")
    at.run()
    assert tiles(at) == order[:5]


def test_filters_and_search_narrow_tiles_exactly(app, judged):
    retail = [m for m in judged["models"] if m["team"] == "supply-chain"]
    assert len(retail) > SIZE, "the demo fleet should have more supply-chain models than a page"
    at = app(team="supply-chain")
    at.run()
    no_errors(at)
    assert tiles(at) == ids(retail)[:SIZE]
    got = counts(at)
    assert {s: got[s] for s in STATUSES} == by_status(retail)
    assert got["total"] == len(retail)
    # beside each count, the whole fleet's
    whole = re.findall(r'data-testid="dl-fleet-count">of (\d+)<', html_text(at))
    assert [int(n) for n in whole] == [by_status(judged["models"])[s] for s in STATUSES] + [24]
    at.button(key="dl_next_top").click().run()
    assert tiles(at) == ids(retail)[SIZE : 2 * SIZE]
    # a changed filter starts again at page 1
    at.text_input(key="q").input("grocery").run()
    wanted = [m for m in retail if matches(m, {"q": "grocery"})]
    assert wanted and tiles(at) == ids(wanted)[:SIZE]
    assert counts(at)["total"] == len(wanted)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"team": ["retail"]},
        {"status": ["red", "grey"]},
        {"owner": ["dana@example.com", "nobody@example.com"]},
        {"task": ["regression"], "status": ["green"]},
        {"tag": ["pricing", "eu"]},
        {"q": "  Sales  "},
        {"q": "ice cream"},
        {"q": "retail fraud"},
        {"team": ["supply-chain", "growth"], "q": "de", "status": ["red", "yellow", "grey", "green"]},
        {"owner": ["chen@example.com"], "q": "grocery MUNICH"},
        {"q": "no-such-model"},
    ],
)
def test_select_is_filters_keep(judged, filters):
    """The page's vectorized filter keeps exactly the models a report's Filters.keep keeps."""
    frame = fv.index_frame(judged)
    got = fv.select(frame, filters)
    want = [i for i, m in enumerate(judged["models"]) if matches(m, filters)]
    assert list(got) == want
    assert fv.counts(frame, got) == by_status([judged["models"][i] for i in want])


def test_paging_arithmetic():
    assert fv.page_count(0, 100) == 1 and fv.page_count(100, 100) == 1 and fv.page_count(101, 100) == 2
    assert fv.page_count(10_000, 100) == 100
    assert fv.page_slice(10_000, 2, 100) == (100, 200)
    assert fv.page_slice(250, 3, 100) == (200, 250)
    assert fv.page_slice(250, 9, 100) == (200, 250)  # clamped to the last page
    assert fv.page_slice(250, 0, 100) == (0, 100)


# -- the background judge ------------------------------------------------------------------------
def wait_for(cond, timeout: float = 150.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_new_data_version_is_judged_in_the_background(demo_db, judged, tmp_path, quick):
    db = copy_of(demo_db, tmp_path / "a")
    judge = FleetJudge(db)
    try:
        first = judge.wait(timeout=150).result
        assert first is not None and not first.restored
        v1 = Store(db).data_version()
        assert first.version == v1 and [m["status"] for m in first.fleet["models"]] == [
            m["status"] for m in judged["models"]
        ]
        # a new model registered: a write, so a new data version; no visitor asks for it
        register_spec(Store(db), spec_dict("zz-new-model", team="newteam"))
        v2 = Store(db).data_version()
        assert v2 > v1
        newer = wait_for(lambda: (r := judge.snapshot(start=False).result) and r.version == v2 and r)
        assert newer.computed_at > first.computed_at
        assert len(newer.fleet["models"]) == 25
        new = next(m for m in newer.fleet["models"] if m["model_id"] == "zz-new-model")
        assert new["status"] == "grey"
        assert newer.fleet == evaluate(Store(db), timeline_days=30)
        snap = judge.snapshot(start=False)
        assert snap.current
        assert fv.judged_line(snap, now=newer.computed_at + 200) == (
            f"Judged 3 min ago at data version {v2} (took {fv.duration(newer.seconds)})"
        )
    finally:
        judge.close()


def test_restart_shows_the_persisted_result_at_once(demo_db, tmp_path, quick):
    db = copy_of(demo_db, tmp_path / "b")
    judge = FleetJudge(db, watch=False)
    done = judge.wait(timeout=150).result
    assert done is not None
    doc = json.loads(wait_for(lambda: persisted_path(db).is_file() and persisted_path(db).read_text()))
    assert (doc["store"], doc["data_version"], doc["policy"]) == (
        os.path.abspath(db),
        Store(db).data_version(),
        judged_mod.policy_key(),
    )
    # a restart: a new judge reads the result back, the grid's part first, and judges nothing
    again = FleetJudge(db, watch=False)
    grid = wait_for(lambda: (r := again.snapshot(start=False).result) and r)
    assert grid.restored and grid.computed_at == done.computed_at
    assert [(m["model_id"], m["status"], m["reasons"], m["timeline"]) for m in grid.fleet["models"]] == [
        (m["model_id"], m["status"], m["reasons"], m["timeline"]) for m in done.fleet["models"]
    ]
    assert not grid.complete  # the detail is read only when a page asks for it
    snap = again.snapshot()
    assert snap.current and snap.running is None  # the same data: nothing to judge again
    full = again.wait(timeout=60).result  # what a fleet report does: the whole result
    assert full.complete and full.restored and full.fleet == done.fleet
    assert again.snapshot().running is None
    # without its detail file, the same version is judged again for whoever needs the whole
    persisted_path(db, detail=True).unlink()
    third = FleetJudge(db, watch=False)
    done = third.wait(timeout=150).result
    assert done.restored is False and done.version == grid.version
    wait_for(lambda: persisted_path(db, detail=True).is_file())
    wait_for(lambda: json.loads(persisted_path(db).read_text())["computed_at"] == done.computed_at)
    # new data while the server was down: the old result is shown, marked, while judging
    register_spec(Store(db), spec_dict("zz-late", team="newteam"))
    later = FleetJudge(db, watch=False)
    wait_for(lambda: not later.snapshot(start=False).restoring)
    snap = later.snapshot()
    assert snap.result is not None and snap.result.computed_at == done.computed_at and not snap.current
    assert snap.running == (Store(db).data_version(), judged_mod.policy_key())
    line = fv.judged_line(snap, now=done.computed_at + 30)
    assert line.startswith(f"Judged 30 s ago at data version {done.version}")
    assert "before the server restarted" in line
    assert f"updating to data version {Store(db).data_version()}" in line
    assert len(later.wait(timeout=150).result.fleet["models"]) == 25


def test_persisted_result_of_another_policy_or_store_is_not_used(demo_db, tmp_path, quick, monkeypatch):
    db = copy_of(demo_db, tmp_path / "c")
    FleetJudge(db, watch=False).wait(timeout=150)
    wait_for(persisted_path(db).is_file)

    def restored() -> object:
        judge = FleetJudge(db, watch=False)
        wait_for(lambda: not judge.snapshot(start=False).restoring)
        return judge.snapshot(start=False).result

    assert restored() is not None
    policy = tmp_path / "policy.yaml"
    policy.write_text("feature_drift:\n  yellow: 0.5\n  red: 0.9\n")
    monkeypatch.setenv("DRIFTLIGHT_POLICY", str(policy))
    assert restored() is None
    monkeypatch.setenv("DRIFTLIGHT_POLICY", "")
    # a store rebuilt in the same place restarts its versions: a result from "the future" is dropped
    Path(db + ".version").write_text("1")
    assert restored() is None


def test_page_after_restart_shows_persisted_result_and_updating(app, demo_db, tmp_path, quick, monkeypatch):
    db = copy_of(demo_db, tmp_path / "d")
    FleetJudge(db, watch=False).wait(timeout=150)
    wait_for(persisted_path(db).is_file)
    register_spec(Store(db), spec_dict("zz-after", team="newteam"))
    monkeypatch.setenv("DRIFTLIGHT_DB", db)
    monkeypatch.setenv("DRIFTLIGHT_JUDGE_WAIT", "0")  # the page must not wait for anything
    judged_mod.forget_judges()  # the server restarted: no judge in memory
    # Hold the new judgment until the page has been looked at: a 24-model store is judged in a
    # second or two, which could otherwise finish before the first run draws (a race, not a check).
    gate, judge_fleet = threading.Event(), judged_mod.evaluate
    monkeypatch.setattr(judged_mod, "evaluate", lambda *a, **k: gate.wait(120) and judge_fleet(*a, **k))
    at = app()
    at.run()
    no_errors(at)
    assert counts(at)["total"] == 24  # the persisted result (before the new model), at once
    assert "updating to data version" in markdown(at) and 'data-current="false"' in markdown(at)
    gate.set()
    wait_for(
        lambda: (
            persisted_path(db).is_file()
            and json.loads(persisted_path(db).read_text())["data_version"] == Store(db).data_version()
        )
    )
    at.run()  # the next run (the fragment's poll reruns the page) shows the new judgment
    assert counts(at)["total"] == 25
    assert 'data-current="true"' in markdown(at)
