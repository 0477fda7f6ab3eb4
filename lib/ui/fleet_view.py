"""The fleet page's server side (issue 11): which models pass the sidebar filters, counted and
paged in Python over the judged result (the browser gets one page of tiles, never 10,000), and
the line that says how old the judgment on screen is.

`select` is the vectorized form of lib/reports/data.py `Filters.keep` (the same test, so a report
holds what the page shows; tests/test_app_grid.py checks the two agree), over a per-result index
frame built once.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from lib.judge.status import STATUSES
from lib.ui.judged import Snapshot

PAGE_SIZE = 100
_INDEX: dict[int, tuple[dict, pd.DataFrame]] = {}


def index_frame(fleet: dict[str, Any]) -> pd.DataFrame:
    """One row per model, in the judged order (red, yellow, grey, green, then id): the fields the
    filters test, and the search text. Built once per result (kept with a reference to it)."""
    hit = _INDEX.get(id(fleet))
    if hit is not None and hit[0] is fleet:
        return hit[1]
    ms = fleet["models"]
    frame = pd.DataFrame(
        {
            "model_id": [m["model_id"] for m in ms],
            "status": [m["status"] for m in ms],
            "team": [m.get("team") for m in ms],
            "owner": [m.get("owner") for m in ms],
            "task": [m.get("task") for m in ms],
            "tags": [tuple(m.get("tags") or ()) for m in ms],
            "hay": [
                " ".join(
                    [
                        m.get("model_id", ""),
                        m.get("name", "") or "",
                        m.get("owner", "") or "",
                        m.get("team", "") or "",
                        " ".join(m.get("tags") or []),
                    ]
                ).lower()
                for m in ms
            ],
        }
    )
    if len(_INDEX) >= 4:
        _INDEX.clear()
    _INDEX[id(fleet)] = (fleet, frame)
    return frame


def select(frame: pd.DataFrame, filters: dict[str, Any], *, use_status: bool = True) -> np.ndarray:
    """Positions (in the judged order) of the models that pass the filters."""
    keep = np.ones(len(frame), dtype=bool)
    for key in ("team", "owner", "task") + (("status",) if use_status else ()):
        wanted = filters.get(key) or ()
        if wanted:
            keep &= frame[key].isin(list(wanted)).to_numpy()
    tags = set(filters.get("tag") or ())
    if tags:
        keep &= frame["tags"].map(lambda ts: bool(tags.intersection(ts))).to_numpy(dtype=bool)
    for word in (filters.get("q") or "").strip().lower().split():
        keep &= frame["hay"].str.contains(word, regex=False).to_numpy(dtype=bool)
    return np.flatnonzero(keep)


def counts(frame: pd.DataFrame, positions: np.ndarray | None = None) -> dict[str, int]:
    """Models per status (every status present, 0 when none), over the given positions or all."""
    col = frame["status"] if positions is None else frame["status"].iloc[positions]
    got = col.value_counts()
    return {s: int(got.get(s, 0)) for s in STATUSES}


def page_count(n: int, size: int | None = None) -> int:
    return max(1, -(-n // (size or PAGE_SIZE)))


def page_slice(n: int, page: int, size: int | None = None) -> tuple[int, int]:
    """[start, stop) of a page (1-based, clamped to the pages there are)."""
    size = size or PAGE_SIZE
    page = min(max(1, page), page_count(n, size))
    start = (page - 1) * size
    return start, min(n, start + size)


def ago(seconds: float) -> str:
    """'just now', '40 s', '3 min', '2 h 5 min', '3 d' (how long ago, in words)."""
    s = max(0.0, seconds)
    if s < 5:
        return "just now"
    if s < 60:
        return f"{s:.0f} s ago"
    if s < 3600:
        return f"{s // 60:.0f} min ago"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h:.0f} h {m:.0f} min ago" if m else f"{h:.0f} h ago"
    return f"{s // 86400:.0f} d ago"


def duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def judged_line(snap: Snapshot, now: float | None = None) -> str:
    """The judgment on screen in words: its age and data version, and what is being judged now.

    e.g. "Judged 3 min ago at data version 41 (took 98 s) · updating to data version 42, 12 s so far…"
    """
    now = time.time() if now is None else now
    r = snap.result
    if r is None:
        return "Not judged yet."
    parts = [f"Judged {ago(now - r.computed_at)} at data version {r.version} (took {duration(r.seconds)})"]
    if r.restored and not snap.current:
        parts[0] += ", before the server restarted"
    if snap.running is not None:
        so_far = f", {duration(now - snap.started_at)} so far" if snap.started_at else ""
        if snap.running[0] != r.version:
            parts.append(f"updating to data version {snap.running[0]}{so_far}…")
        else:
            parts.append(f"updating for the changed policy file{so_far}…")
    elif not snap.current:
        parts.append(f"data version {snap.wanted[0]} will be judged in a moment…")
    if snap.error:
        parts.append(f"the last attempt failed: {snap.error}")
    return " · ".join(parts)
