"""The demo build's progress, kept beside the store in `<store>.demo.json` while it runs.

The build commits its models a group at a time and lets go of the store between groups, so the
app can show the fleet filling in (`make run` serves the page while the build runs): after each
group it records here how many of the planned models are in the store. The app reads it to say
"building the demo fleet: N of 200 models", and `make run` builds again when it finds the file
left by a build that did not finish (the models already written are kept: their files are
skipped as already ingested). The file is removed when the build ends well.

Not a table: writing it must not bump the store's data version (the app keys its caches on it).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Progress:
    models_done: int
    models: int
    started_at: float  # epoch seconds
    pid: int
    host: str

    @property
    def alive(self) -> bool:
        """False when the builder is known to be gone (same host, its process ended): the build
        was interrupted. Another host's builder (a container) cannot be checked: taken as alive."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's live process
            return True
        return True


def progress_path(db_path: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(db_path)}.demo.json")


def write_progress(db_path: str | os.PathLike, models_done: int, models: int, started_at: float) -> None:
    """Record the build's progress (a temporary file renamed over the old one: never half a file)."""
    path = progress_path(db_path)
    doc = {
        "models_done": models_done,
        "models": models,
        "started_at": started_at,
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)


def read_progress(db_path: str | os.PathLike) -> Progress | None:
    """The recorded progress, or None without one (or an unreadable one: shown as no build)."""
    try:
        doc = json.loads(progress_path(db_path).read_text(encoding="utf-8"))
        return Progress(
            int(doc["models_done"]), int(doc["models"]), float(doc["started_at"]), int(doc["pid"]), str(doc["host"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def building(db_path: str | os.PathLike) -> Progress | None:
    """The progress of a demo build running now into this store, or None."""
    got = read_progress(db_path)
    return got if got is not None and got.alive else None


def clear_progress(db_path: str | os.PathLike) -> None:
    progress_path(db_path).unlink(missing_ok=True)


def elapsed(progress: Progress) -> float:
    return max(0.0, time.time() - progress.started_at)
