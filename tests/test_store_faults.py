"""Resource faults (issue 12): no space, read-only store file or folder, a corrupt, truncated or
foreign file, another schema version. Each is one line (exit 1) in the CLI, a notice in the app,
and a failed write leaves the store as it was."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from fixtures import ROOT, csv_file, db, standard_template, table_counts  # noqa: F401

from lib.errors import StoreError
from lib.store.connection import Store
from lib.store.schema import MIGRATIONS, SCHEMA_VERSION

PY = sys.executable


def cli(*argv: str, preexec=None, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DRIFTLIGHT_DB", None)
    return subprocess.run(
        [*prefix, PY, "-m", "lib", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
    )


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- no space --------------------------------------------------------------------------------------
def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_write_without_space_changes_nothing_and_is_one_line(db, tmp_path):
    big = csv_file(tmp_path, "big.csv", "inference", n=20_000)
    before = table_counts(db)
    proc = cli("ingest", "--db", str(db), "inference", "--model", "icecream", str(big), preexec=_file_size_limit(65536))
    assert proc.returncode == 1
    assert one_line(proc).startswith(f"{db}: cannot write the store (") and "File too large" in proc.stderr
    assert table_counts(db) == before
    # the next writer (with space) finds the store as it was and writes the file whole
    ok = cli("ingest", "--db", str(db), "inference", "--model", "icecream", str(big))
    assert ok.returncode == 0, ok.stderr
    after = table_counts(db)
    assert after["inf__icecream"] == before["inf__icecream"] + 20_000
    assert after["ingest_log"] == before["ingest_log"] + 1


# -- permissions -----------------------------------------------------------------------------------
def _unprivileged() -> tuple[str, ...]:
    """Root ignores file modes: drop the capabilities that let it (setpriv, util-linux)."""
    if os.geteuid() != 0:
        return ()
    assert shutil.which("setpriv"), "running as root needs setpriv (util-linux) to test file modes"
    return ("setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--")


def test_a_read_only_store_file_reads_and_refuses_writes_in_one_line(db, tmp_path):
    os.chmod(db, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        read = cli("evaluate", "--db", str(db), "--format", "csv", prefix=_unprivileged())
        assert read.returncode == 0, read.stderr
        assert read.stdout.splitlines()[0].startswith("model_id,status")
        before = table_counts(db)
        csv = csv_file(tmp_path, "more.csv", "inference", n=5)
        write = cli("ingest", "--db", str(db), "inference", "--model", "icecream", str(csv), prefix=_unprivileged())
        assert write.returncode == 1
        assert one_line(write).startswith(f"{db}: no permission to write the store file (")
        assert table_counts(db) == before
    finally:
        os.chmod(db, 0o644)


def test_a_read_only_folder_without_lock_files_is_one_line(db):
    folder = db.parent
    for lock in folder.glob("*.lock"):
        lock.unlink()
    os.chmod(folder, 0o555)
    try:
        proc = cli("evaluate", "--db", str(db), prefix=_unprivileged())
        assert proc.returncode == 1
        line = one_line(proc)
        assert line.startswith(f"{db}.turnstile.lock: cannot open the store's lock file (Permission denied)")
        assert "write access to the store's folder" in line
    finally:
        os.chmod(folder, 0o755)


# -- damaged files and schema versions --------------------------------------------------------------
def _truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _garbage(db: Path) -> None:
    db.write_bytes(b"not a database\n" * 1000)


def _foreign(db: Path) -> None:
    db.unlink()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()


def _newer(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()


DAMAGE = {
    "truncated": (_truncated, "truncated store file ("),
    "garbage": (_garbage, "not a Driftlight store (not a DuckDB file, or a corrupt one)"),
    "foreign": (_foreign, "not a Driftlight store (a DuckDB file without Driftlight's meta table)"),
    "newer": (_newer, f"written by a newer Driftlight (store schema version {SCHEMA_VERSION + 1}"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_store_is_one_line_at_open(db, tmp_path, damage):
    make, message = DAMAGE[damage]
    make(db)
    size = db.stat().st_size
    for argv in (
        ("evaluate", "--db", str(db)),
        ("report", "--db", str(db), "--fleet", "--format", "json", "--out", str(tmp_path / "r.json")),
        ("ingest", "--db", str(db), "inference", "--model", "icecream", str(csv_file(tmp_path, "x.csv", "inference"))),
        ("alert", "--db", str(db), "--dry-run"),
    ):
        proc = cli(*argv)
        assert proc.returncode in (1, 2), proc.stderr
        line = one_line(proc)
        assert str(db) in line and (message in line or "unknown model" in line), (argv[0], line)
    with pytest.raises(StoreError, match=re.escape(message)):
        with Store(db, timeout=2).read() as con:
            con.execute("SELECT count(*) FROM models").fetchall()
    assert db.stat().st_size == size  # nothing tried to "repair" it


def test_an_older_store_is_migrated_when_first_read(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.close()
    with Store(db).read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
        assert con.execute("SELECT count(*) FROM alert_actions").fetchall() == [(0,)]


def test_the_app_shows_a_notice_for_a_damaged_store(db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    _truncated(db)
    monkeypatch.setenv("DRIFTLIGHT_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("The store cannot be used." in e and "truncated store file" in e for e in errors), errors


def test_an_unexpected_error_is_one_line_not_a_traceback(tmp_path):
    # a spec path that is a folder: an OSError no command expects
    proc = cli("register", "--db", str(tmp_path / "s.duckdb"), str(tmp_path))
    assert proc.returncode in (1, 2)
    one_line(proc)


def test_a_read_connection_has_no_result_left_open(db):
    """Regression (found by tests/test_browser_hostile.py): the schema check at open left a
    fetchone() result open, and DuckDB 2.0 then refused the report's register()."""
    import pandas as pd

    with Store(db).read() as con:
        con.register("frame", pd.DataFrame({"a": [1, 2]}))
        assert con.execute("SELECT sum(a) FROM frame").fetchall() == [(3,)]
