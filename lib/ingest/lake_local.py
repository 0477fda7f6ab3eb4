"""`sync --engine duckdb` (the local engine, issue 11): a run of a model's new lake files synced with
the store opened twice for the run, not twice per file.

`ingest_file` opens the store to read (spec, basis, already in?) and again to write, for every
file: ~0.1 s of connecting, schema checks and the checkpoint at close, which was a third of a
sync of the benchmark lake (bench/README.md, "Lake throughput"). Here a run of consecutive new
files of one model (`sync_lake` hands them over in lake order: reference snapshots, inference by
partition, labels) is synced as `ingest_file` would sync them one after the other:

1. one read connection: the model's stored spec, its basis (slots, active reference) and the
   (kind, content hash) of every file already in;
2. outside the lock, each file read, validated and profiled (`pipeline.prepare_file`), each
   against the basis the files before it leave (a reference snapshot's profiles become the next
   files' basis, as `prepare_new_model` does for the demo), a bad file rejected with the line
   `ingest_file` gives;
3. one write connection (`Store.batch()`) in which each prepared file is written in its own
   transaction by `pipeline.write_prepared`: all or nothing per file, checked again for "already
   in", and re-profiled under the lock if the store's basis is not the one it was profiled
   against (`Basis.matches`), exactly as for `ingest_file`.

The rows prepared are held until the write: a run is cut every RUN_ROWS rows (then 1-3 again).
"""

from __future__ import annotations

from pathlib import Path

from lib.errors import InputError, UnknownModel
from lib.ingest import pipeline, readers
from lib.store import incoming as store_incoming
from lib.store import lake as store_lake
from lib.store import write as store_write
from lib.store.connection import Store

RUN_ROWS = 1_000_000  # rows prepared before they are written (memory: ~200 B a row of 20 features)
SKIPPED = "already ingested: same content, model and kind"


def local_profiler():
    """The `profile_file` of `sync_lake` for the local engine: one file as `ingest_file`, and a
    `many` that syncs a run of files of any kind (its `kinds`) as described above."""

    def profile_file(store: Store, kind: str, model_id: str, path: Path, *, lake_path: str | None = None):
        return pipeline.ingest_file(store, kind, model_id, path, lake_path=lake_path)

    def many(store: Store, model_id: str, files: list[tuple[str, Path, str | None]]) -> list[pipeline.Outcome]:
        return sync_files(store, model_id, files)

    many.kinds = pipeline.KINDS
    profile_file.many = many
    return profile_file


def sync_files(store: Store, model_id: str, files: list[tuple[str, Path, str | None]]) -> list[pipeline.Outcome]:
    """One outcome per (kind, path, lake path), in order, as `ingest_file` of each in turn gives."""
    out: list[pipeline.Outcome] = []
    while len(out) < len(files):
        out += _run(store, model_id, files[len(out) :])
    return out


def _run(store: Store, model_id: str, files: list[tuple[str, Path, str | None]]) -> list[pipeline.Outcome]:
    """The outcomes of the first files of `files` (up to RUN_ROWS rows prepared; at least one)."""
    try:
        with store.read() as con:
            spec = pipeline.load_model_spec(con, model_id)
            basis = store_write.profile_basis(con, spec)
            known = set(store_lake.lake_state(con, model_id).hashes)
    except UnknownModel as exc:
        return [pipeline.Outcome(str(p), "rejected", 0, f"{p}: {exc}") for _, p, _ in files]
    outcomes: list[pipeline.Outcome | pipeline.PreparedFile] = []
    rows = 0
    for kind, path, lake_path in files:
        if rows >= RUN_ROWS:
            break
        prepared = _prepare(kind, model_id, Path(path), lake_path, basis, known)
        outcomes.append(prepared)
        if isinstance(prepared, pipeline.PreparedFile):
            rows += prepared.n
            if kind == "reference":
                ref = prepared.prepared
                basis = store_incoming.Basis(spec, basis.slots, ref.columns, ref.positive or spec.positive_class)
    if any(isinstance(o, pipeline.PreparedFile) for o in outcomes):
        with store.batch():
            outcomes = [
                pipeline.write_prepared(store, o) if isinstance(o, pipeline.PreparedFile) else o for o in outcomes
            ]
    return outcomes


def _prepare(kind: str, model_id: str, path: Path, lake_path, basis, known: set):
    """The file prepared, or its outcome (rejected, or skipped: already in), as `ingest_file` says it."""
    name = str(path)
    try:
        if not path.is_file():
            raise InputError(f"{name}: file not found")
        digest = readers.content_hash(path)
        if (kind, digest) in known:
            return pipeline.Outcome(name, "skipped", 0, SKIPPED)
        return pipeline.prepare_file(kind, model_id, path, basis, digest=digest, lake_path=lake_path)
    except InputError as exc:
        return pipeline.Outcome(name, "rejected", 0, str(exc))
    except Exception as exc:
        pipeline._raise_if_out_of_memory(exc, name)
        raise
