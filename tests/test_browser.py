"""Real-browser tests: Python Playwright driving Debian's Chromium against `streamlit run app.py`
on a small demo store (STYLE.md recipe). Screenshots go to test-artifacts/ (git-ignored).

Marked xdist_group("browser"): `pytest -n 2 --dist loadgroup` keeps them on one worker.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

# No skip: a missing browser must fail the suite, not hide the browser tests (`make test`
# installs Debian's chromium and requirements.txt installs playwright (PDF reports need it at run time)).
if not Path("/usr/bin/chromium").exists():  # pragma: no cover
    pytest.fail("Debian's chromium is not installed: run `make system-deps`", pytrace=False)

from lib.judge.evaluate import evaluate  # noqa: E402
from lib.store.connection import Store  # noqa: E402
from tests.browser_support import ARTIFACTS, browser, error_dialogs, shot, streamlit_server, wait_for_app_run  # noqa: E402,F401

pytestmark = pytest.mark.xdist_group("browser")
SHOTS = ARTIFACTS / "browser"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    from lib.demo.build import build_demo

    path = tmp_path_factory.mktemp("browser-demo") / "demo.duckdb"
    build_demo(path, models=24, days=10)
    return str(path)


@pytest.fixture(scope="module")
def judged(demo_db) -> dict:
    return evaluate(Store(demo_db))


@pytest.fixture(scope="module")
def server(demo_db):
    with streamlit_server(demo_db) as base:
        yield base


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def goto(page, url: str) -> float:
    start = time.monotonic()
    page.goto(url)
    wait_for_app_run(page, timeout=180_000)
    return time.monotonic() - start


def test_grid_matches_evaluate(page, server, judged):
    goto(page, server + "/")
    assert not error_dialogs(page)
    tiles = page.locator("[data-testid='dl-tile']")
    assert tiles.count() == len(judged["models"])
    shown = [(t.get_attribute("data-model"), t.get_attribute("data-status")) for t in tiles.all()]
    assert shown == [(m["model_id"], m["status"]) for m in judged["models"]]
    for status in ("red", "yellow", "grey", "green"):
        expected = sum(m["status"] == status for m in judged["models"])
        assert page.locator(f"[data-testid='dl-count-{status}']").inner_text() == str(expected)
    shot(page, SHOTS / "fleet.png")
    # warm reload (the fleet is cached on the store's data version)
    warm = goto(page, server + "/")
    print(f"fleet grid warm load: {warm:.2f} s")


def test_click_red_tile_opens_its_reasons(page, server, judged):
    goto(page, server + "/")
    red = page.locator("[data-testid='dl-tile'][data-status='red']").first
    model_id = red.get_attribute("data-model")
    red.click()
    page.wait_for_url(f"**/model?*model={model_id}*")
    wait_for_app_run(page, timeout=180_000)
    assert not error_dialogs(page)
    m = next(x for x in judged["models"] if x["model_id"] == model_id)
    reasons = page.locator("[data-testid='dl-reason']")
    assert reasons.count() == len(m["reasons"])
    assert m["reasons"][0]["message"] in reasons.first.inner_text()
    shot(page, SHOTS / "model-red.png")


def test_icecream_unseen_flavors(page, server, judged):
    load = goto(page, server + "/model?model=icecream-sales&tab=Data+quality")
    print(f"model page load (data quality tab): {load:.2f} s")
    assert not error_dialogs(page)
    m = next(x for x in judged["models"] if x["model_id"] == "icecream-sales")
    reason = next(r for r in m["reasons"] if r["check"] == "unseen_categories")
    text = page.locator("[data-testid='stMain']").inner_text()
    for flavor in ("strawberry", "cookie dough", "rum raisin", "rocky road"):
        assert flavor in text
    assert reason["message"] in text
    shot(page, SHOTS / "model-icecream-quality.png")
    for tab in ("Drift", "Performance", "Timeline", "Rows"):
        page.get_by_role("tab", name=tab).click()
        wait_for_app_run(page, timeout=180_000)
        assert not error_dialogs(page), tab
        shot(page, SHOTS / f"model-icecream-{tab.lower()}.png")
    assert "tab=Rows" in page.url


def test_filter_in_url_survives_reload(page, server, judged):
    goto(page, server + "/?team=retail")
    retail = [m["model_id"] for m in judged["models"] if m["team"] == "retail"]
    assert page.locator("[data-testid='dl-tile']").count() == len(retail)
    page.reload()
    wait_for_app_run(page, timeout=180_000)
    assert page.locator("[data-testid='dl-tile']").count() == len(retail)
    assert "team=retail" in page.url


def test_table_row_opens_the_model(page, server, judged):
    goto(page, server + "/?view=Table")
    assert not error_dialogs(page)
    table = page.locator("[data-testid='stDataFrame']")
    assert table.count() == 1
    shot(page, SHOTS / "fleet-table.png")
    box = table.bounding_box()
    # the grid is a canvas: click the selection cell of the second data row (35 px rows under a 35 px header)
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 35 + 17)
    second = judged["models"][1]["model_id"]
    page.wait_for_url(f"**/model?*model={second}*", timeout=60_000)
    wait_for_app_run(page)
    assert not error_dialogs(page)
    assert second in page.locator("[data-testid='stMain']").inner_text()


def test_cold_deep_link_renders_through_app_py(browser, demo_db):
    """A fresh server whose very first request is a deep link to a model page."""
    with streamlit_server(demo_db) as base:
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = context.new_page()
        try:
            load = goto(page, base + "/model?model=icecream-sales")
            print(f"cold deep link: {load:.2f} s")
            assert not error_dialogs(page)
            assert "Page not found" not in page.content()
            # the frame ran: app.py's sidebar (as-of picker, filters) is there
            assert page.get_by_text("As of (UTC)").count() >= 1
            main = page.locator("[data-testid='stMain']").inner_text()
            assert "icecream-sales" in main and "flavor" in main
            assert "model=icecream-sales" in page.url
            shot(page, SHOTS / "cold-deep-link.png")
        finally:
            context.close()
