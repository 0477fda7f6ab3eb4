"""The model page's HTML blocks: status pill, reason cards, check chips, metadata line and 30-day
timeline. Every name in them is escaped."""

from __future__ import annotations

import html

from lib.judge.status import GREY
from lib.ui.formatting import CHECK_LABEL, GLYPH, WORD, when
from lib.ui.style import CSS, _c


def status_pill(status: str) -> str:
    return f'<span class="dl-pill" style="--c:{_c(status)}">{GLYPH[status]} {html.escape(WORD[status].upper())}</span>'


def reasons_html(model: dict) -> str:
    if not model["reasons"]:
        text = (
            # "no inference logged yet": registered, maybe a reference, nothing logged (issue 14)
            f"{model['message'][:1].upper()}{model['message'][1:]}: the checks start with its first logged rows."
            if model.get("message")
            else "Not enough data to judge: fewer rows than the minimum in the 7-day window."
            if model["status"] == GREY
            else "All checks pass."
        )
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
            f"<b>{GLYPH[s]} {WORD[s]}</b><span>{html.escape(CHECK_LABEL.get(r['check'], r['check']))}"
            f"{' · ' + html.escape(r['feature']) if r.get('feature') else ''}</span>"
            f'<span class="dl-chip {html.escape(onset)}">{html.escape(onset_text)}</span>'
            f'<span class="dl-chip">since {html.escape(since)}</span>'
            + (
                f'<span class="dl-chip">threshold from {html.escape(src)} policy</span>'
                if src and src != "default"
                else ""
            )
            + f'</div><div class="m">{html.escape(r["message"])}</div></div>'
        )
    return CSS + '<div class="dl-reasons">' + "".join(items) + "</div>"


def checks_html(model: dict) -> str:
    chips = []
    for c in model.get("checks") or []:
        s = c["status"]
        tip = f"{CHECK_LABEL.get(c['check'], c['check'])}: {WORD[s]}"
        if c.get("yellow") is not None or c.get("red") is not None:
            tip += f" (yellow {c.get('yellow')}, red {c.get('red')}; {c.get('threshold_source') or 'default'})"
        chips.append(
            f'<span class="dl-check" style="--c:{_c(s)}" title="{html.escape(tip)}">{GLYPH[s]} '
            f"{html.escape(CHECK_LABEL.get(c['check'], c['check']))}</span>"
        )
    return CSS + '<div class="dl-checks">' + "".join(chips) + "</div>"


def meta_html(items: list[tuple[str, str]]) -> str:
    return (
        CSS
        + '<div class="dl-meta">'
        + "".join(f"<span><b>{html.escape(k)}</b>{html.escape(v)}</span>" for k, v in items)
        + "</div>"
    )


def timeline_html(timeline: list[dict]) -> str:
    cells = "".join(
        f'<div class="nd" title="{html.escape(p["date"])}: no data (before the first inference)">–</div>'
        if p.get("no_data")
        else f'<div style="--c:{_c(p["status"])}" title="{html.escape(p["date"])}: {WORD[p["status"]]}">'
        f"{GLYPH[p['status']]}</div>"
        for p in timeline
    )
    n = len(timeline)
    dates = "".join(
        f"<span>{html.escape(p['date'][5:]) if (i % 5 == 0 or i == n - 1) else ''}</span>"
        for i, p in enumerate(timeline)
    )
    style = f'style="grid-template-columns:repeat({max(n, 1)},1fr)"'
    return CSS + f'<div class="dl-tl" {style}>{cells}</div><div class="dl-tl-d" {style}>{dates}</div>'
