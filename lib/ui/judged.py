"""The fleet's judgment kept warm in the background (issue 11): one `FleetJudge` per store path
and process judges the whole fleet in a thread when the store's data version (or the policy
file) changes, and keeps the last result, so that no visitor waits for a whole-fleet `evaluate`
(about 100 s at 10,000 models): a page shows the last result at once, with its age, while a newer
one is computed.

- Only one judgment runs at a time per store (a lock); a watcher thread polls the store's
  data-version sidecar every few seconds, so a new ingest is judged without a visitor. A version
  younger than `SETTLE_S` waits a moment: a burst of ingests is judged once, and a writer is not
  made to queue behind a whole-fleet read after each file.
- The last result is persisted beside the store (`<store>.cache/fleet/`, like the multivariate
  cache: not a table, a write would bump the data version), keyed by the store's path, its data
  version and a hash of the policy file, written atomically, in two files: `judged.json` holds
  what the grid draws (no per-feature detail: a fifth of the size, read in about a second at
  10,000 models) and `judged-detail.json` the whole result. After a restart the grid's part is
  read and shown at once (marked as older when the data changed since; the current data is then
  judged again); the detail is read only when a page needs it (a fleet report; the model page
  judges its one model meanwhile): parsing it holds the interpreter for seconds at 10,000 models,
  which a visitor of the grid must not wait for.
  Policy overrides made on the Policy page are store writes: they bump the data version too.
- The threads never call Streamlit (they have no script-run context); the pages poll
  `snapshot()` (lib/ui/fleet_view.py) and rerun when a newer result is ready.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.demo.progress import building
from lib.judge.evaluate import evaluate
from lib.judge.policy import POLICY_FILE_ENV
from lib.store.connection import Store

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the grid part and the detail in two files
TIMELINE_DAYS = 30  # the grid's 30-day strip (lib/ui/loaders.py uses the same)
POLL_S = 2.0  # the watcher's look at the data-version sidecar
SETTLE_S = 2.0  # a data version this young is judged on the next look
RETRY_S = 30.0  # after a failed judgment (e.g. the store stayed busy), try the same version again
BUILD_REJUDGE_S = 15.0  # while the demo builds (lib/demo/progress.py): the fleet so far, this often
LOCK_TIMEOUT_S = 600.0  # the background judgment may wait long for a writer to finish


def policy_key() -> str:
    """A hash of the policy file in force ($DRIFTLIGHT_POLICY), or of "defaults" without one."""
    path = os.environ.get(POLICY_FILE_ENV) or ""
    h = hashlib.sha256(os.path.abspath(path).encode() if path else b"defaults")
    if path:
        try:
            h.update(Path(path).read_bytes())
        except OSError as exc:  # evaluate will say what is wrong with it
            h.update(str(exc).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Judged:
    """One whole-fleet judgment: `evaluate`'s dict (30-day timeline, no raw-row detail) and its key."""

    fleet: dict[str, Any]
    version: int
    policy: str
    computed_at: float  # epoch seconds, when the judgment finished
    seconds: float  # how long it took
    restored: bool = False  # read back from the persisted file after a restart
    complete: bool = True  # False: the grid's part only (per-feature detail not read back yet)

    @property
    def as_of(self) -> str | None:
        return self.fleet.get("as_of")


@dataclass(frozen=True)
class Snapshot:
    """What a page shows: the last result (maybe None, maybe for an older data version) and
    whether a judgment of the wanted version is under way."""

    result: Judged | None
    wanted: tuple[int, str]  # (data version, policy hash) of the store now
    running: tuple[int, str] | None
    started_at: float | None
    error: str | None
    restoring: bool = False  # the persisted result is being read back (after a restart)

    @property
    def current(self) -> bool:
        r = self.result
        return r is not None and (r.version, r.policy) == self.wanted


def persisted_path(store_path: str, *, detail: bool = False) -> Path:
    return Path(store_path + ".cache") / "fleet" / ("judged-detail.json" if detail else "judged.json")


GRID_KEYS = (
    "model_id", "status", "reasons", "message", "name", "task", "owner", "team", "tags",
    "performance", "performance_estimate", "rows_24h", "last_inference", "timeline",
)  # fmt: skip


def grid_part(fleet: dict[str, Any]) -> dict[str, Any]:
    """What the grid and the table draw of a result: every model without its per-feature detail
    (the table's worst PSI kept as `worst_psi`)."""

    def slim(m: dict) -> dict:
        psis = [f["psi"] for f in m.get("features") or () if f.get("psi") is not None]
        return {**{k: m[k] for k in GRID_KEYS if k in m}, "features": [], "worst_psi": max(psis) if psis else None}

    return {**fleet, "models": [slim(m) for m in fleet["models"]]}


def _header(store_path: str, judged: Judged) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "store": os.path.abspath(store_path),
        "data_version": judged.version,
        "policy": judged.policy,
        "timeline_days": TIMELINE_DAYS,
        "computed_at": judged.computed_at,
        "seconds": judged.seconds,
    }


def _write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc, allow_nan=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def persist(store_path: str, judged: Judged) -> None:
    """Write the result beside the store (each file under a temporary name, then renamed: never
    half a file); the detail first, so that a grid file always has its detail's match."""
    head = _header(store_path, judged)
    try:
        _write(persisted_path(store_path, detail=True), {**head, "fleet": judged.fleet})
        _write(persisted_path(store_path), {**head, "fleet": grid_part(judged.fleet)})
    except (OSError, ValueError) as exc:  # a read-only folder: the app still works, only without it
        log.warning("%s: cannot keep the fleet's judgment beside the store (%s)", store_path, exc)


def restore(store_path: str, version: int, policy: str, *, detail: bool = False) -> Judged | None:
    """The persisted result of this store and policy (the grid's part, or with `detail` the whole),
    if it is not from the future (a rebuilt store restarts its versions: a newer one on file
    belongs to another store)."""
    path = persisted_path(store_path, detail=detail)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s: ignoring an unreadable persisted judgment (%s)", path, exc)
        return None
    ok = (
        isinstance(doc, dict)
        and doc.get("format") == FORMAT
        and doc.get("store") == os.path.abspath(store_path)
        and doc.get("policy") == policy
        and doc.get("timeline_days") == TIMELINE_DAYS
        and isinstance(doc.get("data_version"), int)
        and doc["data_version"] <= version
    )
    if not ok:
        return None
    when, took = float(doc["computed_at"]), float(doc["seconds"])
    return Judged(doc["fleet"], doc["data_version"], doc["policy"], when, took, restored=True, complete=detail)


class FleetJudge:
    """The background judge of one store (one per path and process: `shared_judge`)."""

    def __init__(self, store_path: str, *, watch: bool = True):
        self.path = store_path
        self._cond = threading.Condition()
        self._running: tuple[int, str] | None = None
        self._started: float | None = None
        self._failed: tuple[tuple[int, str], float, str] | None = None  # (key, when, message)
        self._result: Judged | None = None
        self._restoring = True
        self._detail_loading = False
        self._rejudge = False  # the restored result's detail is missing: judge its version again
        self._closed = False
        self._watching = watch
        threading.Thread(target=self._restore_then_watch, name="driftlight-judge-watch", daemon=True).start()

    # -- what the pages call ------------------------------------------------------------------
    def snapshot(self, *, start: bool = True) -> Snapshot:
        """The last result and the state of the judging; starts judging the store's current data
        version when it is neither judged nor being judged (unless `start` is False)."""
        wanted, mtime = self._wanted()
        with self._cond:
            if start:
                self._maybe_start(wanted, mtime)
            failed = self._failed[2] if self._failed and self._failed[0] == wanted else None
            return Snapshot(self._result, wanted, self._running, self._started, failed, self._restoring)

    def wait(self, timeout: float | None = None, *, any_result: bool = False) -> Snapshot:
        """Wait (at most `timeout` seconds) until the current data version is judged (with its
        detail) or failed; with `any_result`, until there is any result to show."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not any_result:
                self.want_detail()
            snap = self.snapshot()
            r = snap.result
            done = (r is not None) if any_result else (snap.current and r.complete)
            if done or snap.error or (not snap.restoring and snap.running is None and snap.wanted[0] == 0):
                return snap
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return snap
            with self._cond:
                self._cond.wait(min(POLL_S, left) if left is not None else POLL_S)

    def wait_restored(self, timeout: float = 30.0) -> Snapshot:
        """Wait (at most `timeout` seconds) until the persisted result has been read back: a file
        read, which a first visitor after a restart waits for rather than see a progress notice."""
        with self._cond:
            self._cond.wait_for(lambda: not self._restoring, timeout)
        return self.snapshot()

    def want_detail(self) -> None:
        """A page needs the whole result: read a restored result's detail back (in a thread)."""
        with self._cond:
            r = self._result
            if r is None or r.complete or self._detail_loading or self._rejudge:
                return
            self._detail_loading = True
        threading.Thread(target=self._load_detail, args=(r,), name="driftlight-judge-detail", daemon=True).start()

    def _load_detail(self, r: Judged) -> None:
        got = None
        try:
            got = restore(self.path, r.version, r.policy, detail=True)
        finally:
            with self._cond:
                self._detail_loading = False
                if self._result is r:
                    if got is not None and got.computed_at == r.computed_at:
                        self._result = got
                    else:
                        self._rejudge = True  # no matching detail on disk: judge that version again
                self._cond.notify_all()

    def close(self) -> None:
        """Stop the watcher (tests); a judgment under way still finishes."""
        self._closed = True

    # -- inside -----------------------------------------------------------------------------
    def _wanted(self) -> tuple[tuple[int, str], float]:
        try:
            mtime = os.stat(self.path + ".version").st_mtime
        except OSError:
            mtime = 0.0
        return (Store(self.path).data_version(), policy_key()), mtime

    def _maybe_start(self, wanted: tuple[int, str], mtime: float) -> None:
        r = self._result
        judged = r is not None and (r.version, r.policy) == wanted and (r.complete or not self._rejudge)
        if self._restoring or self._running is not None or judged:
            return
        if not Store(self.path).exists():
            return
        if self._failed and self._failed[0] == wanted and time.time() - self._failed[1] < RETRY_S:
            return
        if r is not None and time.time() - mtime < SETTLE_S:
            return  # an ingest just finished; maybe another follows: judge on the next look
        if r is not None and time.time() - r.computed_at < BUILD_REJUDGE_S and building(self.path):
            return  # the demo is being built: a group lands every few seconds; judge now and then
        self._running, self._started = wanted, time.time()
        threading.Thread(target=self._judge, args=(wanted,), name="driftlight-judge", daemon=True).start()

    def _judge(self, key: tuple[int, str]) -> None:
        t0 = time.monotonic()
        try:
            fleet = evaluate(Store(self.path, timeout=LOCK_TIMEOUT_S), timeline_days=TIMELINE_DAYS, detail=False)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the watcher retries later
            message = (str(exc).splitlines() or [type(exc).__name__])[0]
            log.warning("%s: judging the fleet failed: %s", self.path, message)
            with self._cond:
                self._failed = (key, time.time(), message)
                self._running = self._started = None
                self._cond.notify_all()
            return
        judged = Judged(fleet, key[0], key[1], time.time(), time.monotonic() - t0)
        with self._cond:
            self._result = judged
            self._running = self._started = None
            self._failed = None
            self._rejudge = False
            self._cond.notify_all()
        persist(self.path, judged)

    def _restore_then_watch(self) -> None:
        """Read back the persisted result's grid part, then watch."""
        try:
            if Store(self.path).exists():
                (version, policy), _ = self._wanted()
                got = restore(self.path, version, policy)
                with self._cond:
                    if got is not None and self._result is None:
                        self._result = got
        finally:
            with self._cond:
                self._restoring = False
                self._cond.notify_all()
        if self._watching:
            self._watch()

    def _watch(self) -> None:
        while not self._closed:
            time.sleep(POLL_S)
            try:
                self.snapshot()
            except Exception as exc:  # noqa: BLE001 - a watcher must not die of one bad look
                log.warning("%s: watching the store failed: %s", self.path, exc)


_SHARED: dict[str, FleetJudge] = {}
_SHARED_LOCK = threading.Lock()


def shared_judge(store_path: str) -> FleetJudge:
    """The process's one judge of this store, created on first use: by the server's start-up hook
    (serve.py) before any visitor, or else by the first page that needs it."""
    with _SHARED_LOCK:
        judge = _SHARED.get(store_path)
        if judge is None:
            judge = _SHARED[store_path] = FleetJudge(store_path)
        return judge


def forget_judges() -> None:
    """Forget the process's judges (their threads stop): what a server restart does, for tests."""
    with _SHARED_LOCK:
        for judge in _SHARED.values():
            judge.close()
        _SHARED.clear()
