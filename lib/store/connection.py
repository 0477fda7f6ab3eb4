"""The data-access core: the only place that opens DuckDB (STYLE.md habit 6).

- No process keeps the file open between operations: `read()` opens it read-only under the
  shared lock, `write()` opens it read-write under the exclusive lock (lib/lock.py), and both
  close it on exit. `batch()` keeps one write connection open for many writes (the demo).
- Every write transaction bumps `meta.data_version` and mirrors it to a sidecar file, so the
  app can key its caches on the data version without opening the database.
- The schema and its migrations are in lib/store/schema.py; per-model row tables are named from validated model ids and
  their feature columns are positional (`f0`, `f1`, …), so user-supplied feature names never
  become SQL identifiers.
Other SQL lives beside this file in lib/store/ (write, read, detail, actions), on connections from here.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from lib.errors import StoreError, StoreMissing
from lib.spec import MODEL_ID_PATTERN
from lib.store import lock
from lib.store.schema import SCHEMA_VERSION, migrate, schema_version

DEFAULT_DB = "data/driftlight.duckdb"
DB_ENV = "DRIFTLIGHT_DB"
# Nothing may download at run time: DuckDB must never try to fetch an extension.
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
# DuckDB errors that mean the file, not the query, is at fault (corrupt, truncated, no space,
# no permission): they become one StoreError line instead of a traceback (issue 12).
_FILE_ERRORS = (
    duckdb.IOException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.FatalException,
    duckdb.TransactionException,  # "Failed to commit: Could not write file …": no space
)


def _config() -> dict:
    """The connection's settings. Under an address-space cap (`ulimit -v`, RLIMIT_AS) DuckDB gets
    one thread and a memory limit of a third of the cap: its buffer manager then fails a query
    with an out-of-memory error (or spills to disk) instead of failing allocations in worker
    threads, whose std::bad_alloc aborts the process or leaves the others waiting (issue 12)."""
    cap = resource.getrlimit(resource.RLIMIT_AS)[0]
    if cap == resource.RLIM_INFINITY:
        return _CONFIG
    return {**_CONFIG, "threads": 1, "memory_limit": f"{max(64, (cap >> 20) // 3)}MB"}


def _why(path: str, exc: BaseException, doing: str) -> str:
    first = (str(exc).splitlines() or [""])[0]
    if "not a valid DuckDB database" in first:
        return f"{path}: not a Driftlight store (not a DuckDB file, or a corrupt one)"
    if "Permission denied" in first or "Read-only file system" in first:
        return f"{path}: no permission to {doing} the store file ({first})"
    return f"{path}: cannot {doing} the store ({first})"


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = ()) -> tuple | None:
    """First row of a query, or None. DuckDB 2.0 keeps a result open until it is fetched to
    the end, and an open result blocks the connection's next register(); so fetch all."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0] if rows else None


def default_db_path() -> str:
    return os.environ.get(DB_ENV) or DEFAULT_DB


def ref_table(model_id: str) -> str:
    """Quoted name of a model's reference-rows table (model ids are validated: no quotes)."""
    assert MODEL_ID_PATTERN.match(model_id), model_id
    return f'"ref__{model_id}"'


def inf_table(model_id: str) -> str:
    """Quoted name of a model's inference-rows table."""
    assert MODEL_ID_PATTERN.match(model_id), model_id
    return f'"inf__{model_id}"'


class Store:
    """A DuckDB store file with its readers–writer lock. Cheap to create; holds no connection."""

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 60.0):
        self.path = str(path or default_db_path())
        self.timeout = timeout
        self._batch_con: duckdb.DuckDBPyConnection | None = None
        self._batch_owner: int | None = None
        self._grouped = False  # inside group(): write() and read() join its one transaction

    # -- state -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return Path(self.path).is_file()

    def data_version(self) -> int:
        """The store's data version (sidecar file; 0 when there is no store yet)."""
        try:
            return int(Path(self.path + ".version").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    # -- connections -------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection under the shared lock; closed on exit."""
        if self._batch_con is not None and self._batch_owner == threading.get_ident():
            # In a group the reads must see its uncommitted writes: the connection itself (a
            # cursor is a transaction of its own).
            yield self._batch_con if self._grouped else self._batch_con.cursor()
            return
        if not self.exists():
            raise StoreMissing(f"{self.path}: no store yet (build the demo with: python -m lib demo)")
        with lock.shared(self.path, self.timeout):
            con = self._connect(read_only=True)
            if self._current(con):
                yield from self._serve(con, "read")
                return
            con.close()
        with self.write():
            pass  # an older store: the writer's open migrates it (CONTRIBUTING.md), then read on
        with lock.shared(self.path, self.timeout):
            yield from self._serve(self._connect(read_only=True), "read")

    @contextmanager
    def read_held(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection WITHOUT taking the lock: only for a helper process of a reader
        that holds the shared lock (and has migrated the store) for the helper's whole life, e.g.
        lib/judge/parallel.py's worker. Closed on exit."""
        yield from self._serve(self._connect(read_only=True), "read")

    def _current(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Whether the open store has this Driftlight's schema (a newer one raises StoreError)."""
        try:
            return schema_version(con, self.path) == SCHEMA_VERSION
        except BaseException:
            con.close()
            raise

    def _serve(self, con: duckdb.DuckDBPyConnection, doing: str) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            yield con
        except _FILE_ERRORS as exc:
            raise StoreError(_why(self.path, exc, doing)) from None
        except duckdb.OutOfMemoryException as exc:
            raise MemoryError((str(exc).splitlines() or [""])[0]) from None
        finally:
            con.close()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file: a corrupt, truncated or forbidden one is one StoreError line."""
        doing = "read" if read_only else "write"
        try:
            con = duckdb.connect(self.path, read_only=read_only, config=_config())
        except (duckdb.Error, OSError) as exc:
            raise StoreError(_why(self.path, exc, doing)) from None
        con.execute("SET enable_progress_bar = false")  # it drew on stdout, amid a command's output
        try:
            # A truncated file opens and fails later, at some query; its header counts the blocks
            # in use, which must all be in the file (unless a WAL is pending: its blocks count
            # before they reach the file). Total blocks may exceed the file: free ones need not.
            blocks, block_size = fetch_one(con, "SELECT used_blocks, block_size FROM pragma_database_size()")
            if not os.path.exists(self.path + ".wal") and os.path.getsize(self.path) < blocks * block_size:
                raise StoreError(
                    f"{self.path}: truncated store file ({os.path.getsize(self.path)} bytes; its header "
                    f"counts {blocks} blocks of {block_size} in use)"
                )
        except _FILE_ERRORS as exc:
            con.close()
            raise StoreError(_why(self.path, exc, doing)) from None
        except BaseException:
            con.close()
            raise
        return con

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in one transaction under the exclusive lock.

        Commits (and bumps the data version) on success, rolls back on any exception.
        """
        if self._batch_con is not None and self._batch_owner == threading.get_ident():
            if self._grouped:
                yield self._batch_con  # part of the group's transaction
            else:
                yield from self._transaction(self._batch_con)
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with lock.exclusive(self.path, self.timeout):
            con = self._connect(read_only=False)
            try:
                migrate(con, self.path)
                yield from self._transaction(con)
            except _FILE_ERRORS as exc:  # e.g. no space left: rolled back, nothing changed
                raise StoreError(_why(self.path, exc, "write")) from None
            except duckdb.OutOfMemoryException as exc:  # rolled back: lib/ingest names the file
                raise MemoryError((str(exc).splitlines() or [""])[0]) from None
            finally:
                con.close()

    def _transaction(self, con: duckdb.DuckDBPyConnection, before_commit=None) -> Iterator[duckdb.DuckDBPyConnection]:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            if before_commit is not None:
                before_commit()
            version = fetch_one(
                con,
                "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                "WHERE key = 'data_version' RETURNING value",
            )[0]
            con.execute("COMMIT")
        except BaseException:
            # a failed write (no space) may have ended the transaction already: raise the cause
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        # Atomically (temp file + rename): write_text truncates first, and the app reads the
        # sidecar without the lock, so it could see an empty file, i.e. version 0.
        tmp = f"{self.path}.version.{os.getpid()}.{threading.get_ident()}.tmp"
        Path(tmp).write_text(str(version))
        os.replace(tmp, self.path + ".version")

    @contextmanager
    def batch(self, *, threads: int | None = None, checkpoint_threshold: str = "1GB") -> Iterator[None]:
        """Keep one write connection (and the exclusive lock) for many write() calls. `threads`:
        DuckDB's threads on it (the demo build's worker processes already keep every core busy:
        its writes on one thread cost a tenth less CPU). `checkpoint_threshold`: the WAL size
        past which a commit checkpoints; a commit that will checkpoint skips writing the WAL,
        which saves a big transaction (the demo's groups) writing its rows twice."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with lock.exclusive(self.path, self.timeout):
            con = self._connect(read_only=False)
            try:
                migrate(con, self.path)
                # Many small transactions in a row (a lake's files): checkpoint once at the end,
                # not whenever the WAL passes the default 16 MB (closing the connection checkpoints).
                con.execute("SET checkpoint_threshold = ?", [checkpoint_threshold])
                if threads is not None:
                    con.execute("SET threads = ?", [int(threads)])
                self._batch_con, self._batch_owner = con, threading.get_ident()
                yield
            finally:
                self._batch_con, self._batch_owner = None, None
                con.close()

    @contextmanager
    def group(self) -> Iterator[None]:
        """Inside batch(): every write() in the block joins one transaction, and the profile
        rows they append are inserted once per table just before it commits (the demo groups
        a few models so: each write a transaction of its own, with a few small inserts each,
        cost more than half of the demo build). All or nothing: an exception rolls back the
        whole group. Reads in the block see its uncommitted writes."""
        if self._batch_con is None or self._batch_owner != threading.get_ident() or self._grouped:
            raise RuntimeError("Store.group() needs an open batch() and does not nest")
        from lib.store import reprofile  # reprofile imports this module

        con = self._batch_con
        self._grouped = True
        try:
            with reprofile.deferring(con):
                yield from self._transaction(con, before_commit=lambda: reprofile.flush_deferred(con))
        finally:
            self._grouped = False
