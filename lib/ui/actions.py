"""Streamlit helpers for the Reports and Alerts pages (issue 5): cached report building and the
action history, keyed on the store's data version. The only streamlit import for actions/reports."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from lib.actions import run as actions
from lib.errors import MissingDependency
from lib.reports.build import FORMATS, file_name, render_report
from lib.reports.data import Filters
from lib.ui.loaders import _ts, fleet_if_judged, load_fleet
from lib.ui.store_access import _store, guarded

MIME = {"html": "text/html", "pdf": "application/pdf", "json": "application/json", "csv": "text/csv"}


@st.cache_data(show_spinner=False, max_entries=16)
def build_report(
    path: str,
    version: int,
    as_of: str,
    fmt: str,
    model_id: str | None,
    filters: tuple[tuple[str, Any], ...] = (),
    multivariate: bool = False,
) -> bytes:
    """A report's bytes: one model, or the fleet kept by `filters` (the sidebar's, as
    `report_filters(ctx)` gives them), so the report's header names the scope it holds.
    `multivariate` (whether a domain-classifier result is cached) is only part of the cache key."""
    s = _store(path)
    if model_id:
        return render_report(s, fmt, model_id=model_id, as_of=_ts(as_of))
    return render_report(
        s,
        fmt,
        result=fleet_if_judged(path, version, as_of) or load_fleet(path, version, as_of),
        filters=Filters(**dict(filters)),
    )


def report_filters(ctx) -> tuple[tuple[str, Any], ...]:
    """The sidebar's filters as lib.reports.Filters fields (hashable, for the cache)."""
    f = ctx.filters
    return (
        ("teams", tuple(f.get("team") or ())),
        ("owners", tuple(f.get("owner") or ())),
        ("statuses", tuple(f.get("status") or ())),
        ("tasks", tuple(f.get("task") or ())),
        ("tags", tuple(f.get("tag") or ())),
        ("search", (f.get("q") or "").strip()),
    )


def report_downloads(
    ctx, model_id: str | None, filters: tuple[tuple[str, Any], ...] = (), *, key: str = "dl_rep"
) -> None:
    """One row of buttons: build a format, then download it (PDF and HTML take a few seconds)."""
    cols = st.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS):
        with col:
            mv = _multivariate_cached(ctx, model_id)
            state_key = f"{key}_{fmt}_{model_id}_{ctx.version}_{ctx.as_of}_{hash(filters)}_{mv}"
            data = st.session_state.get(state_key)
            if data is None:
                if st.button(f"Build {fmt.upper()}", key=f"{key}_build_{fmt}", width="stretch"):
                    try:
                        with guarded(), st.spinner(f"Building the {fmt.upper()} report…"):
                            st.session_state[state_key] = build_report(
                                ctx.path, ctx.version, ctx.as_of, fmt, model_id, filters, mv
                            )
                    except MissingDependency as exc:  # Chromium for PDF: say how to install it
                        st.warning(f"**{fmt.upper()} unavailable.** {exc}", icon="🧩")
                    else:
                        st.rerun()
            else:
                st.download_button(
                    f"Download {fmt.upper()}",
                    data,
                    key=f"{key}_get_{fmt}",
                    type="primary",
                    file_name=file_name(fmt, model_id=model_id, as_of=ctx.as_of),
                    mime=MIME[fmt],
                    width="stretch",
                )
                st.caption(f"{len(data):,} bytes")


def _multivariate_cached(ctx, model_id: str | None) -> bool:
    """Whether the model's domain-classifier result is cached beside the store (the model report
    then shows it). The cache file does not bump the data version, so this joins the report's key:
    a report built before the Drift tab's button was pressed is not served after it."""
    if not model_id or ctx.as_of is None:
        return False
    from lib.judge.multivariate import cached_multivariate

    return cached_multivariate(_store(ctx.path), model_id, _ts(ctx.as_of)) is not None


def history(path: str, version: int) -> dict[str, pd.DataFrame]:
    return _history(path, version)


@st.cache_data(show_spinner=False, max_entries=8)
def _history(path: str, version: int) -> dict[str, Any]:
    return actions.history(_store(path))
