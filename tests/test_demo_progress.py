"""The demo build served while it runs (issue 14, time to first screen): it lets go of the store
between groups of models and records how far it is beside the store (lib/demo/progress.py); the
app says so instead of a page, or above one, and a build that stopped before the end is named."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.demo import build, progress
from lib.errors import StoreBusy
from lib.store.connection import Store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    """A 5-model build in groups of 2, looking at the store each time the build records its progress."""
    path = tmp_path_factory.mktemp("progress") / "demo.duckdb"
    looks = []
    record = progress.write_progress

    def look(db, done, total, started):
        record(db, done, total, started)
        on_file = progress.read_progress(db)
        if not Store(db).exists():
            looks.append((done, total, on_file, None))
            return
        # Another reader takes the shared lock at once: the build holds nothing between groups.
        with Store(db, timeout=0.5).read() as con:
            models = con.execute("SELECT count(*) FROM models").fetchone()[0]
        looks.append((done, total, on_file, models))

    mp = pytest.MonkeyPatch()
    mp.setattr(build, "write_progress", look)
    try:
        summary = build.build_demo(path, models=5, days=2, group=2, workers=1)
    finally:
        mp.undo()
    return {"path": path, "looks": looks, "summary": summary}


def test_the_build_lets_go_of_the_store_after_each_group_and_records_how_far_it_is(seen):
    # groups of 2, 2 and 1 (build.group_sizes)
    assert [(d, t, m) for d, t, _, m in seen["looks"]] == [(0, 5, None), (2, 5, 2), (4, 5, 4), (5, 5, 5)]
    on_file = seen["looks"][2][2]
    assert (on_file.models_done, on_file.models, on_file.pid) == (4, 5, os.getpid())
    assert on_file.alive and progress.building(seen["path"]) is None  # removed at the end
    assert seen["summary"]["models"] == 5


def test_a_build_that_stopped_is_told_apart_from_one_running(tmp_path):
    db = tmp_path / "s.duckdb"
    progress.write_progress(db, 40, 200, time.time() - 30)
    assert progress.building(db).models_done == 40 and progress.read_progress(db).alive
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    doc = progress.progress_path(db).read_text().replace(f'"pid": {os.getpid()}', f'"pid": {int(gone.stdout)}')
    progress.progress_path(db).write_text(doc)
    left = progress.read_progress(db)
    assert progress.building(db) is None and (left.models_done, left.alive) == (40, False)
    progress.progress_path(db).write_text("{not json")
    assert progress.read_progress(db) is None  # unreadable: no build shown
    progress.clear_progress(db)
    assert not progress.progress_path(db).exists()


def _app(db, monkeypatch) -> AppTest:
    monkeypatch.setenv("DRIFTLIGHT_DB", str(db))
    monkeypatch.chdir(ROOT)
    st.cache_data.clear()
    return AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=60)


def test_the_page_says_the_demo_is_being_built_before_its_first_group_lands(tmp_path, monkeypatch):
    db = tmp_path / "new.duckdb"
    progress.write_progress(db, 0, 200, time.time() - 12)
    at = _app(db, monkeypatch).run()
    text = " ".join(i.value for i in at.info)
    assert "Building the demo fleet:" in text and "0 of 200 models in the store so far" in text
    assert "No Driftlight store yet" not in text and not at.exception


def test_a_store_held_by_the_builder_shows_its_progress_not_a_busy_warning(seen, monkeypatch):
    db = seen["path"]
    progress.write_progress(db, 60, 200, time.time())

    def held(*_a, **_k):
        raise StoreBusy("held by the demo builder")

    try:
        monkeypatch.setattr("lib.ui.frame.load_catalog", held)
        at = _app(db, monkeypatch).run()
        assert "60 of 200 models in the store so far" in " ".join(i.value for i in at.info)
        assert not at.warning and not at.exception
    finally:
        progress.clear_progress(db)


def test_a_page_over_a_store_still_being_built_says_so_and_one_that_stopped_says_how_to_finish(seen, monkeypatch):
    db = seen["path"]
    try:
        progress.write_progress(db, 4, 5, time.time())
        at = _app(db, monkeypatch).run()
        assert "The demo fleet is still being built:" in " ".join(i.value for i in at.info)
        assert not at.exception
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        doc = progress.progress_path(db).read_text().replace(f'"pid": {os.getpid()}', f'"pid": {int(gone.stdout)}')
        progress.progress_path(db).write_text(doc)
        at = _app(db, monkeypatch).run()
        assert "The demo build stopped" in " ".join(w.value for w in at.warning)
        assert any(c.value == f"python -m lib demo --db {db}" for c in at.code)  # whole: not under the cwd
    finally:
        progress.clear_progress(db)
