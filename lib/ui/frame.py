"""UI helpers: the only lib module that imports Streamlit (DESIGN.md, Layout).

What lives here: cached loaders keyed on the store's data version (a new ingest shows up on the
next rerun, no restart), the store busy / missing / empty notices, the sidebar filters (bound to
the URL's query parameters, so deep links and reloads keep them), and the HTML builders of the
fleet grid (one HTML block for hundreds of tiles: STYLE.md, "Hundreds of tiles"). Every name that
goes into HTML is escaped. Pages stay thin: read the context, call these helpers and lib/, render.
What does not live here: SQL (lib/store_detail.py) and judging (lib/evaluate.py).
"""
from __future__ import annotations

import html
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from lib.store import detail as store_detail
from lib.errors import StoreBusy, StoreMissing
from lib.judge.evaluate import evaluate
from lib.judge.status import COLOR, GREEN, GREY, RANK, RED, STATUSES, YELLOW
from lib.store.connection import Store, default_db_path

LOCK_TIMEOUT_ENV = "DRIFTLIGHT_LOCK_TIMEOUT"
TIMELINE_DAYS = 30
# One pair of colors for reference vs current, everywhere in the app.
REF_COLOR = "#94a3b8"
CUR_COLOR = "#2563eb"
# Status glyphs that every font has (emoji need a color-emoji font, often missing on servers).
GLYPH = {RED: "✖", YELLOW: "▲", GREY: "?", GREEN: "✔"}
WORD = {RED: "Red", YELLOW: "Yellow", GREY: "Grey", GREEN: "Green"}
MEANING = {RED: "broken", YELLOW: "needs a look", GREY: "not enough data", GREEN: "healthy"}
CHECK_LABEL = {"schema": "Schema", "freshness": "Freshness", "volume": "Volume", "missing": "Missing values",
               "unseen_categories": "Unseen values", "out_of_range": "Out of range", "feature_drift": "Feature drift",
               "prediction_drift": "Prediction drift", "performance": "Performance"}
FILTER_KEYS = ("team", "owner", "task", "status", "tag", "q", "as_of")
TASK_LABEL = {"binary_classification": "binary classification", "multiclass_classification": "multiclass classification",
              "regression": "regression"}
DEMO_COMMAND = "python -m lib demo --db {path}"


# -- the store ---------------------------------------------------------------------------------
def db_path() -> str:
    return os.path.abspath(default_db_path())


def lock_timeout() -> float:
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "10"))
    except ValueError:
        return 10.0


def store() -> Store:
    return Store(db_path(), timeout=lock_timeout())


def _store(path: str) -> Store:
    return Store(path, timeout=lock_timeout())


@contextmanager
def guarded() -> Iterator[None]:
    """Turn StoreBusy / StoreMissing into a readable notice and stop the page (no traceback)."""
    try:
        yield
    except StoreBusy:
        st.warning("**The store is busy.** Another process (an ingest, or the demo builder) is writing to it. "
                   "This page will show the data as soon as the write finishes — reload in a moment.", icon="⏳")
        st.button("Try again", key="dl_retry_busy")
        st.stop()
    except StoreMissing:
        missing_notice()
        st.stop()


def missing_notice() -> None:
    path = db_path()
    st.info(f"**No Driftlight store yet** at `{path}`.\n\nBuild the demo fleet (200 models, 30 days) with:",
            icon="🗄️")
    st.code(DEMO_COMMAND.format(path=os.path.relpath(path) if path.startswith(os.getcwd()) else path), language="bash")
    st.caption("Or point the app at another store with the `DRIFTLIGHT_DB` environment variable.")


def empty_notice() -> None:
    st.info("**The store has no inference data yet.** Register a model and ingest its files:", icon="📭")
    st.code("python -m lib register SPEC.yaml\n"
            "python -m lib ingest reference --model ID reference.parquet\n"
            "python -m lib ingest inference --model ID inference.parquet\n"
            f"# or build the demo fleet:\n{DEMO_COMMAND.format(path=db_path())}", language="bash")


# -- cached loaders (keyed on path + data version) ---------------------------------------------------
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
    return _FLEET_MEMO.get((path, version, as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_raw_drift(path: str, version: int, as_of: str, model_id: str) -> dict[str, dict[str, float]]:
    return store_detail.raw_drift(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_model(path: str, version: int, as_of: str | None, model_id: str) -> dict[str, Any] | None:
    out = evaluate(_store(path), as_of=_ts(as_of), model_ids=[model_id], timeline_days=TIMELINE_DAYS, detail=True)
    return out["models"][0] if out["models"] else None


def model_view(ctx: "Context", model_id: str) -> dict[str, Any] | None:
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
    return store_detail.residuals(_store(path), model_id, _ts(as_of))


@st.cache_data(show_spinner=False, max_entries=64)
def load_rows(path: str, version: int, as_of: str, model_id: str, problems: tuple) -> tuple[pd.DataFrame, str]:
    reasons = [{"check": c, "feature": f} for c, f in problems]
    return store_detail.offending_rows(_store(path), model_id, _ts(as_of), problems=reasons)


def _ts(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    ts = pd.Timestamp(text)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


# -- the frame: context shared by every page ------------------------------------------------------
@dataclass
class Context:
    path: str
    version: int
    catalog: dict[str, Any]
    as_of: str                      # ISO, UTC, whole hour
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default_as_of(self) -> bool:
        d = self.catalog["default_as_of"]
        return d is not None and pd.Timestamp(self.as_of).tz_localize(None) == d

    def fleet(self) -> dict[str, Any]:
        return load_fleet(self.path, self.version, self.as_of)

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


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def auth_gate() -> None:
    """The login gate's hook (DESIGN.md, Actions): a no-op until an [auth] section is configured."""
    if not auth_configured():
        return
    if not st.user.is_logged_in:
        st.title("🚦 Driftlight")
        st.button("Log in", on_click=st.login, type="primary")
        st.stop()


def frame() -> Context:
    """Sidebar (as-of, filters, search) and the store checks; returns the page context."""
    path = db_path()
    s = _store(path)
    if not s.exists():
        missing_notice()
        st.stop()
    version = s.data_version()
    with guarded():
        catalog = load_catalog(path, version)
    models = catalog["models"]
    sb = st.sidebar
    if models.empty or catalog["default_as_of"] is None:
        empty_notice()
        st.stop()
    default = catalog["default_as_of"].to_pydatetime()
    first = catalog["first_inference"].to_pydatetime() if catalog["first_inference"] is not None else None
    with sb:
        picked = st.datetime_input("As of (UTC)", value=default, min_value=first, max_value=default,
                                   step=3600, key="as_of", bind="query-params", format="YYYY-MM-DD",
                                   help="Judge the fleet as it was at this time. Defaults to the newest inference "
                                        "in the store (rounded up to the hour).")
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
        st.caption(f"Store: `{os.path.basename(path)}` · data version {version}"
                   + ("" if auth_configured() else " · no login configured: serve on localhost only"))
    ctx = Context(path=path, version=version, catalog=catalog,
                  as_of=pd.Timestamp(as_of).tz_localize("UTC").isoformat(),
                  filters={"q": q or "", "status": status, "team": team, "owner": owner, "task": task, "tag": tag})
    st.session_state["_dl_ctx"] = ctx
    return ctx


def matches(model: dict, filters: dict[str, Any], *, use_status: bool = True) -> bool:
    """Whether a model (evaluate's dict, or a catalog row as dict) passes the sidebar filters."""
    if filters.get("team") and model.get("team") not in filters["team"]:
        return False
    if filters.get("owner") and model.get("owner") not in filters["owner"]:
        return False
    if filters.get("task") and model.get("task") not in filters["task"]:
        return False
    if filters.get("tag") and not set(filters["tag"]) & set(model.get("tags") or []):
        return False
    if use_status and filters.get("status") and model.get("status") not in filters["status"]:
        return False
    q = (filters.get("q") or "").strip().lower()
    if q:
        hay = " ".join([model.get("model_id", ""), model.get("name", "") or "", model.get("owner", "") or "",
                        model.get("team", "") or "", " ".join(model.get("tags") or [])]).lower()
        if not all(word in hay for word in q.split()):
            return False
    return True


def any_filter(filters: dict[str, Any]) -> bool:
    return any(bool(v) for v in filters.values())


# -- formatting -------------------------------------------------------------------------------
def pct(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = 100 * value
    if 0 < abs(v) < 10 ** -digits:
        return f"{'<' if v > 0 else '>-'}{10 ** -digits:g}%"
    return f"{v:.{digits}f}%"


def num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def when(iso: str | None) -> str:
    """'2026-11-26 23:00 UTC' from an ISO timestamp."""
    if not iso:
        return "–"
    ts = pd.Timestamp(iso)
    ts = ts.tz_convert("UTC") if ts.tzinfo else ts
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def ago(iso: str | None, as_of: str) -> str:
    if not iso:
        return "never"
    delta = pd.Timestamp(as_of) - pd.Timestamp(iso)
    hours = delta / pd.Timedelta(hours=1)
    if hours < 1:
        return f"{max(int(hours * 60), 0)} min before as-of"
    if hours < 48:
        return f"{hours:.0f} h before as-of"
    return f"{hours / 24:.0f} days before as-of"


def short_reason(reason: dict | None, model: dict | None = None) -> str:
    """A reason in a few words, for a tile or a table cell."""
    if reason is None:
        if model is not None and model.get("status") == GREY:
            return "Not enough data to judge"
        return "All checks pass"
    check, feat, value = reason["check"], reason.get("feature"), reason.get("value")
    if check == "unseen_categories":
        return f"Unseen {feat} values: {pct(value)} of rows"
    if check == "feature_drift":
        return f"Drift in {feat}: PSI {num(value)}"
    if check == "prediction_drift":
        return f"Prediction drift: PSI {num(value)}"
    if check == "missing":
        return f"{feat} missing: +{pct(value)}"
    if check == "out_of_range":
        return f"{feat} out of range: {pct(value)}"
    if check == "performance":
        return f"Performance {pct(value)} worse"
    if check == "volume":
        return f"Volume at {pct(value, 0)} of usual"
    if check == "freshness":
        return "No data logged yet" if value is None else f"No data for {value:.0f} h"
    if check == "schema":
        return f"Schema: column {feat} " + ("missing" if reason.get("status") == RED else "unexpected")
    return CHECK_LABEL.get(check, check)


def streak(model: dict) -> int:
    """How many trailing days of the timeline the model has had its current status."""
    days = 0
    for point in reversed(model.get("timeline") or []):
        if point["status"] != model["status"]:
            break
        days += 1
    return days


# -- HTML builders ------------------------------------------------------------------------------------
CSS = """
<style>
[data-testid="stMainBlockContainer"]{padding-top:2.2rem}
.dl-counts{display:flex;gap:.6rem;flex-wrap:wrap;margin:.1rem 0 .6rem 0}
.dl-count{display:flex;align-items:center;gap:.5rem;padding:.45rem .8rem;border-radius:.5rem;border:1px solid #e5e7eb;
  background:#fff;min-width:9.5rem;border-left:5px solid var(--c)}
.dl-count b{font-size:1.45rem;line-height:1;font-variant-numeric:tabular-nums}
.dl-count span.w{font-size:.82rem;color:#374151;line-height:1.15}
.dl-count span.w small{display:block;color:#6b7280;font-size:.72rem}
.dl-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(182px,1fr));gap:6px}
a.dl-tile{display:block;text-decoration:none!important;color:#111827!important;background:#fff;border:1px solid #e5e7eb;
  border-left:5px solid var(--c);border-radius:6px;padding:5px 8px 6px 8px;line-height:1.25;overflow:hidden}
a.dl-tile:hover{box-shadow:0 1px 6px rgba(0,0,0,.15);border-color:#cbd5e1}
.dl-tile .t1{display:flex;justify-content:space-between;align-items:center;font-size:.68rem;color:#6b7280;gap:4px}
.dl-tile .st{font-weight:700;color:var(--c);text-transform:uppercase;letter-spacing:.02em;white-space:nowrap}
.dl-tile .tm{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.dl-tile .id{font-weight:600;font-size:.82rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin-top:1px}
.dl-tile .rs{font-size:.72rem;color:#374151;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.dl-grid.ok{grid-template-columns:repeat(auto-fill,minmax(138px,1fr));gap:4px}
a.dl-tile.ok{padding:3px 7px 4px 7px;border-left-width:4px}
.dl-tile.ok .id{font-size:.76rem;font-weight:500;margin-top:0}
.dl-tile.ok .dl-strip{height:4px;margin-top:3px}
.dl-sec{font-size:.8rem;color:#374151;font-weight:600;margin:.9rem 0 .35rem 0}
.dl-sec small{font-weight:400;color:#6b7280}
.dl-strip{display:flex;gap:1px;margin-top:4px;height:7px}
.dl-strip i{flex-basis:0;border-radius:1px;background:var(--s)}
.dl-pill{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-weight:700;font-size:.8rem;color:#fff;
  background:var(--c);white-space:nowrap}
.dl-reasons{display:flex;flex-direction:column;gap:6px;margin:.2rem 0 .4rem 0}
.dl-reason{border:1px solid #e5e7eb;border-left:5px solid var(--c);border-radius:6px;padding:6px 10px;background:#fff}
.dl-reason .h{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap;font-size:.8rem;color:#374151}
.dl-reason .h b{color:var(--c);text-transform:uppercase;font-size:.75rem}
.dl-reason .m{font-size:.92rem;color:#111827;margin-top:2px}
.dl-chip{display:inline-block;padding:0 .45rem;border-radius:4px;background:#f3f4f6;color:#374151;font-size:.74rem;
  border:1px solid #e5e7eb;white-space:nowrap}
.dl-chip.sudden{background:#fef2f2;border-color:#fecaca;color:#991b1b}
.dl-chip.gradual{background:#fffbeb;border-color:#fde68a;color:#92400e}
.dl-checks{display:flex;flex-wrap:wrap;gap:4px;margin:.2rem 0 .3rem 0}
.dl-check{font-size:.74rem;padding:1px 7px;border-radius:4px;border:1px solid #e5e7eb;border-left:4px solid var(--c);
  background:#fff;white-space:nowrap}
.dl-meta{display:flex;flex-wrap:wrap;gap:.35rem 1.2rem;font-size:.85rem;color:#374151;margin:.1rem 0 .5rem 0}
.dl-meta span b{color:#6b7280;font-weight:500;margin-right:.3rem}
.dl-tl{display:grid;grid-template-columns:repeat(30,1fr);gap:2px}
.dl-tl div{height:34px;border-radius:3px;background:var(--c);color:#fff;font-size:.7rem;display:flex;align-items:center;
  justify-content:center}
.dl-tl-d{display:grid;grid-template-columns:repeat(30,1fr);gap:2px;font-size:.62rem;color:#6b7280;text-align:center}
.dl-empty{color:#6b7280;font-size:.9rem;padding:.6rem 0}
</style>
"""


def _c(status: str) -> str:
    return COLOR.get(status, COLOR[GREY])


def status_pill(status: str) -> str:
    return (f'<span class="dl-pill" style="--c:{_c(status)}">{GLYPH[status]} {html.escape(WORD[status].upper())}'
            "</span>")


def counts_html(counts: dict[str, int], total: int) -> str:
    parts = [CSS, '<div class="dl-counts" role="list">']
    for s in STATUSES:
        parts.append(f'<div class="dl-count" role="listitem" data-status="{s}" style="--c:{_c(s)}">'
                     f'<span>{GLYPH[s]}</span><b data-testid="dl-count-{s}">{counts.get(s, 0)}</b>'
                     f'<span class="w">{WORD[s]}<small>{MEANING[s]}</small></span></div>')
    parts.append(f'<div class="dl-count" style="--c:#475569"><b data-testid="dl-count-total">{total}</b>'
                 '<span class="w">models<small>shown</small></span></div></div>')
    return "".join(parts)


def _runs(timeline: list[dict]) -> list[tuple[str, str, str, int]]:
    """Consecutive days of one status: (status, first date, last date, days)."""
    runs: list[list] = []
    for p in timeline:
        if runs and runs[-1][0] == p["status"]:
            runs[-1][2], runs[-1][3] = p["date"], runs[-1][3] + 1
        else:
            runs.append([p["status"], p["date"], p["date"], 1])
    return [tuple(r) for r in runs]


def strip_html(timeline: list[dict]) -> str:
    """The 30-day status strip: one segment per run of days in the same status (few DOM nodes for
    hundreds of tiles), each as wide as its days, with its dates in a tooltip."""
    cells = "".join(f'<i style="--s:{_c(s)};flex-grow:{n}" title="{html.escape(a)} – {html.escape(b)}: {WORD[s]} '
                    f'({n} d)"></i>' for s, a, b, n in _runs(timeline))
    return f'<div class="dl-strip">{cells}</div>'


def tile_grid_html(models: list[dict], link_params: dict[str, Any]) -> str:
    """One HTML block of tiles in the given order (worst first), each linking to the model page.

    Models that need a look (red, yellow, grey) get full tiles with their top reason; healthy
    ones compact tiles (id and 30-day strip), so that a fleet of hundreds stays one screen of
    problems and a dense block of green rather than pages of "all checks pass".
    """
    if not models:
        return CSS + '<div class="dl-empty">No model matches the filters.</div>'
    attention = [m for m in models if m["status"] != GREEN]
    healthy = [m for m in models if m["status"] == GREEN]
    parts = [CSS]
    if attention and healthy:
        parts.append(f'<div class="dl-sec">Needs a look · {len(attention)} <small>red, yellow and grey, worst '
                     'first</small></div>')
    if attention:
        parts.append('<div class="dl-grid">' + "".join(_tile(m, link_params) for m in attention) + "</div>")
    if healthy:
        parts.append(f'<div class="dl-sec">{GLYPH[GREEN]} Healthy · {len(healthy)} <small>all checks pass; the strip '
                     'shows the last 30 days</small></div>')
        parts.append('<div class="dl-grid ok">' + "".join(_tile(m, link_params, compact=True) for m in healthy)
                     + "</div>")
    return "".join(parts)


def _tile(m: dict, link_params: dict[str, Any], compact: bool = False) -> str:
    href = "model?" + urlencode({**link_params, "model": m["model_id"]}, doseq=True)
    top = m["reasons"][0] if m["reasons"] else None
    reason = short_reason(top, m)
    title = top["message"] if top else reason
    more = len(m["reasons"]) - 1
    if more > 0:
        reason += f" · +{more} more"
    s = m["status"]
    attrs = (f'class="dl-tile{" ok" if compact else ""}" data-testid="dl-tile" data-model="{html.escape(m["model_id"])}" '
             f'data-status="{s}" href="{html.escape(href)}" target="_self" style="--c:{_c(s)}"')
    strip = strip_html(m.get("timeline") or [])
    if compact:
        return (f'<a {attrs} title="{html.escape(m["model_id"] + " · " + m["team"] + " · " + title)}">'
                f'<div class="id">{html.escape(m["model_id"])}</div>{strip}</a>')
    return (f'<a {attrs} title="{html.escape(title)}">'
            f'<div class="t1"><span class="st">{GLYPH[s]} {WORD[s]}</span><span class="tm">{html.escape(m["team"])}</span></div>'
            f'<div class="id">{html.escape(m["model_id"])}</div>'
            f'<div class="rs">{html.escape(reason)}</div>{strip}</a>')


def reasons_html(model: dict) -> str:
    if not model["reasons"]:
        text = ("Not enough data to judge: fewer rows than the minimum in the 7-day window."
                if model["status"] == GREY else "All checks pass.")
        return CSS + f'<div class="dl-empty">{html.escape(text)}</div>'
    items = []
    for r in model["reasons"]:
        s = r["status"]
        since = when(r.get("since"))
        onset = r.get("onset") or ""
        onset_text = {"sudden": "sudden change (upstream data?)", "gradual": "gradual drift"}.get(onset, onset)
        src = r.get("threshold_source")
        items.append(
            f'<div class="dl-reason" data-testid="dl-reason" style="--c:{_c(s)}"><div class="h">'
            f'<b>{GLYPH[s]} {WORD[s]}</b><span>{html.escape(CHECK_LABEL.get(r["check"], r["check"]))}'
            f'{" · " + html.escape(r["feature"]) if r.get("feature") else ""}</span>'
            f'<span class="dl-chip {html.escape(onset)}">{html.escape(onset_text)}</span>'
            f'<span class="dl-chip">since {html.escape(since)}</span>'
            + (f'<span class="dl-chip">threshold from {html.escape(src)} policy</span>' if src and src != "default" else "")
            + f'</div><div class="m">{html.escape(r["message"])}</div></div>')
    return CSS + '<div class="dl-reasons">' + "".join(items) + "</div>"


def checks_html(model: dict) -> str:
    chips = []
    for c in model.get("checks") or []:
        s = c["status"]
        tip = f'{CHECK_LABEL.get(c["check"], c["check"])}: {WORD[s]}'
        if c.get("yellow") is not None or c.get("red") is not None:
            tip += f' (yellow {c.get("yellow")}, red {c.get("red")}; {c.get("threshold_source") or "default"})'
        chips.append(f'<span class="dl-check" style="--c:{_c(s)}" title="{html.escape(tip)}">{GLYPH[s]} '
                     f'{html.escape(CHECK_LABEL.get(c["check"], c["check"]))}</span>')
    return CSS + '<div class="dl-checks">' + "".join(chips) + "</div>"


def meta_html(items: list[tuple[str, str]]) -> str:
    return CSS + '<div class="dl-meta">' + "".join(
        f"<span><b>{html.escape(k)}</b>{html.escape(v)}</span>" for k, v in items) + "</div>"


def timeline_html(timeline: list[dict]) -> str:
    cells = "".join(f'<div style="--c:{_c(p["status"])}" title="{html.escape(p["date"])}: {WORD[p["status"]]}">'
                    f'{GLYPH[p["status"]]}</div>' for p in timeline)
    n = len(timeline)
    dates = "".join(f'<span>{html.escape(p["date"][5:]) if (i % 5 == 0 or i == n - 1) else ""}</span>'
                    for i, p in enumerate(timeline))
    style = f'style="grid-template-columns:repeat({max(n, 1)},1fr)"'
    return CSS + f'<div class="dl-tl" {style}>{cells}</div><div class="dl-tl-d" {style}>{dates}</div>'


def status_counts(models: list[dict]) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for m in models:
        out[m["status"]] += 1
    return out


def sort_worst_first(models: list[dict]) -> list[dict]:
    return sorted(models, key=lambda m: (RANK[m["status"]], m["model_id"]))


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
