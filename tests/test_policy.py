"""The stoplight policy: defaults as data, the policy file (DRIFTLIGHT_POLICY) with teams,
precedence feature > model > team > default with the source of each threshold, validation, and
a test that keeps every setting documented in README.md's policy table."""

from __future__ import annotations

import re
from pathlib import Path

import independent as ind
import numpy as np
import pandas as pd
import pytest
from test_checks import AS_OF, REF, SPEC, day, days, setrows

from lib.errors import InputError
from lib.ingest.pipeline import register_spec
from lib.judge.evaluate import evaluate
from lib.judge.policy import (
    CHECK_ORDER,
    CHECKS,
    SETTINGS,
    default_policy,
    effective_setting,
    effective_threshold,
    load_policy,
)
from lib.spec import parse_spec
from lib.store.connection import Store

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ defaults
def test_defaults_are_the_design_table():
    p = default_policy()
    for check, (yellow, red) in ind.DEFAULTS.items():
        assert (p.defaults[check]["yellow"], p.defaults[check]["red"]) == (yellow, red), check
    assert p.defaults["min_rows"] == 100
    assert CHECK_ORDER == ind.CHECK_ORDER


# ------------------------------------------------------------------------ precedence
TEAM_FILE = """
volume: {yellow: 0.9}
teams:
  retail:
    min_rows: 50
    unseen_categories: {yellow: 0.02, red: 0.08}
    out_of_range: {yellow: 0.03}
    features:
      x: {missing: {red: 0.3}}
"""
MODEL_POLICY = {
    "feature_drift": {"yellow": 0.15, "red": 0.2},
    "features": {"c": {"unseen_categories": {"red": 0.5}}, "x": {"missing": {"yellow": 0.07}}},
}


@pytest.mark.parametrize(
    "team, model, check, feature, expected",
    [
        ("other", {}, "unseen_categories", "c", (0.001, 0.05, "default")),
        ("other", {}, "volume", None, (0.9, 0.1, "default")),  # the file's default
        ("retail", {}, "unseen_categories", "c", (0.02, 0.08, "team")),
        ("retail", {}, "out_of_range", "x", (0.03, 0.05, "team")),  # red still the default
        ("retail", MODEL_POLICY, "feature_drift", "c", (0.15, 0.2, "model")),  # model over default
        ("retail", MODEL_POLICY, "unseen_categories", "c", (0.02, 0.5, "feature")),  # feature over team
        ("retail", MODEL_POLICY, "unseen_categories", "d", (0.02, 0.08, "team")),  # another feature
        ("retail", {}, "missing", "x", (0.05, 0.3, "team")),  # a team's feature block
        ("retail", MODEL_POLICY, "missing", "x", (0.07, 0.3, "feature")),
        ("other", MODEL_POLICY, "prediction_drift", None, (0.1, 0.25, "default")),
    ],
)
def test_precedence_feature_model_team_default(tmp_path, team, model, check, feature, expected):
    policy = load_policy(_write(tmp_path, TEAM_FILE))
    th = effective_threshold(policy, team, model, check, feature)
    assert (th.yellow, th.red, th.source) == expected


def test_settings_follow_the_same_precedence(tmp_path):
    policy = load_policy(_write(tmp_path, TEAM_FILE))
    assert effective_setting(policy, "other", {}, "min_rows") == 100
    assert effective_setting(policy, "retail", {}, "min_rows") == 50
    assert effective_setting(policy, "retail", {"min_rows": 7}, "min_rows") == 7


def test_the_policy_file_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_POLICY", str(_write(tmp_path, TEAM_FILE)))
    assert load_policy().teams["retail"]["min_rows"] == 50
    monkeypatch.setenv("DRIFTLIGHT_POLICY", "")
    assert load_policy().teams == {}


# ------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "text, match",
    [
        ("feature_drift: {yellow: -1}", "defaults.feature_drift.yellow"),
        ("feature_drift: {yellow: true}", "defaults.feature_drift.yellow"),
        ("feature_drift: {yellow: .nan}", "defaults.feature_drift.yellow"),
        ("feature_drift: {orange: 1}", "defaults.feature_drift"),
        ("feature_drift: 0.2", "defaults.feature_drift"),
        ("feature_drift: {}", "defaults.feature_drift"),
        ("drift: {yellow: 1}", "defaults.drift: unknown"),
        ("schema: {yellow: 2}", "defaults.schema"),
        ("min_rows: -5", "defaults.min_rows"),
        ("min_rows: yes", "defaults.min_rows"),
        ("teams: [a, b]", "teams"),
        ("teams: {retail: 5}", "teams.retail"),
        ("teams: {retail: {volume: {red: abc}}}", "teams.retail.volume.red"),
        ("teams: {retail: {features: {x: {volume: {red: 0.2}}}}}", "teams.retail.features.x.volume"),
        ("features: {x: {missing: {yellow: 0.1}}}", "defaults.features"),
        ("- 1\n- 2", "must be a mapping"),
        ("feature_drift: {yellow: [", "cannot read"),
    ],
)
def test_a_bad_policy_file_is_an_input_error_naming_the_field(tmp_path, text, match):
    with pytest.raises(InputError, match=re.escape(match)):
        load_policy(_write(tmp_path, text))


def test_a_missing_policy_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "policy, match",
    [
        ({"features": {"nope": {"missing": {"yellow": 0.1}}}}, "policy.features.nope"),
        ({"features": {"x": {"volume": {"yellow": 0.1}}}}, "policy.features.x.volume"),
        ({"feature_drift": {"yellow": -0.1}}, "policy.feature_drift.yellow"),
        ({"bogus": 1}, "policy.bogus"),
        ({"feature_drift": {"yellow": 0.3, "red": 0.2}}, "policy.feature_drift: red (0.2) must be at or above yellow"),
        ({"volume": {"yellow": 0.1, "red": 0.5}}, "policy.volume: red (0.5) must be at or below yellow"),
        ({"min_rows": 0.5}, "policy.min_rows"),
        ({"min_rows": 0}, "policy.min_rows"),
    ],
)
def test_a_spec_policy_is_validated_at_register(policy, match):
    with pytest.raises(InputError, match=re.escape(match)):
        parse_spec({**SPEC, "model_id": "m", "policy": policy})


# ------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def policy_fleet(tmp_path_factory):
    """Four models in two teams: two with the same data (in the last 24 h 5 % unseen values in c
    and 1.5 % out-of-range x; c drifted for ten days, PSI 0.23 over 7 days), two with 50 rows."""
    fleet = ind.Fleet(tmp_path_factory.mktemp("policy"))
    d0 = day(0)
    d0 = setrows(d0, d0["c"] == "a", 20, "c", "zzz")
    d0 = setrows(d0, d0["x"] < 50, 6, "x", 150.0)
    data = [setrows(d, d["c"] == "b", 60, "c", "a") for d in [d0] + [day(k) for k in range(1, 10)]]
    with fleet.batch():
        for model_id, team, policy, frame in [
            ("p-retail", "retail", MODEL_POLICY, pd.concat(data)),
            ("p-other", "other", {}, pd.concat(data)),
            ("few-retail", "retail", {}, day(0, n=50)),
            ("few-other", "other", {}, day(0, n=50)),
        ]:
            spec = {**SPEC, "model_id": model_id, "team": team}
            if policy:
                spec["policy"] = policy
            fleet.register(spec)
            fleet.reference(model_id, REF)
            fleet.inference(model_id, frame)
    return fleet


@pytest.fixture(scope="module")
def team_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("policyfile") / "policy.yaml"
    path.write_text(TEAM_FILE, encoding="utf-8")
    return path


def _reasons(model):
    return [(r["check"], r["feature"], r["status"], r["threshold"], r["threshold_source"]) for r in model["reasons"]]


def test_evaluate_applies_the_policy_file_from_the_environment(policy_fleet, team_file, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_POLICY", str(team_file))
    got = {m["model_id"]: m for m in evaluate(policy_fleet.store, as_of=AS_OF)["models"]}
    # team retail: unseen yellow at 0.02 (the team's), red raised to 0.5 by the spec's feature
    # block; out of range 0.015 is under the team's yellow 0.03; the spec's drift red 0.2 catches it.
    # threshold_source names where the threshold of the status reached came from.
    assert _reasons(got["p-retail"]) == [
        ("feature_drift", "c", "red", 0.2, "model"),
        ("unseen_categories", "c", "yellow", 0.02, "team"),
    ]
    # the same data under the defaults
    assert _reasons(got["p-other"]) == [
        ("unseen_categories", "c", "red", 0.05, "default"),
        ("out_of_range", "x", "yellow", 0.01, "default"),
        ("feature_drift", "c", "yellow", 0.1, "default"),
    ]
    checks = {c["check"]: c for c in got["p-retail"]["checks"]}
    assert (checks["volume"]["yellow"], checks["volume"]["threshold_source"]) == (0.9, "default")
    assert (
        checks["out_of_range"]["status"],
        checks["out_of_range"]["yellow"],
        checks["out_of_range"]["threshold_source"],
    ) == ("green", 0.03, "team")
    # 50 rows are not fewer than the team's min_rows (50): judged; under the default (100): grey
    assert got["few-other"]["status"] == "grey"
    assert {c["check"]: c["status"] for c in got["few-other"]["checks"]}["feature_drift"] == "grey"
    assert got["few-retail"]["status"] != "grey"
    assert "grey" not in {c["check"]: c["status"] for c in got["few-retail"]["checks"]}.values()


def test_without_a_policy_file_every_threshold_is_the_default(policy_fleet, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_POLICY", "")
    got = {m["model_id"]: m for m in evaluate(policy_fleet.store, as_of=AS_OF)["models"]}
    assert got["few-retail"]["status"] == "grey"
    # the spec's own policy still applies (model and feature levels)
    assert _reasons(got["p-retail"]) == [
        ("feature_drift", "c", "red", 0.2, "model"),
        ("unseen_categories", "c", "yellow", 0.001, "default"),
        ("out_of_range", "x", "yellow", 0.01, "default"),
    ]


# ------------------------------------------------------------------------ documentation
def _readme_policy_table() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Policy settings") :]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def _number(cell: str) -> float | None:
    found = re.findall(r"\d+(?:\.\d+)?", cell)
    return float(found[0]) if found else None


def test_every_setting_is_documented_in_the_readme_policy_table():
    table = _readme_policy_table()
    names = [c.name for c in CHECKS] + list(SETTINGS)
    missing = [n for n in names if n not in table]
    assert not missing, f"README.md's policy table lacks {missing}"
    for c in CHECKS:
        if c.name == "schema":
            continue
        yellow, red = _number(table[c.name][0]), _number(table[c.name][1])
        assert (yellow, red) == (float(c.yellow), float(c.red)), f"README's {c.name} row says {table[c.name][:2]}"
    for name, (value, _) in SETTINGS.items():
        assert _number(table[name][0]) == float(value), name
    unknown = set(table) - set(names)
    assert not unknown, f"README.md documents settings that lib/policy.py does not have: {unknown}"
