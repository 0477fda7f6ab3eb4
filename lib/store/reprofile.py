"""A model's stored profiles: the active reference's column profiles read back, new frames appended, and
every profile (or only performance) recomputed from the stored rows after a new reference or labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import numpy as np
import pandas as pd

from lib.spec import Spec
from lib.store import profiles as profile
from lib.store.connection import fetch_one, inf_table
from lib.store.incoming import insert_frame
from lib.store.profiles import RefColumn
from lib.store.seg_profiles import SEG_PERF_TABLES, SEG_PROFILE_TABLES, profile_segments, segment_slots

PROFILE_TABLES = (
    "prof_rows",
    "prof_num_h",
    "prof_num_d",
    "prof_cat_h",
    "prof_cat_d",
    "prof_qual_h",
    "prof_qual_d",
    "prof_cls",
    "prof_auc",
    "prof_reg",
    "prof_score_h",
    *SEG_PROFILE_TABLES,
)
PERF_TABLES = ("prof_cls", "prof_auc", "prof_reg", *SEG_PERF_TABLES)


def active_reference(
    con: duckdb.DuckDBPyConnection, model_id: str
) -> tuple[int | None, str | None, dict[int, RefColumn] | None]:
    snap = fetch_one(
        con,
        "SELECT snapshot_id, positive_class FROM snapshots WHERE model_id = ? ORDER BY snapshot_id DESC LIMIT 1",
        [model_id],
    )
    if snap is None:
        return None, None, None
    cols = {}
    for slot, kind, n_rows, n_null, vmin, vmax, std, edges, cats, counts in con.execute(
        "SELECT slot, kind, n_rows, n_null, vmin, vmax, std, edges, categories, counts FROM ref_profile "
        "WHERE model_id = ? AND snapshot_id = ?",
        [model_id, snap[0]],
    ).fetchall():
        cols[slot] = RefColumn(
            slot,
            kind,
            n_rows,
            n_null,
            np.asarray(counts, dtype="int64"),
            edges=None if edges is None else np.asarray(edges, dtype="float64"),
            categories=None if cats is None else tuple(cats),
            vmin=vmin,
            vmax=vmax,
            std=std,
        )
    return snap[0], snap[1], cols


# Profile rows waiting for their group's commit (Store.group), by connection: table -> [(model
# id, frame without its model_id column)].
_DEFERRED: dict[int, dict[str, list[tuple[str, pd.DataFrame]]]] = {}


@contextmanager
def deferring(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While open, append_profiles on con collects its frames until flush_deferred(con)."""
    _DEFERRED[id(con)] = {}
    try:
        yield
    finally:
        _DEFERRED.pop(id(con), None)


def flush_deferred(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the collected profile rows, one insert per table, in the order they came. The
    model_id column is made once per table, as a categorical (a code per row), not as text
    per frame (that cost the demo build's writing process ~1 s)."""
    pending = _DEFERRED.get(id(con))
    if not pending:
        return
    for table, entries in pending.items():
        if not entries:
            continue
        frame = pd.concat([f for _, f in entries], ignore_index=True)
        ids = list(dict.fromkeys(m for m, _ in entries))
        codes = np.repeat([ids.index(m) for m, _ in entries], [len(f) for _, f in entries])
        insert_frame(con, table, frame.assign(model_id=pd.Categorical.from_codes(codes, categories=ids)))
    pending.clear()


def _discard_deferred(con: duckdb.DuckDBPyConnection, model_id: str, tables) -> None:
    """Drop the model's collected rows of these tables: they are about to be recomputed.
    (Flushing them only to DELETE them cost a fifth of the demo build's writing: every labels
    file flushed its group.)"""
    pending = _DEFERRED.get(id(con))
    for table in tables if pending else ():
        if table in pending:
            pending[table] = [(m, f) for m, f in pending[table] if m != model_id]


def append_profiles(con: duckdb.DuckDBPyConnection, model_id: str, frames: dict[str, pd.DataFrame]) -> None:
    pending = _DEFERRED.get(id(con))
    for table, frame in frames.items():
        if frame is None or frame.empty:
            continue
        if pending is None:
            insert_frame(con, table, frame.assign(model_id=model_id))
        else:
            pending.setdefault(table, []).append((model_id, frame))


def stored_inference(con: duckdb.DuckDBPyConnection, spec: Spec, slots: dict[str, tuple[int, str]]) -> pd.DataFrame:
    """All stored inference rows of a model with their effective label (late label wins)."""
    fcols = "".join(f", i.f{s}" for s, _ in slots.values())
    return con.execute(
        f"SELECT i.file_id, i.ts, i.hour, i.rid, i.prediction, i.pred_num, i.score, "
        f"coalesce(l.label, i.label) AS label{fcols} FROM {inf_table(spec.model_id)} i "
        "LEFT JOIN labels l ON l.model_id = ? AND l.rid = i.rid",
        [spec.model_id],
    ).df()


def lake_file_ids(con: duckdb.DuckDBPyConnection, model_id: str) -> list[tuple[int, str, str]]:
    """The model's synced lake inference files: (file_id, full path, content hash), oldest first."""
    return con.execute(
        "SELECT f.file_id, m.lake || '/' || f.path, f.content_hash FROM lake_files f "
        "JOIN lake_models m USING (model_id) WHERE f.model_id = ? AND f.kind = 'inference' ORDER BY f.file_id",
        [model_id],
    ).fetchall()


def _with_late_labels(con: duckdb.DuckDBPyConnection, model_id: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Lake rows with their effective label: a late label (store's labels table) wins over a logged one."""
    late = con.execute("SELECT rid, label FROM labels WHERE model_id = ?", [model_id]).df()
    if late.empty or rows.empty:
        return rows
    where = pd.Index(late["rid"]).get_indexer(rows["rid"])
    labels = late["label"].to_numpy(dtype=object)
    return rows.assign(label=np.where(where >= 0, labels[where], rows["label"].to_numpy(dtype=object)))


def reprofile_model(
    con: duckdb.DuckDBPyConnection,
    spec: Spec,
    positive: str | None,
    *,
    only_performance: bool = False,
    lake_rows: Callable | None = None,
) -> None:
    """Recompute a model's profiles from its stored rows (new reference, or new labels).

    A lake model's rows are in its lake files (issue 11): `lake_rows(con, spec, files, slots)`
    (lib/ingest reads and validates them as `sync` did) gives them, with their logged label.
    """
    # Removed features keep their stored columns; profile every slot that still has a column.
    all_slots = {
        f: (s, k)
        for f, s, k in con.execute(
            "SELECT feature, slot, kind FROM features WHERE model_id = ?", [spec.model_id]
        ).fetchall()
    }
    files = lake_file_ids(con, spec.model_id)
    if files and lake_rows is None:
        raise RuntimeError(f"{spec.model_id}: a lake model is re-profiled only with a reader of its lake files")
    if fetch_one(con, f"SELECT count(*) FROM {inf_table(spec.model_id)}")[0] == 0 and not files:
        return  # no logs yet (the usual first reference): nothing to re-profile
    # Performance needs no feature columns but the segment features': don't read the others.
    segs = segment_slots(spec, all_slots)
    wanted = {f: v for f, v in all_slots.items() if v[0] in segs} if only_performance else all_slots
    rows = stored_inference(con, spec, wanted)
    if files:
        lake = _with_late_labels(con, spec.model_id, lake_rows(con, spec, files, wanted))
        rows = pd.concat([rows, lake[rows.columns]], ignore_index=True) if len(rows) else lake[rows.columns]
    _, _, ref = active_reference(con, spec.model_id)
    if only_performance:
        replace_profiles(con, spec.model_id, PERF_TABLES, performance_profiles(rows, spec, all_slots, ref, positive))
        return
    frames = profile.profile_inference(
        rows,
        features=dict(all_slots.values()),
        task=spec.task,
        ref=ref,
        positive_class=positive,
        has_score=spec.has_score,
    )
    frames.update(
        profile_segments(
            rows,
            segments=segs,
            ref=ref,
            features=dict(all_slots.values()),
            task=spec.task,
            positive_class=positive,
            has_score=spec.has_score,
        )
    )
    replace_profiles(con, spec.model_id, PROFILE_TABLES, frames)


def performance_profiles(
    rows: pd.DataFrame,
    spec: Spec,
    slots: dict[str, tuple[int, str]],
    ref: dict[int, RefColumn] | None,
    positive: str | None,
) -> dict[str, pd.DataFrame]:
    """The performance tables' frames (the model's and its segments') of rows with their
    effective label: what late labels change."""
    frames = profile.profile_performance(rows, task=spec.task, positive_class=positive, has_score=spec.has_score)
    frames.update(
        profile_segments(
            rows,
            segments=segment_slots(spec, slots),
            ref=ref,
            features=dict(slots.values()),
            task=spec.task,
            positive_class=positive,
            has_score=spec.has_score,
            only_performance=True,
        )
    )
    return frames


def replace_profiles(
    con: duckdb.DuckDBPyConnection, model_id: str, tables: tuple[str, ...], frames: dict[str, pd.DataFrame]
) -> None:
    """The model's rows of these profile tables replaced by `frames`."""
    _discard_deferred(con, model_id, tables)  # rows of this group waiting for its commit go too
    for table in tables:
        con.execute(f"DELETE FROM {table} WHERE model_id = ?", [model_id])
    append_profiles(con, model_id, frames)
