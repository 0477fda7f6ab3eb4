"""`python -m lib evaluate`: the JSON contract, csv / table summaries, --model, --as-of,
--timeline, exit codes, and the empty store. Most tests call lib.__main__.main in-process (the
same code path as the command, without a cold interpreter each time); one runs the real
`python -m lib evaluate` in a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import independent as ind
import pandas as pd
import pytest
from test_checks import AS_OF, REF, SPEC, _drift_days, _unseen_days, day, days, setrows

from lib.__main__ import main
from lib.cli.evaluate import SUMMARY_COLUMNS
from lib.judge.evaluate import evaluate
from lib.judge.policy import default_policy

ROOT = Path(__file__).resolve().parent.parent
AS_OF_1300 = "2026-11-29T13:00:00+00:00"


@pytest.fixture(scope="module")
def cli_fleet(tmp_path_factory):
    """Five models: red (a sudden unseen value), yellow (gradual drift), grey (50 rows), green,
    and one whose status changes from day to day (unseen values on some days only)."""
    fleet = ind.Fleet(tmp_path_factory.mktemp("cli"))
    d0 = day(0)
    models = {
        "zeta-red": [days(range(1, 10)), setrows(d0, d0["c"] == "a", 40, "c", "zzz")],
        "alpha-yellow": [_drift_days(range(10), 60)],
        "mid-grey": [day(0, n=50)],
        "beta-green": [days(range(10))],
        "wavy": _unseen_days({0, 1, 3, 4, 7}, range(12)),
    }
    with fleet.batch():
        for model_id, files in models.items():
            fleet.register({**SPEC, "model_id": model_id})
            fleet.reference(model_id, REF)
            for frame in files:
                fleet.inference(model_id, frame)
    return fleet


@pytest.fixture(autouse=True)
def _default_policy(monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_POLICY", "")


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main(["evaluate", *map(str, args)])
    except SystemExit as exc:  # argparse: bad usage
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args) -> dict:
    code, out, err = run(capsys, *args)
    assert code == 0, err
    return json.loads(out)


def test_json_shape_and_order(cli_fleet, capsys):
    got = run_json(capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30")
    assert got["as_of"] == "2026-11-30T00:00:00+00:00"
    assert [(m["status"], m["model_id"]) for m in got["models"]] == [
        ("red", "zeta-red"),
        ("yellow", "alpha-yellow"),
        ("yellow", "wavy"),
        ("grey", "mid-grey"),
        ("green", "beta-green"),
    ]
    for m in got["models"]:
        assert {"model_id", "status", "reasons", "features", "prediction_drift", "performance"} <= set(m)
        assert [f["feature"] for f in m["features"]] == ["x", "c", "w"]  # the spec's order
        assert m["performance"] is None  # never labelled
        for r in m["reasons"]:
            assert {"check", "status", "feature", "value", "threshold", "since", "onset", "message"} <= set(r)
            assert r["status"] in ("yellow", "red") and r["onset"] in ("sudden", "gradual")
    red = next(m for m in got["models"] if m["model_id"] == "zeta-red")
    first = red["reasons"][0]
    assert (first["check"], first["feature"], first["value"], first["threshold"]) == (
        "unseen_categories",
        "c",
        0.1,
        0.05,
    )
    # since has hour resolution (issue 14): day 0's first "zzz" rows arrive in the hour
    # that ends at 01:00; day-ends only used to say the next 00:00.
    assert (first["since"], first["onset"]) == ("2026-11-29T01:00:00+00:00", "sudden")
    assert "zzz" in first["message"] and "10%" in first["message"]
    # the JSON is the evaluate() dict, unrounded
    assert got == json.loads(json.dumps(evaluate(cli_fleet.store, as_of=AS_OF, policy=default_policy())))


def _summary(result: dict) -> list[list[str]]:
    rows = []
    for m in result["models"]:
        r = m["reasons"][0] if m["reasons"] else {}
        rows.append(
            [m["model_id"], m["status"]]
            + ["" if r.get(k) is None else str(r[k]) for k in ("check", "feature", "value", "threshold", "message")]
        )
    return rows


def test_csv_is_one_row_per_model_with_the_first_reason(cli_fleet, capsys):
    result = run_json(capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30")
    code, out, _ = run(capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == SUMMARY_COLUMNS == ["model_id", "status", "check", "feature", "value", "threshold", "message"]
    assert rows[1:] == _summary(result)
    assert float(rows[1 + [m["model_id"] for m in result["models"]].index("zeta-red")][4]) == 0.1
    assert rows[-1][:3] == ["beta-green", "green", ""]


def test_table_is_one_line_per_model_with_the_first_reason(cli_fleet, capsys):
    result = run_json(capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30")
    code, out, _ = run(capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30", "--format", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "as of 2026-11-30T00:00:00+00:00"
    assert lines[1].split() == SUMMARY_COLUMNS
    assert len(lines) == 2 + len(result["models"])
    for line, m in zip(lines[2:], result["models"]):
        cells = line.split()
        assert cells[:2] == [m["model_id"], m["status"]]
        if m["reasons"]:
            assert cells[2:4] == [m["reasons"][0]["check"], m["reasons"][0]["feature"]]


def test_model_option_selects_models_and_adds_ks(cli_fleet, capsys):
    got = run_json(
        capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30", "--model", "beta-green", "--model", "zeta-red"
    )
    assert [m["model_id"] for m in got["models"]] == ["zeta-red", "beta-green"]
    x = got["models"][0]["features"][0]
    assert x["feature"] == "x" and x["kind"] == "numeric"
    assert x["ks"] == pytest.approx(0.0, abs=1e-12) and x["wasserstein"] == pytest.approx(0.0, abs=1e-12)


def test_an_unknown_model_is_exit_2_with_one_line(cli_fleet, capsys):
    code, out, err = run(capsys, "--db", cli_fleet.store.path, "--model", "beta-green", "--model", "nope")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "nope" in err


def test_a_model_asked_of_a_missing_store_is_exit_2(tmp_path, capsys):
    code, out, err = run(capsys, "--db", tmp_path / "none.duckdb", "--model", "anything")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "anything" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--as-of", "not-a-date"], "--as-of"),
        (["--timeline", "0"], "--timeline"),
        (["--timeline", "400"], "--timeline"),
        (["--timeline", "x"], "--timeline"),
        (["--format", "xml"], "--format"),
    ],
)
def test_bad_usage_is_exit_2(cli_fleet, capsys, args, message):
    code, out, err = run(capsys, "--db", cli_fleet.store.path, *args)
    assert code == 2 and out == "" and message in err


def test_an_empty_store_gives_null_as_of_and_no_models(tmp_path, capsys):
    assert run_json(capsys, "--db", tmp_path / "none.duckdb") == {"as_of": None, "models": []}
    fleet = ind.Fleet(tmp_path / "registered")  # a model, but no inference yet: listed, grey (issue 14)
    fleet.register({**SPEC, "model_id": "lonely"})
    got = run_json(capsys, "--db", fleet.store.path)
    assert [(m["model_id"], m["status"], m["reasons"], m["message"]) for m in got["models"]] == [
        ("lonely", "grey", [], "no inference logged yet")
    ]
    assert got["as_of"] is not None  # the registration's hour (tests/test_first_hour.py pins it)


@pytest.mark.parametrize(
    "as_of, expected",
    [
        ("2026-11-29", "2026-11-29T00:00:00+00:00"),  # date only: 00:00 UTC
        ("2026-11-29T12:00:00", "2026-11-29T12:00:00+00:00"),
        ("2026-11-29T12:00:01", AS_OF_1300),  # rounded up to the hour
        ("2026-11-29T14:30:00+02:00", AS_OF_1300),  # an offset is honoured
    ],
)
def test_as_of_is_utc_rounded_up_to_the_hour(cli_fleet, capsys, as_of, expected):
    assert (
        run_json(capsys, "--db", cli_fleet.store.path, "--as-of", as_of, "--model", "beta-green")["as_of"] == expected
    )


def test_default_as_of_is_the_newest_inference_rounded_up(cli_fleet, capsys):
    # the newest row of the fleet is at exactly 2026-11-30 00:00: already a whole hour
    assert (
        run_json(capsys, "--db", cli_fleet.store.path, "--model", "beta-green")["as_of"] == "2026-11-30T00:00:00+00:00"
    )


@pytest.mark.parametrize("as_of", ["2026-11-29T12:10:00", "2026-11-30"])
def test_timeline_matches_evaluating_at_each_day_end(cli_fleet, capsys, as_of):
    got = run_json(capsys, "--db", cli_fleet.store.path, "--as-of", as_of, "--timeline", 6)
    when = pd.Timestamp(got["as_of"]).tz_convert(None)
    last_date = (when - pd.Timedelta(microseconds=1)).date()
    for m in got["models"]:
        timeline = m["timeline"]
        assert [t["date"] for t in timeline] == [str(last_date - pd.Timedelta(days=k)) for k in range(5, -1, -1)]
        assert timeline[-1]["status"] == m["status"]
    wavy = next(m for m in got["models"] if m["model_id"] == "wavy")["timeline"]
    assert {t["status"] for t in wavy} == {"yellow", "green"}  # it does change
    # each day's status equals a separate evaluation at that day's end
    for entry in wavy[:-1]:
        day_end = pd.Timestamp(entry["date"]) + pd.Timedelta(days=1)
        alone = evaluate(
            cli_fleet.store, as_of=day_end, model_ids=["wavy", "alpha-yellow"], detail=False, policy=default_policy()
        )
        statuses = {m["model_id"]: m["status"] for m in alone["models"]}
        assert statuses["wavy"] == entry["status"], entry
        yellow = next(m for m in got["models"] if m["model_id"] == "alpha-yellow")["timeline"]
        assert statuses["alpha-yellow"] == next(t for t in yellow if t["date"] == entry["date"])["status"]


def test_wavy_timeline_by_hand(cli_fleet, capsys):
    """Unseen values (4 rows of 400: yellow) on the days that end 11-30, 11-29, 11-27, 11-26 and
    11-23 at 00:00, i.e. the dates 11-29, 11-28, 11-26, 11-25 and 11-22."""
    got = run_json(capsys, "--db", cli_fleet.store.path, "--as-of", "2026-11-30", "--timeline", 8, "--model", "wavy")
    assert [(t["date"], t["status"]) for t in got["models"][0]["timeline"]] == [
        ("2026-11-22", "yellow"),
        ("2026-11-23", "green"),
        ("2026-11-24", "green"),
        ("2026-11-25", "yellow"),
        ("2026-11-26", "yellow"),
        ("2026-11-27", "green"),
        ("2026-11-28", "yellow"),
        ("2026-11-29", "yellow"),
    ]


def test_the_real_command_line(cli_fleet):
    env = {**os.environ, "DRIFTLIGHT_POLICY": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lib",
            "evaluate",
            "--db",
            cli_fleet.store.path,
            "--as-of",
            "2026-11-30",
            "--format",
            "json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert [m["status"] for m in got["models"]] == ["red", "yellow", "yellow", "grey", "green"]
    assert proc.stderr == ""
