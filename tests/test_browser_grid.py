"""The fleet grid in Chromium (issue 11): the server judges the fleet as it starts, before any
visitor; a page left open picks up a new data version judged in the background, without a click
(the page's fragment polls the server's background judge), with its new age and counts. Paging and filters are tested in tests/test_app_grid.py. One server and
one browser for the module."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from lib.ingest.pipeline import register_spec
from lib.judge.evaluate import evaluate
from lib.store.connection import Store
from lib.ui.judged import persisted_path
from tests.browser_support import browser, streamlit_server, wait_for_app_run  # noqa: F401
from tests.fixtures import spec_dict


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("browser-grid") / "demo.duckdb"
    build_demo(path, models=24, days=10)
    return str(path)


@pytest.fixture(scope="module")
def server(demo_db):
    with streamlit_server(demo_db) as base:
        yield base


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def judged_line(page) -> str:
    return page.locator("[data-testid='dl-judged']").inner_text()


def test_open_page_picks_up_a_new_data_version(page, server, demo_db):
    page.goto(server + "/")
    wait_for_app_run(page)
    before = Store(demo_db).data_version()
    assert page.locator("[data-testid='dl-tile']").count() == 24
    assert f"at data version {before}" in judged_line(page)
    # a new model registered while the page is open (a write: a new data version)
    register_spec(Store(demo_db), spec_dict("zz-browser-new", team="newteam"))
    after = Store(demo_db).data_version()
    assert after > before
    # no click: within the watch interval the page shows the new judgment, with its new age
    page.wait_for_function(
        "(v) => { const e = document.querySelector(\"[data-testid='dl-judged']\");"
        " return e && e.innerText.includes('at data version ' + v) && e.dataset.current === 'true'; }",
        arg=str(after),
        timeout=150_000,
    )
    page.wait_for_selector("[data-testid='dl-tile'][data-model='zz-browser-new']", timeout=60_000)
    assert page.locator("[data-testid='dl-tile']").count() == 25
    assert re.match(r"Judged (just now|\d+ s ago) at data version", judged_line(page))
    counts = {s: int(page.locator(f"[data-testid='dl-count-{s}']").inner_text()) for s in ("red", "grey")}
    want = evaluate(Store(demo_db))["models"]
    assert counts == {s: sum(m["status"] == s for m in want) for s in ("red", "grey")}


def test_server_judges_the_fleet_at_start_before_any_visitor(page, demo_db, tmp_path):
    """serve.py's start-up hook: a store never judged is judged (and the result persisted) while
    no browser is connected; the first visitor then sees the current judgment at once."""
    db = str(tmp_path / "fresh.duckdb")
    shutil.copyfile(demo_db, db)
    shutil.copyfile(demo_db + ".version", db + ".version")
    assert not persisted_path(db).exists()
    n_models = len(evaluate(Store(db))["models"])  # 24, or 25 after the test above
    with streamlit_server(db) as base:
        deadline = time.monotonic() + 150
        while not persisted_path(db).is_file() and time.monotonic() < deadline:
            time.sleep(0.5)
        doc = json.loads(persisted_path(db).read_text())  # no visitor yet: the hook judged it
        assert doc["data_version"] == Store(db).data_version()
        assert len(doc["fleet"]["models"]) == n_models
        page.goto(base + "/")
        wait_for_app_run(page)
        assert page.locator("[data-testid='dl-judged']").get_attribute("data-current") == "true"
        assert page.locator("[data-testid='dl-tile']").count() == n_models
