"""The store's connections and its cross-process readers–writer lock (DESIGN.md, Storage and
computation): StoreBusy, writer preference, rollback, the data version, and a writer process
ingesting while two reader processes query — zero errors, every row, never a step back."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fixtures import (  # noqa: F401
    BINARY,
    ROOT,
    concurrency_reader,
    concurrency_writer,
    csv_file,
    db,
    query,
    standard_template,
    table_counts,
)

from lib.errors import StoreBusy, StoreMissing
from lib.store import lock
from lib.store.connection import Store

# -- the lock ---------------------------------------------------------------------------------------
_HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from lib.store import lock
with lock.{mode}({db!r}, 10):
    print("held", flush=True)
    sys.stdin.read()          # hold until the test closes our stdin
"""


class _Holder:
    """Another process that holds the lock (shared or exclusive) until closed."""

    def __init__(self, db: str, mode: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER.format(root=str(ROOT), mode=mode, db=db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "held"

    def close(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(10) == 0


def test_read_raises_store_busy_while_another_process_writes(db: Path):
    holder = _Holder(str(db), "exclusive")
    try:
        start = time.monotonic()
        with pytest.raises(StoreBusy, match="busy"):
            with Store(db, timeout=0.3).read():
                pass
        waited = time.monotonic() - start
        assert 0.3 <= waited < 3
        with pytest.raises(StoreBusy):
            with Store(db, timeout=0.2).write():
                pass
    finally:
        holder.close()
    with Store(db, timeout=2).read() as con:  # free again
        assert con.execute("SELECT count(*) FROM models").fetchall() == [(2,)]


def test_write_raises_store_busy_while_another_process_reads_but_reads_share(db: Path):
    holder = _Holder(str(db), "shared")
    try:
        with Store(db, timeout=1).read() as con:  # readers share
            assert con.execute("SELECT count(*) FROM models").fetchall() == [(2,)]
        before = table_counts(db)
        with pytest.raises(StoreBusy):
            with Store(db, timeout=0.3).write() as con:
                con.execute("DELETE FROM models")
        assert table_counts(db) == before
    finally:
        holder.close()


def test_waiting_writer_blocks_new_readers(tmp_path: Path):
    """Writer preference: once a writer waits, a new reader queues behind it instead of
    overtaking it, so a stream of readers cannot starve an ingest."""
    path = str(tmp_path / "x.duckdb")
    acquired = threading.Event()
    order: list[str] = []

    def writer():
        with lock.exclusive(path, 10):
            order.append("writer")
            acquired.set()
            time.sleep(0.1)

    with lock.shared(path, 1):
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.3)
        assert not acquired.is_set()  # the writer waits for the reader in flight
        with pytest.raises(StoreBusy):
            with lock.shared(path, 0.4):  # ... and a newcomer may not overtake it
                order.append("late reader")
    assert acquired.wait(5)
    with lock.shared(path, 5):
        order.append("reader after writer")
    t.join(5)
    assert order == ["writer", "reader after writer"]


def test_readers_share_and_writers_exclude_each_other(tmp_path: Path):
    path = str(tmp_path / "x.duckdb")
    with lock.shared(path, 1), lock.shared(path, 1):
        pass
    with lock.exclusive(path, 1):
        with pytest.raises(StoreBusy):
            with lock.exclusive(path, 0.2):
                pass
        with pytest.raises(StoreBusy):
            with lock.shared(path, 0.2):
                pass
    with lock.exclusive(path, 1):  # released on exit, even after StoreBusy
        pass
    assert Path(path + ".rw.lock").exists() and Path(path + ".turnstile.lock").exists()


# -- connections and transactions ----------------------------------------------------------------------
def test_read_without_a_store_is_store_missing(tmp_path: Path):
    with pytest.raises(StoreMissing, match="python -m lib demo"):
        with Store(tmp_path / "nothing.duckdb").read():
            pass
    assert not (tmp_path / "nothing.duckdb").exists()
    assert Store(tmp_path / "nothing.duckdb").data_version() == 0


def test_read_connection_is_read_only_and_closed_after(db: Path):
    with Store(db).read() as con:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM models")
    # closed: a read-write connection from this process can open the file now
    con = duckdb.connect(str(db))
    assert con.execute("SELECT count(*) FROM models").fetchall() == [(2,)]
    con.close()


def test_failed_write_rolls_back_and_keeps_the_version(db: Path):
    store = Store(db)
    before, version = table_counts(db), store.data_version()
    with pytest.raises(ZeroDivisionError):
        with store.write() as con:
            con.execute("DELETE FROM models")
            con.execute("DELETE FROM ingest_log")
            raise ZeroDivisionError  # any error inside the transaction
    assert table_counts(db) == before and store.data_version() == version


def test_each_write_bumps_the_data_version_once(db: Path):
    store = Store(db)
    v0 = store.data_version()
    assert v0 == query(db, "SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'data_version'")[0][0]
    for i in range(1, 4):
        with store.write() as con:
            con.execute("UPDATE models SET team = ? WHERE model_id = ?", [f"team{i}", BINARY])
        assert store.data_version() == v0 + i
    assert query(db, "SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'data_version'")[0][0] == v0 + 3


def test_batch_keeps_one_connection_for_many_writes(db: Path):
    store = Store(db)
    v0 = store.data_version()
    with store.batch():
        for i in range(3):
            with store.write() as con:
                con.execute("UPDATE models SET owner = ? WHERE model_id = ?", [f"o{i}", BINARY])
        with store.read() as con:  # the batch's own thread reads its writes
            assert con.execute("SELECT owner FROM models WHERE model_id = ?", [BINARY]).fetchall() == [("o2",)]
        with pytest.raises(StoreBusy):  # others wait
            with Store(db, timeout=0.2).read():
                pass
    assert store.data_version() == v0 + 3


def test_group_is_one_transaction_with_profile_rows_inserted_at_commit(db: Path):
    from lib.store import reprofile

    store = Store(db)
    v0, before = store.data_version(), query(db, "SELECT count(*) FROM prof_rows")[0][0]
    row = pd.DataFrame(
        {
            "hour": [pd.Timestamp("2030-01-01 01:00")],
            "file_id": [999],
            "n": [7],
            "max_ts": [pd.Timestamp("2030-01-01 00:30")],
        }
    )
    with store.batch():
        with store.group():
            for i in range(3):
                with store.write() as con:
                    con.execute("UPDATE models SET owner = ? WHERE model_id = ?", [f"g{i}", BINARY])
                    reprofile.append_profiles(con, BINARY, {"prof_rows": row})
            with store.read() as con:  # reads see the group's writes; profile rows wait for the commit
                assert con.execute("SELECT owner FROM models WHERE model_id = ?", [BINARY]).fetchall() == [("g2",)]
                assert con.execute("SELECT count(*) FROM prof_rows").fetchall() == [(before,)]
        with pytest.raises(RuntimeError, match="deliberate"):  # all or nothing
            with store.group():
                with store.write() as con:
                    con.execute("UPDATE models SET owner = 'lost' WHERE model_id = ?", [BINARY])
                    reprofile.append_profiles(con, BINARY, {"prof_rows": row})
                raise RuntimeError("deliberate")
    assert store.data_version() == v0 + 1
    assert query(db, "SELECT owner FROM models WHERE model_id = ?", [BINARY]) == [("g2",)]
    assert query(db, "SELECT count(*), sum(n) FROM prof_rows WHERE file_id = 999") == [(3, 21)]
    assert query(db, "SELECT count(*) FROM prof_rows")[0][0] == before + 3
    with pytest.raises(RuntimeError, match="needs an open batch"):
        with store.group():
            pass


_POLLER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from lib.store.connection import Store
store, last, drops, polls = Store({db!r}), 0, 0, 0
print("polling", flush=True)
while True:
    stopping = Path({stop!r}).exists()      # then one more poll, after the last write
    v = store.data_version()
    polls += 1
    drops += v < last
    last = max(last, v)
    if stopping:
        break
print(drops, last, polls)
"""


def test_data_version_never_goes_backwards_while_written(db: Path, tmp_path: Path):
    """The app keys its caches on data_version(), read without the lock: a reader polling it
    while writes commit must never see it go down (e.g. 0 from a half-written sidecar)."""
    store = Store(db)
    v0 = store.data_version()
    stop = tmp_path / "stop"
    poller = subprocess.Popen(
        [sys.executable, "-c", _POLLER.format(root=str(ROOT), db=str(db), stop=str(stop))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert poller.stdout.readline().strip() == "polling"
        for i in range(10):
            with store.write() as con:
                con.execute("UPDATE models SET owner = ? WHERE model_id = ?", [f"o{i}", BINARY])
    finally:
        stop.write_text("stop")
        out, _ = poller.communicate(timeout=30)
    drops, last, polls = map(int, out.split())
    assert polls > 100
    assert (drops, last) == (0, v0 + 10)


# -- a writer process and two reader processes -------------------------------------------------------
N_FILES = 8
ROWS = 300


def test_writer_and_two_readers_in_processes(db: Path, tmp_path: Path, monkeypatch):
    # A spawned child re-runs the parent's __main__; in a test run that may be a Streamlit
    # script left there by AppTest. The children need nothing from it: give them a blank one.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    files = [
        str(
            csv_file(
                tmp_path,
                f"batch{i:02d}.csv",
                "inference",
                n=ROWS,
                set={r: {"request_id": f"b{i}-{r}"} for r in range(1, ROWS + 1)},
            )
        )
        for i in range(N_FILES)
    ]
    before = table_counts(db)
    ctx = multiprocessing.get_context("spawn")
    stop = tmp_path / "stop"
    readers = []
    for i in range(2):
        ready, result = tmp_path / f"ready{i}", tmp_path / f"reader{i}.json"
        p = ctx.Process(
            target=concurrency_reader, args=(str(db), BINARY, str(ready), str(stop), str(result), 0.06 + 0.02 * i, 0.01)
        )
        p.start()
        readers.append((p, ready, result))
    deadline = time.monotonic() + 120
    while not all(ready.exists() for _, ready, _ in readers):
        assert time.monotonic() < deadline, "readers did not start"
        for p, ready, result in readers:
            if not p.is_alive() and not ready.exists():
                raise AssertionError(
                    f"a reader died: exit code {p.exitcode}, {result.read_text() if result.exists() else 'no result'}"
                )
        time.sleep(0.05)

    wresult = tmp_path / "writer.json"
    writer = ctx.Process(target=concurrency_writer, args=(str(db), BINARY, files, str(wresult), 30.0))
    start = time.monotonic()
    writer.start()
    writer.join(240)
    writer_seconds = time.monotonic() - start
    stop.write_text("stop")
    for p, _, _ in readers:
        p.join(120)
    for p in [writer] + [p for p, _, _ in readers]:
        if p.exitcode is None:
            p.kill()
    assert (writer.exitcode, [p.exitcode for p, _, _ in readers]) == (0, [0, 0]), writer_seconds

    results = json.loads(wresult.read_text())
    assert [r["status"] for r in results] == ["ingested"] * N_FILES, [r["message"] for r in results]
    assert [r["rows"] for r in results] == [ROWS] * N_FILES
    after = table_counts(db)
    assert after["inf__icecream"] == before["inf__icecream"] + N_FILES * ROWS
    assert after["ingest_log"] == before["ingest_log"] + N_FILES
    assert query(db, "SELECT sum(n) FROM prof_rows WHERE model_id = ?", [BINARY])[0][0] == after["inf__icecream"]

    final = after["inf__icecream"]
    for _, _, result in readers:
        seen = json.loads(result.read_text())
        assert seen["errors"] == []
        assert seen["inconsistent"] == []  # rows, profiles and log always agree
        counts = seen["counts"]
        assert len(counts) >= 5
        assert counts == sorted(counts)  # never a step back
        assert counts[0] >= before["inf__icecream"] and counts[-1] == final
        assert len(set(counts)) >= 2  # the readers really read during the ingest
        assert seen["version_drops"] == 0
        assert seen["versions"] == sorted(seen["versions"])
    # writer preference: each ingest waited at most for the reads in flight, never for the stream
    slowest = max(r["seconds"] for r in results)
    assert slowest < 10, slowest
    assert writer_seconds < 90


def test_two_writers_ingesting_the_same_file_add_it_once(db: Path, tmp_path: Path):
    """The 'already ingested' check is repeated under the write lock: of two concurrent ingests
    of one file, exactly one adds it and the other reports it skipped."""
    from lib.ingest.pipeline import ingest_file

    path = csv_file(tmp_path, "twice.csv", "inference", n=50, set={r: {"request_id": f"t{r}"} for r in range(1, 51)})
    before = table_counts(db)
    outcomes = []
    barrier = threading.Barrier(2)

    def go():
        barrier.wait()
        outcomes.append(ingest_file(Store(db), "inference", BINARY, path).status)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ingested", "skipped"]
    assert table_counts(db)["inf__icecream"] == before["inf__icecream"] + 50


def test_migration_4_adds_the_lake_tables_to_a_version_3_store(tmp_path: Path):
    import duckdb

    from lib.store.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "v3.duckdb"
    con = duckdb.connect(str(path))
    for script in MIGRATIONS[:3]:
        con.execute(script)
    con.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    con.execute(
        "INSERT INTO prof_rows VALUES ('m', TIMESTAMP '2026-11-20 01:00:00', 1, 7, TIMESTAMP '2026-11-20 00:30:00')"
    )
    con.close()
    with Store(path).write() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
        assert con.execute("SELECT count(*) FROM lake_models").fetchall() == [(0,)]
        con.execute("INSERT INTO lake_files VALUES ('m', 'inference', 'm/inference/date=2026-11-20/a.parquet', 'h', 1)")
        assert con.execute("SELECT n FROM prof_rows WHERE model_id = 'm'").fetchall() == [(7,)]
    assert SCHEMA_VERSION >= 5 and len(MIGRATIONS) == SCHEMA_VERSION


def test_migration_6_adds_the_segment_tables_to_a_version_5_store(tmp_path: Path):
    import duckdb

    from lib.store.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "v5.duckdb"
    con = duckdb.connect(str(path))
    for script in MIGRATIONS[:5]:
        con.execute(script)
    con.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    con.execute(
        "INSERT INTO prof_rows VALUES ('m', TIMESTAMP '2026-11-20 01:00:00', 1, 7, TIMESTAMP '2026-11-20 00:30:00')"
    )
    con.close()
    with Store(path).write() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
        for table in ("prof_seg_rows", "prof_seg_num", "prof_seg_cat", "prof_seg_qual", "prof_seg_cls"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]
        con.execute("INSERT INTO prof_seg_rows VALUES ('m', TIMESTAMP '2026-11-20 01:00:00', 0, -2, NULL, 3)")
        assert con.execute("SELECT n FROM prof_rows WHERE model_id = 'm'").fetchall() == [(7,)]
    assert SCHEMA_VERSION >= 6
