"""Cached loaders for the pages, keyed on the store's path and data version (a new ingest shows up
on the next rerun, no restart): the fleet's and one model's evaluation, and the model page's detail.
The fleet at the newest data comes from the background judge (lib/ui/judged.py, one per store and
process); a chosen past time is judged on demand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from lib.judge.evaluate import evaluate
from lib.store import detail as store_detail
from lib.store import rows as store_rows
from lib.ui.judged import TIMELINE_DAYS, FleetJudge, shared_judge
from lib.ui.store_access import _store

if TYPE_CHECKING:
    from lib.ui.frame import Context


def fleet_judge(path: str) -> FleetJudge:
    """The store's background judge: one per store path and server process, shared by sessions
    (started by the server's start-up hook in serve.py, or here by the first page that needs it)."""
    return shared_judge(path)


def _same_time(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and pd.Timestamp(a) == pd.Timestamp(b)


def background_fleet(path: str, version: int, as_of: str | None, *, wait: bool = False) -> dict[str, Any] | None:
    """The background judge's result when it is of this data version and time (else None);
    with `wait`, wait for the judgment of this version under way rather than judge it twice."""
    judge = fleet_judge(path)
    snap = judge.wait() if wait else judge.snapshot()
    r = snap.result
    if r is None or not (r.complete and snap.current and r.version == version):
        return None  # not judged yet, older data, or read back without its detail yet
    if as_of is None or _same_time(r.as_of, as_of):
        return r.fleet
    return None


@st.cache_data(show_spinner=False, max_entries=8)
def load_catalog(path: str, version: int) -> dict[str, Any]:
    return store_detail.catalog(_store(path))


_FLEET_MEMO: dict[tuple, dict[str, Any]] = {}


@st.cache_data(show_spinner=False, max_entries=8)
def load_fleet(path: str, version: int, as_of: str | None) -> dict[str, Any]:
    out = evaluate(_store(path), as_of=_ts(as_of), timeline_days=TIMELINE_DAYS, detail=False)
    if len(_FLEET_MEMO) > 8:
        _FLEET_MEMO.clear()
    _FLEET_MEMO[(path, version, as_of)] = out
    return out


def fleet_if_judged(path: str, version: int, as_of: str) -> dict[str, Any] | None:
    """The fleet's evaluation if this process has already computed it (else None: don't wait for it)."""
    return background_fleet(path, version, as_of) or _FLEET_MEMO.get((path, version, as_of))


def fleet_at(path: str, version: int, as_of: str | None, *, default_as_of: bool) -> dict[str, Any]:
    """The fleet's evaluation: at the newest data the background judge's (waiting for it when it
    is under way), at a chosen time `load_fleet`'s."""
    if default_as_of:
        got = background_fleet(path, version, as_of, wait=True)
        if got is not None:
            return got
    return load_fleet(path, version, as_of)


@st.cache_data(show_spinner=False, max_entries=64)
def load_raw_drift(path: str, version: int, as_of: str, model_id: str) -> dict[str, dict[str, float]]:
    return store_rows.raw_drift(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_estimate(path: str, version: int, as_of: str, model_id: str, perf_json: str) -> dict[str, Any] | None:
    """The performance estimate (CBPE) of one model, whatever the policy's switch."""
    from lib.judge.estimate import model_estimate

    return model_estimate(_store(path), model_id, _ts(as_of), json.loads(perf_json))


@st.cache_data(show_spinner=False, max_entries=64)
def load_multivariate(path: str, version: int, as_of: str, model_id: str) -> dict[str, Any]:
    """Multivariate drift (domain classifier) of one model; also cached on disk per data version."""
    from lib.judge.multivariate import multivariate_drift

    return multivariate_drift(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_model(path: str, version: int, as_of: str | None, model_id: str) -> dict[str, Any] | None:
    out = evaluate(_store(path), as_of=_ts(as_of), model_ids=[model_id], timeline_days=TIMELINE_DAYS, detail=True)
    return out["models"][0] if out["models"] else None


def model_view(ctx: Context, model_id: str) -> dict[str, Any] | None:
    """One model's evaluation, with exact KS / Wasserstein from its raw rows.

    From the fleet's judging when this process already has it (same judging, no extra work),
    else a one-model `evaluate` (reads only that model's profiles: a cold deep link stays fast).
    """
    fleet = fleet_if_judged(ctx.path, ctx.version, ctx.as_of)
    if fleet is None:
        return load_model(ctx.path, ctx.version, ctx.as_of, model_id)
    m = next((x for x in fleet["models"] if x["model_id"] == model_id), None)
    if m is None:
        return None
    raw = load_raw_drift(ctx.path, ctx.version, ctx.as_of, model_id)
    features = [{**f, **raw.get(f["feature"], {})} if f["kind"] == "numeric" else f for f in m["features"]]
    return {**m, "features": features}


@st.cache_data(show_spinner=False, max_entries=64)
def load_segments(path: str, version: int, as_of: str | None, model_id: str, task: str) -> list[dict[str, Any]]:
    """One model's per-segment metrics (issue 13), when its evaluation came from the fleet's."""
    from lib.judge.seg_reasons import model_segments

    return model_segments(_store(path), model_id, _ts(as_of), task)


@st.cache_data(show_spinner=False, max_entries=64)
def load_daily(path: str, version: int, as_of: str, model_id: str) -> dict[str, pd.DataFrame]:
    return store_detail.daily_series(_store(path), model_id, _ts(as_of), days=TIMELINE_DAYS)


@st.cache_data(show_spinner=False, max_entries=128)
def load_distribution(path: str, version: int, as_of: str, model_id: str, feature: str) -> pd.DataFrame:
    return store_detail.distribution(_store(path), model_id, feature, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_unseen(path: str, version: int, as_of: str, model_id: str) -> pd.DataFrame:
    return store_detail.unseen_values(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_schema(path: str, version: int, as_of: str, model_id: str) -> pd.DataFrame:
    return store_detail.schema_files(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_confusion(path: str, version: int, as_of: str, model_id: str) -> pd.DataFrame:
    return store_detail.confusion(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_residuals(path: str, version: int, as_of: str, model_id: str) -> pd.DataFrame:
    return store_rows.residuals(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_rows(path: str, version: int, as_of: str, model_id: str, problems: tuple) -> tuple[pd.DataFrame, str]:
    reasons = [{"check": c, "feature": f} for c, f in problems]
    return store_rows.offending_rows(_store(path), model_id, _ts(as_of), problems=reasons)


def _ts(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    ts = pd.Timestamp(text)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
