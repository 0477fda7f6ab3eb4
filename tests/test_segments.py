"""Segments (issue 13): per-segment profiles against pandas groupby on the raw rows, the top-N +
other + missing bound, and the segment named for a segment-local failure of each check (none
for a uniform one), with its numbers recomputed from the raw rows (pandas / scikit-learn).

One store for the module: `shop`, a binary classifier with a score whose segment features are
`country` (top 4) and `channel` (top 10). In the last 24 hours: color has a new value in 60% of
FR's rows, amount is NULL in 70% of IT's, size is ten times larger in 60% of ES's, and tone has
a new value in 20% of every country's rows (uniform). Over the 7 days: shade is all 'z' in DE,
and channel 'app' has its labels flipped.
"""

from __future__ import annotations

import json
import math

import independent as ind
import numpy as np
import pandas as pd
import pytest
from fixtures import query, query_df, run_cli, spec_dict, write_csv
from sklearn import metrics as skm

from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, register_spec
from lib.judge.evaluate import evaluate
from lib.spec import parse_spec
from lib.store.connection import Store

MODEL = "shop"
END = pd.Timestamp("2026-11-28 00:00:00")
COUNTRIES = (["DE", "FR", "IT", "ES", "NL", "BE", "LU"], [0.3, 0.25, 0.2, 0.15, 0.06, 0.025, 0.015])
CHANNELS = (["web", "app", "store"], [0.6, 0.3, 0.1])
FEATURES = {
    "country": {"kind": "categorical", "segment": 4},
    "channel": {"kind": "categorical", "segment": True},
    "color": "categorical",
    "tone": "categorical",
    "shade": "categorical",
    "amount": "numeric",
    "size": "numeric",
}


def _rows(rng, n: int) -> pd.DataFrame:
    score = rng.uniform(0, 1, n).round(3)
    return pd.DataFrame(
        {
            "country": rng.choice(COUNTRIES[0], n, p=COUNTRIES[1]).astype(object),
            "channel": rng.choice(CHANNELS[0], n, p=CHANNELS[1]).astype(object),
            "color": rng.choice(["red", "green", "blue"], n).astype(object),
            "tone": rng.choice(["a", "b", "c"], n).astype(object),
            "shade": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]).astype(object),
            "amount": rng.normal(100, 10, n).round(2),
            "size": rng.uniform(1, 10, n).round(2),
            "score": score,
            "prediction": np.where(score > 0.5, "1", "0"),
            "label": np.where(rng.uniform(0, 1, n) < score, "1", "0"),
        }
    )


def _inference(rng) -> pd.DataFrame:
    n = 5600
    frame = _rows(rng, n)
    frame.insert(0, "ts", END - pd.to_timedelta(rng.uniform(1, 8 * 24 * 3600 - 1, n).round(), unit="s"))
    frame.insert(1, "request_id", [f"r{i}" for i in range(n)])
    country = frame["country"].to_numpy(dtype=object)
    country[rng.choice(n, 60, replace=False)] = "PT"  # never in the reference: the (other) segment
    country[rng.choice(n, 40, replace=False)] = None  # the (missing) segment
    frame["country"] = country
    last = (frame["ts"] > END - pd.Timedelta(hours=24)).to_numpy()
    pick = lambda mask, p: mask & (rng.uniform(0, 1, n) < p)  # noqa: E731
    frame.loc[pick(last & (country == "FR"), 0.6), "color"] = "neon"
    frame.loc[pick(last & (country == "IT"), 0.7), "amount"] = np.nan
    frame.loc[pick(last & (country == "ES"), 0.6), "size"] = frame["size"] * 10 + 100
    frame.loc[pick(last, 0.2), "tone"] = "q"
    frame.loc[country == "DE", "shade"] = "z"
    app = (frame["channel"] == "app").to_numpy()
    frame.loc[app, "label"] = np.where(frame.loc[app, "label"] == "1", "0", "1")
    return frame.sort_values("ts").reset_index(drop=True)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("segments")
    rng = np.random.default_rng(13)
    ref = _rows(rng, 4000)
    inf = _inference(rng)
    db = root / "seg.duckdb"
    store = Store(db)
    columns = {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "score": "score", "label": "label"}
    register_spec(store, spec_dict(MODEL, features=FEATURES, columns=columns))
    assert ingest_file(store, "reference", MODEL, write_csv(root / "ref.csv", ref)).status == "ingested"
    half = len(inf) // 2
    for i, part in enumerate((inf.iloc[:half], inf.iloc[half:])):
        out = ingest_file(store, "inference", MODEL, write_csv(root / f"inf{i}.csv", part))
        assert out.status == "ingested", out
    result = evaluate(store, model_ids=[MODEL])
    return {"db": db, "store": store, "ref": ref, "inf": inf, "model": result["models"][0], "root": root}


def _segment_of(values: pd.Series, ref_values: pd.Series, top: int) -> pd.Series:
    """Independently: the reference's top values by count, else (other), NULL (missing)."""
    tops = list(ref_values.value_counts().index[:top])
    return pd.Series(
        [("(missing)" if v is None or v != v else (v if v in tops else "(other)")) for v in values],
        index=values.index,
    )


def _reason(model: dict, check: str, feature: str | None) -> dict:
    return next(r for r in model["reasons"] if r["check"] == check and r["feature"] == feature)


# -- profiles -------------------------------------------------------------------------------------
def test_segment_profiles_equal_pandas_groupby_on_the_raw_rows(shop):
    inf, ref = shop["inf"], shop["ref"]
    hour = inf["ts"].dt.ceil("h")
    seg = _segment_of(inf["country"], ref["country"], 4)
    rows = query_df(
        shop["db"],
        "SELECT hour, seg_code, seg_value, sum(n) AS n FROM prof_seg_rows WHERE seg_slot = 0 GROUP BY ALL",
    )
    label = np.where(
        rows["seg_code"] == -2, "(missing)", np.where(rows["seg_code"] == -1, "(other)", rows["seg_value"])
    )
    got = pd.Series(rows["n"].to_numpy(), index=pd.MultiIndex.from_arrays([rows["hour"], label])).sort_index()
    want = inf.groupby([hour, seg]).size().sort_index()
    assert got.to_dict() == want.to_dict()
    # categorical cells of color per (hour, channel segment), NULL counts of amount per country segment
    cells = query_df(
        shop["db"],
        "SELECT hour, seg_value, value, sum(n) AS n FROM prof_seg_cat c JOIN (SELECT DISTINCT seg_slot, "
        "seg_code, seg_value FROM prof_seg_rows) USING (seg_slot, seg_code) WHERE seg_slot = 1 AND slot = 2 GROUP BY ALL",
    )
    got = {(h, s, v): n for h, s, v, n in cells.itertuples(index=False)}
    want = inf.groupby([hour, inf["channel"], inf["color"]]).size().to_dict()
    assert got == want
    qual = query_df(
        shop["db"], "SELECT seg_code, sum(n_null) AS n FROM prof_seg_qual WHERE seg_slot = 0 AND slot = 5 GROUP BY ALL"
    )
    codes = {"DE": 0, "FR": 1, "IT": 2, "ES": 3, "(other)": -1, "(missing)": -2}
    want = inf["amount"].isna().groupby(seg.map(codes)).sum()
    assert dict(zip(qual["seg_code"], qual["n"])) == want.to_dict()
    assert want[2] > 100  # the IT spike is there


def test_segments_are_bounded_to_the_reference_top_n_plus_other_and_missing(shop):
    codes = query(shop["db"], "SELECT DISTINCT seg_slot, seg_code, seg_value FROM prof_seg_rows ORDER BY ALL")
    # top 4 of the reference by count; NL, BE, LU (rare) and PT (unseen) are other; NULL is missing
    assert [c for c in codes if c[0] == 0] == [
        (0, -2, None),
        (0, -1, None),
        (0, 0, "DE"),
        (0, 1, "FR"),
        (0, 2, "IT"),
        (0, 3, "ES"),
    ]
    assert [c for c in codes if c[0] == 1] == [(1, 0, "web"), (1, 1, "app"), (1, 2, "store")]  # 3 < top 10


def test_spec_validates_segment_features():
    base = spec_dict(MODEL, features=FEATURES)
    assert parse_spec(base).segments == {"country": 4, "channel": 10}
    assert parse_spec(parse_spec(base).as_dict()) == parse_spec(base)
    for features, message in (
        ({"amount": {"kind": "numeric", "segment": True}}, "features.amount.segment: only a categorical"),
        ({"c": {"kind": "categorical", "segment": 51}}, "features.c.segment: must be true, false or a number"),
        ({"c": {"kind": "categorical", "segments": True}}, "features.c.segments: unknown option"),
        ({f"c{i}": {"kind": "categorical", "segment": True} for i in range(4)}, "at most 3 per model"),
    ):
        with pytest.raises(InputError, match=message):
            parse_spec(spec_dict(MODEL, features=features))


# -- the named segment ----------------------------------------------------------------------------
def _window(inf, hours: int) -> pd.DataFrame:
    return inf[inf["ts"] > END - pd.Timedelta(hours=hours)]


@pytest.mark.parametrize(
    ("check", "feature", "segment", "offending"),
    [
        ("unseen_categories", "color", "FR", lambda w, ref: w["color"].notna() & ~w["color"].isin(set(ref["color"]))),
        (
            "out_of_range",
            "size",
            "ES",
            lambda w, ref: (w["size"] > ref["size"].max()) | (w["size"] < ref["size"].min()),
        ),
    ],
)
def test_a_counting_check_names_the_segment_holding_the_offending_rows(shop, check, feature, segment, offending):
    ref, w = shop["ref"], _window(shop["inf"], 24)
    reason = _reason(shop["model"], check, feature)
    seg = _segment_of(w["country"], ref["country"], 4)
    bad = offending(w, ref)
    judged = w[feature].notna()
    share = bad[seg == segment].sum() / bad.sum()
    inside = bad[seg == segment].sum() / judged[seg == segment].sum()
    elsewhere = bad[seg != segment].sum() / judged[seg != segment].sum()
    assert reason["segment"] == pytest.approx(
        {
            "feature": "country",
            "value": segment,
            "share_of_problem": share,
            "value_in_segment": inside,
            "value_elsewhere": elsewhere,
            "rows": int(judged[seg == segment].sum()),
        },
        abs=1e-12,
    )
    assert f"mostly in country = {segment}: " in reason["message"]


def test_missing_names_the_segment_with_the_excess_nulls(shop):
    ref, w = shop["ref"], _window(shop["inf"], 24)
    reason = _reason(shop["model"], "missing", "amount")
    seg = _segment_of(w["country"], ref["country"], 4)
    base = ref["amount"].isna().mean()  # 0 here: every NULL is excess
    null = w["amount"].isna()
    excess = {s: max(0.0, null[seg == s].sum() - base * (seg == s).sum()) for s in seg.unique()}
    total = sum(excess.values())
    assert reason["segment"]["value"] == "IT"
    assert reason["segment"]["share_of_problem"] == pytest.approx(excess["IT"] / total, abs=1e-12)
    assert reason["segment"]["value_in_segment"] == pytest.approx(null[seg == "IT"].mean(), abs=1e-12)
    assert reason["segment"]["value_elsewhere"] == pytest.approx(null[seg != "IT"].mean(), abs=1e-12)


def test_feature_drift_names_the_segment_whose_removal_takes_the_psi_away(shop):
    ref, w = shop["ref"], _window(shop["inf"], 24 * 7)
    reason = _reason(shop["model"], "feature_drift", "shade")
    seg = _segment_of(w["country"], ref["country"], 4)
    whole = ind.psi(*ind.categorical_counts(ref["shade"], w["shade"])[:2])
    rest = ind.psi(*ind.categorical_counts(ref["shade"], w.loc[seg != "DE", "shade"])[:2])
    own = ind.psi(*ind.categorical_counts(ref["shade"], w.loc[seg == "DE", "shade"])[:2])
    assert reason["value"] == pytest.approx(whole, abs=1e-12)
    assert reason["segment"]["value"] == "DE"
    assert reason["segment"]["share_of_problem"] == pytest.approx((whole - rest) / whole, abs=1e-12)
    assert reason["segment"]["value_in_segment"] == pytest.approx(own, abs=1e-12)
    assert reason["segment"]["value_elsewhere"] == pytest.approx(rest, abs=1e-12)


def test_performance_names_the_channel_whose_labels_broke(shop):
    w = _window(shop["inf"], 24 * 7)
    w = w[w["label"].notna()]
    reason = _reason(shop["model"], "performance", None)
    app = w["channel"] == "app"
    auc = lambda f: skm.roc_auc_score(f["label"] == "1", f["score"])  # noqa: E731
    assert reason["segment"]["feature"] == "channel" and reason["segment"]["value"] == "app"
    assert reason["segment"]["value_in_segment"] == pytest.approx(auc(w[app]), abs=1e-12)
    assert reason["segment"]["value_elsewhere"] == pytest.approx(auc(w[~app]), abs=1e-12)
    assert reason["segment"]["rows"] == int(app.sum())
    assert "mostly in channel = app: roc_auc" in reason["message"]


def test_a_uniform_failure_names_no_segment(shop):
    tone = _reason(shop["model"], "unseen_categories", "tone")
    assert tone["status"] == "red" and "segment" not in tone and "mostly in" not in tone["message"]
    # country's own unseen value (PT) is not segmented by country, and spreads over the channels
    country = _reason(shop["model"], "unseen_categories", "country")
    assert "segment" not in country


# -- detail and faces -----------------------------------------------------------------------------
def test_the_detail_block_has_per_segment_metrics(shop):
    ref, inf = shop["ref"], shop["inf"]
    block = {b["feature"]: b for b in shop["model"]["segments"]}
    fr = next(v for v in block["country"]["values"] if v["value"] == "FR")
    w24, w7 = _window(inf, 24), _window(inf, 24 * 7)
    seg24 = _segment_of(w24["country"], ref["country"], 4)
    seg7 = _segment_of(w7["country"], ref["country"], 4)
    assert fr["rows_24h"] == int((seg24 == "FR").sum()) and fr["rows_7d"] == int((seg7 == "FR").sum())
    color = next(f for f in fr["features"] if f["feature"] == "color")
    assert color["unseen_share"] == pytest.approx((w24.loc[seg24 == "FR", "color"] == "neon").mean(), abs=1e-12)
    amount = next(f for f in fr["features"] if f["feature"] == "amount")
    r, c = ind.numeric_counts(ref["amount"], w7.loc[seg7 == "FR", "amount"])
    assert amount["psi"] == pytest.approx(ind.psi(r, c), abs=1e-12)
    lab = w7[(seg7 == "FR") & w7["label"].notna()]
    assert fr["performance"]["current"] == pytest.approx(
        skm.roc_auc_score(lab["label"] == "1", lab["score"]), abs=1e-12
    )
    assert [v["value"] for v in block["country"]["values"]][:2] == ["DE", "FR"]  # by rows, most first


def test_evaluate_cli_json_carries_the_segment_block(shop):
    out = run_cli("evaluate", "--model", MODEL, db=shop["db"])
    assert out.returncode == 0, out.stderr
    model = json.loads(out.stdout)["models"][0]
    assert _reason(model, "unseen_categories", "color")["segment"]["value"] == "FR"
    assert {b["feature"] for b in model["segments"]} == {"country", "channel"}
    fleet = json.loads(run_cli("evaluate", db=shop["db"]).stdout)["models"][0]
    assert _reason(fleet, "missing", "amount")["segment"]["value"] == "IT"  # flagged: named fleet-wide too
    assert "segments" not in fleet  # the per-segment block is one model's detail (or --detail)
    detailed = json.loads(run_cli("evaluate", "--detail", db=shop["db"]).stdout)["models"][0]
    assert detailed["segments"] == model["segments"]
    assert not math.isnan(model["reasons"][0]["value"])


def test_reports_carry_the_segment(shop):
    out = shop["root"] / "shop.json"
    done = run_cli("report", "--model", MODEL, "--format", "json", "--out", str(out), db=shop["db"])
    assert done.returncode == 0, done.stderr
    model = json.loads(out.read_text())["models"][0]
    assert (
        _reason(model, "out_of_range", "size")["segment"] == _reason(shop["model"], "out_of_range", "size")["segment"]
    )
    assert {b["feature"] for b in model["segments"]} == {"country", "channel"}
    page = shop["root"] / "shop.html"
    assert run_cli("report", "--model", MODEL, "--format", "html", "--out", str(page), db=shop["db"]).returncode == 0
    text = page.read_text()
    assert "mostly in country = ES" in text and "<td><code>country = ES</code></td>" in text
    assert "<td><code>channel = app</code></td>" in text  # performance's segment in the segments table


def test_segment_profiles_after_late_labels_and_an_added_feature_equal_a_full_reprofile(shop, tmp_path):
    import shutil

    from lib.ingest.pipeline import load_model_spec
    from lib.store.reprofile import active_reference, reprofile_model
    from lib.store.seg_profiles import SEG_PROFILE_TABLES

    db = tmp_path / "copy.duckdb"
    shutil.copy(shop["db"], db)
    labels = pd.DataFrame({"request_id": [f"r{i}" for i in range(0, 5600, 7)], "label": "1"})
    assert ingest_file(Store(db), "labels", MODEL, write_csv(tmp_path / "labels.csv", labels)).status == "ingested"
    # and a feature added by re-registering: NULL in the stored rows, in every segment too
    columns = {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "score": "score", "label": "label"}
    register_spec(Store(db), spec_dict(MODEL, features={**FEATURES, "added": "numeric"}, columns=columns))

    sums = {"n", "n_null", "n_below", "n_above", "n_inf", "n_pos", "n_neg", "sse", "sae", "sy", "syy"}

    def tables() -> dict[str, pd.DataFrame]:
        """Each table summed per key: rows of one key repeat once per ingest (readers SUM)."""
        out = {}
        for t in SEG_PROFILE_TABLES:
            f = query_df(db, f"SELECT * FROM {t}")
            keys = [c for c in f.columns if c not in sums]
            out[t] = f.groupby(keys, dropna=False).sum().reset_index().sort_values(keys).reset_index(drop=True)
        return out

    before = tables()
    with Store(db).write() as con:
        spec = load_model_spec(con, MODEL)
        reprofile_model(con, spec, active_reference(con, MODEL)[1])
    after = tables()
    for t in SEG_PROFILE_TABLES:
        pd.testing.assert_frame_equal(before[t], after[t], check_exact=False, rtol=1e-12, obj=t)
    # the late labels reached the segments: app's labelled rows per label, as pandas counts them
    inf = shop["inf"].set_index("request_id")
    inf.loc[labels["request_id"], "label"] = "1"
    app = inf[inf["channel"] == "app"]
    cls = query_df(db, "SELECT label, sum(n) AS n FROM prof_seg_cls WHERE seg_slot = 1 AND seg_code = 1 GROUP BY ALL")
    assert dict(zip(cls["label"], cls["n"])) == app["label"].value_counts().to_dict()
    assert len(before["prof_seg_auc"]) > 0 and len(before["prof_seg_num"]) > 0


def test_model_page_segment_picker_recomputes_the_tables(shop, monkeypatch):
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    monkeypatch.setenv("DRIFTLIGHT_DB", str(shop["db"]))
    st.cache_data.clear()
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["model"] = MODEL
    at.query_params["tab"] = "Data quality"
    at.run()
    at.switch_page("app_pages/model.py")
    at.run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="segment")
    assert picker.value == "All rows"
    fr = next(o for o in picker.options if o.startswith("country = FR ("))
    at = picker.select(fr).run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "unseen_share" in d.value.columns).set_index("feature")
    detail = next(
        v for b in shop["model"]["segments"] if b["feature"] == "country" for v in b["values"] if v["value"] == "FR"
    )
    want = {f["feature"]: f for f in detail["features"]}
    assert "country" not in table.index  # not judged within its own segments
    assert table.loc["color", "unseen_share"] == pytest.approx(want["color"]["unseen_share"], abs=1e-12)
    assert table.loc["color", "unseen"].endswith("Red")
    assert table.loc["amount", "missing_share"] == pytest.approx(want["amount"]["missing_share"], abs=1e-12)
    assert any("country = FR" in c.value for c in at.caption)


@pytest.fixture(scope="module")
def regression(tmp_path_factory) -> dict:
    """`shop-reg`: a regression model whose predictions are off by 5 in country IT only."""
    root = tmp_path_factory.mktemp("segments-reg")
    rng = np.random.default_rng(31)

    def rows(n: int) -> pd.DataFrame:
        x = rng.normal(10, 2, n).round(3)
        y = (2 * x + rng.normal(0, 0.5, n)).round(3)
        return pd.DataFrame(
            {"country": rng.choice(COUNTRIES[0], n, p=COUNTRIES[1]), "x": x, "label": y, "prediction": (2 * x).round(3)}
        )

    ref, inf = rows(2000), rows(2400)
    inf.insert(0, "ts", END - pd.to_timedelta(rng.uniform(1, 7 * 24 * 3600 - 1, len(inf)).round(), unit="s"))
    inf.loc[inf["country"] == "IT", "prediction"] += 5
    db = root / "reg.duckdb"
    store = Store(db)
    features = {"country": {"kind": "categorical", "segment": True}, "x": "numeric"}
    columns = {"timestamp": "ts", "prediction": "prediction", "label": "label"}
    register_spec(store, spec_dict("shop-reg", task="regression", features=features, columns=columns))
    assert ingest_file(store, "reference", "shop-reg", write_csv(root / "ref.csv", ref)).status == "ingested"
    assert ingest_file(store, "inference", "shop-reg", write_csv(root / "inf.csv", inf)).status == "ingested"
    return {"inf": inf, "model": evaluate(store, model_ids=["shop-reg"])["models"][0]}


def test_regression_performance_names_the_country_whose_predictions_are_off(regression):
    inf, model = regression["inf"], regression["model"]
    reason = _reason(model, "performance", None)
    it = inf["country"] == "IT"
    rmse = lambda f: skm.root_mean_squared_error(f["label"], f["prediction"])  # noqa: E731
    assert reason["segment"]["value"] == "IT" and reason["segment"]["rows"] == int(it.sum())
    assert reason["segment"]["value_in_segment"] == pytest.approx(rmse(inf[it]), rel=1e-9)
    assert reason["segment"]["value_elsewhere"] == pytest.approx(rmse(inf[~it]), rel=1e-9)
    de = next(v for b in model["segments"] for v in b["values"] if v["value"] == "DE")
    assert de["performance"]["current"] == pytest.approx(rmse(inf[inf["country"] == "DE"]), rel=1e-9)
    assert de["performance"]["metric"] == "rmse"
