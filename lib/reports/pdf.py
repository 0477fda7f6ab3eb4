"""PDF from the HTML report: headless Chromium prints it to A4 with page numbers, offline.

Playwright drives Debian's /usr/bin/chromium (no `playwright install`), or the browser that
DRIFTLIGHT_CHROMIUM names. Printing loads nothing but the report (issue 12): every request other
than the report's own file, data: and about:blank is aborted (another file: URL too: a report
that names /etc/passwd cannot pull it in), and the browser's proxy is a closed local port, so a
request the route does not see (a WebSocket, a prefetch) cannot reach the network either. A missing Chromium (or Playwright) raises
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
# What printing may never reach: every host through a proxy on a closed port (the discard port),
# loopback included (Chromium bypasses the proxy for it unless told `<-loopback>`).
OFFLINE_ARGS = ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
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


def allowed(url: str, own: str) -> bool:
    """Whether printing the report at `own` (its file: URI) may load `url`."""
    return url == own or url.startswith("data:") or url == "about:blank"


def html_to_pdf(html_text: str, *, timeout_ms: int = 60_000, blocked: list[str] | None = None) -> bytes:
    """The report printed to PDF. `blocked` (if given) receives every URL the page asked for and
    did not get."""
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
            browser = pw.chromium.launch(
                executable_path=executable, args=[*CHROMIUM_ARGS, *OFFLINE_ARGS], headless=True
            )
            try:
                page = browser.new_page()
                own = src.as_uri()

                def gate(route) -> None:
                    if allowed(route.request.url, own):
                        route.continue_()
                    else:
                        if blocked is not None:
                            blocked.append(route.request.url)
                        route.abort()

                page.route("**/*", gate)
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
