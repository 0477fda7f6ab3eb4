"""Raw feature rows of one model, sampled: the reference snapshot's and a window's, with feature
names as columns, for the multivariate drift check (lib/judge/multivariate.py). A seeded reservoir
sample keeps the work bounded and the result repeatable."""

from __future__ import annotations

import pandas as pd

from lib.store.connection import Store, inf_table, ref_table
from lib.store.model_info import _model_info


def feature_samples(
    store: Store, model_id: str, start: pd.Timestamp, end: pd.Timestamp, *, limit: int = 5000
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]] | None:
    """(reference rows, window rows in (start, end], {feature: kind}); None before any reference."""
    with store.read() as con:
        info = _model_info(con, model_id)
        if info.snapshot is None or info.features.empty:
            return None
        slots = [int(s) for s in info.features["slot"]]
        cols = ", ".join(f"f{s}" for s in slots)
        sample = f"USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (13)"
        ref = con.execute(
            f"SELECT {cols} FROM {ref_table(model_id)} WHERE snapshot_id = ? {sample}",
            [int(info.snapshot["snapshot_id"])],
        ).df()
        cur = con.execute(
            f"SELECT {cols} FROM {inf_table(model_id)} WHERE hour > ? AND hour <= ? {sample}",
            [start.to_pydatetime(), end.to_pydatetime()],
        ).df()
    names = {f"f{s}": f for s, f in zip(slots, info.features["feature"])}
    kinds = dict(zip(info.features["feature"], info.features["kind"]))
    return ref.rename(columns=names), cur.rename(columns=names), kinds
