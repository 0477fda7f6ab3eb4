"""An independent reference implementation of DESIGN.md's definitions, for cross-checking.

Everything here is computed directly from the raw rows (pandas DataFrames) with numpy, scipy
and scikit-learn, following the text of DESIGN.md ("Time windows", "Metric definitions",
"Default stoplight policy", "Precise rules"). It deliberately imports nothing from lib/ except
for the store scaffolding at the bottom (which only writes files and calls the public ingest
API), so that a shared mistake in lib/metrics.py, the profiles or the SQL windows cannot hide
itself: windows are filtered on raw timestamps, `ts in (start, end]`, never on hours or days.

Frames used here:
- a reference frame: feature columns, `label`, `prediction`, optional `score`;
- an inference frame: `ts` (naive UTC), feature columns (NaN / None for NULL; a column absent
  from a file is NULL), `prediction`, optional `score`, `label` (the effective label: a late
  labels file's label wins over the logged one; None when unlabelled);
- a list of inference "files": (set of column names, Series of their timestamps), for schema.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)
FLOOR = 0.0001

# DESIGN.md "Default stoplight policy", copied from the table (not from lib/policy.py).
DEFAULTS: dict[str, tuple[float, float]] = {
    "feature_drift": (0.10, 0.25),
    "prediction_drift": (0.10, 0.25),
    "unseen_categories": (0.001, 0.05),
    "missing": (0.05, 0.20),
    "out_of_range": (0.01, 0.05),
    "performance": (0.05, 0.10),
    "volume": (0.5, 0.1),
    "freshness": (24.0, 48.0),
}
MIN_ROWS = 100
CHECK_ORDER = (
    "schema",
    "freshness",
    "volume",
    "missing",
    "unseen_categories",
    "out_of_range",
    "feature_drift",
    "prediction_drift",
    "performance",
    "performance_estimate",  # issue 13: off by default, after the realised performance
)
STATUS_ORDER = ("red", "yellow", "grey", "green")


# ------------------------------------------------------------------------------ windows
def window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows with start < ts <= end (DESIGN.md: windows are half-open (start, end])."""
    return frame[(frame["ts"] > start) & (frame["ts"] <= end)]


def round_up_hour(ts: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    floor = ts.floor("h")
    return floor if floor == ts else floor + HOUR


# ------------------------------------------------------------------------------ values
def _float(values) -> np.ndarray:
    return pd.Series(values, dtype="object").map(lambda v: np.nan if v is None else float(v)).to_numpy(dtype="float64")


def finite(values) -> np.ndarray:
    x = _float(values)
    return x[np.isfinite(x)]


def is_null(values, kind: str) -> np.ndarray:
    if kind == "numeric":
        return np.isnan(_float(values))
    return (
        pd.Series(values, dtype="object")
        .map(lambda v: v is None or (isinstance(v, float) and math.isnan(v)))
        .to_numpy(bool)
    )


def texts(values) -> list[str]:
    """Non-NULL categorical values as text."""
    return [
        str(v) for v in pd.Series(values, dtype="object") if not (v is None or (isinstance(v, float) and math.isnan(v)))
    ]


# ------------------------------------------------------------------------------ bins and drift
def decile_edges(reference) -> np.ndarray:
    ref = finite(reference)
    if ref.size == 0:
        return np.array([])
    return np.unique(np.quantile(ref, np.arange(1, 10) / 10))


def numeric_counts(reference, current) -> tuple[np.ndarray, np.ndarray]:
    edges = decile_edges(reference)
    k = edges.size + 1
    r = np.bincount(np.searchsorted(edges, finite(reference), side="right"), minlength=k)
    c = np.bincount(np.searchsorted(edges, finite(current), side="right"), minlength=k)
    return r.astype(float), c.astype(float)


def categorical_counts(reference, current) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    ref = pd.Series(texts(reference), dtype="object").value_counts()
    cur = pd.Series(texts(current), dtype="object").value_counts()
    unseen = {v: int(n) for v, n in cur.items() if v not in ref.index}
    cats = list(ref.index) + sorted(unseen)
    r = np.array([ref.get(v, 0) for v in cats], dtype=float)
    c = np.array([cur.get(v, 0) for v in cats], dtype=float)
    return r, c, unseen


def psi(r, c) -> float:
    r, c = np.asarray(r, float), np.asarray(c, float)
    if r.sum() == 0 or c.sum() == 0:
        return math.nan
    rs = np.maximum(r / r.sum(), FLOOR)
    cs = np.maximum(c / c.sum(), FLOOR)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def js(r, c) -> float:
    r, c = np.asarray(r, float), np.asarray(c, float)
    if r.sum() == 0 or c.sum() == 0:
        return math.nan
    d = float(jensenshannon(r / r.sum(), c / c.sum(), base=2))
    return 0.0 if math.isnan(d) else d


def chi2_p(r, c) -> float:
    r, c = np.asarray(r, float), np.asarray(c, float)
    if r.sum() == 0 or c.sum() == 0:
        return math.nan
    keep = (r > 0) | (c > 0)
    if keep.sum() < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([r[keep], c[keep]])).pvalue)


def ks(reference, current) -> float:
    a, b = finite(reference), finite(current)
    if a.size == 0 or b.size == 0:
        return math.nan
    return float(stats.ks_2samp(a, b).statistic)


def wasserstein(reference, current) -> float:
    a, b = finite(reference), finite(current)
    if a.size == 0 or b.size == 0:
        return math.nan
    sd = np.std(a)
    return 0.0 if sd == 0 else float(stats.wasserstein_distance(a, b) / sd)


# ------------------------------------------------------------------------------ data quality
def missing_share(values, kind: str) -> float:
    n = len(values)
    return math.nan if n == 0 else float(is_null(values, kind).sum() / n)


def unseen_share(reference, current) -> float:
    known = set(texts(reference))
    cur = texts(current)
    return math.nan if not cur else sum(v not in known for v in cur) / len(cur)


def out_of_range_share(reference, current) -> float:
    ref = finite(reference)
    cur = _float(current)
    cur = cur[~np.isnan(cur)]  # non-NULL; ±inf stays and counts as out of range
    if cur.size == 0:
        return math.nan
    if ref.size == 0:
        return float(np.isinf(cur).sum() / cur.size)
    return float(((cur < ref.min()) | (cur > ref.max())).sum() / cur.size)


# ------------------------------------------------------------------------------ performance
def positive_class(spec: dict, labels) -> str | None:
    if spec["task"] != "binary_classification":
        return None
    if spec.get("positive_class") is not None:
        return str(spec["positive_class"])
    return "1" if "1" in set(labels) else "true"


def primary_metric(spec: dict) -> str:
    task, has_score = spec["task"], "score" in spec.get("columns", {})
    return {
        "binary_classification": "roc_auc" if has_score else "f1",
        "multiclass_classification": "macro_f1",
        "regression": "rmse",
    }[task]


def metric_value(spec: dict, frame: pd.DataFrame, positive: str | None) -> float:
    """The primary metric with scikit-learn on labelled rows."""
    if frame.empty:
        return math.nan
    name = primary_metric(spec)
    y = frame["label"]
    if name == "rmse":
        return float(skm.root_mean_squared_error(y.astype(float), frame["prediction"].astype(float)))
    y, pred = y.astype(str).to_numpy(), frame["prediction"].astype(str).to_numpy()
    if name == "roc_auc":
        truth = y == positive
        if truth.all() or not truth.any():
            return math.nan
        return float(skm.roc_auc_score(truth, frame["score"].astype(float)))
    if name == "f1":
        return float(skm.f1_score(y == positive, pred == positive, zero_division=0))
    return float(skm.f1_score(y, pred, average="macro", zero_division=0))


def performance_loss(name: str, ref: float, cur: float) -> float:
    if ref is None or math.isnan(ref) or math.isnan(cur) or ref == 0:
        return math.nan
    return (cur - ref) / ref if name == "rmse" else (ref - cur) / ref


# ------------------------------------------------------------------------------ a model
@dataclass
class Model:
    """One model's spec and raw rows (see the module docstring)."""

    spec: dict
    ref: pd.DataFrame
    inf: pd.DataFrame
    files: list[tuple[set, pd.Series]] = field(default_factory=list)
    policy: dict = field(default_factory=dict)  # check -> (yellow, red) overrides
    min_rows: int = MIN_ROWS

    @property
    def features(self) -> dict[str, str]:
        return self.spec["features"]

    def positive(self) -> str | None:
        return positive_class(self.spec, self.ref["label"].astype(str))

    def pred_values(self, frame: pd.DataFrame) -> tuple[str, Any, str]:
        """(on, values, kind) of prediction drift."""
        if "score" in self.spec.get("columns", {}):
            return "score", frame["score"], "numeric"
        kind = "numeric" if self.spec["task"] == "regression" else "categorical"
        return "prediction", frame["prediction"], kind

    def col(self, frame: pd.DataFrame, feature: str):
        if feature in frame.columns:
            return frame[feature]
        return pd.Series([None] * len(frame), dtype="object")


def drift_metrics(kind: str, reference, current) -> dict[str, float]:
    if kind == "numeric":
        r, c = numeric_counts(reference, current)
        return {"psi": psi(r, c), "js": js(r, c)}
    r, c, _ = categorical_counts(reference, current)
    return {"psi": psi(r, c), "js": js(r, c), "chi2_p": chi2_p(r, c)}


def expected_blocks(m: Model, as_of: pd.Timestamp, *, detail: bool) -> dict[str, Any]:
    """The `features`, `prediction_drift` and `performance` blocks of evaluate's JSON."""
    cur7 = window(m.inf, as_of - WEEK, as_of)
    cur24 = window(m.inf, as_of - DAY, as_of)
    features = []
    for name, kind in m.features.items():
        ref_v, c7, c24 = m.ref[name], m.col(cur7, name), m.col(cur24, name)
        entry: dict[str, Any] = {"feature": name, "kind": kind, **drift_metrics(kind, ref_v, c7)}
        if kind == "numeric" and detail:
            entry["ks"] = ks(ref_v, c7)
            entry["wasserstein"] = wasserstein(ref_v, c7)
        entry["missing_share"] = missing_share(c24, kind)
        if kind == "categorical":
            entry["unseen_share"] = unseen_share(ref_v, c24)
        else:
            entry["out_of_range_share"] = out_of_range_share(ref_v, c24)
        features.append(entry)
    on, ref_p, kind = m.pred_values(m.ref)
    _, cur_p, _ = m.pred_values(cur7)
    r, c = numeric_counts(ref_p, cur_p) if kind == "numeric" else categorical_counts(ref_p, cur_p)[:2]
    out = {"features": features, "prediction_drift": {"psi": psi(r, c), "on": on}, "performance": None}
    if m.inf["label"].notna().any():
        name = primary_metric(m.spec)
        lab = cur7[cur7["label"].notna()]
        if name == "roc_auc":
            lab = lab[lab["score"].notna()]
        ref_value = metric_value(m.spec, m.ref, m.positive())
        cur_value = metric_value(m.spec, lab, m.positive())
        out["performance"] = {"metric": name, "reference": ref_value, "current": cur_value, "n_labeled": len(lab)}
    return out


# ------------------------------------------------------------------------------ checks
def _level(check: str, value: float, yellow: float, red: float) -> str:
    if value is None or math.isnan(value):
        return "green"
    if check == "volume":
        return "red" if value < red else "yellow" if value < yellow else "green"
    if check == "freshness":
        return "red" if value > red else "yellow" if value > yellow else "green"
    return "red" if value >= red else "yellow" if value >= yellow else "green"


@dataclass
class Check:
    check: str
    feature: str | None
    value: float
    status: str
    threshold: float | None


def checks_at(m: Model, t: pd.Timestamp) -> dict[tuple[str, str | None], Check]:
    """Every check of DESIGN.md at instant t, with the default thresholds (or m.policy's)."""
    out: dict[tuple[str, str | None], Check] = {}

    def add(check, feature, value, grey=False, yellow=None, red=None):
        y, r = m.policy.get(check, DEFAULTS.get(check, (yellow, red)))
        status = "grey" if grey else _level(check, value, y, r)
        out[(check, feature)] = Check(
            check, feature, value, status, r if status == "red" else y if status == "yellow" else None
        )

    cur7 = window(m.inf, t - WEEK, t)
    cur24 = window(m.inf, t - DAY, t)
    base = window(m.inf, t - 8 * DAY, t - DAY)
    n7, n24 = len(cur7), len(cur24)
    # schema: files with rows in the 24-hour window
    known = set(m.features) | set(m.spec.get("columns", {}).values()) | {"timestamp", "prediction"}
    for columns, ts in m.files:
        if not ((ts > t - DAY) & (ts <= t)).any():
            continue
        for f in m.features:
            if f not in columns:
                out[("schema", f)] = Check("schema", f, 1.0, "red", 1.0)
        for col in columns - known:
            out.setdefault(("schema", col), Check("schema", col, 1.0, "yellow", 1.0))
    past = m.inf[m.inf["ts"] <= t]
    # before the first inference: nothing to be late with yet (grey, value null; DESIGN)
    add("freshness", None, math.nan if past.empty else (t - past["ts"].max()) / HOUR, grey=past.empty)
    baseline = len(base) / 7
    add("volume", None, n24 / baseline if baseline > 0 else math.nan)
    for name, kind in m.features.items():
        ref_v = m.ref[name]
        miss = missing_share(m.col(cur24, name), kind) - float(is_null(ref_v, kind).mean())
        add("missing", name, miss, grey=n24 < m.min_rows or math.isnan(miss))
        if kind == "categorical":
            v = unseen_share(ref_v, m.col(cur24, name))
            add("unseen_categories", name, v, grey=n24 < m.min_rows or math.isnan(v))
        else:
            v = out_of_range_share(ref_v, m.col(cur24, name))
            add("out_of_range", name, v, grey=n24 < m.min_rows or math.isnan(v))
        d = drift_metrics(kind, ref_v, m.col(cur7, name))["psi"]
        ref_n = finite(ref_v).size if kind == "numeric" else len(texts(ref_v))
        add("feature_drift", name, d, grey=n7 < m.min_rows or ref_n < m.min_rows or math.isnan(d))
    _, ref_p, kind = m.pred_values(m.ref)
    _, cur_p, _ = m.pred_values(cur7)
    r, c = numeric_counts(ref_p, cur_p) if kind == "numeric" else categorical_counts(ref_p, cur_p)[:2]
    p = psi(r, c)
    add("prediction_drift", None, p, grey=n7 < m.min_rows or math.isnan(p))
    if m.inf["label"].notna().any():
        name = primary_metric(m.spec)
        lab = cur7[cur7["label"].notna()]
        if name == "roc_auc":
            lab = lab[lab["score"].notna()]
        loss = performance_loss(
            name, metric_value(m.spec, m.ref, m.positive()), metric_value(m.spec, lab, m.positive())
        )
        add("performance", None, loss, grey=len(lab) < m.min_rows or math.isnan(loss))
    out["_rows7"] = n7  # type: ignore[assignment]
    return out


def model_status(checks: dict) -> str:
    statuses = {c.status for k, c in checks.items() if k != "_rows7"}
    if "red" in statuses:
        return "red"
    if "yellow" in statuses:
        return "yellow"
    return "grey" if checks["_rows7"] < MIN_ROWS else "green"


def flagged(checks: dict) -> set[tuple[str, str | None]]:
    return {k for k, c in checks.items() if k != "_rows7" and c.status in ("yellow", "red")}


def reasons(m: Model, as_of: pd.Timestamp) -> list[dict[str, Any]]:
    """Reasons at as_of, ordered as DESIGN.md says, with since and onset."""
    now = checks_at(m, as_of)
    # since: hour by hour over the last 48 h, then day-end by day-end up to 30 days back (DESIGN "Onset")
    walk = [as_of - pd.Timedelta(hours=k) for k in range(49)]
    t = as_of.floor("D")
    while t >= as_of - 30 * DAY:
        if t < walk[48]:
            walk.append(t)
        t -= DAY
    t1 = as_of - DAY
    first_before = t1.floor("D") if t1.floor("D") < t1 else t1 - DAY
    onset_instants = [t1] + [first_before - k * DAY for k in range(7)]
    cache: dict[pd.Timestamp, set] = {}

    def flags(t):
        if t not in cache:
            cache[t] = flagged(checks_at(m, t))
        return cache[t]

    items = []
    for key in flagged(now):
        c = now[key]
        since = as_of
        for t in walk:
            if key in flags(t):
                since = t
            else:
                break
        sudden = all(key not in flags(t) for t in onset_instants)
        ratio = (
            c.value if c.value is not None and not math.isnan(c.value) and not math.isinf(c.value) else 0.0
        ) / c.threshold
        items.append(
            (
                (c.status != "red", CHECK_ORDER.index(c.check), -ratio, c.feature or ""),
                {
                    "check": c.check,
                    "status": c.status,
                    "feature": c.feature,
                    "value": c.value,
                    "threshold": c.threshold,
                    "since": iso(since),
                    "onset": "sudden" if sudden else "gradual",
                },
            )
        )
    items.sort(key=lambda it: it[0])
    return [it[1] for it in items]


def iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).tz_localize("UTC").isoformat()


# ------------------------------------------------------------------------------ store scaffolding
# Test scaffolding, not part of the reference implementation: write files and ingest them
# through the public API (lib.ingest), keeping the raw rows for the functions above.


class Fleet:
    """Builds a store in a directory through lib.ingest, and remembers every model's raw rows."""

    def __init__(self, directory: Path):
        from lib.store.connection import Store

        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.dir / "store.duckdb")
        self.models: dict[str, Model] = {}
        self._n = 0

    def batch(self):
        """Keep one write connection for many ingests (much faster for a fleet of scenarios)."""
        return self.store.batch()

    def register(self, spec: dict) -> None:
        from lib.ingest.pipeline import register_spec

        register_spec(self.store, spec)
        self.models[spec["model_id"]] = Model(spec=spec, ref=pd.DataFrame(), inf=pd.DataFrame(columns=["ts", "label"]))

    def _write(self, frame: pd.DataFrame) -> Path:
        self._n += 1
        path = self.dir / f"file{self._n}.parquet"
        frame.to_parquet(path, index=False)
        return path

    def _ingest(self, kind: str, model_id: str, frame: pd.DataFrame) -> None:
        from lib.ingest.pipeline import ingest_file

        outcome = ingest_file(self.store, kind, model_id, self._write(frame))
        assert outcome.status == "ingested", outcome

    def _canonical(self, model_id: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame with the role columns renamed to ts, prediction, score, label, id."""
        cols = self.models[model_id].spec.get("columns", {})
        rename = {cols.get("timestamp", "timestamp"): "ts", cols.get("prediction", "prediction"): "prediction"}
        for role in ("score", "label", "id"):
            if role in cols:
                rename[cols[role]] = role
        return frame.rename(columns=rename).reset_index(drop=True).copy()

    def reference(self, model_id: str, frame: pd.DataFrame) -> None:
        self._ingest("reference", model_id, frame)
        self.models[model_id].ref = self._canonical(model_id, frame)

    def inference(self, model_id: str, frame: pd.DataFrame) -> None:
        """Ingest an inference file whose columns use the spec's names (ts, features, …)."""
        m = self.models[model_id]
        self._ingest("inference", model_id, frame)
        raw = self._canonical(model_id, frame)
        raw["ts"] = pd.to_datetime(raw["ts"]).astype("datetime64[us]")
        for f, kind in m.features.items():
            if f not in raw.columns:
                raw[f] = np.nan if kind == "numeric" else None
        if "label" not in raw.columns:
            raw["label"] = None
        m.files.append((set(frame.columns), raw["ts"]))
        m.inf = pd.concat([m.inf, raw], ignore_index=True) if len(m.inf) else raw
        m.inf["ts"] = m.inf["ts"].astype("datetime64[us]")

    def labels(self, model_id: str, frame: pd.DataFrame) -> None:
        """Late labels (columns: the spec's id and label names): they win over logged labels."""
        m = self.models[model_id]
        cols = m.spec["columns"]
        self._ingest("labels", model_id, frame)
        late = dict(zip(frame[cols["id"]].astype(str), frame[cols["label"]]))
        ids = m.inf["id"].astype(str)
        m.inf["label"] = [late.get(i, lab) for i, lab in zip(ids, m.inf["label"])]
        m.inf["label"] = m.inf["label"].astype("object").where(m.inf["label"].notna(), None)
