"""The demo fleet (lib/demo/): its plan, determinism, the ingest path, and that every injected
scenario produces the status it was built for under the default policy.

Small fleets keep this fast: 12 models hold one healthy model and one of each of the 11 problem
scenarios (lib/demo/fleet.py cycles through the scenarios so that each appears once a fleet has at
least 12 models).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lib.demo import build, domains, fleet, generate
from lib.spec import parse_spec

SMALL = dict(models=12, days=8)  # 8 days: the volume baseline is the 7 days before the last 24 h
TINY = dict(models=3, days=2, workers=1)


# -- helpers --------------------------------------------------------------------------------------
def store_checksums(path: Path) -> dict[str, tuple[int, int]]:
    """(row count, order-independent content hash) of every table of a store, read-only.

    Wall-clock columns (`*_at`: when a row was written) and the `meta` table (the data
    version counter) are left out: they say when the store was built, not what it holds.
    """
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        tables = [
            t
            for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
            if t != "meta"
        ]
        for table in tables:
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if not c.endswith("_at")
            ]
            row_hash = "hash(" + ", ".join('"' + c.replace('"', '""') + '"' for c in cols) + ")"
            count, total = con.execute(f'SELECT count(*), coalesce(sum({row_hash}), 0) FROM "{table}"').fetchone()
            out[table] = (int(count), int(total))
        return out
    finally:
        con.close()


def evaluate_json(path: Path) -> str:
    from lib.judge.evaluate import evaluate
    from lib.store.connection import Store

    return json.dumps(evaluate(Store(path)), allow_nan=False)


def query(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two small demo stores built with the same seed: a with 5, 5 and 2 models per transaction
    (build.group_sizes), b with one transaction per register and per file (group=0)."""
    root = tmp_path_factory.mktemp("demo")
    a, b = root / "a.duckdb", root / "b.duckdb"
    summary_a = build.build_demo(a, seed=0, group=5, **SMALL)
    summary_b = build.build_demo(b, seed=0, group=0, **SMALL)
    return {"a": a, "b": b, "summary_a": summary_a, "summary_b": summary_b}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Tiny stores: seed 5 built twice into the same file, and seed 6."""
    root = tmp_path_factory.mktemp("tiny")
    five, six = root / "five.duckdb", root / "six.duckdb"
    first = build.build_demo(five, seed=5, **TINY)
    checksums = store_checksums(five)
    second = build.build_demo(five, seed=5, **TINY)
    other = build.build_demo(six, seed=6, **TINY)
    return {"five": five, "six": six, "first": first, "second": second, "other": other, "five_after_first": checksums}


# -- the plan -------------------------------------------------------------------------------------
def test_default_fleet_plan_has_the_promised_mix():
    plans = fleet.plan_fleet(200, seed=0)
    assert len(plans) == 200
    ids = [p.model_id for p in plans]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", i) for i in ids)
    assert len({p.team for p in plans}) >= 6
    tasks = Counter(domains.DOMAINS[p.domain].task for p in plans)
    assert set(tasks) == {"binary_classification", "multiclass_classification", "regression"}
    assert min(tasks.values()) >= 20
    scenarios = Counter(p.scenario for p in plans)
    assert set(scenarios) == set(domains.SCENARIOS)
    assert 0.6 <= scenarios["healthy"] / 200 <= 0.7  # about two thirds healthy
    assert min(v for k, v in scenarios.items() if k != "healthy") >= 5  # spread over every check
    # A share of models has labels (logged or late), the rest none.
    labels = Counter(p.labels for p in plans)
    assert labels["late"] >= 20 and labels["logged"] >= 10 and labels["none"] >= 60
    # Some binary models log no score (judged on F1), and a few specs override the policy.
    assert any(not p.has_score for p in plans if domains.DOMAINS[p.domain].task == "binary_classification")
    assert sum(1 for p in plans if p.policy) >= 3


def test_small_fleets_cycle_through_the_scenarios():
    # 12 models: one healthy, one of each problem.
    assert Counter(p.scenario for p in fleet.plan_fleet(12, seed=3)) == Counter(list(domains.SCENARIOS))
    # Fewer: one healthy model and the first problems in PROBLEM_SCENARIOS order.
    small = [p.scenario for p in fleet.plan_fleet(4, seed=0)]
    assert sorted(small) == sorted(["healthy", *domains.PROBLEM_SCENARIOS[:3]])
    assert [p.scenario for p in fleet.plan_fleet(1, seed=0)] == ["healthy"]
    assert fleet.plan_fleet(0) == []


def test_every_spec_is_valid_and_records_its_scenario():
    for plan in fleet.plan_fleet(200, seed=0):
        spec = fleet.model_spec(plan)
        parsed = parse_spec(spec, source=plan.model_id)  # raises InputError when invalid
        assert f"scenario:{plan.scenario}" in parsed.tags
        assert f"expect:{domains.SCENARIOS[plan.scenario].expect}" in parsed.tags
        assert re.fullmatch(r"[^@\s]+@example\.com", parsed.owner)
        assert parsed.description.startswith("Demo model: predicts")


def test_icecream_sales_is_the_design_example():
    plans = {p.model_id: p for p in fleet.plan_fleet(200, seed=0)}
    spec = fleet.model_spec(plans["icecream-sales"])
    assert spec["name"] == "Ice cream price forecast"
    assert spec["task"] == "regression"
    assert (spec["owner"], spec["team"]) == ("dana@example.com", "retail")
    assert spec["features"]["flavor"] == "categorical" and spec["features"]["temperature"] == "numeric"
    assert spec["policy"] == {
        "feature_drift": {"yellow": 0.15, "red": 0.3},
        "features": {"flavor": {"unseen_categories": {"yellow": 0.01}}},
    }
    assert "scenario:unseen-categories" in spec["tags"]
    assert domains.DOMAINS["icecream"].unseen == ("flavor", ("strawberry", "cookie dough", "rum raisin", "rocky road"))


# -- the build ------------------------------------------------------------------------------------
def test_group_sizes_first_two_and_last_short_four_times_as_many_between():
    assert build.group_sizes(200, 20) == [20, 20, 80, 60, 20]
    assert build.group_sizes(12, 5) == [5, 5, 2]
    assert build.group_sizes(25, 20) == [20, 5] and build.group_sizes(20, 20) == [20]
    assert build.group_sizes(41, 20) == [20, 20, 1]
    assert build.group_sizes(3, 0) == [1, 1, 1] and build.group_sizes(0, 20) == []


def test_same_seed_same_store(built):
    """Also: grouped writes (Store.group, deferred profile inserts) make the very store that
    one transaction per file makes, and evaluate's JSON is byte for byte the same."""
    a, b = store_checksums(built["a"]), store_checksums(built["b"])
    assert a == b
    texts = [evaluate_json(built[k]) for k in ("a", "b")]
    assert texts[0] == texts[1] and len(json.loads(texts[0])["models"]) == SMALL["models"]
    # 12 models in groups of 5, 5 and 2: 3 commits, against one per register and per file
    assert int(query(built["a"], "SELECT value FROM meta WHERE key = 'data_version'")[0][0]) == 3
    assert int(query(built["b"], "SELECT value FROM meta WHERE key = 'data_version'")[0][0]) == (
        SMALL["models"] + sum(built["summary_b"]["files"].values())
    )
    assert a["ingest_log"][0] > 0
    # Per-model tables exist for every model and hold rows.
    for plan in fleet.plan_fleet(**{"models": SMALL["models"]}, seed=0):
        assert a[f"inf__{plan.model_id}"][0] > 0
        assert a[f"ref__{plan.model_id}"][0] == (
            generate.N_REFERENCE if plan.labels == "none" else generate.N_REFERENCE_LABELLED
        )
    # Same summary, apart from the wall-clock seconds.
    sa, sb = dict(built["summary_a"]), dict(built["summary_b"])
    for s in (sa, sb):
        s.pop("seconds"), s.pop("db"), s.pop("ingest_seconds", None)
    assert sa == sb


def test_a_different_seed_gives_a_different_store(tiny):
    five, six = tiny["five_after_first"], store_checksums(tiny["six"])
    # The same model ids (the showcase models come first), with different content.
    shared = [t for t in five if t.startswith(("inf__", "ref__")) and t in six]
    assert len(shared) >= 4
    assert all(five[t] != six[t] for t in shared)
    assert five["prof_rows"] != six["prof_rows"]


def test_rebuilding_skips_every_file(tiny):
    first, second = tiny["first"], tiny["second"]
    files = sum(2 + (p.labels == "late") for p in fleet.plan_fleet(3, seed=5))
    assert first["files"] == {"ingested": files, "skipped": 0}
    assert second["files"] == {"ingested": 0, "skipped": files}
    assert second["rows"] == 0 and first["rows"] >= 2 * 3 * fleet.MIN_ROWS_PER_DAY
    assert store_checksums(tiny["five"]) == tiny["five_after_first"]


def test_every_file_goes_through_ingest(built):
    summary = built["summary_a"]
    log = query(
        built["a"],
        "SELECT model_id, kind, file_name, rows, missing_features, extra_columns, outcome "
        "FROM ingest_log ORDER BY file_id",
    )
    assert len(log) == summary["files"]["ingested"]
    assert all(row[6] == "ingested" for row in log)
    assert sum(r[3] for r in log if r[1] == "inference") == summary["rows"]
    plans = fleet.plan_fleet(SMALL["models"], seed=0)
    by_model: dict[str, list[tuple]] = {}
    for row in log:
        by_model.setdefault(row[0], []).append(row)
    assert list(by_model) == [p.model_id for p in plans]  # plan order
    for plan in plans:
        kinds = [r[1] for r in by_model[plan.model_id]]
        split = plan.scenario in ("schema-missing-column", "schema-extra-column")
        expected = ["reference", "inference"] + (["inference"] if split else [])
        expected += ["labels"] if plan.labels == "late" else []
        assert kinds == expected, plan.model_id
    domain_of = {p.model_id: domains.DOMAINS[p.domain] for p in plans}
    show = summary["showcase"]
    missing = [r for r in by_model[show["schema-missing-column"]] if r[4]]
    assert [(r[2], r[4]) for r in missing] == [
        (f"{show['schema-missing-column']}.inference-2.parquet", [domain_of[show["schema-missing-column"]].dropped])
    ]
    extra = [r for r in by_model[show["schema-extra-column"]] if r[5]]
    assert [(r[2], r[5]) for r in extra] == [
        (f"{show['schema-extra-column']}.inference-2.parquet", [domain_of[show["schema-extra-column"]].extra[0]])
    ]


def test_inference_volume_and_time_span(built):
    end = pd.Timestamp(build.DEMO_END).tz_localize(None)
    plans = fleet.plan_fleet(SMALL["models"], seed=0)
    for plan in plans:
        rows = query(built["a"], f'SELECT ts FROM "inf__{plan.model_id}"')
        ts = pd.Series([r[0] for r in rows])
        assert ts.max() <= end and ts.min() > end - timedelta(days=SMALL["days"])
        age_day = ((end - ts) / timedelta(days=1)).astype(int)  # 0 = the last 24 h
        per_day = age_day.value_counts().reindex(range(SMALL["days"]), fill_value=0)
        if plan.scenario == "too-little-data":
            assert per_day.sum() == 12 * SMALL["days"] and per_day.iloc[:7].sum() < 100
            continue
        normal_days = per_day.drop(
            index=[0] if plan.scenario == "volume-drop" else [0, 1, 2] if plan.scenario == "stale" else []
        )
        assert normal_days.min() >= fleet.MIN_ROWS_PER_DAY, plan.model_id
        if plan.scenario == "stale":
            assert per_day.loc[[0, 1, 2]].sum() == 0 and end - ts.max() > timedelta(hours=48)
        elif plan.scenario == "volume-drop":
            assert 0 < per_day.loc[0] < 0.1 * normal_days.loc[1:7].mean()
        else:
            assert end - ts.max() < timedelta(minutes=1)
    newest = query(built["a"], "SELECT max(max_ts) FROM prof_rows")[0][0]
    assert newest == end - timedelta(seconds=1)  # so as_of is exactly DEMO_END


def test_unseen_flavors_arrive_only_in_the_last_day(built):
    end = pd.Timestamp(build.DEMO_END).tz_localize(None)
    slot = query(built["a"], "SELECT slot FROM features WHERE model_id = 'icecream-sales' AND feature = 'flavor'")[0][0]
    new = set(domains.DOMAINS["icecream"].unseen[1])
    rows = query(built["a"], f'SELECT ts, f{slot} FROM "inf__icecream-sales"')
    before = {v for ts, v in rows if ts <= end - timedelta(days=1)}
    last = Counter(v for ts, v in rows if ts > end - timedelta(days=1))
    assert not before & new
    assert set(last) >= new
    share = sum(last[v] for v in new) / sum(last.values())
    assert 0.4 < share < 0.6
    reference = {v for (v,) in query(built["a"], f'SELECT DISTINCT f{slot} FROM "ref__icecream-sales"')}
    assert not reference & new


def test_every_model_gets_the_status_it_was_built_for(built):
    """Under the default policy (and the specs' overrides) the evaluation agrees with the tags:
    healthy models are green, every problem trips its own check at the planned level."""
    from lib.judge.evaluate import evaluate
    from lib.store.connection import Store

    result = evaluate(Store(str(built["a"])))
    assert result["as_of"] == build.DEMO_END.isoformat()
    plans = {p.model_id: p for p in fleet.plan_fleet(SMALL["models"], seed=0)}
    assert {m["model_id"] for m in result["models"]} == set(plans)
    for model in result["models"]:
        scenario = domains.SCENARIOS[plans[model["model_id"]].scenario]
        assert model["status"] == scenario.expect, (model["model_id"], model["reasons"])
        if scenario.check:
            assert scenario.check in [r["check"] for r in model["reasons"]], model["model_id"]
            first = next(r for r in model["reasons"] if r["check"] == scenario.check)
            assert first["status"] == scenario.expect
