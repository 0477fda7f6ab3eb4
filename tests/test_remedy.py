"""Remedies for new category values (issue 13): defaults offered, the mapping file (YAML/JSON,
CLI), the upstream notice (real Apprise `json://` delivery to a local HTTP receiver) and the
retrain trigger, each with its audit entry. Counts and first-seen times are checked against
pandas on the rows the test wrote."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures import T0, run_cli, spec_dict, write_csv
from test_actions import Hooks

from lib.actions import remedy
from lib.actions.config import ActionConfig
from lib.actions.roles import Actor, PermissionDenied
from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, register_spec
from lib.judge.remedy import default_choices, remedy_block
from lib.spec import parse_spec
from lib.store.actions import actions as stored_actions
from lib.store.actions import audit_log
from lib.store.connection import Store

MODEL = "gelato"
DANA = Actor(id="dana@example.com")  # the spec's owner (tests/fixtures.py spec_dict)
REF = {"vanilla": 180, "chocolate": 120, "mint": 60, "other": 40}  # the reference's flavor counts
NEW = {"strawberry": 30, "rocky road": 12}  # arrive in the last 24 h
END = T0 + pd.Timedelta(days=9)  # as_of


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    flavors = np.repeat(list(REF), list(REF.values()))
    n = len(flavors)
    ref = pd.DataFrame({"flavor": rng.permutation(flavors), "temperature": rng.normal(20, 5, n).round(3)})
    ref["label"] = (ref["temperature"] * 0.5).round(3)
    ref["prediction"] = ref["label"]
    # 8 days of known flavors, then a last day with the new values mixed in
    old_n, new_n = 800, 200
    ts_old = T0 + pd.to_timedelta(np.sort(rng.uniform(0, 8 * 86400, old_n)).round(), unit="s")
    ts_new = T0 + pd.Timedelta(days=8) + pd.to_timedelta(np.sort(rng.uniform(1, 86399, new_n)).round(), unit="s")
    last = list(rng.choice(list(REF)[:3], new_n - sum(NEW.values()))) + [v for v, c in NEW.items() for _ in range(c)]
    inf = pd.DataFrame(
        {
            "ts": list(ts_old) + list(ts_new),
            "flavor": list(rng.choice(list(REF)[:3], old_n)) + list(rng.permutation(last)),
            "temperature": rng.normal(20, 5, old_n + new_n).round(3),
        }
    )
    inf["prediction"] = (inf["temperature"] * 0.5).round(3)
    inf["ts"] = pd.to_datetime(inf["ts"]).dt.strftime("%Y-%m-%dT%H:%M:%S")
    return ref, inf


@pytest.fixture(scope="module")
def hooks():
    h = Hooks()
    yield h
    h.server.shutdown()


@pytest.fixture(scope="module")
def template(tmp_path_factory, hooks):
    d = tmp_path_factory.mktemp("remedy")
    store = Store(d / "t.duckdb")
    spec = spec_dict(
        MODEL,
        task="regression",
        features={"flavor": "categorical", "temperature": "numeric"},
        columns={"timestamp": "ts", "prediction": "prediction", "label": "label"},
        upstream=[hooks.url.replace("http://", "json://") + "/feed"],
        actions={"retrain_url": hooks.url + "/retrain"},
    )
    register_spec(store, spec)
    ref, inf = _frames()
    assert ingest_file(store, "reference", MODEL, write_csv(d / "ref.csv", ref)).status == "ingested"
    assert ingest_file(store, "inference", MODEL, write_csv(d / "inf.csv", inf)).status == "ingested"
    return d / "t.duckdb", inf


@pytest.fixture()
def db(template, tmp_path):
    path = tmp_path / "s.duckdb"
    shutil.copy(template[0], path)
    return path


CFG = ActionConfig(timeout_s=5, backoff_s=0.01, attempts_per_run=2, base_url="http://dash.example")


# -- the defaults offered (hand cases) ----------------------------------------------------------
def test_default_choices_most_frequent_and_catch_all():
    assert [c["value"] for c in default_choices({"b": 3, "a": 3, "c": 1})] == ["a"]  # tie: smaller text
    got = default_choices({"vanilla": 180, "chocolate": 120, "Other": 40})
    assert [(c["value"], c["reference_share"]) for c in got] == [("Other", 40 / 340), ("vanilla", 180 / 340)]
    only = default_choices({"unknown": 9, "x": 1})
    assert len(only) == 1 and only[0]["value"] == "unknown" and "catch-all" in only[0]["why"]
    assert default_choices({}) == []
    block = remedy_block("m", "flavor", [{"value": "kiwi", "count": 3}], {"a": 2, "b": 1})
    assert block["mapping"] == {"kiwi": "a"} and block["suggested"] == "a"
    assert block["commands"]["mapping"].startswith("python -m lib remedy --model m --feature flavor --map-unseen-to a")


def test_spec_upstream_validated():
    base = spec_dict("m1")
    assert parse_spec({**base, "upstream": ["mailto://feed@example.com"]}).upstream == ("mailto://feed@example.com",)
    assert parse_spec({**base, "upstream": ["mailto://a@b.c"]}).as_dict()["upstream"] == ["mailto://a@b.c"]
    with pytest.raises(InputError, match="field upstream"):
        parse_spec({**base, "upstream": ["feed team"]})
    with pytest.raises(InputError, match="field upstream"):
        parse_spec({**base, "upstream": {"to": "x"}})


# -- the reason's detail against pandas -----------------------------------------------------------
def test_reason_detail_counts_first_seen_and_remedy(db, template):
    inf = template[1]
    inc = remedy.incident(Store(db), MODEL)
    assert inc.as_of == END.tz_localize("UTC").isoformat()
    reason = inc.reasons["flavor"]
    ts = pd.to_datetime(inf["ts"])
    last24 = inf[(ts > END - pd.Timedelta(hours=24)) & (ts <= END)]
    counts = last24["flavor"].value_counts()
    want = {v: int(counts[v]) for v in NEW}
    assert {u["value"]: u["count"] for u in reason["unseen_values"]} == want == NEW
    first = {v: ts[inf["flavor"] == v].min().ceil("h").tz_localize("UTC").isoformat() for v in NEW}
    assert {u["value"]: u["first_seen"] for u in reason["unseen_values"]} == first
    assert reason["value"] == pytest.approx(sum(NEW.values()) / len(last24), abs=1e-12)
    rem = reason["remedy"]
    # the reference has "other": offered first; the most frequent (vanilla, 180/400) second
    assert [(c["value"], c["reference_share"]) for c in rem["choices"]] == [("other", 0.1), ("vanilla", 0.45)]
    assert rem["mapping"] == {"strawberry": "other", "rocky road": "other"}


# -- the mapping file ---------------------------------------------------------------------------
def test_cli_mapping_yaml_json_and_audit(db, tmp_path):
    out = tmp_path / "map.yaml"
    r = run_cli("remedy", "--model", MODEL, "--map-unseen-to", "vanilla", "--out", str(out), db=db)
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(out.read_text())
    assert doc["features"]["flavor"]["map"] == {"strawberry": "vanilla", "rocky road": "vanilla"}
    assert doc["features"]["flavor"]["default"] == "vanilla"
    assert {u["value"]: u["rows_24h"] for u in doc["features"]["flavor"]["unseen"]} == NEW
    r = run_cli(
        "remedy",
        "--model",
        MODEL,
        "--feature",
        "flavor",
        "--map-unseen-to",
        "other",
        "--out",
        "-",
        "--format",
        "json",
        db=db,
    )
    assert r.returncode == 0 and json.loads(r.stdout)["features"]["flavor"]["map"]["strawberry"] == "other"
    with Store(db).read() as con:
        log = audit_log(con, model_id=MODEL)
    mapping = log[log["event"] == "mapping"]
    assert len(mapping) == 2 and mapping["actor"].str.startswith("cli:").all()
    assert set(mapping["detail"]) == {
        "yaml: flavor: 2 value(s) -> 'vanilla'",
        "json: flavor: 2 value(s) -> 'other'",
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["--map-unseen-to", "pistachio"], "--map-unseen-to: 'pistachio' is not a reference value of feature 'flavor'"),
        (["--map-unseen-to", "vanilla", "--feature", "temperature"], "--feature: 'temperature' has no unseen values"),
        (["--model", "nope", "--map-unseen-to", "x"], "--model: unknown model 'nope'"),
    ],
)
def test_cli_mapping_bad_input_exit_2_store_unchanged(db, args, message):
    argv = ["remedy"] + (["--model", MODEL] if "--model" not in args else []) + args
    r = run_cli(*argv, db=db)
    assert r.returncode == 2 and r.stderr.strip().startswith(message), r.stderr
    with Store(db).read() as con:
        assert audit_log(con, model_id=MODEL).empty


# -- upstream notice and retrain: real deliveries, audited, never twice -------------------------
def test_notify_upstream_delivers_values_counts_first_seen_once(db, hooks):
    hooks.requests.clear()
    store = Store(db)
    rows = remedy.notify_upstream(store, MODEL, actor=DANA, config=CFG)
    assert [r["outcome"] for r in rows] == ["delivered"]
    (req,) = hooks.requests
    assert req["path"] == "/feed"
    body = req["json"]["message"]
    assert req["json"]["title"] == "[Driftlight] 2 new value(s) in the feed of gelato"
    assert "- 'strawberry': 30 row(s) in the last 24 h, first seen 2026-11-28T" in body
    assert "- 'rocky road': 12 row(s) in the last 24 h" in body
    again = remedy.notify_upstream(store, MODEL, actor=DANA, config=CFG)
    assert [r["outcome"] for r in again] == ["already delivered"] and len(hooks.requests) == 1
    with store.read() as con:
        log = audit_log(con, model_id=MODEL)
        acts = stored_actions(con, model_id=MODEL)
    queued = log[log["event"] == "queued"]
    assert queued["actor"].tolist() == ["dana@example.com"]
    assert queued["detail"].tolist() == ["by hand: upstream notice: 2 new value(s) in flavor"]
    assert acts["status"].tolist() == ["delivered"] and acts["run_id"].tolist() == [0]


def test_trigger_retrain_posts_payload_with_values(db, hooks):
    hooks.requests.clear()
    rows = remedy.trigger_retrain(Store(db), MODEL, actor=DANA, config=CFG)
    assert [r["outcome"] for r in rows] == ["delivered"]
    (req,) = hooks.requests
    assert req["path"] == "/retrain" and req["headers"]["Idempotency-Key"] == rows[0]["action_id"]
    payload = req["json"]
    assert payload["event"] == "driftlight.retrain" and payload["trigger"]["by"] == "dana@example.com"
    assert {u["value"]: u["count"] for u in payload["trigger"]["unseen_values"]["flavor"]} == NEW
    dry = remedy.trigger_retrain(Store(db), MODEL, actor=DANA, config=CFG, dry_run=True)
    assert [r["outcome"] for r in dry] == ["already delivered"]


@pytest.mark.parametrize("action", [remedy.notify_upstream, remedy.trigger_retrain])
def test_only_the_owner_or_an_admin_may_notify_or_retrain(db, hooks, action):
    hooks.requests.clear()
    store = Store(db)
    with store.read() as con:
        before = (len(audit_log(con, model_id=MODEL)), len(stored_actions(con, model_id=MODEL)))
    with pytest.raises(PermissionDenied, match="^viewer@example.com may not .* gelato: only its owner"):
        action(store, MODEL, actor=Actor(id="viewer@example.com"), config=CFG)
    with store.read() as con:
        after = (len(audit_log(con, model_id=MODEL)), len(stored_actions(con, model_id=MODEL)))
    assert after == before and hooks.requests == []


def test_cli_notify_upstream_without_contact_exit_2(tmp_path):
    store = Store(tmp_path / "n.duckdb")
    register_spec(
        store,
        spec_dict(
            "plain",
            task="regression",
            features={"flavor": "categorical"},
            columns={"timestamp": "ts", "prediction": "prediction", "label": "label"},
        ),
    )
    r = run_cli("remedy", "--model", "plain", "--notify-upstream", db=tmp_path / "n.duckdb")
    assert r.returncode == 2 and "names no upstream contact (field upstream)" in r.stderr
