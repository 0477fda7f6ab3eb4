"""Helpers for the real-browser tests: a Streamlit server on a free port, Debian's Chromium
driven by Python Playwright (STYLE.md recipe), and waiting for an app run to finish.

Also usable by hand to look at the app: `python tests/browser_support.py DB OUT_DIR` saves
screenshots of the main pages and prints load timings.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lib.reports.pdf import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(
    db_path: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    port: int | None = None,
    args: tuple[str, ...] = (),
    script: str = "serve.py",
) -> Iterator[str]:
    """Start `streamlit run serve.py` (app.py's pages behind the start-up hook, as `make run` and
    the container serve them) on a (free) port against a store; yields the base URL."""
    port = port or free_port()
    full_env = {**os.environ, "DRIFTLIGHT_DB": str(db_path), "DRIFTLIGHT_POLICY": "", **(env or {})}
    # The log stays open while the server runs and is closed when it stops.
    log = open(ARTIFACTS / f"streamlit-{port}.log", "w") if ARTIFACTS.is_dir() else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--server.headless=true",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
            *args,
        ],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("streamlit did not become healthy")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not subprocess.DEVNULL:
            log.close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (import this fixture into a browser test module)."""
    from playwright.sync_api import sync_playwright

    (ARTIFACTS / "browser").mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_for_app_run(page, timeout: float = 180_000) -> None:
    """Wait until the app is connected, the script has stopped running and nothing is loading
    (Streamlit's own e2e suite does the same before each assertion)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
        " && !document.querySelector('[data-testid=\"stSpinner\"]')",
        timeout=timeout,
    )
    # The stApp attribute can flip before the first run starts: require it to hold briefly.
    page.wait_for_timeout(150)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def shot(page, path) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside its main container, not the
    document, so grow the viewport to the content's height first."""
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(int(height) + 40, size["height"]), 6000)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def error_dialogs(page) -> list[str]:
    """Texts of exceptions or 'Page not found' dialogs on the page."""
    texts = []
    for sel in ("[data-testid='stException']", "[role='dialog']"):
        for el in page.query_selector_all(sel):
            texts.append(el.inner_text()[:300])
    return texts


GRIDS_JS = """() => [...document.querySelectorAll("[data-testid='stDataFrame'] table")].map(t => {
  const heads = {};
  t.querySelectorAll("thead th").forEach(th => { heads[th.getAttribute("aria-colindex")] = th.textContent.trim(); });
  return [...t.querySelectorAll("tbody tr")].map(tr => {
    const row = {};
    tr.querySelectorAll("td").forEach(td => { row[heads[td.getAttribute("aria-colindex")]] = td.textContent.trim(); });
    return row;
  }).concat([{"__headers__": Object.values(heads).join("|")}]);
})"""


def grid(page, column: str) -> list[dict[str, str]]:
    """Rows of the st.dataframe that has this column, read from the grid's accessible table (the
    canvas' twin; it holds the rows and columns in view, so the tests use a wide viewport)."""
    for _ in range(50):  # the grid draws its rows a moment after the script run ends
        found = []
        for rows in page.evaluate(GRIDS_JS):
            heads = rows.pop()["__headers__"].split("|")
            if column in heads:
                found.append(rows)
        if len(found) == 1 and found[0]:
            return found[0]
        page.wait_for_timeout(200)
    raise AssertionError(f"{len(found)} tables with a column {column!r}, or no rows")


def tour(db: str, out: str) -> None:  # pragma: no cover - manual use
    from playwright.sync_api import sync_playwright

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with streamlit_server(db) as base, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        for name, path in (
            ("fleet-cold", "/"),
            ("fleet", "/"),
            ("model-cold", "/model?model=icecream-sales"),
            ("model", "/model?model=icecream-sales"),
            ("model-quality", "/model?model=icecream-sales&tab=Data+quality"),
            ("model-perf", "/model?model=lead-score-b2b-us&tab=Performance"),
            ("model-timeline", "/model?model=churn-mobile-eu&tab=Timeline"),
            ("model-rows", "/model?model=icecream-sales&tab=Rows"),
            ("fleet-table", "/?view=Table"),
            ("alerts", "/alerts"),
            ("reports", "/reports?model=icecream-sales"),
        ):
            t = time.monotonic()
            page.goto(base + path)
            wait_for_app_run(page)
            print(f"{name}: {time.monotonic() - t:.2f} s", error_dialogs(page))
            shot(page, out_dir / f"{name}.png")
        browser.close()


if __name__ == "__main__":  # pragma: no cover
    tour(sys.argv[1], sys.argv[2])
