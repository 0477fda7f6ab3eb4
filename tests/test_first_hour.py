"""A newcomer's first hour (issue 14), judging side: strict JSON at an as-of before the first log,
a model with no inference yet listed grey everywhere ("no inference logged yet"), "no data" days
before a model's first inference, `since` with hour resolution, unknown --model suggestions, and
one line (never a traceback) for an unexpected failure. Tiny stores built by tests/fixtures.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from streamlit.testing.v1 import AppTest

from lib.__main__ import main
from lib.ingest.pipeline import ingest_file, register_spec
from lib.store.connection import Store
from lib.ui.grid import strip_html
from tests.fixtures import T0, inference_frame, query, reference_frame, spec_dict, write_csv

ROOT = Path(__file__).resolve().parent.parent
NO_INFERENCE = "no inference logged yet"
EARLY = "2026-11-15"  # five days before icecream's first inference (T0 = 2026-11-20 00:00)


def _strict(text: str):
    """json.loads that refuses NaN / Infinity (what a strict consumer does)."""

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _ingest(store: Store, kind: str, model: str, path: Path) -> None:
    outcome = ingest_file(store, kind, model, path)
    assert outcome.status == "ingested", outcome.line()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """icecream: reference + 300 labelled rows over 48 h from T0; unlogged: reference only."""
    d = tmp_path_factory.mktemp("first_hour")
    store = Store(d / "store.duckdb")
    ref = write_csv(d / "ref.csv", reference_frame(400))
    for model in ("icecream", "unlogged"):
        register_spec(store, spec_dict(model))
        _ingest(store, "reference", model, ref)
    _ingest(store, "inference", "icecream", write_csv(d / "inf.csv", inference_frame(300, with_label=True)))
    return store


@pytest.fixture(autouse=True)
def _default_policy(monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_POLICY", "")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def evaluate_json(capsys, store: Store, *args: str) -> dict:
    code, out, err = run(capsys, "evaluate", "--db", store.path, *args)
    assert code == 0 and err == "", err
    return _strict(out)


def by_id(result: dict) -> dict[str, dict]:
    return {m["model_id"]: m for m in result["models"]}


# -- strict JSON ----------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [[], ["--model", "icecream"], ["--timeline", "5"]])
def test_early_as_of_gives_strict_json_with_nulls(store, capsys, extra):
    got = evaluate_json(capsys, store, "--as-of", EARLY, *extra)
    assert got["as_of"] == "2026-11-15T00:00:00+00:00"
    m = by_id(got)["icecream"]
    assert (m["status"], m["reasons"], m["message"], m["last_inference"]) == ("grey", [], NO_INFERENCE, None)
    ref = reference_frame(400)
    # labelled model, no labelled row in the window: the metric is named, current and loss are null
    assert m["performance"] == {
        "metric": "roc_auc",
        "reference": pytest.approx(roc_auc_score(ref["label"] == "1", ref["score"]), abs=1e-12),
        "current": None,
        "n_labeled": 0,
        "loss": None,
    }
    fresh = next(c for c in m["checks"] if c["check"] == "freshness")
    assert (fresh["status"], fresh["value"]) == ("grey", None)
    if extra[:1] == ["--timeline"]:
        assert m["timeline"] == [
            {"date": d, "status": "grey", "no_data": True}
            for d in ("2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14")
        ]


def test_report_and_alert_json_at_an_early_as_of_are_strict(store, capsys, tmp_path):
    out = tmp_path / "fleet.json"
    code, _, err = run(
        capsys, "report", "--db", store.path, "--fleet", "--as-of", EARLY, "--format", "json", "--out", out
    )
    assert code == 0, err
    report = _strict(out.read_text())
    assert {m["model_id"]: m["status"] for m in report["models"]} == {"icecream": "grey", "unlogged": "grey"}
    code, out_text, err = run(capsys, "alert", "--db", store.path, "--dry-run", "--format", "json")
    assert code == 0, err
    assert _strict(out_text)["dry_run"] is True


# -- a model with no inference yet ----------------------------------------------------------------
def test_reference_only_model_is_listed_grey_with_the_message(store, capsys):
    got = evaluate_json(capsys, store)
    assert got["as_of"] == "2026-11-22T00:00:00+00:00"  # the newest inference, rounded up
    m = by_id(got)["unlogged"]
    assert (m["status"], m["reasons"], m["message"]) == ("grey", [], NO_INFERENCE)
    assert (m["rows_24h"], m["last_inference"], m["reference_snapshot"]) == (0, None, 1)
    assert by_id(got)["icecream"]["message"] is None
    code, out, _ = run(capsys, "evaluate", "--db", store.path, "--format", "csv")
    assert code == 0
    assert "unlogged,grey,,,,," + NO_INFERENCE in out.splitlines()


def test_days_before_the_first_inference_are_no_data(store, capsys):
    got = by_id(evaluate_json(capsys, store, "--timeline", "5"))
    # the days that end 11-17 … 11-19 are before icecream's first row (11-20 00:00:xx): no data, not red
    assert [(t["date"], t["status"], t.get("no_data", False)) for t in got["icecream"]["timeline"][:3]] == [
        ("2026-11-17", "grey", True),
        ("2026-11-18", "grey", True),
        ("2026-11-19", "grey", True),
    ]
    assert [t.get("no_data", False) for t in got["icecream"]["timeline"][3:]] == [False, False]
    # the unlogged model: all five days, each grey with no data
    days = ["2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
    assert got["unlogged"]["timeline"] == [{"date": d, "status": "grey", "no_data": True} for d in days]


def test_a_model_that_stopped_logging_stays_freshness_red(store, capsys):
    got = by_id(evaluate_json(capsys, store, "--as-of", "2026-11-25"))
    last = pd.Timestamp(inference_frame(300, with_label=True)["ts"].max())
    first = got["icecream"]["reasons"][0]
    assert (got["icecream"]["status"], first["check"], first["status"]) == ("red", "freshness", "red")
    assert first["value"] == pytest.approx((pd.Timestamp("2026-11-25") - last) / pd.Timedelta(hours=1), abs=1e-9)
    assert got["unlogged"]["status"] == "grey"  # never logged: grey, not stale


def test_a_store_where_no_model_logged_yet_is_judged_as_of_its_newest_setup(tmp_path, capsys):
    store = Store(tmp_path / "s.duckdb")
    register_spec(store, spec_dict("alone"))
    _ingest(store, "reference", "alone", write_csv(tmp_path / "ref.csv", reference_frame(200)))
    newest = query(
        store.path, "SELECT greatest((SELECT max(updated_at) FROM models), (SELECT max(created_at) FROM snapshots))"
    )[0][0]
    got = evaluate_json(capsys, store)
    assert got["as_of"] == pd.Timestamp(newest).ceil("h").tz_localize("UTC").isoformat()
    assert [(m["model_id"], m["status"], m["message"]) for m in got["models"]] == [("alone", "grey", NO_INFERENCE)]


# -- since ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def since_store(tmp_path_factory) -> Store:
    """Six days of steady rows from 11-28 00:00; from 12-01 00:30 every flavor is a new value "zzz"."""
    d = tmp_path_factory.mktemp("since")
    store = Store(d / "store.duckdb")
    register_spec(store, spec_dict("icecream"))
    _ingest(store, "reference", "icecream", write_csv(d / "ref.csv", reference_frame(400)))
    frame = inference_frame(2880, start=pd.Timestamp("2026-11-28"), hours=144)
    frame.loc[pd.to_datetime(frame["ts"]) >= pd.Timestamp("2026-12-01 00:30"), "flavor"] = "zzz"
    _ingest(store, "inference", "icecream", write_csv(d / "inf.csv", frame))
    return store


def _unseen(capsys, store: Store, as_of: str) -> dict:
    m = by_id(evaluate_json(capsys, store, "--as-of", as_of))["icecream"]
    return next(r for r in m["reasons"] if r["check"] == "unseen_categories")


def test_since_has_hour_resolution(since_store, capsys):
    r = _unseen(capsys, since_store, "2026-12-01T12:00")
    # the first "zzz" row lies in the hour that ends at 01:00 (day-ends only said 12-02 00:00)
    assert (r["since"], r["onset"]) == ("2026-12-01T01:00:00+00:00", "sudden")
    assert r["unseen_values"][0]["first_seen"] == "2026-12-01T01:00:00+00:00"


def test_since_beyond_48_hours_walks_day_ends(since_store, capsys):
    r = _unseen(capsys, since_store, "2026-12-03T06:00")
    # hourly back to 12-01 06:00 (48 h), all flagged; the day-end before, 12-01 00:00, is not
    assert (r["since"], r["onset"]) == ("2026-12-01T06:00:00+00:00", "gradual")


# -- unknown --model, unexpected failures ---------------------------------------------------------
SUGGEST = "unknown model 'icecrem'; did you mean 'icecream'? — list the registered models with: python -m lib models"


def test_unknown_model_suggests_the_closest_ids(store, capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", "--db", store.path, "--model", "icecrem")
    assert (code, out, err) == (2, "", f"--model: {SUGGEST}\n")
    code, _, err = run(capsys, "report", "--db", store.path, "--model", "icecrem", "--format", "json", "--out", "-")
    assert (code, err) == (2, f"--model: {SUGGEST}\n")
    code, _, err = run(capsys, "evaluate", "--db", store.path, "--model", "qqq")
    assert (code, err) == (2, "--model: unknown model 'qqq' — list the registered models with: python -m lib models\n")
    path = write_csv(tmp_path / "inf.csv", inference_frame(5))
    code, out, err = run(capsys, "ingest", "--db", store.path, "inference", "--model", "icecrem", path)
    assert code == 2
    assert err == (
        f"{path}: unknown model 'icecrem'; did you mean 'icecream'? (register its spec first) — list the "
        "registered models with: python -m lib models\n"
    )


def test_an_unexpected_failure_is_one_line_and_exit_1(store, capsys, monkeypatch):
    import lib.judge.evaluate

    def broken(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(lib.judge.evaluate, "evaluate", broken)
    code, out, err = run(capsys, "evaluate", "--db", store.path)
    assert (code, out) == (1, "")
    assert err == (
        "python -m lib evaluate: unexpected error (RuntimeError: disk on fire); set DRIFTLIGHT_DEBUG=1 for the "
        "traceback\n"
    )


# -- the app ----------------------------------------------------------------------------------------
def test_strip_draws_no_data_days_apart():
    html = strip_html(
        [
            {"date": "2026-11-18", "status": "grey", "no_data": True},
            {"date": "2026-11-19", "status": "grey", "no_data": True},
            {"date": "2026-11-20", "status": "grey"},
            {"date": "2026-11-21", "status": "green"},
        ]
    )
    assert 'class="nd" style="flex-grow:2" title="2026-11-18 – 2026-11-19: no data (2 d)"' in html
    assert 'title="2026-11-20 – 2026-11-20: Grey (1 d)"' in html


@pytest.fixture
def app(store, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("DRIFTLIGHT_DB", str(store.path))
    st.cache_data.clear()
    return lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.html)


def test_grid_shows_the_unlogged_model_grey(app):
    at = app()
    at.run()
    assert not at.exception
    html = _html(at)
    assert 'data-model="unlogged" data-status="grey"' in html
    assert "No inference logged yet" in html


def test_model_timeline_reports_no_change_out_of_no_data(app):
    at = app()
    at.query_params["model"] = "icecream"
    at.query_params["tab"] = "Timeline"
    at.run()
    at.switch_page("app_pages/model.py")
    at.run()
    assert not at.exception
    html = _html(at)
    # 30 days up to 11-22: 10-23 … 11-19 end before the first row; 11-20 and 11-21 are judged
    assert html.count('class="nd"') == 28
    assert any("First inference on 2026-11-20" in c.value for c in at.caption)
    assert not any("Status changes" in md.value for md in at.markdown)


def test_model_page_headline_of_an_unlogged_model():
    from lib.ui.model_html import reasons_html

    html = reasons_html({"status": "grey", "reasons": [], "message": NO_INFERENCE})
    assert "No inference logged yet: the checks start with its first logged rows." in html
    assert "All checks pass." in reasons_html({"status": "green", "reasons": [], "message": None})


def test_app_on_a_store_where_nothing_logged_yet_shows_the_grid(tmp_path, monkeypatch):
    import streamlit as st

    store = Store(tmp_path / "s.duckdb")
    register_spec(store, spec_dict("alone"))
    monkeypatch.setenv("DRIFTLIGHT_DB", str(store.path))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert not any("no inference data yet" in i.value for i in at.info)  # not the empty-store notice
    html = _html(at)
    assert 'data-model="alone" data-status="grey"' in html and "No inference logged yet" in html
