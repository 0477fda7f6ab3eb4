"""The model page's Timeline tab: the status at the end of each day, the status changes, and when
each current finding started."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lib.ui import formatting as fmt
from lib.ui import model_html

if TYPE_CHECKING:
    from lib.ui.frame import Context


def render(ctx: Context, model_id: str, m: dict) -> None:
    tl = m.get("timeline") or []
    st.caption("The model's status at the end of each UTC day, oldest first (the last cell is as of the chosen time).")
    st.html(model_html.timeline_html(tl))
    changes = []
    first = next((p["date"] for p in tl if not p.get("no_data")), None)
    for prev, cur in zip(tl, tl[1:]):
        # The days before the first inference are "no data", not a status: leaving them is no change.
        if prev["status"] != cur["status"] and not prev.get("no_data") and not cur.get("no_data"):
            changes.append(
                {
                    "date": cur["date"],
                    "from": f"{fmt.GLYPH[prev['status']]} {fmt.WORD[prev['status']]}",
                    "to": f"{fmt.GLYPH[cur['status']]} {fmt.WORD[cur['status']]}",
                }
            )
    if tl and tl[0].get("no_data"):
        st.caption(
            f"First inference on {first}: no data before (hatched)." if first else "No inference logged yet: no data."
        )
    if changes:
        st.markdown("**Status changes**")
        st.dataframe(pd.DataFrame(changes[::-1]), hide_index=True, placeholder="–", width="content", key="tl_changes")
    else:
        st.caption(f"No status change in {len(tl)} days.")
    if m["reasons"]:
        st.markdown("**When each finding started**")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "check": fmt.CHECK_LABEL[r["check"]],
                        "feature": r.get("feature") or "",
                        "status": f"{fmt.GLYPH[r['status']]} {fmt.WORD[r['status']]}",
                        "since": fmt.when(r.get("since")),
                        "onset": r.get("onset"),
                    }
                    for r in m["reasons"]
                ]
            ),
            hide_index=True,
            width="content",
            key="tl_reasons",
        )
