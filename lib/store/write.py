"""The store's writes as the ingest pipeline calls them: a model's registration, the already-ingested check and
each kind of file's write (WRITERS): inference and labels here, the reference snapshot in lib/store/reference.py.

Each function runs inside the transaction that lib/store.Store.write() opened, so a file's rows,
its ingest-log entry and its profiles land together or not at all. Table and column names come
from validated model ids and positional slots (f0, f1, …), never from file contents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.spec import Spec
from lib.store import profiles as profile
from lib.store.connection import fetch_one, inf_table, ref_table
from lib.store.incoming import (
    Basis,
    FileEntry,
    ValidRows,
    feature_slots,
    first_slots,
    insert_frame,
    log_file,
    rows_frame,
    rows_from_frame,
)
from lib.store.reference import write_reference
from lib.store.reprofile import (
    PERF_TABLES,
    active_reference,
    append_profiles,
    flush_deferred,
    performance_profiles,
    replace_profiles,
    reprofile_model,
)
from lib.store.seg_profiles import profile_segments, segment_slots

_SQL_TYPE = {"numeric": "DOUBLE", "categorical": "VARCHAR"}


# -- models --------------------------------------------------------------------------------
def register_model(con: duckdb.DuckDBPyConnection, spec: Spec, *, source: str, lake_rows=None) -> None:
    """Create or update a model. A changed set of segment features (issue 13) re-profiles its rows."""
    old = fetch_one(con, "SELECT task, spec_json FROM models WHERE model_id = ?", [spec.model_id])
    spec_json = json.dumps(spec.as_dict(), sort_keys=False)
    if old is not None and old[0] != spec.task:
        raise InputError(
            f"{source}: field task: {spec.model_id} is a {old[0]} model; register a changed task under a new model_id"
        )
    known = {
        f: (s, k)
        for f, s, k in con.execute(
            "SELECT feature, slot, kind FROM features WHERE model_id = ?", [spec.model_id]
        ).fetchall()
    }
    for feat, kind in spec.features.items():
        if feat in known and known[feat][1] != kind:
            raise InputError(
                f"{source}: field features.{feat}: was {known[feat][1]}, cannot become {kind}; "
                "register it under a new feature name"
            )
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
    if old is None:
        con.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [spec.model_id, spec.name, spec.task, spec.owner, spec.team, list(spec.tags), spec_json, now, now],
        )
        # A new model's tables are made with its feature columns (f0, f1, … in the spec's order:
        # the slots first_slots gives), its feature rows in one insert: the same tables as
        # adding each column below would make, without a statement per column.
        slots = first_slots(spec)
        fcols = "".join(f", f{slot} {_SQL_TYPE[kind]}" for slot, kind in slots.values())
        con.execute(
            f"CREATE TABLE {ref_table(spec.model_id)} (snapshot_id INTEGER NOT NULL, row_no BIGINT NOT NULL, "
            f"label VARCHAR, prediction VARCHAR, pred_num DOUBLE, score DOUBLE{fcols})"
        )
        con.execute(
            f"CREATE TABLE {inf_table(spec.model_id)} (file_id INTEGER NOT NULL, row_no BIGINT NOT NULL, "
            "ts TIMESTAMP NOT NULL, hour TIMESTAMP NOT NULL, rid VARCHAR, prediction VARCHAR, "
            f"pred_num DOUBLE, score DOUBLE, label VARCHAR{fcols})"
        )
        if slots:
            values = [v for f, (slot, kind) in slots.items() for v in (spec.model_id, slot, f, kind, slot)]
            con.execute("INSERT INTO features VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(slots)), values)
        return  # nothing stored yet: no NULLs to count for its features (_profile_added_nulls)
    con.execute(
        "UPDATE models SET name = ?, owner = ?, team = ?, tags = ?, spec_json = ?, updated_at = ? WHERE model_id = ?",
        [spec.name, spec.owner, spec.team, list(spec.tags), spec_json, now, spec.model_id],
    )
    con.execute("UPDATE features SET position = NULL WHERE model_id = ?", [spec.model_id])
    next_slot = max((s for s, _ in known.values()), default=-1) + 1
    for position, (feat, kind) in enumerate(spec.features.items()):
        if feat in known:
            con.execute(
                "UPDATE features SET position = ? WHERE model_id = ? AND slot = ?",
                [position, spec.model_id, known[feat][0]],
            )
            continue
        slot, next_slot = next_slot, next_slot + 1
        con.execute("INSERT INTO features VALUES (?, ?, ?, ?, ?)", [spec.model_id, slot, feat, kind, position])
        for table in (ref_table(spec.model_id), inf_table(spec.model_id)):
            con.execute(f"ALTER TABLE {table} ADD COLUMN f{slot} {_SQL_TYPE[kind]}")
        _profile_added_nulls(con, spec.model_id, slot)
    if old is not None and _segment_options(json.loads(old[1])) != _segment_options(spec.as_dict()):
        snap, positive, _ = active_reference(con, spec.model_id)
        if snap is not None:
            reprofile_model(con, spec, positive or spec.positive_class, lake_rows=lake_rows)


def _segment_options(spec: dict) -> dict:
    return {f: v for f, v in (spec.get("features") or {}).items() if isinstance(v, dict) and v.get("segment")}


def _profile_added_nulls(con: duckdb.DuckDBPyConnection, model_id: str, slot: int) -> None:
    """An added feature is NULL in every row already stored (docs/spec.md): count those NULLs in
    its quality profiles, as a recomputation from the rows would (found by bench/faults.py)."""
    flush_deferred(con)  # in a Store.group, the prof_rows read below must see the group's rows
    for table, key in (
        ("prof_qual_h", "hour"),
        ("prof_qual_d", "date_trunc('day', hour - INTERVAL 1 HOUR) + INTERVAL 1 DAY"),
    ):
        con.execute(
            f"INSERT INTO {table} SELECT model_id, {key}, ?, sum(n), 0, 0, 0 FROM prof_rows "
            "WHERE model_id = ? GROUP BY ALL",
            [slot, model_id],
        )
    # and in each segment's (issue 13)
    con.execute(
        "INSERT INTO prof_seg_qual SELECT model_id, hour, seg_slot, seg_code, ?, sum(n), 0, 0, 0 FROM prof_seg_rows "
        "WHERE model_id = ? GROUP BY ALL",
        [slot, model_id],
    )


def already_ingested(con: duckdb.DuckDBPyConnection, model_id: str, kind: str, digest: str) -> bool:
    return (
        fetch_one(
            con,
            "SELECT count(*) FROM ingest_log WHERE model_id = ? AND kind = ? AND content_hash = ? "
            "AND outcome = 'ingested'",
            [model_id, kind, digest],
        )[0]
        > 0
    )


# -- inference -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedInference:
    """An inference file profiled outside the write transaction (pure: picklable, made in ingest's
    prepare step or a worker process): its rows as the model's table stores them (file_id 0 until
    written) and their profiles against `basis` (prof_rows with file_id 0)."""

    basis: Basis
    frame: pd.DataFrame
    profiles: dict[str, pd.DataFrame]


def profile_basis(con: duckdb.DuckDBPyConnection, spec: Spec) -> Basis:
    """What the model's next file is profiled against, as the store holds it now."""
    _, positive, ref = active_reference(con, spec.model_id)
    return Basis(spec, feature_slots(con, spec.model_id), ref, positive or spec.positive_class)


def prepare_inference(rows: ValidRows, basis: Basis) -> PreparedInference:
    """The stored frame of validated inference rows and their profiles (no store access)."""
    frame = rows_frame(rows, basis.slots, ["ts", "rid", "prediction", "pred_num", "score", "label"])
    frame["hour"] = profile.hour_of(frame["ts"])
    frame.insert(0, "row_no", np.arange(1, rows.n + 1, dtype="int64"))
    frame.insert(0, "file_id", 0)
    return PreparedInference(basis, frame, _profile(frame, basis))


def _sent_rows(prepared: PreparedInference) -> ValidRows:
    columns = ["ts", "rid", "prediction", "pred_num", "score", "label"]
    return rows_from_frame(prepared.frame, prepared.basis.slots, columns)


def _profile(frame: pd.DataFrame, basis: Basis) -> dict[str, pd.DataFrame]:
    spec = basis.spec
    args = dict(
        features=dict(basis.slots.values()),
        task=spec.task,
        ref=basis.ref,
        positive_class=basis.positive,
        has_score=spec.has_score,
    )
    frames = profile.profile_inference(frame, **args)
    frames.update(profile_segments(frame, segments=segment_slots(spec, basis.slots), **args))
    return frames


def write_inference(
    con: duckdb.DuckDBPyConnection,
    spec: Spec,
    entry: FileEntry,
    rows: ValidRows,
    *,
    lake_rows=None,
    prepared: PreparedInference | None = None,
) -> None:
    """Log the file and append its profiles; its rows are stored unless it is a lake file
    (entry.lake_path set: they stay in the lake, issue 11). `prepared`: the file already profiled
    (prepare_inference), used when its basis is still the store's."""
    basis = profile_basis(con, spec)
    if prepared is None or not prepared.basis.matches(basis):
        prepared = prepare_inference(rows if rows is not None else _sent_rows(prepared), basis)
    file_id = log_file(con, entry)
    frame = prepared.frame
    frame["file_id"] = file_id
    if entry.lake_path is None:
        insert_frame(con, inf_table(spec.model_id), frame)
    # Late labels that arrived before their inference join now (DESIGN.md, Late labels).
    con.register("incoming_rids", frame[["rid"]])
    try:
        late = con.execute(
            "SELECT l.rid, l.label FROM labels l WHERE l.model_id = ? AND l.rid IN (SELECT rid FROM incoming_rids)",
            [spec.model_id],
        ).df()
    finally:
        con.unregister("incoming_rids")
    if late.empty:
        frames = dict(prepared.profiles)
        frames["prof_rows"] = frames["prof_rows"].assign(file_id=file_id)
    else:
        where = pd.Index(late["rid"]).get_indexer(frame["rid"])
        labels = late["label"].to_numpy(dtype=object)
        effective = frame.assign(label=np.where(where >= 0, labels[where], frame["label"].to_numpy(dtype=object)))
        frames = _profile(effective, basis)
    append_profiles(con, spec.model_id, frames)


def write_profiled_inference(
    con: duckdb.DuckDBPyConnection, spec: Spec, entry: FileEntry, frames: dict[str, pd.DataFrame]
) -> None:
    """Log a lake inference file whose profiles another engine computed (Spark: issue 11) and
    append them; prof_rows gets the file's new id. Its rows stay in the lake."""
    file_id = log_file(con, entry)
    frames = dict(frames)
    frames["prof_rows"] = frames["prof_rows"].assign(file_id=file_id)
    append_profiles(con, spec.model_id, frames)


def late_labels(con: duckdb.DuckDBPyConnection, model_id: str) -> pd.DataFrame:
    """The model's late labels (rid, label): they win over labels logged with the inference."""
    return con.execute("SELECT rid, label FROM labels WHERE model_id = ?", [model_id]).df()


# -- labels ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedLabels:
    """A labels file's performance profiles computed outside the write transaction, by whoever
    prepared the model's files before it (the demo's workers: prepare_labels). They hold only
    if the model's stored inference and labels files are exactly `after` ((kind, content hash)
    in ingest order) and its basis is the store's; else the write re-profiles from the store."""

    basis: Basis
    after: tuple[tuple[str, str], ...]
    profiles: dict[str, pd.DataFrame]


def prepare_labels(
    basis: Basis,
    after: tuple[tuple[str, str], ...],
    inference: list[pd.DataFrame],
    labels: list[ValidRows],
) -> PreparedLabels:
    """The performance profiles a labels file leaves (the last of `labels`, each file's rows
    after the ones before it), over the model's inference rows `inference` (prepared frames, in
    ingest order): as write_labels' re-profile computes them from the store (no store access)."""
    late = pd.concat(
        [pd.DataFrame({"rid": r.columns["rid"], "label": r.columns["label"]}) for r in labels], ignore_index=True
    ).drop_duplicates("rid", keep="last")  # a later labels file wins (DESIGN.md, Late labels)
    segs = segment_slots(basis.spec, basis.slots)
    columns = ["hour", "rid", "prediction", "pred_num", "score", "label"]
    columns += [f"f{slot}" for slot, _ in basis.slots.values() if slot in segs]
    rows = pd.concat([f[columns] for f in inference], ignore_index=True)
    where = pd.Index(late["rid"]).get_indexer(rows["rid"])
    effective = np.where(where >= 0, late["label"].to_numpy(dtype=object)[where], rows["label"].to_numpy(dtype=object))
    rows["label"] = pd.Series(effective, dtype=object)
    profiles = performance_profiles(rows, basis.spec, basis.slots, basis.ref, basis.positive)
    return PreparedLabels(basis, after, profiles)


def _stored_files(con: duckdb.DuckDBPyConnection, model_id: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        con.execute(
            "SELECT kind, content_hash FROM ingest_log WHERE model_id = ? AND outcome = 'ingested' "
            "AND kind IN ('inference', 'labels') ORDER BY file_id",
            [model_id],
        ).fetchall()
    )


def write_labels(
    con: duckdb.DuckDBPyConnection,
    spec: Spec,
    entry: FileEntry,
    rows: ValidRows,
    *,
    lake_rows=None,
    prepared: PreparedLabels | None = None,
) -> None:
    if prepared is not None and (
        prepared.after != _stored_files(con, spec.model_id) or not prepared.basis.matches(profile_basis(con, spec))
    ):
        prepared = None  # the store holds other files than the ones it was profiled over
    file_id = log_file(con, entry)
    frame = pd.DataFrame(
        {"model_id": spec.model_id, "rid": rows.columns["rid"], "label": rows.columns["label"], "file_id": file_id}
    )
    con.register("incoming_labels", frame)
    try:
        # A later labels file wins over an earlier one (DESIGN.md, Late labels).
        con.execute(
            "DELETE FROM labels WHERE model_id = ? AND rid IN (SELECT rid FROM incoming_labels)", [spec.model_id]
        )
        con.execute("INSERT INTO labels SELECT model_id, rid, label, file_id FROM incoming_labels")
    finally:
        con.unregister("incoming_labels")
    if prepared is not None:
        replace_profiles(con, spec.model_id, PERF_TABLES, prepared.profiles)
        return
    _, positive, _ = active_reference(con, spec.model_id)
    reprofile_model(con, spec, positive or spec.positive_class, only_performance=True, lake_rows=lake_rows)


WRITERS = {"reference": write_reference, "inference": write_inference, "labels": write_labels}
