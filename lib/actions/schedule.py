"""The scheduled pipeline behind `python -m lib schedule` (docs/schedule.md).

Each tick: ingest what is ready in the inbox (lib/ingest/inbox.py), then one `alert` run
(lib/actions/run.py), then one log line. Either once (`--once`, for cron) or every N seconds
until SIGTERM / SIGINT, which lets the current file finish (ingest, commit, move) and exits 0.

One scheduler per store: a lock file beside the store (`STORE.schedule.lock`, an flock the
kernel frees when its holder dies) refuses a second one, whether cron started it or a person.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lib.actions.run import RunReport, run_alerts
from lib.errors import InputError
from lib.ingest.inbox import FileResult, InboxReport, printable, process_inbox
from lib.store import lock
from lib.store.connection import Store

_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


def parse_every(text: str) -> float:
    """'15m' -> 900.0; units s, m, h (seconds without one). At least 1 second."""
    m = _EVERY.match(text or "")
    if not m:
        raise InputError(f"--every {text!r}: give a duration like 30s, 15m or 1h")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 1:
        raise InputError(f"--every {text!r}: at least 1s")
    return seconds


def lock_path(store: Store) -> str:
    return store.path + ".schedule.lock"


@dataclass
class TickReport:
    number: int
    started: datetime
    seconds: float
    inbox: InboxReport | None
    alert: RunReport | None
    alert_error: str | None = None

    @property
    def exit_code(self) -> int:
        """1: an alert action failed for good, the alert run or an archive move failed;
        else 2: a file was rejected (invalid input, as `ingest`); else 0."""
        ib = self.inbox
        if self.alert_error or (self.alert and self.alert.exit_code) or (ib and (ib.count("error") or ib.failed)):
            return 1
        if self.inbox and self.inbox.count("rejected"):
            return 2
        return 0

    def line(self) -> str:
        parts = [f"{self.started:%Y-%m-%dT%H:%M:%SZ} tick {self.number}:"]
        ib = self.inbox
        if ib is not None:
            text = (
                f"inbox {ib.count('ingested')} ingested ({ib.rows:,} rows), {ib.count('registered')} registered, "
                f"{ib.count('skipped')} skipped, {ib.count('rejected')} rejected"
            )
            rejected = [r.name for r in ib.results if r.status == "rejected"]
            if rejected:
                text += f" [{', '.join(rejected[:3])}{', …' if len(rejected) > 3 else ''}]"
            extras = [
                (ib.waiting, "waiting (still being written)"),
                (ib.count("error"), "not archived (see above)"),
                (ib.ignored, "ignored (sub-folders, unreadable)"),
            ]
            text += "".join(f", {n} {what}" for n, what in extras if n)
            if ib.busy:
                text += ", store busy: the rest waits for the next tick"
            if ib.failed:
                text = "inbox failed (see above)"
            if ib.stopped:
                text += ", stopping: the rest waits for the next start"
            parts.append(text + ";")
        if self.alert_error:
            parts.append(f"alert failed: {self.alert_error};")
        elif self.alert is not None:
            s = self.alert.summary
            parts.append(
                f"alert run {self.alert.run_id} as of {self.alert.as_of}: {s.get('findings_new', 0)} new, "
                f"{s.get('findings_open', 0)} open, {s.get('findings_closed', 0)} closed findings, "
                f"{s.get('delivered', 0)} delivered, {s.get('scheduled_retry', 0)} to retry, "
                f"{s.get('failed', 0)} failed;"
            )
        else:
            parts.append("alert skipped;")
        parts.append(f"{self.seconds:.2f} s")
        return " ".join(parts)


class Scheduler:
    """Ticks of the pipeline on one store; `stop` (an Event) is set by SIGTERM / SIGINT."""

    def __init__(
        self,
        store: Store,
        inbox: str | Path | None,
        *,
        alert: bool = True,
        settle: float = 2.0,
        log: Callable[[str], None] = print,
        stop: threading.Event | None = None,
        alerts: Callable[..., RunReport] = run_alerts,
    ):
        self.store, self.inbox, self.alert, self.settle, self.log = store, inbox, alert, settle, log
        self.stop = stop or threading.Event()
        self._alerts = alerts
        self.ticks = 0

    def tick(self) -> TickReport:
        self.ticks += 1
        started, t0 = datetime.now(UTC), time.monotonic()
        inbox, report, error = None, None, None
        if self.inbox is not None:
            try:
                inbox = process_inbox(
                    self.store, self.inbox, settle=self.settle, should_stop=self.stop.is_set, on_result=self._file_line
                )
            except (InputError, OSError) as exc:  # the folder vanished or became unreadable: next tick
                self.log(f"  inbox failed: {printable(str(exc))}")
                inbox = InboxReport(failed=True)
        if self.alert and not self.stop.is_set() and self.store.exists():
            try:
                report = self._alerts(self.store)
            except Exception as exc:  # the loop goes on; the next tick tries again
                error = f"{type(exc).__name__}: {printable(str(exc).splitlines()[0] if str(exc) else '')}"
        tick = TickReport(self.ticks, started, time.monotonic() - t0, inbox, report, error)
        self.log(tick.line())
        return tick

    def _file_line(self, result: FileResult) -> None:
        if result.status in ("rejected", "error"):  # the reason is in the .reason file too
            self.log(f"  {result.status}: {printable(result.message)}")

    def run(self, every: float) -> int:
        """Tick every `every` seconds (on a fixed grid from the start) until stopped."""
        start = time.monotonic()
        while not self.stop.is_set():
            self.tick()
            if self.stop.is_set():
                break
            # The next slot on the grid: a tick longer than `every` skips the slots it overran.
            elapsed = time.monotonic() - start
            self.stop.wait(every - elapsed % every)
        self.log(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} stopped after {self.ticks} tick(s)")
        return 0


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` instead of killing: the current file finishes first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for s in previous:
        signal.signal(s, lambda *_: stop.set())
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def serve(
    store: Store,
    inbox: str | Path | None,
    *,
    every: float,
    once: bool,
    alert: bool = True,
    settle: float = 2.0,
    log: Callable[[str], None] = print,
) -> int:
    """Take the scheduler lock, then tick once (exit code of that tick) or until a signal (0)."""
    if inbox is not None and not Path(inbox).is_dir():
        raise InputError(f"{inbox}: inbox folder not found (create it, laid out as docs/schedule.md says)")
    Path(store.path).parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    with lock.sole(lock_path(store), "a scheduler for this store"), stop_on_signals(stop):
        scheduler = Scheduler(store, inbox, alert=alert, settle=settle, log=log, stop=stop)
        if once:
            return scheduler.tick().exit_code
        where = f"inbox {inbox}" if inbox is not None else "no inbox"
        log(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} scheduler started: {store.path}, {where}, every {every:g} s")
        return scheduler.run(every)
