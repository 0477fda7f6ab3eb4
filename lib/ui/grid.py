"""The fleet grid, drawn as HTML: the status counts bar and one block of tiles (worst first), each
with its 30-day status strip. One HTML block for hundreds of tiles (STYLE.md, "Hundreds of tiles");
every name in it is escaped."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from lib.judge.status import GREEN, STATUSES
from lib.ui.formatting import GLYPH, MEANING, WORD, short_reason
from lib.ui.style import CSS, _c

NO_DATA = "no_data"  # a run of days before the model's first inference (not a status)


def counts_html(counts: dict[str, int], total: int, whole: dict[str, int] | None = None) -> str:
    """Models per status (those that pass the filters); with `whole`, the whole fleet's beside."""

    def of(n: int | None) -> str:
        return "" if n is None else f'<small class="of" data-testid="dl-fleet-count">of {n:,}</small>'

    parts = [CSS, '<div class="dl-counts" role="list">']
    for s in STATUSES:
        parts.append(
            f'<div class="dl-count" role="listitem" data-status="{s}" style="--c:{_c(s)}">'
            f'<span>{GLYPH[s]}</span><b data-testid="dl-count-{s}">{counts.get(s, 0):,}</b>'
            f'<span class="w">{WORD[s]}<small>{MEANING[s]}</small>{of(whole.get(s, 0) if whole else None)}</span></div>'
        )
    parts.append(
        f'<div class="dl-count" style="--c:#475569"><b data-testid="dl-count-total">{total:,}</b>'
        f'<span class="w">models<small>shown</small>{of(sum(whole.values()) if whole else None)}</span></div></div>'
    )
    return "".join(parts)


def _runs(timeline: list[dict]) -> list[tuple[str, str, str, int]]:
    """Consecutive days of one status: (status, first date, last date, days)."""
    runs: list[list] = []
    for p in timeline:
        s = NO_DATA if p.get("no_data") else p["status"]  # days before the first inference
        if runs and runs[-1][0] == s:
            runs[-1][2], runs[-1][3] = p["date"], runs[-1][3] + 1
        else:
            runs.append([s, p["date"], p["date"], 1])
    return [tuple(r) for r in runs]


def strip_html(timeline: list[dict]) -> str:
    """The 30-day status strip: one segment per run of days in the same status (few DOM nodes for
    hundreds of tiles), each as wide as its days, with its dates in a tooltip."""
    cells = "".join(
        f'<i class="nd" style="flex-grow:{n}" title="{html.escape(a)} – {html.escape(b)}: no data ({n} d)"></i>'
        if s == NO_DATA
        else f'<i style="--s:{_c(s)};flex-grow:{n}" title="{html.escape(a)} – {html.escape(b)}: {WORD[s]} ({n} d)"></i>'
        for s, a, b, n in _runs(timeline)
    )
    return f'<div class="dl-strip">{cells}</div>'


def tile_grid_html(models: list[dict], link_params: dict[str, Any], totals: dict[str, int] | None = None) -> str:
    """One HTML block of tiles in the given order (worst first), each linking to the model page.

    Models that need a look (red, yellow, grey) get full tiles with their top reason; healthy
    ones compact tiles (id and 30-day strip), so that a fleet of hundreds stays one screen of
    problems and a dense block of green rather than pages of "all checks pass". `models` may be
    one page of a longer list: `totals` (models per status over the whole list) then gives the
    sections' counts.
    """
    if not models:
        return CSS + '<div class="dl-empty">No model matches the filters.</div>'
    attention = [m for m in models if m["status"] != GREEN]
    healthy = [m for m in models if m["status"] == GREEN]
    n_attention = sum(n for s, n in totals.items() if s != GREEN) if totals else len(attention)
    n_healthy = totals.get(GREEN, 0) if totals else len(healthy)
    parts = [CSS]
    if attention and (healthy or n_healthy):
        parts.append(
            f'<div class="dl-sec">Needs a look · {n_attention:,} <small>red, yellow and grey, worst first</small></div>'
        )
    if attention:
        parts.append('<div class="dl-grid">' + "".join(_tile(m, link_params) for m in attention) + "</div>")
    if healthy:
        parts.append(
            f'<div class="dl-sec">{GLYPH[GREEN]} Healthy · {n_healthy:,} <small>all checks pass; the strip '
            "shows the last 30 days</small></div>"
        )
        parts.append(
            '<div class="dl-grid ok">' + "".join(_tile(m, link_params, compact=True) for m in healthy) + "</div>"
        )
    return "".join(parts)


def estimate_html(m: dict) -> str:
    """The performance estimate (CBPE) of a model without recent labels, marked "estimated"."""
    est, perf = m.get("performance_estimate"), m.get("performance")
    if not est or est.get("estimated") is None or (perf and perf.get("current") is not None):
        return ""
    return (
        '<div class="pe" data-testid="dl-estimate" style="font-size:11px;color:#475569">'
        f"AUC ≈ {est['estimated']:.3f} <i>estimated</i></div>"
    )


def _tile(m: dict, link_params: dict[str, Any], compact: bool = False) -> str:
    href = "model?" + urlencode({**link_params, "model": m["model_id"]}, doseq=True)
    top = m["reasons"][0] if m["reasons"] else None
    reason = short_reason(top, m)
    title = top["message"] if top else reason
    more = len(m["reasons"]) - 1
    if more > 0:
        reason += f" · +{more} more"
    s = m["status"]
    attrs = (
        f'class="dl-tile{" ok" if compact else ""}" data-testid="dl-tile" data-model="{html.escape(m["model_id"])}" '
        f'data-status="{s}" href="{html.escape(href)}" target="_self" style="--c:{_c(s)}"'
    )
    strip = strip_html(m.get("timeline") or [])
    if compact:
        return (
            f'<a {attrs} title="{html.escape(m["model_id"] + " · " + m["team"] + " · " + title)}">'
            f'<div class="id">{html.escape(m["model_id"])}</div>{estimate_html(m)}{strip}</a>'
        )
    return (
        f'<a {attrs} title="{html.escape(title)}">'
        f'<div class="t1"><span class="st">{GLYPH[s]} {WORD[s]}</span><span class="tm">{html.escape(m["team"])}</span></div>'
        f'<div class="id">{html.escape(m["model_id"])}</div>'
        f'<div class="rs">{html.escape(reason)}</div>{estimate_html(m)}{strip}</a>'
    )


def fdr_note(fleet: dict) -> str | None:
    """The grid's line on false discovery rate control (policy `fdr`), or None when it is off."""
    f = fleet.get("fdr")
    if not f:
        return None
    return (
        f"False discovery rate control (Benjamini–Hochberg, α = {f['alpha']:g}) over {f['family']:,} drift tests: "
        f"**{f['removed']} of {f['findings']}** feature-drift finding(s) removed as not significant across the fleet."
    )
