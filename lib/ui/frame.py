"""The frame every page runs in (app.py calls `frame()` before each page): the login gate's hook,
the sidebar (as-of time, filters, search — bound to the URL's query parameters, so deep links and
reloads keep them), the store checks, and the Context a page reads; plus the filters' test of a model.

lib/ui is the only part of lib that imports Streamlit (DESIGN.md, Layout). Alongside this module:
store_access (opening the store, its notices), loaders (cached reads keyed on the data version),
formatting (how values are written), style (CSS, colors), grid (the fleet grid's HTML), judged (the
background judge of the whole fleet), fleet_view / fleet_widgets / fleet_table (the fleet page's
filters, pages and table), model_html
(the model page's HTML blocks), tab_* (the model page's tabs, sharing tab_common) and actions
(reports and the action history). Every name that goes into HTML is escaped. Pages stay thin:
read the context, call these helpers and lib/, render.
What does not live here: SQL (lib/store/detail.py) and judging (lib/judge/evaluate.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from lib.actions.roles import Actor
from lib.demo.progress import read_progress
from lib.judge.status import STATUSES
from lib.reports.data import Filters
from lib.ui.auth import auth_configured, current_actor, gate, sidebar_identity  # noqa: F401 (re-exported)
from lib.ui.formatting import WORD
from lib.ui.loaders import fleet_at, load_catalog
from lib.ui.store_access import (
    _store,
    building_banner,
    building_notice,
    db_path,
    empty_notice,
    guarded,
    interrupted_banner,
    missing_notice,
)

FILTER_KEYS = ("team", "owner", "task", "status", "tag", "q", "as_of")


# -- the frame: context shared by every page ------------------------------------------------------
@dataclass
class Context:
    path: str
    version: int
    catalog: dict[str, Any]
    as_of: str  # ISO, UTC, whole hour
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default_as_of(self) -> bool:
        d = self.catalog["default_as_of"]
        return d is not None and pd.Timestamp(self.as_of).tz_localize(None) == d

    def fleet(self) -> dict[str, Any]:
        """The fleet's evaluation at the page's time (lib/ui/loaders.py fleet_at)."""
        return fleet_at(self.path, self.version, self.as_of, default_as_of=self.is_default_as_of)

    def link_params(self) -> dict[str, Any]:
        """The filters as query parameters, for links that open a page in a new session."""
        out: dict[str, Any] = {}
        for key in FILTER_KEYS:
            value = st.query_params.get_all(key) if key in st.query_params else []
            if value:
                out[key] = value if len(value) > 1 else value[0]
        return out


def context() -> Context:
    ctx = st.session_state.get("_dl_ctx")
    if ctx is None:  # a page run without app.py (should not happen): build the frame here
        ctx = frame()
    return ctx


def auth_gate() -> Actor:
    """The login gate (lib/ui/auth.py): stops the run unless the visitor may see the app."""
    return gate()


def frame() -> Context:
    """Sidebar (as-of, filters, search) and the store checks; returns the page context."""
    path = db_path()
    s = _store(path)
    progress = read_progress(path)  # of a demo build into this store (make run serves it meanwhile)
    build = progress if progress is not None and progress.alive else None
    if not s.exists():
        if build:
            building_notice(build)
        else:
            missing_notice()
        st.stop()
    version = s.data_version()
    with guarded():
        catalog = load_catalog(path, version)
    models = catalog["models"]
    sb = st.sidebar
    if models.empty or catalog["default_as_of"] is None:
        if build:
            building_notice(build)
        else:
            empty_notice()
        st.stop()
    if build:
        building_banner(build)
    elif progress is not None:  # left by a build that stopped before the end
        interrupted_banner(progress)
    default = catalog["default_as_of"].to_pydatetime()
    first = catalog["first_inference"].to_pydatetime() if catalog["first_inference"] is not None else None
    with sb:
        picked = st.datetime_input(
            "As of (UTC)",
            value=default,
            min_value=first,
            max_value=default,
            step=3600,
            key="as_of",
            bind="query-params",
            format="YYYY-MM-DD",
            help="Judge the fleet as it was at this time. Defaults to the newest inference "
            "in the store (rounded up to the hour).",
        )
        as_of = pd.Timestamp(picked or default)
        if as_of.tzinfo is not None:
            as_of = as_of.tz_convert("UTC").tz_localize(None)
        as_of = as_of.ceil("h")
        q = st.text_input("Search", key="q", bind="query-params", placeholder="model, name, owner, tag…")
        # Bound widgets put the option's label in the URL: plain words, no format_func.
        status_words = st.multiselect("Status", [WORD[s] for s in STATUSES], key="status", bind="query-params")
        status = [s for s in STATUSES if WORD[s] in status_words]
        team = st.multiselect("Team", sorted(models["team"].unique()), key="team", bind="query-params")
        owner = st.multiselect("Owner", sorted(models["owner"].unique()), key="owner", bind="query-params")
        task = st.multiselect("Task", sorted(models["task"].unique()), key="task", bind="query-params")
        tags = sorted({t for ts in models["tags"] for t in ts})
        tag = st.multiselect("Tag", tags, key="tag", bind="query-params")
        st.caption(f"Store: `{os.path.basename(path)}` · data version {version}")
        sidebar_identity(current_actor())
    ctx = Context(
        path=path,
        version=version,
        catalog=catalog,
        as_of=pd.Timestamp(as_of).tz_localize("UTC").isoformat(),
        filters={"q": q or "", "status": status, "team": team, "owner": owner, "task": task, "tag": tag},
    )
    st.session_state["_dl_ctx"] = ctx
    return ctx


def matches(model: dict, filters: dict[str, Any], *, use_status: bool = True) -> bool:
    """Whether a model (evaluate's dict, or a catalog row as dict) passes the sidebar filters: the
    same test as a fleet report's (lib/reports/data.py Filters), so a report holds what the page shows."""
    return Filters(
        teams=tuple(filters.get("team") or ()),
        owners=tuple(filters.get("owner") or ()),
        statuses=tuple(filters.get("status") or ()) if use_status else (),
        tasks=tuple(filters.get("task") or ()),
        tags=tuple(filters.get("tag") or ()),
        search=filters.get("q") or "",
    ).keep(model)


def any_filter(filters: dict[str, Any]) -> bool:
    return any(bool(v) for v in filters.values())


def may_upload(actor: Actor) -> bool:
    """Admins, and users who own at least one model (their uploads are checked per model in lib)."""
    if actor.admin:
        return True
    try:
        catalog = load_catalog(db_path(), _store(db_path()).data_version())
    except Exception:  # no store yet: nothing to upload to but for an admin
        return False
    models = catalog["models"]
    return any(actor.owns(o, t) for o, t in zip(models["owner"], models["team"]))


def owns_model(actor: Actor, ctx: Context, model_id: str) -> bool:
    models = ctx.catalog["models"]
    hit = models[models["model_id"] == model_id]
    return bool(len(hit)) and actor.owns(hit["owner"].iloc[0], hit["team"].iloc[0])
