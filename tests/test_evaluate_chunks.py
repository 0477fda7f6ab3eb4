"""Issue 11: the fleet is judged in chunks of models (lib/judge/evaluate.py, CHUNK_MODELS) — the JSON
must not depend on the chunk size: one model at a time equals the whole fleet at once, with and
without a timeline, for a subset of models, and with the fleet-wide FDR control (whose family is
decided over every chunk before any is judged), including findings the control removes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fixtures import write_spec

from lib.demo.build import build_demo
from lib.judge.evaluate import chunks, evaluate
from lib.judge.policy import load_policy
from lib.store.connection import Store


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("chunks")
    build_demo(d / "demo.duckdb", models=16, days=10)
    return Store(d / "demo.duckdb"), d


def _same(store, **kw) -> dict:
    """The JSON one model at a time and of the whole fleet at once: byte-identical; returns it."""
    whole = evaluate(store, chunk_models=10_000, **kw)
    assert json.dumps(evaluate(store, chunk_models=1, **kw), allow_nan=False) == json.dumps(whole, allow_nan=False)
    return whole


def test_chunks_cover_every_id_once_in_order():
    ids = [f"m{i}" for i in range(7)]
    assert chunks(ids, 3) == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]
    assert chunks(ids, 1) == [[i] for i in ids]
    assert chunks(ids, 100) == [ids] and chunks([], 4) == []
    assert chunks(ids, 0) == [[i] for i in ids]  # a size below 1 is 1, never an endless loop


@pytest.mark.parametrize("timeline", [None, 10])
def test_chunked_equals_unchunked(demo, timeline):
    store, _ = demo
    out = _same(store, timeline_days=timeline)
    statuses = {m["status"] for m in out["models"]}
    assert len(out["models"]) == 16 and {"red", "green"} <= statuses  # a fleet with findings, not all green
    if timeline:
        assert all(len(m["timeline"]) == 10 for m in out["models"])


def test_chunked_equals_unchunked_with_fdr(demo):
    store, d = demo
    # alpha between the findings' smallest and largest q: the control removes some and keeps some
    base = evaluate(store, policy=load_policy(write_spec(d, "fdr: {enabled: true}\n", "p0.yaml")))
    qs = sorted(
        f["fdr"]["q"]
        for m in base["models"]
        for f in m["features"]
        if "fdr" in f and f["check_status"].get("feature_drift") in ("red", "yellow")
    )
    assert len(qs) >= 2 and qs[0] < qs[-1]
    alpha = (qs[0] + qs[-1]) / 2
    policy = load_policy(write_spec(d, f"fdr: {{enabled: true, alpha: {alpha!r}}}\n", "p1.yaml"))
    out = _same(store, policy=policy)
    assert out["fdr"]["removed"] >= 1 and out["fdr"]["discoveries"] >= 1
    assert out["fdr"]["family"] == sum("fdr" in f for m in out["models"] for f in m["features"])
    # a subset of models is judged against the whole fleet's family, whatever the chunk size
    some = [m["model_id"] for m in base["models"][:3]]
    sub = _same(store, policy=policy, model_ids=some)
    assert sub["fdr"]["family"] == out["fdr"]["family"] and sorted(m["model_id"] for m in sub["models"]) == sorted(some)


def test_split_equals_restrict_per_chunk(demo):
    from lib.judge.fleet import load_fleet, restrict, split
    from lib.store.read import Reader

    store, _ = demo
    with store.read() as con:
        fleet = load_fleet(Reader(con), None)
    parts = chunks(fleet.models["model_id"].tolist(), 5)
    got = list(split(fleet, parts))
    assert len(got) == len(parts) == 4
    for part, sub in zip(parts, got):
        want = restrict(fleet, part)
        assert sub.labelled == want.labelled and sub.models["model_id"].tolist() == part
        for name in ("models", "features", "snapshots", "ref"):
            pd.testing.assert_frame_equal(getattr(sub, name), getattr(want, name))
    assert sum(len(s.features) for s in got) == len(fleet.features)
