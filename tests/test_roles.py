"""Roles and their enforcement in lib (issue 10), the policy overrides stored by the Policy page
(same evaluate JSON as the same change in the YAML; migration 3), uploads, and check-config.

Runs on the small fleet of tests/report_fixtures.py: three models of team qa, each owned by
`<model_id>@example.com`; quiet-yellow is yellow (0.5% unseen categories against yellow 0.001).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import report_fixtures as rf

from lib.actions import policy_edit as pe
from lib.actions import run as actions
from lib.actions import upload as up
from lib.actions.config import ActionConfig
from lib.actions.roles import (
    Access,
    Actor,
    PermissionDenied,
    actor_for,
    cli_actor,
    config_problems,
    load_access,
)
from lib.actions.send import Attempt
from lib.errors import InputError
from lib.ingest.pipeline import register_spec
from lib.judge.evaluate import evaluate
from lib.judge.policy import load_policy
from lib.store import actions as sa
from lib.store import schema
from lib.store.connection import Store
from lib.store.policy import read_overrides

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Actor("admin@example.com", admin=True)
OWNER = Actor("quiet-yellow@example.com")
VIEWER = Actor("viewer@example.com")
TEAM = Actor("lead@example.com", teams=frozenset({"qa"}))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roles")
    store = rf.build(tmp)
    actions.run_alerts(store, config=ActionConfig(), sender=lambda a, c: Attempt(True, False, "ok"))
    return tmp


@pytest.fixture
def store(built, tmp_path):
    """A private copy of the built fleet per test (writes do not leak between tests)."""
    for f in built.glob("fleet.duckdb*"):
        shutil.copy(f, tmp_path / f.name)
    return Store(tmp_path / "fleet.duckdb")


# -- the [driftlight] table and the actor ------------------------------------------------------------
def test_access_from_secrets():
    acc = load_access(
        {
            "admins": ["Ada@Example.com"],
            "allowed_domains": ["@example.com"],
            "allowed_users": ["guest@partner.org"],
            "teams": {"qa": ["lead@example.com"]},
        }
    )
    assert acc.admins == {"ada@example.com"} and acc.allowed_domains == {"example.com"}
    assert acc.may_log_in("someone@example.com") and acc.may_log_in("guest@partner.org")
    assert not acc.may_log_in("someone@partner.org") and not acc.may_log_in("") and not acc.may_log_in(None)
    assert not acc.may_log_in("x@notexample.com")  # a domain is matched whole
    assert Access().may_log_in("anyone@anywhere.net")  # no list: every authenticated user
    ada = actor_for(acc, "ADA@example.com")
    assert (ada.id, ada.admin, ada.role) == ("ada@example.com", True, "admin")
    lead = actor_for(acc, "lead@example.com")
    assert (lead.admin, lead.teams, lead.role) == (False, {"qa"}, "owner")
    assert actor_for(acc, "someone@example.com").role == "viewer"
    assert acc.upload_limit_mb == 200
    assert cli_actor().id.startswith("cli:") and cli_actor().admin


@pytest.mark.parametrize(
    "table, message",
    [
        ({"admins": "ada@example.com"}, "field driftlight.admins: must be a list of strings"),
        ({"teams": {"qa": "x"}}, "field driftlight.teams.qa: must be a list of strings"),
        ({"upload_limit_mb": 0}, "field driftlight.upload_limit_mb: must be a whole number of MB, at least 1"),
        ({"allow_unauthenticated": "yes"}, "field driftlight.allow_unauthenticated: must be true or false"),
        ({"admin": ["x"]}, "field driftlight.admin: unknown setting"),
    ],
)
def test_access_rejects_bad_tables(table, message):
    with pytest.raises(InputError, match=message):
        load_access(table)


def test_ownership():
    assert OWNER.owns("Quiet-Yellow@example.com", "qa") and not OWNER.owns("hostile-red@example.com", "qa")
    assert TEAM.owns("hostile-red@example.com", "qa") and not TEAM.owns("x@example.com", "risk")
    assert ADMIN.owns("anyone", "any") and not VIEWER.owns("hostile-red@example.com", "qa")


AUTH = {"redirect_uri": "https://dl.example/oauth2callback", "cookie_secret": "s" * 32, "client_id": "c"}


@pytest.mark.parametrize(
    "secrets, address, problem",
    [
        ({}, "localhost", None),
        ({}, "127.0.0.1", None),
        ({}, "0.0.0.0", "server.address is '0.0.0.0' but secrets.toml has no [auth] table"),
        ({"driftlight": {"allow_unauthenticated": True}}, "0.0.0.0", None),
        ({"auth": AUTH}, "0.0.0.0", None),
        ({"auth": {**AUTH, "cookie_secret": ""}}, "0.0.0.0", "[auth] has no cookie_secret"),
        ({"auth": {k: v for k, v in AUTH.items() if k != "cookie_secret"}}, "localhost", "[auth] has no cookie_secret"),
        ({"driftlight": {"admins": "x"}}, "localhost", "field driftlight.admins"),
    ],
)
def test_config_problems(secrets, address, problem):
    problems = config_problems(secrets, address)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_check_config_cli(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[auth]\nredirect_uri = "https://dl.example/oauth2callback"\nclient_id = "c"\n')
    good = tmp_path / "good.toml"
    good.write_text('[driftlight]\nadmins = ["ada@example.com"]\n')

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "lib", "check-config", *args], cwd=ROOT, capture_output=True, text=True
        )

    r = run("--secrets", str(bad), "--address", "0.0.0.0")
    assert r.returncode == 2 and r.stderr.startswith("secrets.toml: [auth] has no cookie_secret")
    r = run("--secrets", str(good), "--address", "0.0.0.0")
    assert r.returncode == 2 and "no [auth] table" in r.stderr
    r = run("--secrets", str(good), "--address", "127.0.0.1")
    assert r.returncode == 0 and "unauthenticated, 1 admin(s), upload limit 200 MB" in r.stdout


# -- enforcement through lib: refused means nothing written ------------------------------------------
def _log(store: Store) -> list[tuple]:
    with store.read() as con:
        log = sa.audit_log(con, limit=1000)
    return list(zip(log["event"], log["model_id"], log["actor"]))


def test_controls_need_the_models_owner(store):
    before = _log(store)
    for call in (
        lambda: actions.acknowledge(store, "quiet-yellow", actor=VIEWER),
        lambda: actions.mute(store, "hostile-red", True, actor=OWNER),
        lambda: actions.snooze(store, "hostile-red", None, actor=OWNER),
        lambda: actions.acknowledge(store, "no-such-model", actor=OWNER),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert _log(store) == before
    with pytest.raises(PermissionDenied, match="^viewer@example.com may not acknowledge quiet-yellow: only its owner"):
        actions.acknowledge(store, "quiet-yellow", actor=VIEWER)
    assert actions.acknowledge(store, "quiet-yellow", actor=OWNER) == 1
    actions.mute(store, "hostile-red", True, actor=TEAM)  # the team's owner list
    log = _log(store)
    assert log[0] == ("muted", "hostile-red", "lead@example.com")
    assert log[1] == ("acknowledged", "quiet-yellow", "quiet-yellow@example.com")


def test_requeue_needs_the_owner(store):
    with store.write() as con:
        con.execute("UPDATE alert_actions SET status = 'failed'")
        rows = con.execute("SELECT action_id, model_id FROM alert_actions ORDER BY action_id").fetchall()
    mine = next(a for a, m in rows if m == "quiet-yellow")
    other = next(a for a, m in rows if m != "quiet-yellow")
    with pytest.raises(PermissionDenied, match=f"may not requeue the actions of {dict(rows)[other]}"):
        actions.retry_failed(store, other, actor=OWNER)
    assert actions.retry_failed(store, mine, actor=OWNER)
    assert _log(store)[0] == ("requeued", "quiet-yellow", "quiet-yellow@example.com")
    assert actions.requeue_all_failed(store, actor=cli_actor()) == len(rows) - 1


def test_policy_changes_are_for_admins(store):
    change = pe.Change("model", "quiet-yellow", "unseen_categories", yellow=0.01)
    for who in (VIEWER, OWNER, TEAM):
        with pytest.raises(PermissionDenied, match=f"^{who.id} may not change the policy: only an admin may$"):
            pe.apply_change(store, change, actor=who, comment="why not")
    with store.read() as con:
        assert read_overrides(con) == []
    with pytest.raises(InputError, match="a comment is required"):
        pe.apply_change(store, change, actor=ADMIN, comment="  ")


@pytest.mark.parametrize(
    "change, message",
    [
        (
            pe.Change("model", "quiet-yellow", "feature_drift", yellow=0.3, red=0.25),
            r"^policy page: field models.quiet-yellow.feature_drift: red \(0.25\) must be at or above yellow \(0.3\)$",
        ),
        (
            pe.Change("model", "quiet-yellow", "volume", yellow=0.05, red=0.2),
            r"red \(0.2\) must be at or below yellow \(0.05\)",
        ),
        (
            pe.Change("model", "quiet-yellow", "missing", "nope", yellow=0.1),
            "features.nope: not a feature of this model",
        ),
        (
            pe.Change("model", "quiet-yellow", "freshness", "colour", yellow=1),
            "features.colour.freshness: not a per-feature check",
        ),
        (
            pe.Change("model", "quiet-yellow", "min_rows", value=0.5),
            "min_rows: must be a whole number of rows, at least 1",
        ),
        (pe.Change("model", "quiet-yellow", "schema", yellow=1), "field schema: unknown check or setting"),
        (pe.Change("team", "nobody", "missing", yellow=0.1), "team 'nobody': no registered model has this team"),
        (pe.Change("model", "ghost", "missing", yellow=0.1), "model 'ghost': not registered"),
        (pe.Change("model", "quiet-yellow", "missing", yellow=-1.0), "missing.yellow: must be a non-negative number"),
    ],
)
def test_policy_changes_validated_like_the_yaml(store, change, message):
    with pytest.raises(InputError, match=message):
        pe.apply_change(store, change, actor=ADMIN, comment="test")
    with store.read() as con:
        assert read_overrides(con) == []


# -- a stored override equals the same change in the YAML -------------------------------------------
def _eval(store: Store, policy=None) -> str:
    out = evaluate(store, timeline_days=30, detail=True, model_ids=None, policy=policy)
    return json.dumps(out, sort_keys=True, allow_nan=False)


def test_team_override_equals_policy_file(store, tmp_path):
    yaml_file = tmp_path / "policy.yaml"
    yaml_file.write_text("teams:\n  qa:\n    unseen_categories: {yellow: 0.01, red: 0.06}\n    min_rows: 50\n")
    by_yaml = _eval(store, load_policy(yaml_file))
    plain = _eval(store)
    assert by_yaml != plain
    ch = pe.Change("team", "qa", "unseen_categories", yellow=0.01, red=0.06)
    assert pe.preview(store, ch) == [{"model_id": "quiet-yellow", "before": "yellow", "after": "green"}]
    old, new = pe.apply_change(store, ch, actor=ADMIN, comment="delta is expected")
    assert (old, new) == ("unseen_categories yellow 0.001, red 0.05", "unseen_categories yellow 0.01, red 0.06")
    pe.apply_change(store, pe.Change("team", "qa", "min_rows", value=50), actor=ADMIN, comment="small models")
    assert _eval(store, load_policy(None)) == by_yaml
    statuses = {m["model_id"]: m["status"] for m in json.loads(by_yaml)["models"]}
    assert statuses["quiet-yellow"] == "green"
    # `alert` judges by it too: quiet-yellow's open finding closes at the next run
    with store.read() as con:
        assert "quiet-yellow" in set(sa.open_findings(con)["model_id"])
    actions.run_alerts(store, config=ActionConfig(), sender=lambda a, c: Attempt(True, False, "ok"))
    with store.read() as con:
        assert "quiet-yellow" not in set(sa.open_findings(con)["model_id"])
    with store.read() as con:
        log = sa.audit_log(con, limit=5)
    assert list(log["actor"][:2]) == ["admin@example.com"] * 2
    assert log["detail"].iloc[1] == (
        "team qa: unseen_categories yellow 0.001, red 0.05 → unseen_categories yellow 0.01, red 0.06 "
        "· why: delta is expected"
    )
    # clearing the override brings the YAML-less judgement back
    assert pe.clear_override(store, "team", "qa", "unseen_categories", actor=ADMIN, comment="undo")
    pe.clear_override(store, "team", "qa", "min_rows", actor=ADMIN, comment="undo")
    assert _eval(store) == plain


def test_feature_override_equals_spec_policy(store, tmp_path):
    twin_dir = tmp_path / "twin"
    twin_dir.mkdir()
    for f in Path(store.path).parent.glob("fleet.duckdb*"):
        shutil.copy(f, twin_dir / f.name)
    twin = Store(twin_dir / "fleet.duckdb")
    spec = rf.spec("quiet-yellow", "Quiet yellow", "colour")
    spec["policy"] = {"features": {"colour": {"unseen_categories": {"yellow": 0.01}}}}
    register_spec(twin, spec)
    ch = pe.Change("model", "quiet-yellow", "unseen_categories", "colour", yellow=0.01)
    pe.apply_change(store, ch, actor=ADMIN, comment="delta is expected")
    assert _eval(store) == _eval(twin)
    table = pe.explain(store, "quiet-yellow")
    row = table[(table["check"] == "unseen_categories") & (table["feature"] == "colour")].iloc[0]
    assert (row["yellow"], row["red"], row["level"], row["origin"]) == (0.01, 0.05, "feature", "store")
    twin_row = pe.explain(twin, "quiet-yellow").query("check == 'unseen_categories' and feature == 'colour'").iloc[0]
    assert twin_row["origin"] == "spec"
    # a stored model value sits above the spec's value at the same level
    pe.apply_change(
        twin, pe.Change("model", "quiet-yellow", "unseen_categories", "colour", red=0.3), actor=ADMIN, comment="x"
    )
    twin_row = pe.explain(twin, "quiet-yellow").query("check == 'unseen_categories' and feature == 'colour'").iloc[0]
    assert (twin_row["yellow"], twin_row["red"], twin_row["origin"]) == (0.01, 0.3, "store")


def test_migration_from_version_2(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    old = Store(tmp_path / "old.duckdb")
    register_spec(old, rf.spec("m1", "M1", "colour"))
    with old.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
        assert read_overrides(con) == []  # a v2 store reads as no overrides
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    pe.apply_change(old, pe.Change("model", "m1", "missing", yellow=0.1), actor=ADMIN, comment="after migration")
    with old.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "3"
        rows = read_overrides(con)
    assert [(r["scope"], r["target"], r["setting"], r["yellow"], r["red"], r["updated_by"]) for r in rows] == [
        ("model", "m1", "missing", 0.1, None, "admin@example.com")
    ]


# -- uploads ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\x.parquet", "x.parquet"),
        ("/abs/path/in.csv", "in.csv"),
        ("we!rd;$(rm).csv", "we_rd___rm_.csv"),
        ("..csv", "upload"),
    ],
)
def test_upload_names_stay_in_their_folder(name, safe):
    if safe == "upload":
        with pytest.raises(InputError, match="not a csv or parquet or pq file"):
            up.safe_name(name)
    else:
        assert up.safe_name(name) == safe


def test_upload_rights_and_same_rejection_as_cli(store, built):
    data = (built / "quiet-yellow-inf.csv").read_bytes()
    with pytest.raises(PermissionDenied, match="may not upload inference files for quiet-yellow"):
        up.ingest_upload(store, "inference", "quiet-yellow", "x.csv", [data], actor=VIEWER)
    with pytest.raises(PermissionDenied, match="only an admin registers a new model"):
        up.register_upload(store, json.dumps(rf.spec("new-one", "N", "colour")), "new.yaml", actor=OWNER)
    seen: list[int] = []
    out = up.ingest_upload(
        store,
        "inference",
        "quiet-yellow",
        "../again.csv",
        [data[:1000], data[1000:]],
        actor=OWNER,
        progress=seen.append,
    )
    assert (out.status, out.file) == ("skipped", "../again.csv") and seen == [1000, len(data)]
    version = store.data_version()
    bad = b"ts,colour,size,prediction\n2026-11-10T00:00:00Z,alpha,not-a-number,1\n"
    out = up.ingest_upload(store, "inference", "quiet-yellow", "bad.csv", [bad], actor=ADMIN)
    assert out.status == "rejected"
    assert out.line() == "bad.csv: column size, row 1: 'not-a-number' is not a number"
    assert store.data_version() == version
    spec = up.register_upload(store, json.dumps(rf.spec("new-one", "N", "colour")), "new.yaml", actor=ADMIN)
    assert spec.model_id == "new-one"
