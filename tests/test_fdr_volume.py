"""Issue 13: false discovery rate control of drift findings across the fleet (Benjamini-Hochberg,
pinned against scipy on a hand family and on a built fleet), and the seasonal volume baseline
(same weekday of the previous weeks, on a hand-built weekly pattern)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
from fixtures import spec_dict, write_csv, write_spec

from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, register_spec
from lib.judge.evaluate import evaluate
from lib.judge.fdr import decide
from lib.judge.policy import load_policy
from lib.metrics import benjamini_hochberg_adjusted
from lib.store.connection import Store

FLAVORS = ["vanilla", "chocolate", "mint", "lemon"]
AS_OF = pd.Timestamp("2026-11-29 00:00")  # the end of Saturday 28 Nov: the last 24 h are that Saturday
COLS = {"timestamp": "ts", "prediction": "prediction", "label": "label"}


# -- Benjamini-Hochberg against scipy -----------------------------------------------------------
def test_bh_adjusted_equals_scipy_on_a_hand_family():
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    want = ss.false_discovery_control(p, method="bh")
    assert benjamini_hochberg_adjusted(p) == pytest.approx(want, abs=1e-15)
    # by hand: m = 10; q(0.001) = 0.01, q(0.008) = 0.04, the three near 0.04 share 0.042*10/5 = 0.084
    assert benjamini_hochberg_adjusted(p)[:5] == pytest.approx([0.01, 0.04, 0.084, 0.084, 0.084])
    rng = np.random.default_rng(3)
    many = rng.uniform(0, 1, 400) ** 4
    assert benjamini_hochberg_adjusted(many) == pytest.approx(ss.false_discovery_control(many), abs=1e-14)
    with_nan = benjamini_hochberg_adjusted([0.01, np.nan, 0.02])
    assert np.isnan(with_nan[1]) and with_nan[[0, 2]] == pytest.approx(ss.false_discovery_control([0.01, 0.02]))


def test_decide_removes_flagged_non_discoveries_only():
    fam = pd.DataFrame(
        {
            "model_id": ["a", "b", "c", "d"],
            "feature": ["f"] * 4,
            "slot": [0] * 4,
            "status": ["red", "yellow", "green", "yellow"],
            "psi": [0.4, 0.12, 0.01, 0.11],
            "p": [1e-9, 0.03, 0.5, 0.2],
        }
    )
    out = decide(fam, 0.05)
    # q = [4e-9, 0.06, 0.5, 0.2 * 4 / 3]: only a is a discovery; b and d were findings: removed
    assert out["q"].tolist() == pytest.approx([4e-9, 0.06, 0.5, 0.8 / 3])
    assert out["discovery"].tolist() == [True, False, False, False]
    assert out["removed"].tolist() == [False, True, False, True]


def test_fdr_setting_validated(tmp_path):
    bad = tmp_path / "p.yaml"
    for text, msg in [
        ("fdr: {enabled: yes please}\n", "fdr.enabled: must be true or false"),
        ("fdr: {enabled: true, alpha: 1.5}\n", "fdr.alpha: must be a number between 0 and 1"),
        ("teams: {retail: {fdr: {enabled: true}}}\n", "fleet-wide"),
        ("volume_baseline: {mode: weekly}\n", "volume_baseline.mode: must be one of daily_mean, same_weekday"),
        ("volume_baseline: {mode: same_weekday, weeks: 0}\n", "volume_baseline.weeks: must be a whole number"),
    ]:
        bad.write_text(text)
        with pytest.raises(InputError, match=msg):
            load_policy(bad)
    assert load_policy(None).defaults["fdr"] == {"enabled": False, "alpha": 0.05}
    assert load_policy(None).defaults["volume_baseline"] == {"mode": "daily_mean", "weeks": 4}


# -- a built fleet: one loud drift, one faint, four calm ---------------------------------------
def _counts_frame(counts: dict[str, int], rng, start: pd.Timestamp, hours: float) -> pd.DataFrame:
    flavors = np.repeat(list(counts), list(counts.values()))
    n = len(flavors)
    ts = start + pd.to_timedelta(np.sort(rng.uniform(60, hours * 3600 - 60, n)).round(), unit="s")
    temp = rng.normal(20, 5, n).round(3)
    return pd.DataFrame(
        {
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S"),
            "flavor": rng.permutation(flavors),
            "temperature": temp,
            "prediction": (temp / 2).round(3),
        }
    )


FLEET = {
    "loud": {"vanilla": 250, "chocolate": 30, "mint": 10, "lemon": 10},
    "faint": {"vanilla": 40, "chocolate": 25, "mint": 20, "lemon": 15},  # PSI 0.13, but only 100 rows
    **{f"calm{i}": {"vanilla": 75, "chocolate": 75, "mint": 75, "lemon": 75} for i in range(4)},
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    d = tmp_path_factory.mktemp("fdr")
    store, raw = build_fdr_fleet(d)
    return store, raw, d


def build_fdr_fleet(d):
    """The six-model fleet in d/f.duckdb; returns the store and each model's (reference, inference) frames."""
    store = Store(d / "f.duckdb")
    raw = {}
    for i, (model, counts) in enumerate(FLEET.items()):
        rng = np.random.default_rng(i)
        register_spec(
            store,
            spec_dict(
                model, task="regression", features={"flavor": "categorical", "temperature": "numeric"}, columns=COLS
            ),
        )
        ref = _counts_frame(dict.fromkeys(FLAVORS, 100), rng, AS_OF, 1).drop(columns="ts").assign(label=1.0)
        inf = _counts_frame(counts, rng, AS_OF - pd.Timedelta(days=7), 7 * 24)
        assert ingest_file(store, "reference", model, write_csv(d / f"{model}-ref.csv", ref)).status == "ingested"
        assert ingest_file(store, "inference", model, write_csv(d / f"{model}-inf.csv", inf)).status == "ingested"
        raw[model] = (ref, inf)
    return store, raw


def _chi2_p(ref: pd.Series, cur: pd.Series, edges=None) -> float:
    if edges is not None:
        ref, cur = np.searchsorted(edges, ref, side="right"), np.searchsorted(edges, cur, side="right")
    r, c = pd.Series(ref).value_counts(), pd.Series(cur).value_counts()
    table = pd.concat([r, c], axis=1).fillna(0).to_numpy().T
    return float(ss.chi2_contingency(table)[1])


def test_fdr_on_a_fleet_against_scipy(fleet):
    store, raw, d = fleet
    policy_file = write_spec(d, "fdr: {enabled: true, alpha: 0.05}\n", "policy.yaml")
    off = evaluate(store, as_of=AS_OF)
    on = evaluate(store, as_of=AS_OF, policy=load_policy(policy_file))
    # the family: 6 models x 2 features, p-values by scipy on the raw rows
    want_p = {}
    for model, (ref, inf) in raw.items():
        want_p[(model, "flavor")] = _chi2_p(ref["flavor"], inf["flavor"])
        edges = np.quantile(ref["temperature"], np.arange(1, 10) / 10)
        want_p[(model, "temperature")] = _chi2_p(ref["temperature"], inf["temperature"], edges)
    keys = sorted(want_p)
    q = dict(zip(keys, ss.false_discovery_control([want_p[k] for k in keys])))
    got = {(m["model_id"], f["feature"]): f["fdr"] for m in on["models"] for f in m["features"]}
    assert sorted(got) == keys
    for k in keys:
        assert got[k]["p"] == pytest.approx(want_p[k], rel=1e-9, abs=1e-300)
        assert got[k]["q"] == pytest.approx(q[k], rel=1e-9, abs=1e-300)
    before = {
        (m["model_id"], r["feature"]) for m in off["models"] for r in m["reasons"] if r["check"] == "feature_drift"
    }
    assert {("loud", "flavor"), ("faint", "flavor")} <= before  # both over PSI 0.10 without the control
    removed = sorted(k for k in before if q[k] > 0.05)
    assert ("faint", "flavor") in removed and ("loud", "flavor") not in removed
    after = {(m["model_id"], r["feature"]) for m in on["models"] for r in m["reasons"] if r["check"] == "feature_drift"}
    assert after == before - set(removed)
    status = {m["model_id"]: m["status"] for m in on["models"]}
    checks = {m["model_id"]: {c["check"]: c["status"] for c in m["checks"]} for m in on["models"]}
    assert checks["faint"]["feature_drift"] == "green" and status["loud"] == "red"
    assert [r["check"] for r in next(m for m in on["models"] if m["model_id"] == "faint")["reasons"]] == [
        "prediction_drift"  # not a member of the family (docs/policy.md): it stands
    ]
    assert on["fdr"]["family"] == 12 and on["fdr"]["findings"] == len(before)
    assert on["fdr"]["removed"] == len(removed) and on["fdr"]["discoveries"] == sum(v <= 0.05 for v in q.values())
    assert sorted((r["model_id"], r["feature"]) for r in on["fdr"]["removed_findings"]) == removed
    assert "fdr" not in off  # off by default: the JSON is as before
    # one model's view is judged against the fleet's family: same q, same status
    one = evaluate(store, as_of=AS_OF, model_ids=["faint"], policy=load_policy(policy_file))
    assert one["fdr"]["removed"] == len(removed) and not [
        r for r in one["models"][0]["reasons"] if r["check"] == "feature_drift"
    ]
    assert one["models"][0]["features"][0]["fdr"]["q"] == pytest.approx(q[("faint", "flavor")], rel=1e-9)


# -- seasonal volume ------------------------------------------------------------------------------
def _weekly(days: int, weekday: int = 200, quiet: int = 20) -> pd.DataFrame:
    """`days` whole days up to AS_OF; Saturdays (the last day) have `quiet` rows, other days `weekday`."""
    rng = np.random.default_rng(5)
    parts = []
    for k in range(days, 0, -1):
        start = AS_OF - pd.Timedelta(days=k)
        n = quiet if start.dayofweek == 5 else weekday
        parts.append(_counts_frame({"vanilla": n}, rng, start, 24))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("weeks", [1, 3])
def test_volume_same_weekday_baseline(tmp_path, weeks):
    store = Store(tmp_path / "v.duckdb")
    feats = {"flavor": "categorical", "temperature": "numeric"}
    seasonal = {"volume_baseline": {"mode": "same_weekday", "weeks": weeks}}
    register_spec(store, spec_dict("daily", task="regression", features=feats, columns=COLS))
    register_spec(store, spec_dict("weekly", task="regression", features=feats, columns=COLS, policy=seasonal))
    inf = _weekly(22)
    ref = _counts_frame({"vanilla": 200}, np.random.default_rng(1), AS_OF, 1).drop(columns="ts").assign(label=1.0)
    for m in ("daily", "weekly"):
        ingest_file(store, "reference", m, write_csv(tmp_path / "ref.csv", ref))
        ingest_file(store, "inference", m, write_csv(tmp_path / f"{m}.csv", inf))
    out = {m["model_id"]: m for m in evaluate(store, as_of=AS_OF)["models"]}
    # by hand: the last 24 h hold the quiet Saturday's 20 rows; the 7 days before them are
    # Sat 21 .. Fri 27: one quiet Saturday (20) and six days of 200
    daily = next(c for c in out["daily"]["checks"] if c["check"] == "volume")
    assert daily["value"] == pytest.approx(20 / ((6 * 200 + 20) / 7), rel=1e-12)
    assert daily["status"] == "yellow"
    weekly = next(c for c in out["weekly"]["checks"] if c["check"] == "volume")
    assert weekly["value"] == pytest.approx(1.0, rel=1e-12)  # 20 / mean(20, …) over the same Saturdays
    assert weekly["status"] == "green" and out["weekly"]["status"] == "green"
    reason = next(r for r in out["daily"]["reasons"] if r["check"] == "volume")
    assert "of the daily mean of the 7 days before (174;" in reason["message"]
    # as of Friday's end: Fridays are compared with Fridays (weeks before the first row are left out)
    fri = evaluate(store, as_of=AS_OF - pd.Timedelta(days=1), model_ids=["weekly"])["models"][0]
    assert next(c for c in fri["checks"] if c["check"] == "volume")["value"] == pytest.approx(1.0)


def test_volume_same_weekday_catches_a_real_drop(tmp_path):
    """A weekday at a tenth of the same weekday's usual rows is red with the seasonal baseline too."""
    store = Store(tmp_path / "v.duckdb")
    feats = {"flavor": "categorical", "temperature": "numeric"}
    policy = {"volume_baseline": {"mode": "same_weekday", "weeks": 2}}
    register_spec(store, spec_dict("weekly", task="regression", features=feats, columns=COLS, policy=policy))
    inf = _weekly(15, weekday=200, quiet=15)  # the last day (a Saturday) at 15 rows; Saturdays before had 15 too
    inf = inf[pd.to_datetime(inf["ts"]) < AS_OF - pd.Timedelta(days=1)]  # drop the last Saturday ...
    last = _counts_frame({"vanilla": 1}, np.random.default_rng(9), AS_OF - pd.Timedelta(days=1), 24)  # ... 1 row
    ref = _counts_frame({"vanilla": 200}, np.random.default_rng(1), AS_OF, 1).drop(columns="ts").assign(label=1.0)
    ingest_file(store, "reference", "weekly", write_csv(tmp_path / "ref.csv", ref))
    ingest_file(store, "inference", "weekly", write_csv(tmp_path / "inf.csv", pd.concat([inf, last])))
    m = evaluate(store, as_of=AS_OF)["models"][0]
    vol = next(r for r in m["reasons"] if r["check"] == "volume")
    assert vol["value"] == pytest.approx(1 / 15) and vol["status"] == "red"
    assert vol["message"] == (
        "1 rows in the last 24h, 6.7% of the same 24 hours of the 2 previous weeks (mean 15; red at 10%)"
    )


def build_weekly_store(path, d):
    """Three models over 22 days ending on a quiet Saturday (AS_OF): daily-mean baseline, same-weekday
    baseline, and a same-weekday model whose last Saturday dropped to 1 row (for the pages)."""
    store = Store(path)
    feats = {"flavor": "categorical", "temperature": "numeric"}
    seasonal = {"volume_baseline": {"mode": "same_weekday", "weeks": 2}}
    ref = _counts_frame({"vanilla": 200}, np.random.default_rng(1), AS_OF, 1).drop(columns="ts").assign(label=1.0)
    inf = _weekly(22)
    drop = pd.concat(
        [
            inf[pd.to_datetime(inf["ts"]) < AS_OF - pd.Timedelta(days=1)],
            _counts_frame({"vanilla": 1}, np.random.default_rng(9), AS_OF - pd.Timedelta(days=1), 24),
        ]
    )
    for model, policy, frame in (
        ("quiet-saturdays-daily-mean", None, inf),
        ("quiet-saturdays", seasonal, inf),
        ("seasonal-drop", seasonal, drop),
    ):
        extra = {"policy": policy} if policy else {}
        register_spec(store, spec_dict(model, task="regression", features=feats, columns=COLS, **extra))
        ingest_file(store, "reference", model, write_csv(d / f"{model}-ref.csv", ref))
        ingest_file(store, "inference", model, write_csv(d / f"{model}-inf.csv", frame))
    return store
