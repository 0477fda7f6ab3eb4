"""Helpers shared by the scheduler's tests (tests/test_schedule*.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fixtures import BINARY, PY, ROOT, csv_file, query

BASE_INF = 30  # inference rows of the standard store's icecream model


def _inf_rows(db: Path) -> int:
    return query(db, f'SELECT count(*) FROM "inf__{BINARY}"')[0][0]


def _logged(db: Path, kind: str = "inference") -> int:
    return query(db, "SELECT count(*) FROM ingest_log WHERE model_id = ? AND kind = ?", [BINARY, kind])[0][0]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _inference(folder: Path, name: str, n: int) -> Path:
    """A valid inference file of the icecream model with n rows (n makes its content unique)."""
    folder.mkdir(parents=True, exist_ok=True)
    return csv_file(folder, name, "inference", n=n)


def _drop(folder: Path, name: str, n: int) -> Path:
    """Drop a file as the docs say: write under a temporary name, then rename into place."""
    tmp = _inference(folder, f".{name}.tmp", n)
    os.replace(tmp, folder / name)
    return folder / name


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    (path / BINARY / "inference").mkdir(parents=True)
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLIGHT_SECRETS": str(tmp_path / "none.toml")}
    env.pop("DRIFTLIGHT_DB", None)
    return env


def _schedule(db: Path, inbox: Path, *extra: str) -> list[str]:
    return [PY, "-m", "lib", "schedule", "--db", str(db), "--inbox", str(inbox), *extra]


def _wait(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
