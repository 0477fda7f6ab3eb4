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
# Local mode: the JIT's client compiler only. A model's jobs are short and each plan's generated
# code is new (its bin edges are in it), so C2's optimizing compiles cost more CPU than they save
# (bench/README.md, "Lake throughput": the JIT's threads were half the CPU of a sync). On a
# cluster the executors keep the JVM's default: long tasks over big partitions gain from C2.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


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
            builder = builder.config("spark.driver.extraJavaOptions", JVM_OPTIONS)  # the driver runs the tasks
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
    """A `profile_file` for lib/ingest/lake.sync_lake: inference files on Spark, others as ingest.

    Its `many` attribute profiles a run of new inference files of one model together (sync_lake
    uses it): one set of Spark jobs for the run's files of one schema, not one per file."""

    def profile_file(store: Store, kind: str, model_id: str, path: Path, *, lake_path: str | None = None):
        if kind != "inference":
            return pipeline.ingest_file(store, kind, model_id, path, lake_path=lake_path)
        return profile_inference_file(session(master), store, model_id, Path(path), lake_path=lake_path)

    def many(store: Store, model_id: str, files: list[tuple[str, Path, str | None]]) -> list[pipeline.Outcome]:
        return profile_inference_files(session(master), store, model_id, [(p, rel) for _, p, rel in files])

    many.kinds = ("inference",)
    profile_file.many = many
    return profile_file


def profile_inference_file(spark, store: Store, model_id: str, path: Path, *, lake_path: str | None = None):
    return profile_inference_files(spark, store, model_id, [(Path(path), lake_path)])[0]


BATCH = 64  # files per set of jobs at most (a year of daily files: 6 sets)


class _Model:
    """What profiling a model's files needs from the store, read once per batch."""

    def __init__(self, store: Store, model_id: str):
        with store.read() as con:
            self.spec = pipeline.load_model_spec(con, model_id)
            self.slots = store_incoming.feature_slots(con, model_id)
            _, positive, self.ref = active_reference(con, model_id)
            self.positive = positive or self.spec.positive_class
            self.late = store_write.late_labels(con, model_id)
            self.known = store_reference.reference_classes(con, model_id)


def profile_inference_files(spark, store: Store, model_id: str, files: list[tuple[Path, str | None]]):
    """One outcome per file, in order; each file written in its own transaction (all or nothing)."""
    names = [str(path) for path, _ in files]
    done: dict[int, pipeline.Outcome] = {}
    digests: dict[int, str] = {}
    try:
        model = _Model(store, model_id)
    except UnknownModel as exc:
        return [pipeline.Outcome(n, "rejected", 0, f"{n}: {exc}") for n in names]
    with store.read() as con:
        for k, (path, _) in enumerate(files):
            try:
                digests[k] = readers.content_hash(path)
            except OSError as exc:
                done[k] = pipeline.Outcome(names[k], "rejected", 0, f"{names[k]}: not readable ({exc.strerror})")
                continue
            if store_write.already_ingested(con, model_id, "inference", digests[k]):
                done[k] = pipeline.Outcome(names[k], "skipped", 0, "already ingested: same content, model and kind")
    todo = [k for k in range(len(files)) if k not in done]
    profiled: dict[int, tuple] = {}
    for group in _groups(spark, files, names, todo, done):
        for start in range(0, len(group), BATCH):
            profiled.update(_profile_batch(spark, model, files, names, group[start : start + BATCH], done))
    for k in todo:
        if k not in done:
            done[k] = _write(store, model, names[k], files[k][1], digests[k], *profiled[k])
    return [done[k] for k in range(len(files))]


def _groups(spark, files, names, todo, done) -> list[list[tuple[int, object, dict]]]:
    """The files to profile, read lazily, grouped by schema (column names and types) in order."""
    groups: dict[tuple, list] = {}
    for k in todo:
        try:
            df, types = sp.read(spark, files[k][0], names[k])
        except InputError as exc:
            done[k] = pipeline.Outcome(names[k], "rejected", 0, str(exc))
            continue
        groups.setdefault(tuple(types.items()), []).append((k, df, types))
    return list(groups.values())


def _profile_batch(spark, model: _Model, files, names, batch, done) -> dict[int, tuple]:
    """{file index: (frames, rows, meta, classes)} of a batch of one schema; a rejected file's
    outcome goes to `done`. Should the batch fail as a whole (a column missing, a file Spark
    cannot read), each file is profiled alone, for its own reason."""
    if len(batch) > 1:
        try:
            return _profile(model, {k: names[k] for k, _, _ in batch}, batch, done)
        except Exception:  # noqa: BLE001 (file by file below: each gets its own outcome)
            pass
    out = {}
    for k, df, types in batch:
        try:
            try:
                out.update(_profile(model, {k: names[k]}, [(k, df, types)], done))
            except InputError:
                raise
            except Exception as exc:  # Spark could not read it (a malformed CSV row): the reader names the row
                readers.read_table(files[k][0])
                raise InputError(f"{names[k]}: not readable ({str(exc).strip().splitlines()[0][:200]})") from None
        except InputError as exc:
            done[k] = pipeline.Outcome(names[k], "rejected", 0, str(exc))
    return out


def _write(store: Store, model: _Model, name: str, lake_path, digest: str, frames, n, meta, classes):
    spec = model.spec
    try:
        with store.write() as con:
            if store_write.already_ingested(con, spec.model_id, "inference", digest):
                return pipeline.Outcome(name, "skipped", 0, "already ingested: same content, model and kind")
            entry = store_incoming.FileEntry(
                model_id=spec.model_id,
                kind="inference",
                file_name=name if lake_path is not None else Path(name).name,
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
    unknown = sorted(classes - model.known) if model.known and spec.task != "regression" else []
    return pipeline.Outcome(name, "ingested", n, pipeline.outcome_message(n, meta, unknown))


def _profile(model: _Model, names: dict[int, str], batch, done) -> dict[int, tuple]:
    """{file index: (profile frames, rows, ingest-log meta, label / prediction classes)} of a batch
    of files of one schema, by one set of Spark jobs grouped by file; bad files go to `done`."""
    from functools import reduce

    from pyspark.sql import functions as F

    spec = model.spec
    types = batch[0][2]
    raw = reduce(lambda a, b: a.unionByName(b), [df.withColumn(sp.FILE, F.lit(k)) for k, df, _ in batch])
    meta = pipeline.columns_meta(pd.DataFrame(columns=list(types)), spec)
    rows, errors, cached = sp.validated_rows(raw, types, spec, names, model.late, model.slots)
    try:
        for k, reason in errors.items():
            done[k] = pipeline.Outcome(names[k], "rejected", 0, reason)
        good = [k for k in names if k not in errors]
        if not good:
            return {}
        features = dict(model.slots.values())
        keys = (sp.FILE, "hour")
        frames = sj.hourly_profiles(rows, features, spec, model.ref, keys=keys)
        frames.update(sj.performance(rows, spec, model.positive, keys=keys))
        segs = {s: top_values(model.ref, s, top) for s, top in segment_slots(spec, model.slots).items()}
        segs = {s: top for s, top in segs.items() if top is not None}
        frames.update(_segment_frames(sj.with_segments(rows, segs), features, spec, model.ref, model.positive, segs))
    finally:
        cached.unpersist()
    classes = frames.pop("classes")
    out = {}
    for k in good:
        mine = {t: _of(f, k) for t, f in frames.items()}
        n = int(mine["prof_rows"]["n"].sum())
        num, cat, qual = mine.pop("num"), mine.pop("cat"), mine.pop("qual")
        profiled = {"prof_rows": mine.pop("prof_rows"), **profiles.hourly_and_daily(num, cat, qual), **mine}
        out[k] = (profiled, n, dict(meta), classes.get(k, set()))
    return out


def _of(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """File k's rows of a batch frame, without the file column, in their order."""
    return frame[frame[sp.FILE] == k].drop(columns=sp.FILE).reset_index(drop=True)


def _segment_frames(rows, features, spec, ref, positive, segs: dict[int, tuple[str, ...]]) -> dict[str, pd.DataFrame]:
    """The segment tables (lib/store/seg_profiles.py) of a batch's rows, as the local engine writes
    them, each with the file column (split per file by the caller)."""
    if not segs:
        return {}
    keys = (sp.FILE, "hour", "seg_slot", "seg_code")
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
