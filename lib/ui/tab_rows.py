"""The model page's Rows tab: the raw rows behind the flagged data problems (or the latest rows),
with a CSV download."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from lib.reports import csvsafe
from lib.ui import loaders
from lib.ui.store_access import guarded

if TYPE_CHECKING:
    from lib.ui.frame import Context


def render(ctx: Context, model_id: str, m: dict) -> None:
    problems = tuple(
        (r["check"], r["feature"])
        for r in m["reasons"]
        if r["check"] in ("unseen_categories", "out_of_range", "missing") and r.get("feature")
    )
    with guarded(), st.spinner("Reading rows…"):
        rows, what = loaders.load_rows(ctx.path, ctx.version, ctx.as_of, model_id, problems)
    st.caption(f"Showing {what}." + ("" if problems else " No row-level data problem is flagged for this model."))
    st.dataframe(
        rows,
        hide_index=True,
        placeholder="–",
        width="stretch",
        key="rows_table",
        column_config={"ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss")},
    )
    data = csvsafe.to_csv(
        [str(c) for c in rows.columns],
        (
            [None if pd.isna(v) else (v.isoformat() if hasattr(v, "isoformat") else v) for v in rec]
            for rec in rows.itertuples(index=False)
        ),
    )
    st.download_button(
        "Download CSV",
        data=data,
        file_name=f"{model_id}-rows.csv",
        mime="text/csv",
        icon=":material/download:",
        key="rows_csv",
    )
