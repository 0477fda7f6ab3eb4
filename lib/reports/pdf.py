"""PDF from the HTML report: headless Chromium prints it to A4 with page numbers, offline.

Playwright drives Debian's /usr/bin/chromium (no `playwright install`), or the browser that
DRIFTLIGHT_CHROMIUM names. Every request other than the report itself (file:, data:, about:) is
aborted, so printing never reaches the network. A missing Chromium (or Playwright) raises
MissingDependency with the command that installs it (`make run` installs Chromium when it can).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lib.errors import MissingDependency

CHROMIUM_ENV = "DRIFTLIGHT_CHROMIUM"
CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "sudo apt-get install chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#6b7280">'
    'Driftlight report · page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
)


def chromium_path() -> str:
    """The Chromium executable PDF printing uses; MissingDependency if it is not there."""
    path = os.environ.get(CHROMIUM_ENV) or CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        where = f"{CHROMIUM_ENV}={path}" if os.environ.get(CHROMIUM_ENV) else path
        raise MissingDependency(
            f"PDF needs Chromium, not found at {where}: install it with `{INSTALL_HINT}` "
            f"(or set {CHROMIUM_ENV} to a Chromium executable)"
        )
    return path


def html_to_pdf(html_text: str, *, timeout_ms: int = 60_000) -> bytes:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise MissingDependency(
            "PDF needs the playwright package: install the runtime requirements with "
            "`.venv/bin/pip install -r requirements.txt`"
        ) from None

    with tempfile.TemporaryDirectory(prefix="driftlight-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html_text, encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page()
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_()
                        if route.request.url.startswith(("file:", "data:", "about:"))
                        else route.abort()
                    ),
                )
                page.goto(src.as_uri(), wait_until="load", timeout=timeout_ms)
                # every Plotly div drawn (plotly.js renders on load; wait for its SVGs)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))",
                    timeout=timeout_ms,
                )
                page.emulate_media(media="print")
                return page.pdf(
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template="<div></div>",
                    footer_template=FOOTER,
                    margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                )
            finally:
                browser.close()
