"""`sync --engine spark`: a lake inference file validated and profiled as Spark DataFrame jobs (issue 11).

The same profile rows as the local engine (lib/store/profiles.py), computed where the data is:
the file is read by Spark (Parquet, or CSV as text with only the empty cell NULL), parsed by the
reader's rules (lib/ingest/readers.py, repeated as Spark expressions in lib/ingest/spark_parse.py),
validated (the first bad row of the first bad column, in the local engine's order, named as it
names it), binned on the active reference's edges read from the store (so both engines bin
identically), and counted per hour; only the per-hour aggregates come back to the driver, which
sums them into days with the same code as the local engine and writes them in one transaction.
Reference snapshots and labels files are small and stored: they go through `ingest_file`.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pandas as pd

from lib.errors import InputError, UnknownModel
from lib.ingest import pipeline, readers
from lib.ingest import spark_jobs as sj
from lib.ingest import spark_parse as sp
from lib.store import incoming as store_incoming
from lib.store import profiles
from lib.store import reference as store_reference
from lib.store import write as store_write
from lib.store.connection import Store
from lib.store.reprofile import active_reference
from lib.store.seg_profiles import SEG_TABLES, segment_slots, top_values

_SESSIONS: dict[str, object] = {}


def session(master: str = "local[2]"):
    """One SparkSession per master for the process (Spark's start-up costs seconds)."""
    if master not in _SESSIONS:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers in local mode: this venv
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")  # pandas 3: works, warns
        builder = SparkSession.builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode listens on loopback only
            builder = builder.config("spark.sql.shuffle.partitions", "2")  # small per-file shuffles
        _SESSIONS[master] = (
            builder.appName("driftlight-sync")
            .config("spark.sql.session.timeZone", "UTC")  # a timestamp without an offset is UTC
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.sql.legacy.parquet.nanosAsLong", "true")  # pandas' ns timestamps: spark_parse.read
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.log.level", "ERROR")
            .getOrCreate()
        )
        _SESSIONS[master].sparkContext.setLogLevel("ERROR")  # stderr is for the files' one-line reasons
    return _SESSIONS[master]


def stop(master: str = "local[2]") -> None:
    """Stop the process's session for `master`, if any (tests; the CLI exits)."""
    spark = _SESSIONS.pop(master, None)
    if spark is not None:
        spark.stop()


def spark_profiler(master: str = "local[2]"):
    """A `profile_file` for lib/ingest/lake.sync_lake: inference files on Spark, others as ingest."""

    def profile_file(store: Store, kind: str, model_id: str, path: Path, *, lake_path: str | None = None):
        if kind != "inference":
            return pipeline.ingest_file(store, kind, model_id, path, lake_path=lake_path)
        return profile_inference_file(session(master), store, model_id, Path(path), lake_path=lake_path)

    return profile_file


def profile_inference_file(spark, store: Store, model_id: str, path: Path, *, lake_path: str | None = None):
    name = str(path)
    try:
        digest = readers.content_hash(path)
        with store.read() as con:
            spec = pipeline.load_model_spec(con, model_id)
            if store_write.already_ingested(con, model_id, "inference", digest):
                return pipeline.Outcome(name, "skipped", 0, "already ingested: same content, model and kind")
            slots = store_incoming.feature_slots(con, model_id)
            _, positive, ref = active_reference(con, model_id)
            late = store_write.late_labels(con, model_id)
            known = store_reference.reference_classes(con, model_id)
        try:
            frames, n, meta, classes = _profile(
                spark, spec, name, path, slots, ref, positive or spec.positive_class, late
            )
        except InputError:
            raise
        except Exception as exc:  # Spark could not read it (a malformed CSV row): the reader names the row
            readers.read_table(path)
            raise InputError(f"{name}: not readable ({str(exc).strip().splitlines()[0][:200]})") from None
        with store.write() as con:
            if store_write.already_ingested(con, model_id, "inference", digest):
                return pipeline.Outcome(name, "skipped", 0, "already ingested: same content, model and kind")
            entry = store_incoming.FileEntry(
                model_id=model_id,
                kind="inference",
                file_name=name if lake_path is not None else path.name,
                content_hash=digest,
                rows=n,
                lake_path=lake_path,
                **meta,
            )
            store_write.write_profiled_inference(con, spec, entry, frames)
    except UnknownModel as exc:
        return pipeline.Outcome(name, "rejected", 0, f"{name}: {exc}")
    except InputError as exc:
        return pipeline.Outcome(name, "rejected", 0, str(exc))
    unknown = sorted(classes - known) if known and spec.task != "regression" else []
    return pipeline.Outcome(name, "ingested", n, pipeline.outcome_message(n, meta, unknown))


def _profile(spark, spec, name: str, path: Path, slots, ref, positive, late: pd.DataFrame):
    """(profile frames, rows, ingest-log meta, label / prediction classes) of one inference file."""
    raw, types = sp.read(spark, path, name)
    meta = pipeline.columns_meta(pd.DataFrame(columns=list(types)), spec)
    rows = sp.validated_rows(raw, types, spec, name, late, slots)
    rows = rows.cache()
    try:
        frames = sj.hourly_profiles(rows, dict(slots.values()), spec, ref)
        frames.update(sj.performance(rows, spec, positive))
        segs = {s: top_values(ref, s, top) for s, top in segment_slots(spec, slots).items()}
        segs = {s: top for s, top in segs.items() if top is not None}
        seg_frames = _segment_frames(sj.with_segments(rows, segs), dict(slots.values()), spec, ref, positive, segs)
    finally:
        rows.unpersist()
    classes = frames.pop("classes")
    n = int(frames["prof_rows"]["n"].sum())
    num, cat, qual = frames.pop("num"), frames.pop("cat"), frames.pop("qual")
    out = {"prof_rows": frames.pop("prof_rows"), **profiles.hourly_and_daily(num, cat, qual), **frames, **seg_frames}
    return out, n, meta, classes


def _segment_frames(rows, features, spec, ref, positive, segs: dict[int, tuple[str, ...]]) -> dict[str, pd.DataFrame]:
    """The segment tables (lib/store/seg_profiles.py) of the rows, as the local engine writes them."""
    if not segs:
        return {}
    keys = ("hour", "seg_slot", "seg_code")
    frames = sj.hourly_profiles(rows, features, spec, ref, keys=keys)
    frames.update(sj.performance(rows, spec, positive, keys=keys))
    seg = frames["prof_rows"][list(keys) + ["n"]]
    top = [segs[int(s)] for s in seg["seg_slot"]]
    values = [t[int(c)] if c >= 0 else None for t, c in zip(top, seg["seg_code"])]
    out = {"prof_seg_rows": seg.assign(seg_value=pd.Series(values, index=seg.index, dtype=object))}
    for name, table in (("num", "prof_seg_num"), ("cat", "prof_seg_cat"), ("qual", "prof_seg_qual")):
        out[table] = frames[name]
    for name in ("prof_cls", "prof_auc", "prof_reg"):
        if name in frames:
            out[SEG_TABLES[name]] = frames[name]
    return out
