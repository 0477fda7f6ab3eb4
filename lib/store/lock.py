"""A cross-process readers–writer lock beside the DuckDB file, writer-preferring.

DuckDB lets one process write a file or many processes read it, never both at once, and a
second opener fails instead of waiting. So every store operation takes this lock first:
readers share it, a writer holds it alone. Writers are preferred: a writer first takes the
"turnstile" and keeps it while it waits for the readers in flight, so a busy dashboard whose
readers keep arriving cannot starve an ingest (DESIGN.md, Storage and computation).

Built on fcntl.flock, which locks an open file description: every acquisition opens its own
descriptor, so threads of one process (Streamlit sessions) exclude each other too. No library
on PyPI offers a writer-preferring shared/exclusive file lock (filelock and portalocker give
exclusive locks, or shared locks without writer preference), hence this small module.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from lib.errors import AlreadyRunning, StoreBusy, StoreError

_POLL_SECONDS = 0.005


def _flock(fd: int, mode: int, deadline: float, path: str) -> None:
    delay = _POLL_SECONDS
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"{path}: the store is busy (another process holds it); try again in a moment"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a read-only folder or lock file: say so, not a traceback (issue 12)
        raise StoreError(
            f"{path}: cannot open the store's lock file ({exc.strerror}); readers and writers need write "
            "access to the store's folder (or to existing lock files)"
        ) from None


@contextmanager
def _hold(db_path: str, timeout: float, mode: int) -> Iterator[None]:
    """Pass the turnstile (it blocks while a writer waits or writes), take the rw lock in
    `mode`, and let the turnstile go; a writer holds it until the readers in flight are done."""
    deadline = time.monotonic() + timeout
    turnstile = _open(db_path + ".turnstile.lock")
    try:
        rw = _open(db_path + ".rw.lock")
    except StoreError:
        os.close(turnstile)
        raise
    try:
        _flock(turnstile, fcntl.LOCK_EX, deadline, db_path)
        try:
            _flock(rw, mode, deadline, db_path)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield
    finally:
        os.close(rw)  # closing the descriptor releases its lock
        os.close(turnstile)


def shared(db_path: str, timeout: float):
    """Hold the lock as one of many readers."""
    return _hold(db_path, timeout, fcntl.LOCK_SH)


def exclusive(db_path: str, timeout: float):
    """Hold the lock alone (one writer, no readers)."""
    return _hold(db_path, timeout, fcntl.LOCK_EX)


@contextmanager
def sole(lock_path: str, what: str) -> Iterator[None]:
    """Hold `lock_path` alone, without waiting: raise AlreadyRunning if another process holds it.

    For one-of-a-kind processes beside the store (the scheduler). The holder's pid and start
    time are written into the file for the message; the kernel frees an flock when its holder
    dies (even by SIGKILL), so a dead holder's lock is simply taken over, never "stale".
    """
    fd = _open(lock_path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise AlreadyRunning(
                f"{lock_path}: {what} is already running ({holder}); not starting a second one"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
