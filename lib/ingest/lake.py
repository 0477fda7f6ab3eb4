"""`python -m lib sync --lake DIR`: monitor a lake of Parquet / CSV files in place (issue 11).

The lake contract (README "The lake"):

    LAKE/<model_id>/spec.yaml                              the model spec, as for `register`
    LAKE/<model_id>/reference/<name>.parquet|csv           each file one snapshot, ordered by name
    LAKE/<model_id>/inference/date=YYYY-MM-DD/<name>.parquet|csv
    LAKE/<model_id>/labels/<name>.parquet|csv              late labels (id, label)

A sync registers (or updates) every spec, then profiles every file it has not synced yet, each
file its own all-or-nothing unit through the same validation and profiling as `ingest`
(lib/ingest/pipeline.py), so the profile rows are the ones `ingest` writes. Inference rows stay
in the lake; reference snapshots and late labels are small and are stored as `ingest` stores
them (the reference fixes the bins; labels join by id). A file is known by its path in the lake
and its content hash: a known path whose content changed is an error naming it, never re-read.
A sync over an unchanged lake opens no write transaction, so the data version stays the same.
Files whose name starts with `.` or `_` (`_SUCCESS`, `.crc`: what Spark and Hadoop leave) are
not data and are passed over.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.errors import InputError
from lib.ingest import readers
from lib.ingest.pipeline import Outcome, register_spec
from lib.spec import MODEL_ID_PATTERN, Spec, load_spec_file
from lib.store import lake as store_lake
from lib.store.connection import Store

_DATE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
KIND_DIRS = ("reference", "inference", "labels")


@dataclass
class LakeModel:
    """One model's folder in the lake, its files in the order they are synced."""

    model_id: str
    folder: Path
    files: list[tuple[str, Path]] = field(default_factory=list)  # (kind, path), sync order
    problems: list[str] = field(default_factory=list)  # layout errors, one line each


def _data_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def discover(lake: Path, models: list[str] | None = None) -> list[LakeModel]:
    """The lake's model folders (all, or those named), with their data files in sync order:
    reference snapshots by name, inference by date partition then name, labels by name."""
    if not lake.is_dir():
        raise InputError(f"{lake}: not a folder (the lake: LAKE/<model_id>/spec.yaml, reference/, inference/, labels/)")
    folders = sorted(p for p in lake.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if models:
        names = {p.name for p in folders}
        unknown = [m for m in models if m not in names]
        if unknown:
            raise InputError(f"{lake}: no model folder {unknown[0]!r} in the lake")
        folders = [p for p in folders if p.name in set(models)]
    out = []
    for folder in folders:
        model = LakeModel(folder.name, folder)
        if not MODEL_ID_PATTERN.match(folder.name):
            model.problems.append(f"{folder}: not a model id (^[a-z0-9][a-z0-9._-]{{0,63}}$)")
        model.files += [("reference", p) for p in _data_files(folder / "reference")]
        inference = folder / "inference"
        if inference.is_dir():
            for part in sorted(p for p in inference.iterdir() if not p.name.startswith((".", "_"))):
                if not (part.is_dir() and _DATE.match(part.name)):
                    model.problems.append(f"{part}: not a date=YYYY-MM-DD partition folder")
                    continue
                model.files += [("inference", p) for p in _data_files(part)]
        model.files += [("labels", p) for p in _data_files(folder / "labels")]
        out.append(model)
    return out


def lake_root(lake: str | Path) -> Path:
    return Path(lake).resolve()


@dataclass
class SyncReport:
    lines: list[str] = field(default_factory=list)
    synced: int = 0
    known: int = 0
    rejected: int = 0
    registered: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.synced or self.registered)


def sync_lake(
    store: Store,
    lake: str | Path,
    *,
    models: list[str] | None = None,
    profile_file: Callable[..., Outcome] | None = None,
    emit: Callable[[str, bool], None] | None = None,
) -> SyncReport:
    """Sync every model folder of the lake (or those named) into the store.

    `profile_file(store, kind, model_id, path, lake_path=...)` profiles one new file; the
    default is the local engine (lib/ingest/lake_local.py). If it has a `many(store, model_id,
    [(kind, path, lake_path)])` attribute, each run of consecutive new files of a model whose kind
    is in `many.kinds` goes to it at once (one outcome per file, in order): every kind for the
    local engine, inference files for Spark. `emit(line, is_error)` receives each outcome line as
    it happens.
    """
    if profile_file is None:
        from lib.ingest.lake_local import local_profiler

        profile_file = local_profiler()
    root = lake_root(lake)
    report = SyncReport()
    say = emit or (lambda line, err: None)

    def note(line: str, err: bool = False) -> None:
        report.lines.append(line)
        say(line, err)

    for model in discover(root, models):
        if model.problems:
            for problem in model.problems:
                note(problem, True)
            report.rejected += len(model.problems)
            if not MODEL_ID_PATTERN.match(model.model_id):
                continue
        try:
            spec, state = _register(store, root, model, report)
        except InputError as exc:
            note(str(exc).splitlines()[0], True)
            report.rejected += 1
            continue
        _sync_model(store, root, spec.model_id, model, state, profile_file, report, note)
    return report


def _sync_model(
    store: Store, root: Path, model_id: str, model: LakeModel, state, profile_file, report: SyncReport, note
):
    """Profile the model's files not yet synced, in order; check the known ones are unchanged.
    `state`: what the store knew of the model before its spec was registered (its synced files)."""
    many = getattr(profile_file, "many", None)  # an engine that profiles several files at once
    kinds = getattr(many, "kinds", ("inference",))
    pending: list[tuple[str, Path, str]] = []  # a run of new files, profiled together

    def outcome(o: Outcome) -> None:
        note(o.line(), o.status == "rejected")
        report.rejected += o.status == "rejected"
        report.synced += o.status == "ingested"

    def flush() -> None:
        if pending:
            for o in many(store, model_id, list(pending)):
                outcome(o)
            pending.clear()

    for kind, path in model.files:
        rel = path.relative_to(root).as_posix()
        if many is not None and kind in kinds and rel not in state.files:
            pending.append((kind, path, rel))
            continue
        flush()  # the outcomes keep the files' order
        if rel in state.files:
            if readers.content_hash(path) != state.files[rel]:
                note(
                    f"{path}: changed since it was synced (content hash differs); a lake file is never re-read: "
                    "write new data as a new file",
                    True,
                )
                report.rejected += 1
            else:
                report.known += 1
            continue
        outcome(profile_file(store, kind, model_id, path, lake_path=rel))
    flush()


def _state(store: Store, model_id: str) -> store_lake.LakeState:
    if not store.exists():
        return store_lake.LakeState()
    with store.read() as con:
        return store_lake.lake_state(con, model_id)


def _register(store: Store, root: Path, model: LakeModel, report: SyncReport) -> tuple[Spec, store_lake.LakeState]:
    """Register the model's spec unless the store already holds it as is (then nothing is written);
    the spec and what the store knew of the model before."""
    spec_path = model.folder / "spec.yaml"
    spec = load_spec_file(spec_path)
    if spec.model_id != model.model_id:
        raise InputError(f"{spec_path}: field model_id: {spec.model_id!r} in the folder {model.model_id!r}")
    state = _state(store, spec.model_id)
    same = state.spec_json is not None and json.loads(state.spec_json) == spec.as_dict()
    if same and state.lake == str(root):
        return spec, state
    register_spec(store, spec, source=str(spec_path), lake=str(root))
    report.registered += 1
    return spec, state
