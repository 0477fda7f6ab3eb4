"""False discovery rate control of feature-drift findings across the fleet (issue 13; policy `fdr`).

With hundreds of models x features judged at once, some features cross a PSI threshold by
chance in small windows. With `fdr: {enabled: true, alpha: A}` in the policy file:

- **The family**: every (model, feature) of the whole fleet whose `feature_drift` check is judged
  (not grey) at `as_of`, each with one p-value: the chi-squared test of the reference against the
  7-day window on the feature's bins (`scipy.stats.chi2_contingency` with its defaults on the bins
  non-empty on either side — the `chi2_p` of categorical features; for numeric features the same
  test on the reference's decile bins). KS p-values need raw rows, which a fleet judgment does
  not read, so they are left out: the family must be the same in the grid and in one model's view.
- **A finding** is a (model, feature) whose `feature_drift` is yellow or red at `as_of` (by PSI).
  It stands when its p-value is a Benjamini-Hochberg discovery at level A (adjusted p <= A);
  otherwise its feature_drift status becomes green ("removed") and it gives no reason.

Only the judgment at `as_of` is adjusted (the timeline, `since` and `onset` read the history
unadjusted). The summary says how many findings the control removed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.judge.assemble import _aligned_groups
from lib.judge.status import GREEN, GREY, RED, YELLOW


def settings(policy) -> dict[str, Any]:
    return dict(policy.defaults.get("fdr") or {"enabled": False, "alpha": 0.05})


def family(judge, checks: pd.DataFrame, wid: int) -> pd.DataFrame:
    """model_id, feature, slot, status, psi, p of every judged (not grey) feature_drift at `wid`."""
    fd = checks[(checks["wid"] == wid) & (checks["check"] == "feature_drift") & (checks["status"] != GREY)]
    fd = fd[["model_id", "feature", "slot", "status", "psi"]].astype({"slot": "int64"})
    p: dict[tuple[str, int], float] = {}
    for frame in (judge.num7, judge.cat7):
        part = frame[frame["wid"] == wid]
        if part.empty:
            continue
        keys, ref, cur, sizes = _aligned_groups(part)
        p.update(zip(keys, metrics.chi2_p_value_grouped(ref, cur, sizes).tolist()))
    fd = fd.assign(p=[p.get(k, np.nan) for k in zip(fd["model_id"].tolist(), fd["slot"].tolist())])
    return fd.dropna(subset=["p"]).reset_index(drop=True)


def decide(fam: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The family with q (BH-adjusted p), discovery (q <= alpha) and removed (a finding, not a discovery)."""
    q = metrics.benjamini_hochberg_adjusted(fam["p"].to_numpy(dtype="float64"))
    out = fam.assign(q=q, discovery=q <= alpha)
    return out.assign(removed=out["status"].isin([YELLOW, RED]) & ~out["discovery"])


def apply(checks: pd.DataFrame, decided: pd.DataFrame, wid: int) -> pd.DataFrame:
    """The check frame with the removed findings' feature_drift turned green at `wid`."""
    gone = decided[decided["removed"]]
    if gone.empty:
        return checks
    keys = set(zip(gone["model_id"], gone["feature"]))
    hit = (
        (checks["wid"] == wid)
        & (checks["check"] == "feature_drift")
        & pd.Series(list(zip(checks["model_id"], checks["feature"])), index=checks.index).isin(keys)
    )
    out = checks.copy()
    out.loc[hit, "status"] = GREEN
    return out


def summary(decided: pd.DataFrame, alpha: float, model_ids: set[str]) -> dict[str, Any]:
    """The `fdr` block of the evaluate JSON: counts over the fleet's family; the removed findings
    listed for the models of this output."""
    gone = decided[decided["removed"] & decided["model_id"].isin(model_ids)]
    return {
        "enabled": True,
        "method": "benjamini-hochberg",
        "alpha": alpha,
        "family": int(len(decided)),
        "discoveries": int(decided["discovery"].sum()),
        "findings": int(decided["status"].isin([YELLOW, RED]).sum()),
        "removed": int(decided["removed"].sum()),
        "removed_findings": [
            {
                "model_id": r.model_id,
                "feature": r.feature,
                "status": r.status,
                "psi": float(r.psi),
                "p": float(r.p),
                "q": float(r.q),
            }
            for r in gone.itertuples(index=False)
        ],
    }


def annotate(models: list[dict], decided: pd.DataFrame) -> None:
    """Each feature of the family gets `"fdr": {"p", "q", "discovery", "removed"}` in its features entry."""
    by = {(r.model_id, r.feature): r for r in decided.itertuples(index=False)}
    for m in models:
        for f in m["features"]:
            r = by.get((m["model_id"], f["feature"]))
            if r is not None:
                f["fdr"] = {
                    "p": float(r.p),
                    "q": float(r.q),
                    "discovery": bool(r.discovery),
                    "removed": bool(r.removed),
                }
