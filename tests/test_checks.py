"""The nine checks at green, yellow, red and grey, the model status, the order of reasons and
of models, and `since` / `onset`, on hand-made scenarios with known answers.

One store holds one model per scenario, built through the real ingest API. Every model shares a
400-row reference whose every feature, prediction and label is known, and each "normal" day of
logs is an exact copy of it (so drift, missing, unseen and out-of-range values are exactly 0);
a scenario changes a few rows of a few days. as_of is a midnight (2026-11-30 00:00 UTC), so each
day is a whole day of the windows; the onset tests also evaluate at 13:00 the day before.
"""

from __future__ import annotations

import math

import independent as ind
import numpy as np
import pandas as pd
import pytest

from lib.judge.evaluate import evaluate
from lib.judge.policy import default_policy

AS_OF = pd.Timestamp("2026-11-30 00:00")
AS_OF_1300 = pd.Timestamp("2026-11-29 13:00")
DAY, HOUR = ind.DAY, ind.HOUR
N = 400
SPEC = {
    "task": "binary_classification",
    "owner": "o@example.com",
    "team": "ml",
    "columns": {"timestamp": "ts", "prediction": "pred", "label": "label"},
    "features": {"x": "numeric", "c": "categorical", "w": "numeric"},
}


def _reference() -> pd.DataFrame:
    """400 rows: x = 0..100 and w = -1..1 evenly, c = a/b/c/d 100 each; F1 of class 1 is 0.8
    (tp 160, fn 40, fp 40, tn 160)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "x": rng.permutation(np.linspace(0, 100, N)),
            "c": rng.permutation(np.array(list("abcd") * 100, dtype=object)),
            "w": rng.permutation(np.linspace(-1, 1, N)),
            "label": ["1"] * 200 + ["0"] * 200,
            "pred": ["1"] * 160 + ["0"] * 40 + ["1"] * 40 + ["0"] * 160,
        }
    )
    return frame.iloc[rng.permutation(N)].reset_index(drop=True)


REF = _reference()
REF_W_NULL = REF.assign(w=np.where(np.arange(N) < 40, np.nan, REF["w"]))  # 10 % NULL in w


def day(k: int, n: int = N, ref: pd.DataFrame = REF, labels: bool = False) -> pd.DataFrame:
    """The day that ends at AS_OF − k days: the first n reference rows, evenly spread, the last
    one exactly at the day-end (a row on the hour belongs to the hour that ends there)."""
    end = AS_OF - k * DAY
    frame = ref.iloc[:n].copy()
    frame.insert(0, "ts", (end - DAY + (np.arange(n) + 1) * (DAY / n)).astype("datetime64[us]"))
    return frame if labels else frame.drop(columns="label")


def balanced(n: int) -> pd.DataFrame:
    """n (a divisor of 400) rows of day 0 with exactly the reference's distribution: every
    (400/n)-th value of x and w in order, so each decile bin holds a tenth; c and pred in equal parts."""
    step = N // n
    frame = pd.DataFrame(
        {
            "x": np.sort(REF["x"])[::step],
            "c": list("abcd") * (n // 4),
            "w": np.sort(REF["w"])[::step],
            "pred": ["1", "0"] * (n // 2),
        }
    )
    frame.insert(0, "ts", (AS_OF - DAY + (np.arange(n) + 1) * (DAY / n)).astype("datetime64[us]"))
    return frame


def days(ks, **kw) -> pd.DataFrame:
    return pd.concat([day(k, **kw) for k in ks], ignore_index=True)


def one(*frames) -> list[pd.DataFrame]:
    """One inference file of these frames."""
    return [pd.concat(frames, ignore_index=True)]


def until(frame: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    """Rows up to `last`, the last of them moved to exactly `last`."""
    kept = frame[frame["ts"] < last].copy()
    extra = kept.iloc[[0]].assign(ts=last)
    return pd.concat([kept, extra], ignore_index=True)


def setrows(frame: pd.DataFrame, mask, n: int, column: str, value) -> pd.DataFrame:
    """Set `column` to `value` in the first n rows where mask holds."""
    idx = np.flatnonzero(np.asarray(mask))[:n]
    assert len(idx) == n
    frame = frame.copy()
    if isinstance(value, float) and np.isnan(value):
        frame[column] = frame[column].astype("float64")
    frame.loc[frame.index[idx], column] = value
    return frame


def _unseen_days(ks_with, ks_all, per_day=4):
    """Days ks_all, with `per_day` rows of c = "zzz" on the days ks_with."""
    out = []
    for k in ks_all:
        d = day(k)
        if k in ks_with:
            d = setrows(d, d["c"] == "a", per_day, "c", "zzz")
        out.append(d)
    return [pd.concat(out, ignore_index=True)]


def _drift_days(ks, flips):
    out = []
    for k in ks:
        d = day(k)
        out.append(setrows(d, d["c"] == "b", flips, "c", "a"))
    return pd.concat(out, ignore_index=True)


def _scenarios() -> dict[str, tuple[pd.DataFrame, list[pd.DataFrame]]]:
    """model id -> (reference, inference files)."""
    ten = range(10)
    d0 = day(0)
    s: dict[str, tuple[pd.DataFrame, list[pd.DataFrame]]] = {}
    s["healthy"] = (REF, [days(ten)])
    # volume: rows in the last 24 h / (rows in the 7 days before / 7)
    s["vol-yellow"] = (REF, one(days(range(1, 10)), day(0, n=120)))
    s["vol-red"] = (REF, one(days(range(1, 10)), day(0, n=20)))
    s["vol-half"] = (REF, one(days(range(1, 10)), day(0, n=200)))
    s["vol-nobase"] = (REF, [day(0)])
    # freshness: hours since the last inference (48 h at as_of; other as_of values in a test)
    s["stale"] = (REF, [days(range(2, 10))])
    # schema: an extra column yellow, a missing feature column red (and missing fires too);
    # a file with an extra column but no rows in the last 24 h does not count
    s["schema-extra"] = (REF, [days([9, 8, 7, 6, 4, 3, 2, 1]), day(5).assign(old=1), d0.assign(debug=1)])
    s["schema-missing"] = (REF, [days(range(1, 10)), d0.drop(columns="w")])
    # missing: NULL share (24 h) minus the reference's (10 % in w)
    s["missing-sub"] = (
        REF_W_NULL,
        one(
            days(range(1, 10), ref=REF_W_NULL),
            setrows(day(0, ref=REF_W_NULL), day(0, ref=REF_W_NULL)["w"].notna(), 8, "w", np.nan),
        ),
    )
    s["missing-yellow"] = (
        REF_W_NULL,
        one(
            days(range(1, 10), ref=REF_W_NULL),
            setrows(day(0, ref=REF_W_NULL), day(0, ref=REF_W_NULL)["w"].notna(), 24, "w", np.nan),
        ),
    )
    s["missing-red"] = (
        REF_W_NULL,
        one(
            days(range(1, 10), ref=REF_W_NULL),
            setrows(day(0, ref=REF_W_NULL), day(0, ref=REF_W_NULL)["w"].notna(), 100, "w", np.nan),
        ),
    )
    # unseen categories: share of non-NULL rows (24 h) with a value not in the reference
    s["unseen-yellow"] = (REF, one(days(range(1, 10)), setrows(d0, d0["c"] == "a", 2, "c", "zzz")))
    u = setrows(d0, d0["c"] == "a", 40, "c", None)
    u = setrows(u, u["c"] == "b", 20, "c", "zzz")
    u = setrows(u, u["c"] == "d", 16, "c", "yyy")
    s["unseen-red"] = (REF, one(days(range(1, 10)), u))
    # out of range: strictly outside the reference's [0, 100]; ±inf counts, NULL does not
    s["oor-yellow"] = (REF, one(days(range(1, 10)), setrows(d0, d0["x"] < 50, 6, "x", 150.0)))
    o = setrows(d0, d0["x"] < 20, 8, "x", np.inf)
    o = setrows(o, (o["x"] >= 20) & (o["x"] < 40), 8, "x", -np.inf)
    o = setrows(o, (o["x"] >= 40) & (o["x"] < 60), 8, "x", 100.5)
    o = setrows(o, (o["x"] >= 60) & (o["x"] < 90), 12, "x", np.nan)
    s["oor-red"] = (REF, one(days(range(1, 10)), o))
    # feature drift: c's shares move to (.4, .1, .25, .25) or (.5, 0, .25, .25) on every day
    s["drift-yellow"] = (REF, [_drift_days(ten, 60)])
    s["drift-red"] = (REF, [_drift_days(ten, 100)])
    # prediction drift: the share of class 1 moves from .5 to .7 or .8 on every day
    s["pred-yellow"] = (REF, [pd.concat([setrows(day(k), day(k)["pred"] == "0", 80, "pred", "1") for k in ten])])
    s["pred-red"] = (REF, [pd.concat([setrows(day(k), day(k)["pred"] == "0", 120, "pred", "1") for k in ten])])
    # performance: F1 of class 1 (no score), reference 0.8
    tp = (REF["label"] == "1") & (REF["pred"] == "1")
    s["perf-green"] = (REF, [days(ten, labels=True)])
    s["perf-yellow"] = (REF, [pd.concat([setrows(day(k, labels=True), tp, 20, "label", "0") for k in ten])])
    s["perf-red"] = (REF, [pd.concat([setrows(day(k, labels=True), tp, 40, "label", "0") for k in ten])])
    few = days(ten, labels=True)
    few["label"] = np.where(np.arange(len(few)) < 50, few["label"], None)  # 50 rows of day 0
    s["perf-few"] = (REF, [few])
    s["perf-none"] = (REF, [days(ten)])
    ref0 = REF.assign(pred="0")
    s["perf-refzero"] = (ref0, [days(ten, ref=ref0, labels=True)])
    # grey: fewer than min_rows rows in the drift window; exactly min_rows (100) is judged
    s["rows-100"] = (REF, [balanced(100)])
    s["rows-99"] = (REF, [balanced(100).iloc[1:]])
    s["grey-few"] = (REF, [day(0, n=50)])
    s["grey-yellow"] = (REF, [day(0, n=50).assign(debug=1)])
    # reason order: schema, missing (x 12 % before w 6 %: by value over threshold, not by name),
    # unseen, out of range, feature drift
    o = setrows(d0, d0["c"] == "b", 60, "c", "a")
    o = setrows(o, o["x"] > 50, 48, "x", np.nan)
    o = setrows(o, o["x"] < 50, 6, "x", 150.0)
    o = setrows(o, o["w"] > 0, 24, "w", np.nan)
    o = setrows(o, o["c"] == "c", 1, "c", "zzz")
    s["order"] = (REF, one(_drift_days(range(1, 10), 60), o.assign(debug=1)))
    # onset and since
    s["sudden"] = (REF, one(days(range(1, 10)), d0.assign(c="zzz")))
    evening = day(1)
    evening.loc[evening["ts"] > AS_OF - DAY - 4 * HOUR, "c"] = "zzz"
    s["sudden-evening"] = (REF, one(days([0] + list(range(2, 10))), evening))
    s["broken"] = (REF, _unseen_days({0, 1, 3, 4, 5}, ten))
    s["relapse"] = (REF, _unseen_days({0, 3, 4}, ten))
    s["capped"] = (REF, _unseen_days(set(range(36)), range(36)))
    # flagged now and at the 7th day-end before as_of − 24 h (gradual), or only at the 8th (sudden)
    s["onset-7th"] = (REF, _unseen_days({0, 8}, range(12)))
    s["onset-8th"] = (REF, _unseen_days({0, 9}, range(12)))
    return s


@pytest.fixture(scope="module")
def scenario_fleet(tmp_path_factory):
    fleet = ind.Fleet(tmp_path_factory.mktemp("checks"))
    with fleet.batch():
        for model_id, (ref, files) in _scenarios().items():
            fleet.register({**SPEC, "model_id": model_id})
            fleet.reference(model_id, ref)
            for frame in files:
                fleet.inference(model_id, frame)
    return fleet


@pytest.fixture(scope="module")
def result(scenario_fleet):
    return evaluate(scenario_fleet.store, as_of=AS_OF, policy=default_policy())


@pytest.fixture(scope="module")
def models(result):
    return {m["model_id"]: m for m in result["models"]}


def _checks(model) -> dict[str, dict]:
    return {c["check"]: c for c in model["checks"]}


def _psi(ref_shares, cur_shares):
    r = np.maximum(np.asarray(ref_shares, float), 1e-4)
    c = np.maximum(np.asarray(cur_shares, float), 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


# (check, feature, status, value, threshold) of every reason, in order
EXPECTED = {
    "healthy": [],
    "vol-yellow": [("volume", None, "yellow", 0.3, 0.5)],
    "vol-red": [("volume", None, "red", 0.05, 0.1)],
    "vol-half": [],
    "vol-nobase": [],
    "stale": [("volume", None, "red", 0.0, 0.1), ("freshness", None, "yellow", 48.0, 24.0)],
    "schema-extra": [("schema", "debug", "yellow", 1.0, 1.0)],
    "schema-missing": [("schema", "w", "red", 1.0, 1.0), ("missing", "w", "red", 1.0, 0.2)],
    "missing-sub": [],
    "missing-yellow": [("missing", "w", "yellow", 0.16 - 0.10, 0.05)],
    "missing-red": [("missing", "w", "red", 0.35 - 0.10, 0.2)],
    "unseen-yellow": [("unseen_categories", "c", "yellow", 2 / 400, 0.001)],
    "unseen-red": [("unseen_categories", "c", "red", 36 / 360, 0.05), ("missing", "c", "yellow", 40 / 400, 0.05)],
    "oor-yellow": [("out_of_range", "x", "yellow", 6 / 400, 0.01)],
    "oor-red": [("out_of_range", "x", "red", 24 / 388, 0.05)],
    "drift-yellow": [("feature_drift", "c", "yellow", _psi([0.25] * 4, [0.4, 0.1, 0.25, 0.25]), 0.1)],
    "drift-red": [("feature_drift", "c", "red", _psi([0.25] * 4, [0.5, 0, 0.25, 0.25]), 0.25)],
    "pred-yellow": [("prediction_drift", None, "yellow", _psi([0.5, 0.5], [0.7, 0.3]), 0.1)],
    "pred-red": [("prediction_drift", None, "red", _psi([0.5, 0.5], [0.8, 0.2]), 0.25)],
    "perf-green": [],
    "perf-yellow": [("performance", None, "yellow", (0.8 - 280 / 380) / 0.8, 0.05)],
    "perf-red": [("performance", None, "red", (0.8 - 240 / 360) / 0.8, 0.1)],
    "perf-few": [],
    "perf-none": [],
    "perf-refzero": [],
    "grey-few": [],
    "rows-100": [],
    "rows-99": [],
    "grey-yellow": [("schema", "debug", "yellow", 1.0, 1.0)],
    "sudden": [
        ("unseen_categories", "c", "red", 1.0, 0.05),
        ("feature_drift", "c", "red", _psi([0.25] * 4 + [0], [6 / 28] * 4 + [1 / 7]), 0.25),
    ],
}


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_reasons_of_each_scenario(models, model_id):
    got = [(r["check"], r["feature"], r["status"], r["value"], r["threshold"]) for r in models[model_id]["reasons"]]
    want = EXPECTED[model_id]
    assert [g[:3] for g in got] == [w[:3] for w in want]
    for g, w in zip(got, want):
        assert g[3] == pytest.approx(w[3], rel=1e-9, abs=1e-12), g
        assert g[4] == pytest.approx(w[4]), g


def test_model_statuses_follow_the_precise_rules(models):
    for model_id, reasons in EXPECTED.items():
        statuses = {r[2] for r in reasons}
        want = (
            "red"
            if "red" in statuses
            else "yellow"
            if "yellow" in statuses
            else "grey"
            if model_id in ("grey-few", "rows-99")
            else "green"
        )
        assert models[model_id]["status"] == want, model_id


def test_models_are_ordered_red_yellow_grey_green_then_by_id(result):
    order = {"red": 0, "yellow": 1, "grey": 2, "green": 3}
    got = [(m["status"], m["model_id"]) for m in result["models"]]
    assert got == sorted(got, key=lambda t: (order[t[0]], t[1]))
    assert {s for s, _ in got} == {"red", "yellow", "grey", "green"}
    assert [m for s, m in got if s == "grey"] == ["grey-few", "rows-99"]


# -------------------------------------------------------------------- check details
def test_volume_baseline_of_zero_passes_and_is_never_grey(models):
    vol = _checks(models["vol-nobase"])["volume"]
    assert vol["status"] == "green" and vol["value"] is None
    assert _checks(models["grey-few"])["volume"]["status"] == "green"
    assert _checks(models["vol-half"])["volume"]["value"] == pytest.approx(0.5)
    assert models["vol-yellow"]["rows_24h"] == 120


@pytest.mark.parametrize(
    "hours, expected",
    [
        (24, [("volume", "red", 0.0)]),  # > 24, not ≥
        (30, [("volume", "red", 0.0), ("freshness", "yellow", 30.0)]),  # red before yellow
        (48, [("volume", "red", 0.0), ("freshness", "yellow", 48.0)]),
        (50, [("freshness", "red", 50.0), ("volume", "red", 0.0)]),  # then check order
    ],
)
def test_freshness_is_hours_since_the_last_inference(scenario_fleet, hours, expected):
    last = AS_OF - 2 * DAY  # "stale" logs until exactly 2026-11-28 00:00
    got = evaluate(
        scenario_fleet.store, as_of=last + hours * HOUR, model_ids=["stale"], detail=False, policy=default_policy()
    )["models"][0]
    assert [(r["check"], r["status"], r["value"]) for r in got["reasons"]] == expected
    fresh = _checks(got)["freshness"]
    assert (fresh["value"], fresh["yellow"], fresh["red"]) == (hours, 24.0, 48.0)
    assert got["last_inference"] == "2026-11-28T00:00:00+00:00"


def test_freshness_of_a_fresh_model_is_zero(models):
    assert _checks(models["healthy"])["freshness"]["value"] == 0.0


def test_a_check_with_fewer_than_min_rows_is_grey_but_volume_freshness_schema_are_not(models):
    few = _checks(models["grey-few"])
    for check in ("missing", "unseen_categories", "out_of_range", "feature_drift", "prediction_drift"):
        assert few[check]["status"] == "grey", check
    assert few["freshness"]["status"] == few["volume"]["status"] == "green"
    # 20 rows in the last 24 h: the 24-hour checks are grey, the drift window (2,420 rows) is not
    red = _checks(models["vol-red"])
    assert red["missing"]["status"] == red["unseen_categories"]["status"] == red["out_of_range"]["status"] == "grey"
    assert red["feature_drift"]["status"] == "green"
    # a yellow check beats grey: 50 rows and an extra column
    assert models["grey-yellow"]["status"] == "yellow"
    assert _checks(models["grey-yellow"])["feature_drift"]["status"] == "grey"


def test_exactly_min_rows_is_judged_and_one_fewer_is_grey(models):
    judged, grey = _checks(models["rows-100"]), _checks(models["rows-99"])
    for check in ("missing", "unseen_categories", "out_of_range", "feature_drift", "prediction_drift"):
        assert judged[check]["status"] == "green" and grey[check]["status"] == "grey", check
    assert judged["feature_drift"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert (models["rows-100"]["status"], models["rows-99"]["status"]) == ("green", "grey")


def test_schema_names_the_file_and_the_missing_feature_is_also_missing(models):
    extra = models["schema-extra"]["reasons"][0]
    assert extra["files"] and all(f.endswith(".parquet") for f in extra["files"])
    assert len(extra["files"]) == 1  # only the file with rows in the last 24 h
    features = {f["feature"]: f for f in models["schema-missing"]["features"]}
    assert features["w"]["missing_share"] == 1.0
    assert [r["check"] for r in models["schema-missing"]["reasons"]] == ["schema", "missing"]


def test_missing_subtracts_the_reference_share(models):
    m = models["missing-sub"]
    assert _checks(m)["missing"]["value"] == pytest.approx(0.12 - 0.10)
    assert {f["feature"]: f for f in m["features"]}["w"]["missing_share"] == pytest.approx(0.12)
    assert m["status"] == "green"


def test_unseen_values_are_listed_with_counts_and_exclude_nulls(models):
    red = models["unseen-red"]["reasons"][0]
    assert [(v["value"], v["count"]) for v in red["unseen_values"]] == [("zzz", 20), ("yyy", 16)]
    assert all(v["first_seen"].startswith("2026-11-29") for v in red["unseen_values"])
    c = {f["feature"]: f for f in models["unseen-red"]["features"]}["c"]
    assert c["unseen_share"] == pytest.approx(36 / 360) and c["missing_share"] == pytest.approx(40 / 400)
    yellow = models["unseen-yellow"]["reasons"][0]
    assert [(v["value"], v["count"]) for v in yellow["unseen_values"]] == [("zzz", 2)]
    assert "zzz" in yellow["message"]


def test_out_of_range_is_strictly_outside_the_reference_range(models):
    # day 0 of "healthy" holds x = 0 and x = 100 exactly (the reference's min and max)
    assert {f["feature"]: f for f in models["healthy"]["features"]}["x"]["out_of_range_share"] == 0.0
    x = {f["feature"]: f for f in models["oor-red"]["features"]}["x"]
    assert x["out_of_range_share"] == pytest.approx(24 / 388)  # ±inf in, NULL out of the denominator
    assert x["missing_share"] == pytest.approx(12 / 400)


def test_a_healthy_model_has_zero_drift(models):
    m = models["healthy"]
    for f in m["features"]:
        assert f["psi"] == pytest.approx(0, abs=1e-12) and f["js"] == pytest.approx(0, abs=1e-7)
        assert f["missing_share"] == 0.0
    assert {f["feature"]: f for f in m["features"]}["c"]["chi2_p"] == pytest.approx(1.0)
    assert m["prediction_drift"] == {"psi": pytest.approx(0, abs=1e-12), "on": "prediction"}
    assert all(c["status"] == "green" for c in m["checks"])


def test_performance_block_and_grey_performance(models):
    perf = models["perf-green"]["performance"]
    assert perf["metric"] == "f1" and perf["n_labeled"] == 2800
    assert (perf["reference"], perf["current"], perf["loss"]) == pytest.approx((0.8, 0.8, 0.0))
    few = models["perf-few"]
    assert few["performance"]["n_labeled"] == 50
    assert _checks(few)["performance"]["status"] == "grey" and few["status"] == "green"
    zero = models["perf-refzero"]
    assert zero["performance"]["reference"] == 0.0
    assert _checks(zero)["performance"]["status"] == "grey" and zero["status"] == "green"


def test_a_never_labelled_model_has_no_performance_check(models):
    m = models["perf-none"]
    assert m["performance"] is None
    assert "performance" not in _checks(m)


# -------------------------------------------------------------------- reason order
def test_reasons_order_red_first_then_check_order_then_value_over_threshold(models):
    got = [(r["check"], r["feature"], r["status"]) for r in models["order"]["reasons"]]
    assert got == [
        ("schema", "debug", "yellow"),
        ("missing", "x", "yellow"),
        ("missing", "w", "yellow"),
        ("unseen_categories", "c", "yellow"),
        ("out_of_range", "x", "yellow"),
        ("feature_drift", "c", "yellow"),
    ]
    values = {(r["check"], r["feature"]): r["value"] for r in models["order"]["reasons"]}
    assert values[("missing", "x")] == pytest.approx(0.12) and values[("missing", "w")] == pytest.approx(0.06)
    assert values[("out_of_range", "x")] == pytest.approx(6 / 352)
    # red before yellow even when the yellow check comes first in the check order
    assert [r["check"] for r in models["unseen-red"]["reasons"]] == ["unseen_categories", "missing"]


def test_every_model_level_reason_has_a_null_feature(result):
    for m in result["models"]:
        for r in m["reasons"]:
            if r["check"] in ("freshness", "volume", "prediction_drift", "performance"):
                assert r["feature"] is None
            else:
                assert isinstance(r["feature"], str)


# -------------------------------------------------------------------- onset and since
def _reason(models, model_id, check, feature="c"):
    return next(r for r in models[model_id]["reasons"] if r["check"] == check and r["feature"] == feature)


def test_a_change_in_the_last_24_hours_is_sudden_since_its_first_hour(models):
    # since has hour resolution (issue 14): day 0 is all "zzz" from its first row (00:03:36), so
    # unseen_categories is flagged from the hour that ends 01:00; the 7-day PSI crosses 0.10 at
    # 04:00. Day-ends only, both used to say as_of (11-30 00:00).
    for check, since in (
        ("unseen_categories", "2026-11-29T01:00:00+00:00"),
        ("feature_drift", "2026-11-29T04:00:00+00:00"),
    ):
        r = _reason(models, "sudden", check)
        assert (r["since"], r["onset"]) == (since, "sudden")


def test_a_change_after_the_last_day_end_is_sudden_since_as_of(scenario_fleet):
    got = evaluate(
        scenario_fleet.store,
        as_of=AS_OF_1300,
        model_ids=["sudden", "sudden-evening"],
        detail=False,
        policy=default_policy(),
    )
    m = {x["model_id"]: x for x in got["models"]}
    r = _reason(m, "sudden", "unseen_categories")
    assert r["value"] == pytest.approx(216 / 400)  # 13 h of the 400-a-day rows are "zzz"
    assert (r["since"], r["onset"]) == ("2026-11-29T01:00:00+00:00", "sudden")  # its first hour
    # crossed the evening before (rows after 20:00): since the hour that ends 21:00 (issue 14: hourly
    # within 48 h; day-ends only said the day-end 11-29 00:00), still sudden
    r = _reason(m, "sudden-evening", "unseen_categories")
    assert (r["since"], r["onset"]) == ("2026-11-28T21:00:00+00:00", "sudden")
    # at midnight the evening's values have left the 24-hour window
    assert got["as_of"] == "2026-11-29T13:00:00+00:00"


def test_sudden_evening_is_green_a_day_later(models):
    assert not [r for r in models["sudden-evening"]["reasons"] if r["check"] == "unseen_categories"]


def test_drift_present_for_ten_days_is_gradual_since_the_first_day_end_of_the_run(models):
    r = _reason(models, "drift-yellow", "feature_drift")
    # data starts 2026-11-20 00:00 (exclusive): the first day-end whose 7-day window holds rows
    assert (r["since"], r["onset"]) == ("2026-11-21T00:00:00+00:00", "gradual")


def test_a_green_day_breaks_the_run(models):
    r = _reason(models, "broken", "unseen_categories")
    assert r["value"] == pytest.approx(4 / 400)
    # day 2 (11-27) is green: the run starts with day 1's first "zzz" row, in the hour ending
    # 11-28 01:00 (hourly within 48 h; day-ends only said 11-29 00:00)
    assert (r["since"], r["onset"]) == ("2026-11-28T01:00:00+00:00", "gradual")


def test_flagged_within_the_week_before_is_gradual_even_if_green_yesterday(models):
    r = _reason(models, "relapse", "unseen_categories")
    assert (r["since"], r["onset"]) == ("2026-11-29T01:00:00+00:00", "gradual")  # day 0's first hour


def test_onset_looks_back_exactly_seven_day_ends_before_as_of_minus_24_hours(models):
    # as_of − 24 h is 11-29 00:00; the 7 day-ends before it are 11-28 … 11-22
    r = _reason(models, "onset-7th", "unseen_categories")  # also flagged at 11-22
    assert (r["since"], r["onset"]) == ("2026-11-29T01:00:00+00:00", "gradual")
    r = _reason(models, "onset-8th", "unseen_categories")  # also flagged at 11-21 only
    assert (r["since"], r["onset"]) == ("2026-11-29T01:00:00+00:00", "sudden")


def test_since_is_capped_at_30_days(models):
    r = _reason(models, "capped", "unseen_categories")
    assert (r["since"], r["onset"]) == ("2026-10-31T00:00:00+00:00", "gradual")


def test_since_and_onset_agree_with_the_independent_judge(scenario_fleet, models):
    for model_id in ("broken", "relapse", "drift-yellow", "sudden", "order"):
        want = ind.reasons(scenario_fleet.models[model_id], AS_OF)
        got = models[model_id]["reasons"]
        assert [(r["check"], r["feature"], r["since"], r["onset"]) for r in got] == [
            (r["check"], r["feature"], r["since"], r["onset"]) for r in want
        ], model_id


def test_default_as_of_is_store_wide_so_a_stale_model_shows_its_staleness(scenario_fleet):
    got = evaluate(scenario_fleet.store, model_ids=["stale"], detail=False, policy=default_policy())
    assert got["as_of"] == "2026-11-30T00:00:00+00:00"  # the newest row of any model
    assert _checks(got["models"][0])["freshness"]["value"] == 48.0


def test_a_model_without_a_reference_is_grey_not_red(tmp_path):
    """Logs but no reference snapshot: nothing to compare against, so the reference-based
    checks are grey (not 100 % unseen) and so is the model; volume and freshness still judge."""
    fleet = ind.Fleet(tmp_path)
    fleet.register({**SPEC, "model_id": "no-ref"})
    for k in range(8):
        fleet.inference("no-ref", day(k))
    model = evaluate(fleet.store, as_of=AS_OF, policy=default_policy())["models"][0]
    checks = _checks(model)
    assert model["status"] == "grey" and model["reasons"] == []
    for name in ("missing", "unseen_categories", "out_of_range", "feature_drift", "prediction_drift"):
        assert checks[name]["status"] == "grey", name
    assert checks["volume"]["status"] == "green" and checks["freshness"]["status"] == "green"
