"""Uploads from the app (issue 10): a spec and reference / inference / labels files, through the
very code path of `python -m lib register` and `python -m lib ingest` (lib/ingest/pipeline.py),
with the acting user checked first and the upload kept inside a private temporary folder.

Who may: an admin registers any spec and ingests any file; an owner (lib/actions/roles.py)
re-registers and ingests files for the models they own. A rejected file gives the CLI's one-line
reason with the uploaded file's own name (not the temporary path) and changes nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from lib.actions.roles import Actor, PermissionDenied, require_owner
from lib.errors import InputError
from lib.ingest.pipeline import KINDS, Outcome, ingest_file, register_spec
from lib.spec import Spec, parse_spec
from lib.store import actions as sa
from lib.store.connection import Store

SUFFIXES = (".csv", ".parquet", ".pq")
CHUNK = 1 << 20


def safe_name(name: str, suffixes: Iterable[str] = SUFFIXES) -> str:
    """The uploaded name reduced to a plain file name: no folder part, no '..', no control
    characters — it can never leave the temporary folder it is written to."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")
    if not base:
        base = "upload"
    suffix = Path(base).suffix.lower()
    if suffix not in tuple(suffixes):
        raise InputError(f"{name}: not a {' or '.join(s.lstrip('.') for s in suffixes)} file")
    return base


def _owner_team(store: Store, model_id: str) -> tuple[str | None, str | None]:
    if not store.exists():
        return None, None
    with store.read() as con:
        found = sa.model_owner(con, model_id)
    return found if found else (None, None)


def register_upload(store: Store, text: str, file_name: str, *, actor: Actor) -> Spec:
    """Register (or update) a model from an uploaded YAML spec."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{file_name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    spec = parse_spec(data, source=file_name)
    owner, team = _owner_team(store, spec.model_id)
    if owner is None and not actor.admin:
        raise PermissionDenied(f"{actor.id} may not register {spec.model_id}: only an admin registers a new model")
    if owner is not None:
        require_owner(actor, spec.model_id, owner, team, "re-register")
        if not actor.admin and not actor.owns(spec.owner, spec.team):
            raise PermissionDenied(f"{actor.id} may not hand {spec.model_id} to another owner: only an admin may")
    return register_spec(store, spec, source=file_name)


def ingest_upload(
    store: Store,
    kind: str,
    model_id: str,
    file_name: str,
    chunks: Iterable[bytes],
    *,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Write the upload to a private temporary folder, then ingest it like the CLI does."""
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    owner, team = _owner_team(store, model_id)
    require_owner(actor, model_id, owner, team, f"upload {kind} files for")
    name = safe_name(file_name)
    folder = Path(tempfile.mkdtemp(prefix="driftlight-upload-"))
    try:
        path = folder / name
        assert path.resolve().parent == folder.resolve()  # safe_name guarantees it
        done = 0
        with open(path, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done)
        outcome = ingest_file(store, kind, model_id, path)
        # Name the file as the user knows it, not by its temporary path.
        return Outcome(
            file_name,
            outcome.status,
            outcome.rows,
            outcome.message.replace(str(path), file_name) if outcome.message else outcome.message,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_chunks(fileobj, size: int = CHUNK) -> Iterable[bytes]:
    while True:
        block = fileobj.read(size)
        if not block:
            return
        yield block
