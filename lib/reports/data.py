"""What a report shows, gathered from the store: the models a fleet report keeps (Filters), their evaluation
with a 30-day timeline, the worst features' distributions and the daily performance series. Writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from lib.judge.cube import DriftCube
from lib.judge.evaluate import evaluate
from lib.judge.policy import SETTINGS, Policy, effective_setting, effective_threshold, load_store_policy
from lib.judge.status import RANK
from lib.metrics import numeric_bin_labels
from lib.store.connection import Store
from lib.store.read import Reader

TIMELINE_DAYS = 30
WORST_FEATURES = 3  # distribution charts per model
FLEET_DETAIL_LIMIT = 25  # non-green models with a full section in a fleet report


@dataclass(frozen=True)
class Filters:
    """Which models a fleet report keeps: the command line's --team/--owner/--status, and the
    app's sidebar (which adds task, tag and a free-text search, so the report says what it holds)."""

    teams: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    search: str = ""

    def keep(self, m: dict) -> bool:
        if not (
            (not self.teams or m.get("team") in self.teams)
            and (not self.owners or m.get("owner") in self.owners)
            and (not self.statuses or m["status"] in self.statuses)
            and (not self.tasks or m.get("task") in self.tasks)
            and (not self.tags or set(self.tags) & set(m.get("tags") or []))
        ):
            return False
        words = self.search.strip().lower().split()
        if words:
            hay = " ".join(
                [
                    m.get("model_id", ""),
                    m.get("name", "") or "",
                    m.get("owner", "") or "",
                    m.get("team", "") or "",
                    " ".join(m.get("tags") or []),
                ]
            ).lower()
            return all(w in hay for w in words)
        return True

    def describe(self) -> str:
        parts = [f"{k}: {', '.join(v)}" for k, v in asdict(self).items() if v and k != "search"]
        if self.search.strip():
            parts.append(f"search: {self.search.strip()}")
        return "; ".join(parts) or "the whole fleet"


def report_data(
    store: Store,
    *,
    model_id: str | None = None,
    filters: Filters | None = None,
    as_of: pd.Timestamp | None = None,
    policy: Policy | None = None,
    result: dict | None = None,
    multivariate: bool = False,
) -> dict[str, Any]:
    """Everything a report shows: the evaluation (30-day timeline) and the chart data.

    A model report also carries the multivariate drift (lib/reports/multivariate.py): the cached
    result, or with `multivariate=True` a fresh one; a fleet report never trains the classifier."""
    policy = load_store_policy(store, policy)  # with the Policy page's stored overrides
    filters = filters or Filters()
    if result is None:
        result = evaluate(
            store,
            as_of=as_of,
            model_ids=[model_id] if model_id else None,
            timeline_days=TIMELINE_DAYS,
            detail=bool(model_id),
            policy=policy,
        )
    models = [m for m in result["models"] if model_id or filters.keep(m)]
    detailed = models if model_id else [m for m in models if m["status"] in ("red", "yellow")][:FLEET_DETAIL_LIMIT]
    wanted = {m["model_id"]: [f["feature"] for f in worst_features(m)] for m in detailed}
    dists = distributions(store, result["as_of"], wanted) if result["as_of"] and wanted else {}
    specs: dict[str, dict] = {}
    if models:
        from lib.store.actions import model_specs

        with store.read() as con:
            specs = model_specs(con)
    settings = {
        m["model_id"]: {
            k: effective_setting(
                policy,
                m.get("team", ""),
                policy.model_policy(m["model_id"], specs.get(m["model_id"], {}).get("policy")),
                k,
            )
            for k in SETTINGS
        }
        for m in models
    }
    labelled = [m for m in detailed if m.get("performance") is not None]
    perf = (
        performance_over_time(store, result["as_of"], labelled, specs, policy) if result["as_of"] and labelled else {}
    )
    mv = None
    if model_id and models:
        from lib.reports.multivariate import multivariate_block

        mv = multivariate_block(store, model_id, result["as_of"], compute=multivariate)
    return {
        "kind": "model" if model_id else "fleet",
        "model_id": model_id,
        "as_of": result["as_of"],
        "models": models,
        "detailed": [m["model_id"] for m in detailed],
        "distributions": dists,
        "performance_over_time": perf,
        "data_version": store.data_version(),
        "policy_source": policy.source,
        "settings": settings,
        "filters": None if model_id else asdict(filters),
        "filters_text": None if model_id else filters.describe(),
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "multivariate": mv,
    }


def worst_features(model: dict, n: int = WORST_FEATURES) -> list[dict]:
    """The model's features ordered worst first (status, then PSI), the flagged ones and at most n."""
    feats = [f for f in model.get("features", []) if f.get("psi") is not None]
    feats.sort(key=lambda f: (RANK.get(f.get("status", "grey"), 9), -(f.get("psi") or 0.0), f["feature"]))
    return feats[:n]


def distributions(store: Store, as_of: str, wanted: dict[str, list[str]]) -> dict[str, dict[str, dict]]:
    """Reference vs last-7-days shares on the reference's bins, for the wanted (model, feature)s.

    Numeric bins are labelled by the decile edges; categorical bins are the reference categories
    and every value unseen in it. Reads profile sums (no raw rows).
    """
    end = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)
    window = [(0, end - pd.Timedelta(days=7), end)]
    out: dict[str, dict[str, dict]] = {}
    with store.read() as con:
        reader = Reader(con, list(wanted))  # only the wanted models' profiles
        feats = reader.features()
        feats = feats[feats["model_id"].isin(list(wanted))]
        slots = {(r.model_id, r.feature): (int(r.slot), r.kind) for r in feats.itertuples()}
        ref_profiles = reader.ref_profiles()
        ref_profiles = ref_profiles[ref_profiles["model_id"].isin(list(wanted))]
        num, cat = (
            DriftCube(
                reader, window, ref_profiles, kind, feats.loc[feats["kind"] == kind, ["model_id", "slot"]]
            ).aligned(0)
            for kind in ("numeric", "categorical")
        )
    ref = ref_profiles.set_index(["model_id", "slot"])
    for model_id, features in wanted.items():
        for feature in features:
            if (model_id, feature) not in slots:
                continue
            slot, kind = slots[(model_id, feature)]
            if kind == "numeric":
                part = num[(num["model_id"] == model_id) & (num["slot"] == slot)].sort_values("bin")
                edges = ref.loc[(model_id, slot), "edges"] if (model_id, slot) in ref.index else []
                labels = numeric_bin_labels(list(edges if edges is not None else []), len(part))
            else:
                part = cat[(cat["model_id"] == model_id) & (cat["slot"] == slot)]
                part = part.assign(unseen=part["ref"] == 0).sort_values(
                    ["unseen", "ref", "cur", "value"], ascending=[True, False, False, True]
                )
                labels = [str(v) for v in part["value"]]
            r, c = part["ref"].astype("float64"), part["cur"].astype("float64")
            out.setdefault(model_id, {})[feature] = {
                "kind": kind,
                "bins": labels,
                "reference": (r / r.sum()).fillna(0).tolist() if r.sum() else [0.0] * len(r),
                "current": (c / c.sum()).fillna(0).tolist() if c.sum() else [0.0] * len(c),
                "n_reference": int(r.sum()),
                "n_current": int(c.sum()),
                "unseen": [bool(u) for u in part["unseen"]] if kind == "categorical" else [False] * len(r),
            }
    return out


def performance_over_time(
    store: Store, as_of: str, models: list[dict], specs: dict[str, dict], policy: Policy, *, days: int = TIMELINE_DAYS
) -> dict[str, dict]:
    """The primary metric per UTC day over the last `days` days, for models that have had labels.

    Each day's value is over that day's labelled rows: the model page's series
    (lib.store_detail.daily_performance), so the report and the Performance tab agree. A day
    without labelled rows (or whose metric cannot be computed, e.g. ROC AUC over one class) has
    value None: a gap, never a zero. The threshold lines are the effective performance
    thresholds (relative losses, from the evaluation's `checks` block, else lib.policy) turned
    into metric values around the reference: `ref × (1 − loss)`, or `ref × (1 + loss)` for RMSE.
    """
    from lib.metrics import higher_is_better
    from lib.store.detail import daily_performance

    end = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None)
    last = (end - pd.Timedelta(microseconds=1)).floor("D")  # the days of store_detail._days
    dates = [last - pd.Timedelta(days=k) for k in range(days - 1, -1, -1)]
    frames = daily_performance(store, [m["model_id"] for m in models], end, days=days)
    out: dict[str, dict] = {}
    for m in models:
        perf, frame = m["performance"], frames.get(m["model_id"])
        by_day = (
            {pd.Timestamp(d): (v, int(n)) for d, v, n in zip(frame["date"], frame["current"], frame["n_labeled"])}
            if frame is not None and len(frame)
            else {}
        )
        metric = perf["metric"]
        reference = perf.get("reference")
        if reference is None and frame is not None and len(frame):
            reference = _float(frame["reference"].iloc[0])
        check = next((c for c in m.get("checks", []) if c["check"] == "performance"), None)
        if check is None:
            t = effective_threshold(
                policy,
                m.get("team", ""),
                policy.model_policy(m["model_id"], specs.get(m["model_id"], {}).get("policy")),
                "performance",
            )
            check = {"yellow": t.yellow, "red": t.red, "threshold_source": t.source}
        sign = -1.0 if higher_is_better(metric) else 1.0
        lines = {
            level: (reference * (1 + sign * check[level]) if reference and check.get(level) is not None else None)
            for level in ("yellow", "red")
        }
        out[m["model_id"]] = {
            "metric": metric,
            "higher_is_better": higher_is_better(metric),
            "reference": reference,
            "current_7d": perf.get("current"),
            "yellow": check.get("yellow"),
            "red": check.get("red"),
            "threshold_source": check.get("threshold_source"),
            "yellow_line": lines["yellow"],
            "red_line": lines["red"],
            "days": [
                {
                    "date": d.strftime("%Y-%m-%d"),
                    "value": _float(by_day.get(d, (None, 0))[0]),
                    "n_labeled": by_day.get(d, (None, 0))[1],
                }
                for d in dates
            ],
        }
    return out


def _float(value) -> float | None:
    """A finite float, or None (NaN and missing values are gaps)."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None
