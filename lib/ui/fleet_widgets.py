"""The fleet page's Streamlit parts around the grid (issue 11): the pager (bound to the URL's
`page` parameter, back to page 1 when the filters change), the line on the judgment's age, and
the notice shown while a store is judged for the first time. While a newer judgment is under way
a fragment polls the background judge every `POLL_S` seconds and reruns the page when it is ready
(the judge's threads cannot call Streamlit themselves)."""

from __future__ import annotations

import html
import os
import time
from typing import Any

import streamlit as st

from lib.ui import fleet_view as fv
from lib.ui.judged import FleetJudge, Snapshot

POLL_S = 2.0  # while a newer judgment is under way
WATCH_S = 30.0  # otherwise: a page left open learns of a newer judgment within this
_SIG = "_dl_grid_filters"
WAIT_ENV = "DRIFTLIGHT_JUDGE_WAIT"


def first_wait() -> float:
    """Seconds a visitor waits for a store's very first judgment before the progress notice, and
    for a newer one when the last took no longer ($DRIFTLIGHT_JUDGE_WAIT, default 3: a small fleet
    is judged by then and never shows an older result)."""
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, "3")))
    except ValueError:
        return 3.0


def pager(n: int, filters: dict[str, Any]) -> tuple[int, int]:
    """The page picker above the tiles; returns the [start, stop) of the models on this page."""
    pages = fv.page_count(n)
    ss = st.session_state
    sig = repr(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in filters.items()))
    if ss.get(_SIG) not in (None, sig):
        ss["page"] = 1  # other filters, other models: back to the first page
    ss[_SIG] = sig
    if pages == 1:
        return 0, n
    left, mid, right = st.columns([5, 2, 2], vertical_alignment="bottom")
    with mid:
        page = st.number_input(
            f"Page (of {pages:,})",
            min_value=1,
            max_value=pages,
            step=1,
            key="page",
            bind="query-params",
            help=f"{fv.PAGE_SIZE} models a page, worst first (red, yellow, grey, green; then by id)",
        )
    start, stop = fv.page_slice(n, int(page or 1))
    with left:
        st.markdown(
            f'<div data-testid="dl-page-range" style="color:#4b5563;font-size:.9rem;padding-bottom:.45rem">'
            f"Models <b>{start + 1:,}–{stop:,}</b> of <b>{n:,}</b></div>",
            unsafe_allow_html=True,
        )
    with right:
        _buttons(pages, int(page or 1), "top")
    return start, stop


def pager_footer(n: int) -> None:
    """Previous / next under the tiles (the same `page` state as the picker above)."""
    pages = fv.page_count(n)
    page = int(st.session_state.get("page") or 1)
    left, right = st.columns([7, 2], vertical_alignment="center")
    with left:
        st.caption(f"Page {page:,} of {pages:,}")
    with right:
        _buttons(pages, page, "bottom")


def _go(to: int) -> None:
    st.session_state["page"] = to


def _buttons(pages: int, page: int, where: str) -> None:
    a, b = st.columns(2)
    a.button("‹ Previous", key=f"dl_prev_{where}", disabled=page <= 1, on_click=_go, args=(page - 1,), width="stretch")
    b.button("Next ›", key=f"dl_next_{where}", disabled=page >= pages, on_click=_go, args=(page + 1,), width="stretch")


def judged_status(snap: Snapshot, judge: FleetJudge) -> None:
    """The age of the judgment on screen; while a newer one is under way, updated every few
    seconds, and the page reruns with the newer result when it is ready."""
    shown = (snap.result.version, snap.result.policy) if snap.result else None
    if snap.current and not snap.error:
        _watching(judge, shown)
    else:
        _updating(judge, shown)


def _line(snap: Snapshot) -> None:
    busy = snap.running is not None or not snap.current
    icon = "⟳ " if busy else ""
    st.markdown(
        f'<div data-testid="dl-judged" data-current="{str(snap.current).lower()}" '
        f'style="font-size:.8rem;color:{"#92400e" if busy else "#6b7280"};margin:-.3rem 0 .35rem 0">'
        f"{icon}{_escape(fv.judged_line(snap))}</div>",
        unsafe_allow_html=True,
    )


@st.fragment(run_every=WATCH_S)
def _watching(judge: FleetJudge, shown: tuple[int, str] | None) -> None:
    """The page left open: its age kept true, and the page redrawn when a new ingest was judged."""
    snap = judge.snapshot(start=False)
    r = snap.result
    if r is not None and (r.version, r.policy) != shown:
        st.rerun()
    _line(snap)  # "updating to data version N…" when the watcher has started on newer data


@st.fragment(run_every=POLL_S)
def _updating(judge: FleetJudge, shown: tuple[int, str] | None) -> None:
    snap = judge.snapshot()
    r = snap.result
    if r is not None and (r.version, r.policy) != shown:
        st.rerun()  # a newer judgment is ready: draw the page again with it
    _line(snap)


def first_judgment(snap: Snapshot, n_models: int, judge: FleetJudge) -> None:
    """What a visitor sees while a store is judged for the very first time (nothing to show yet)."""
    st.markdown("## Fleet health")
    _first(judge, n_models)


@st.fragment(run_every=POLL_S)
def _first(judge: FleetJudge, n_models: int) -> None:
    snap = judge.snapshot()
    if snap.result is not None:
        st.rerun()
    if snap.error:
        st.error(
            f"**The fleet could not be judged.** {snap.error}\n\nThe app tries again in a moment.",
            icon=":material/error:",
        )
        return
    if snap.restoring:
        st.info("**Reading back the last judgment of the fleet…**", icon=":material/hourglass_top:")
        return
    so_far = f" Started {fv.duration(time.time() - snap.started_at)} ago." if snap.started_at else ""
    st.info(
        f"**Judging the fleet for the first time: {n_models:,} models.**{so_far} A whole-fleet judgment "
        "takes a while on a large fleet; it runs in the background, and this page fills in by itself "
        "when it is done. From then on the grid opens at once, and each new ingest is judged in the "
        "background while the last result stays on screen.",
        icon=":material/hourglass_top:",
    )


def _escape(text: str) -> str:
    return html.escape(text)
