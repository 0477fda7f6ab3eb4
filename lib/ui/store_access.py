"""How the app opens the store: its path and lock timeout, and the notices shown instead of a
traceback when the store is busy, missing or empty."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from lib.demo.progress import Progress, building, elapsed
from lib.errors import StoreBusy, StoreError, StoreMissing
from lib.store.connection import Store, default_db_path

LOCK_TIMEOUT_ENV = "DRIFTLIGHT_LOCK_TIMEOUT"
DEMO_COMMAND = "python -m lib demo --db {path}"
FOLLOW_BUILD_S = 3  # how often a page waiting for the demo build looks at its progress


def db_path() -> str:
    return os.path.abspath(default_db_path())


def lock_timeout() -> float:
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "10"))
    except ValueError:
        return 10.0


def store() -> Store:
    return Store(db_path(), timeout=lock_timeout())


def _store(path: str) -> Store:
    return Store(path, timeout=lock_timeout())


@contextmanager
def guarded() -> Iterator[None]:
    """Turn StoreBusy / StoreMissing / StoreError into a readable notice and stop the page (no traceback)."""
    try:
        yield
    except StoreBusy:
        build = building(db_path())
        if build is not None:  # the demo builder holds the store for a group of models at a time
            building_notice(build)
            st.stop()
        st.warning(
            "**The store is busy.** Another process (an ingest, or the demo builder) is writing to it. "
            "This page will show the data as soon as the write finishes — reload in a moment.",
            icon="⏳",
        )
        st.button("Try again", key="dl_retry_busy")
        st.stop()
    except StoreMissing:
        missing_notice()
        st.stop()
    except StoreError as exc:  # corrupt, truncated, newer schema, no permission, no space (issue 12)
        st.error(
            f"**The store cannot be used.** {exc}\n\nRestore it from a backup, or point the app at another "
            "store with the `DRIFTLIGHT_DB` environment variable.",
            icon="🛑",
        )
        st.stop()


def _shown(path: str) -> str:
    """The store's path as a command to type here: relative under the working folder, else whole."""
    return os.path.relpath(path) if path.startswith(os.getcwd()) else path


def missing_notice() -> None:
    path = db_path()
    st.info(f"**No Driftlight store yet** at `{path}`.\n\nBuild the demo fleet (200 models, 30 days) with:", icon="🗄️")
    st.code(DEMO_COMMAND.format(path=_shown(path)), language="bash")
    st.caption("Or point the app at another store with the `DRIFTLIGHT_DB` environment variable.")
    _follow_build(None)  # a build started meanwhile (make run starts one with the app): show it


def empty_notice() -> None:
    st.info("**The store has no inference data yet.** Register a model and ingest its files:", icon="📭")
    st.code(
        "python -m lib register SPEC.yaml\n"
        "python -m lib ingest reference --model ID reference.parquet\n"
        "python -m lib ingest inference --model ID inference.parquet\n"
        f"# or build the demo fleet:\n{DEMO_COMMAND.format(path=db_path())}",
        language="bash",
    )


def building_notice(build: Progress) -> None:
    """Instead of a page, while the demo builder has written nothing to show yet (or holds the
    store): how far it is, looked at every few seconds; the page comes back by itself."""
    _follow_build(build.models_done)


@st.fragment(run_every=FOLLOW_BUILD_S)
def _follow_build(shown: int | None) -> None:
    now = building(db_path())
    if (now.models_done if now else None) != shown:
        st.rerun()  # a build started, more models landed, or it ended: draw the page again
    if now is not None:
        st.info(
            f"**Building the demo fleet:** {now.models_done:,} of {now.models:,} models in the store "
            f"so far (started {int(elapsed(now))} s ago). The models appear as they land, a group at "
            "a time; this page refreshes by itself.",
            icon=":material/hourglass_top:",
        )
        st.progress(min(1.0, now.models_done / max(now.models, 1)))


def building_banner(build: Progress) -> None:
    """Above a page drawn from a store the demo builder is still filling."""
    st.info(
        f"**The demo fleet is still being built:** {build.models_done:,} of {build.models:,} models "
        "are in the store so far. The fleet page adds the new ones as they are judged.",
        icon=":material/hourglass_top:",
    )


def interrupted_banner(left: Progress) -> None:
    """Above a page drawn from a store whose demo build stopped before the end."""
    st.warning(
        f"**The demo build stopped** after {left.models_done:,} of {left.models:,} models. "
        "`make run` (or the command below) finishes it; the models already in are kept.",
        icon=":material/warning:",
    )
    st.code(DEMO_COMMAND.format(path=_shown(db_path())), language="bash")
