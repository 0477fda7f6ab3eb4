"""Ingestion: `register` a spec, `ingest` reference / inference / labels files.

Validation happens here, at the boundary; the first problem rejects the whole file with one
line `FILE: column COL, row N: REASON` and nothing is written (each file is one transaction in
lib/store_write.py). A file already ingested (same content hash, model and kind) is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import InputError, OutOfMemory, UnknownModel
from lib.ingest import readers
from lib.spec import Spec, parse_spec
from lib.store import incoming as store_incoming
from lib.store import lake as store_lake
from lib.store import read as store_read
from lib.store import reference as store_reference
from lib.store import write as store_write
from lib.store.connection import Store, fetch_one

KINDS = ("reference", "inference", "labels")
DEFAULT_NAMES = {"timestamp": "timestamp", "prediction": "prediction", "label": "label", "id": "id"}


@dataclass(frozen=True)
class Outcome:
    file: str
    status: str  # ingested | skipped | rejected
    rows: int
    message: str

    def line(self) -> str:
        return f"{self.file}: {self.status} ({self.message})" if self.status != "rejected" else self.message


def register_spec(store: Store, spec: dict[str, Any] | Spec, *, source: str = "spec", lake: str | None = None) -> Spec:
    """Validate a spec and create or update its model. Raises InputError; changes nothing then.

    `lake`: the model lives in that lake (`sync`): its inference rows are read there."""
    parsed = spec if isinstance(spec, Spec) else parse_spec(spec, source=source)
    with store.write() as con:
        from lib.ingest.lake_rows import read_lake_rows  # a lake model's rows, if segments re-profile

        store_write.register_model(con, parsed, source=source, lake_rows=read_lake_rows)
        if lake is not None:
            store_lake.record_lake_model(con, parsed.model_id, lake)
    return parsed


def load_model_spec(con, model_id: str) -> Spec:
    row = fetch_one(con, "SELECT spec_json FROM models WHERE model_id = ?", [model_id])
    if row is None:
        known = store_read.model_ids(con)
        raise UnknownModel.suggest(model_id, known, prefix="", hint="register its spec first")
    return parse_spec(json.loads(row[0]), source=f"stored spec of {model_id}")


def column_name(spec: Spec, role: str) -> str:
    return spec.columns.get(role, DEFAULT_NAMES[role])


@dataclass(frozen=True)
class PreparedFile:
    """A file read, validated and profiled, not yet written (`prepare_file`): picklable, so a
    worker process can make it. `basis` is the store state its profiles were computed against;
    the write checks it under the lock and profiles again if the store moved on."""

    kind: str
    model_id: str
    name: str  # the path as given (messages)
    file_name: str  # as the ingest log records it
    digest: str
    rows: Any  # store_incoming.ValidRows; None for an inference or reference file sent on (for_transfer)
    meta: dict[str, list[str]]
    # store_reference.PreparedReference | store_write.PreparedInference | store_write.PreparedLabels | None
    prepared: Any = None
    lake_path: str | None = None
    classes: frozenset[str] = frozenset()  # a classifier's label and prediction values (file_classes)

    @property
    def n(self) -> int:
        return self.rows.n if self.rows is not None else len(self.prepared.frame)

    def for_transfer(self) -> PreparedFile:
        """This file as a worker sends it to the writing process: an inference or reference
        file's rows travel once, in the stored frame (their validated copy, object arrays,
        doubled what was pickled: a tenth of the demo build), and are rebuilt from it only if
        the store moved on."""
        if self.kind not in ("inference", "reference") or self.prepared is None:
            return self
        return replace(self, rows=None)


def ingest_file(store: Store, kind: str, model_id: str, path: str | Path, *, lake_path: str | None = None) -> Outcome:
    """Ingest one file whole or not at all (`prepare_file`, then `write_prepared`). InputError
    becomes a 'rejected' outcome.

    With `lake_path` (its path inside the lake, from `sync`) the file is a lake file: logged under
    its full path and profiled, but its inference rows stay in the lake (issue 11).
    """
    path = Path(path)
    name = str(path)
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    try:
        if not path.is_file():
            raise InputError(f"{name}: file not found")
        digest = readers.content_hash(path)
        # Read, validate and profile outside the lock: the store stays available meanwhile.
        with store.read() if store.exists() else _no_store(model_id) as con:
            spec = load_model_spec(con, model_id)
            if store_write.already_ingested(con, model_id, kind, digest):
                return Outcome(name, "skipped", 0, "already ingested: same content, model and kind")
            basis = store_write.profile_basis(con, spec)
        prepared = prepare_file(kind, model_id, path, basis, digest=digest, lake_path=lake_path)
    except UnknownModel as exc:
        return Outcome(name, "rejected", 0, f"{name}: {exc}")
    except InputError as exc:
        return Outcome(name, "rejected", 0, str(exc))
    except Exception as exc:
        _raise_if_out_of_memory(exc, name)
        raise
    return write_prepared(store, prepared)


def _raise_if_out_of_memory(exc: Exception, name: str) -> None:
    """Out of memory (DuckDB's and Arrow's too), reading or writing: rolled back, one line."""
    oom = readers.memory_error(exc)
    if oom is not None:
        raise OutOfMemory(f"out of memory reading {name}: {oom} (nothing was stored; see docs/limits.md)") from None


def prepare_file(
    kind: str, model_id: str, path: str | Path, basis, *, digest: str | None = None, lake_path: str | None = None
) -> PreparedFile:
    """Read, validate and profile one file against `basis` (store_incoming.Basis: the model's
    spec, slots, active reference). Pure (no store access); raises InputError."""
    path = Path(path)
    name = str(path)
    digest = digest or readers.content_hash(path)
    frame = readers.read_table(path)
    rows, meta = _VALIDATORS[kind](frame, basis.spec, name)
    del frame
    file_name = name if lake_path is not None else path.name
    if kind == "reference":
        prepared = store_reference.prepare_reference(basis.spec, basis.slots, rows, file_name)
    elif kind == "inference":
        prepared = store_write.prepare_inference(rows, basis)
    else:
        prepared = None
    classes = file_classes(basis.spec, kind, rows)
    return PreparedFile(kind, model_id, name, file_name, digest, rows, meta, prepared, lake_path, classes)


def prepare_new_model(spec: Spec, files: list[tuple[str, str]]) -> list[PreparedFile]:
    """Prepare the files of a model not yet in the store, in ingest order, each against the basis
    the ones before it leave (the slots its registration gives, then its reference's profiles):
    what the demo's workers do, so the main process only writes."""
    basis = store_incoming.Basis(spec, store_incoming.first_slots(spec), None, spec.positive_class)
    out: list[PreparedFile] = []
    for kind, path in files:
        prepared = prepare_file(kind, spec.model_id, path, basis)
        if kind == "reference":
            ref = prepared.prepared
            basis = store_incoming.Basis(spec, basis.slots, ref.columns, ref.positive or spec.positive_class)
        elif kind == "labels":
            # its performance profiles too, over the inference files before it (the write checks
            # that the store holds just those): the writing process then only writes them
            before = [p for p in out if p.kind in ("inference", "labels")]
            labels = store_write.prepare_labels(
                basis,
                tuple((p.kind, p.digest) for p in before),
                [p.prepared.frame for p in before if p.kind == "inference"],
                [p.rows for p in before if p.kind == "labels"] + [prepared.rows],
            )
            prepared = replace(prepared, prepared=labels)
        out.append(prepared)
    return out


def write_prepared(store: Store, p: PreparedFile) -> Outcome:
    """Write a prepared file in one transaction (skipped if the same content is already in)."""
    from lib.ingest.lake_rows import read_lake_rows  # lake_rows validates with this module's rules

    try:
        with store.write() as con:
            if store_write.already_ingested(con, p.model_id, p.kind, p.digest):
                return Outcome(p.name, "skipped", 0, "already ingested: same content, model and kind")
            spec = load_model_spec(con, p.model_id)
            entry = store_incoming.FileEntry(
                model_id=p.model_id,
                kind=p.kind,
                file_name=p.file_name,
                content_hash=p.digest,
                rows=p.n,
                lake_path=p.lake_path,
                **p.meta,
            )
            store_write.WRITERS[p.kind](con, spec, entry, p.rows, lake_rows=read_lake_rows, prepared=p.prepared)
            unknown = _unknown_classes(con, spec, p.kind, p.classes)
    except UnknownModel as exc:
        # Name the file: with several files, each outcome line must say which one it is.
        return Outcome(p.name, "rejected", 0, f"{p.name}: {exc}")
    except InputError as exc:
        return Outcome(p.name, "rejected", 0, str(exc))
    except Exception as exc:
        _raise_if_out_of_memory(exc, p.name)
        raise
    return Outcome(p.name, "ingested", p.n, outcome_message(p.n, p.meta, unknown))


def outcome_message(n: int, meta: dict, unknown: list[str]) -> str:
    """An ingested file's outcome in words: rows, missing and extra columns, classes never seen."""
    extra = f"; extra columns not stored: {', '.join(meta['extra_columns'])}" if meta["extra_columns"] else ""
    missing = (
        f"; missing feature columns stored as NULL: {', '.join(meta['missing_features'])}"
        if meta["missing_features"]
        else ""
    )
    classes = (
        (
            f"; labels or predictions the reference never had (values compare as text, 1 and 1.0 differ): "
            f"{', '.join(unknown[:5])}{', …' if len(unknown) > 5 else ''}"
        )
        if unknown
        else ""
    )
    return f"{n} rows{missing}{extra}{classes}"


def file_classes(spec: Spec, kind: str, rows) -> frozenset[str]:
    """A classifier's distinct label and prediction values in an inference or labels file (made
    where the file is prepared: the writer only compares them with the reference's)."""
    if spec.task == "regression" or kind == "reference":
        return frozenset()
    return frozenset(
        v
        for column in ("label", "prediction")
        if column in rows.columns
        for v in pd.unique(_as_unique_input(rows.columns[column]))
        if isinstance(v, str)
    )  # NULL comes as None or NaN; the distinct values first: a file has millions of rows, a few classes


def _as_unique_input(values):
    return values if isinstance(values, pd.api.extensions.ExtensionArray) else np.asarray(values, dtype=object)


def _unknown_classes(con, spec: Spec, kind: str, classes: frozenset[str]) -> list[str]:
    """A classifier's label / prediction values in an inference or labels file that its
    reference never had, sorted. Not an error (a new class can be real), but a common format
    slip (a label column with gaps written as 1.0, 0.0) would make every metric wrong
    without a word, so the outcome names them."""
    if not classes:
        return []
    known = store_reference.reference_classes(con, spec.model_id)
    if not known:
        return []
    return sorted(classes - known)


class _no_store:
    """Context used when there is no store file: every model is unknown."""

    def __init__(self, model_id: str):
        self.model_id = model_id

    def __enter__(self):
        raise UnknownModel.suggest(self.model_id, [], prefix="", hint="no store yet; register its spec first")

    def __exit__(self, *exc):
        return False


def columns_meta(frame: pd.DataFrame, spec: Spec) -> dict[str, list[str]]:
    known = (
        set(spec.features)
        | {column_name(spec, r) for r in ("timestamp", "prediction", "label", "id")}
        | set(spec.columns.values())
    )
    return {
        "columns": [str(c) for c in frame.columns],
        "missing_features": [f for f in spec.features if f not in frame.columns],
        "extra_columns": [str(c) for c in frame.columns if c not in known],
    }


def _require(frame: pd.DataFrame, file: str, column: str, why: str) -> None:
    if column not in frame.columns:
        raise InputError(f"{file}: column {column}: missing ({why})")


def _features(frame: pd.DataFrame, spec: Spec, file: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n = len(frame)
    for feat, kind in spec.features.items():
        col = feat
        if feat not in frame.columns:
            out[col] = np.full(n, np.nan) if kind == "numeric" else pd.Series([None] * n, dtype=object)
        elif kind == "numeric":
            out[col] = readers.parse_numeric(frame[feat], file, feat)
        else:
            out[col] = readers.text_values(frame[feat])
    return out


def _outputs(frame: pd.DataFrame, spec: Spec, file: str) -> dict[str, Any]:
    pred_col = column_name(spec, "prediction")
    _require(frame, file, pred_col, "the spec's prediction column")
    readers.require_not_null(frame[pred_col], file, pred_col, "prediction")
    out: dict[str, Any] = {}
    if spec.task == "regression":
        out["pred_num"] = readers.parse_numeric(frame[pred_col], file, pred_col)
        readers.require_not_null(pd.Series(out["pred_num"]), file, pred_col, "prediction (NaN is NULL)")
        out["prediction"] = readers.parse_text(frame[pred_col]).to_numpy(dtype=object)
    else:
        out["prediction"] = readers.text_values(frame[pred_col])
        out["pred_num"] = np.full(len(frame), np.nan)
    if spec.has_score:
        _require(frame, file, spec.columns["score"], "the spec's score column")
        out["score"] = readers.parse_numeric(frame[spec.columns["score"]], file, spec.columns["score"])
    else:
        out["score"] = np.full(len(frame), np.nan)
    return out


def _labels(values: pd.Series, spec: Spec, file: str, column: str, *, required: bool = False) -> np.ndarray:
    text = readers.parse_text(values).to_numpy(dtype=object, copy=True)
    if spec.task == "regression":
        number = readers.parse_numeric(values, file, column)  # rejects text that is not a number
        text[np.isnan(number)] = None  # "NaN" is NULL: else it counts as labelled but adds no error
    if required:
        readers.require_not_null(pd.Series(text), file, column, "label")
    return text


def _validate_reference(frame: pd.DataFrame, spec: Spec, file: str):
    meta = columns_meta(frame, spec)
    if meta["missing_features"]:
        raise InputError(
            f"{file}: column {meta['missing_features'][0]}: missing (a reference file needs every feature)"
        )
    label_col = column_name(spec, "label")
    _require(frame, file, label_col, "the reference needs the label")
    readers.require_not_null(frame[label_col], file, label_col, "label")
    rows = {"label": _labels(frame[label_col], spec, file, label_col, required=True), **_outputs(frame, spec, file)}
    # Here, before the write: the message then names the file as given, like every other one.
    store_reference.resolve_positive_class(spec, set(rows["label"]), file)
    return store_incoming.ValidRows(len(frame), rows, _features(frame, spec, file)), meta


def validate_inference(frame: pd.DataFrame, spec: Spec, file: str):
    meta = columns_meta(frame, spec)
    ts_col = column_name(spec, "timestamp")
    _require(frame, file, ts_col, "the spec's timestamp column")
    rows: dict[str, Any] = {"ts": readers.parse_timestamps(frame[ts_col], file, ts_col).to_numpy()}
    rows.update(_outputs(frame, spec, file))
    if "id" in spec.columns:
        _require(frame, file, spec.columns["id"], "the spec's id column")
        rows["rid"] = readers.text_values(frame[spec.columns["id"]])
    else:
        rows["rid"] = np.full(len(frame), None, dtype=object)
    label_col = column_name(spec, "label")
    if label_col in frame.columns:
        rows["label"] = _labels(frame[label_col], spec, file, label_col)
    else:
        rows["label"] = np.full(len(frame), None, dtype=object)
    return store_incoming.ValidRows(len(frame), rows, _features(frame, spec, file)), meta


def _validate_labels(frame: pd.DataFrame, spec: Spec, file: str):
    id_col, label_col = column_name(spec, "id"), column_name(spec, "label")
    _require(frame, file, id_col, "a labels file joins on the id column")
    _require(frame, file, label_col, "a labels file carries the label")
    ids = readers.parse_text(frame[id_col])
    readers.require_not_null(ids, file, id_col, "id")
    readers.require_not_null(frame[label_col], file, label_col, "label")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0]) + 1
        raise InputError(f"{file}: column {id_col}, row {row}: duplicate id {ids.iloc[row - 1]!r} in one labels file")
    rows = {"rid": ids.to_numpy(dtype=object), "label": _labels(frame[label_col], spec, file, label_col, required=True)}
    meta = {
        "columns": [str(c) for c in frame.columns],
        "missing_features": [],
        "extra_columns": [str(c) for c in frame.columns if c not in (id_col, label_col)],
    }
    return store_incoming.ValidRows(len(frame), rows, {}), meta


_VALIDATORS = {"reference": _validate_reference, "inference": validate_inference, "labels": _validate_labels}
