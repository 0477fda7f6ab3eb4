"""Hostile names and values through every face (issue 12): a model whose name, owner, team, tags,
feature names and category values are script, attribute-breakout, javascript: URL, markdown,
spreadsheet-formula, SQL-quote, path-traversal and 10 kB strings. One Streamlit server, one
Chromium (tests/browser_support.py). On every page no injected script runs (a `window.__pwned`
trap in every frame, no dialog), no element carries an inline event handler or a javascript:
link, and the values show as text. Reports (HTML, CSV, JSON) and the webhook payload too."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser_support import ROOT, browser, streamlit_server, wait_for_app_run  # noqa: F401

sys.path.insert(0, str(ROOT / "bench"))
import faults  # noqa: E402  (bench/faults.py: the local retrain hook)

from lib.ingest.pipeline import ingest_file, register_spec  # noqa: E402
from lib.store.connection import Store  # noqa: E402

TIMEOUT = 240_000
MODEL = "evil..x_-y"  # within ^[a-z0-9][a-z0-9._-]{0,63}$: dots and dashes, no slash
TRAP = "window.__pwned"
NAME = f"<script>{TRAP}=1</script>{'N' * 10_000}"
OWNER = f'" onmouseover="{TRAP}=2" x="'
TEAM = f"javascript:{TRAP}=3"
TAGS = [
    f'<img src=x onerror="{TRAP}=4">',
    f"[click](javascript:{TRAP}=5)",
    "=cmd|' /C calc'!A0",
    "'; DROP TABLE models; --",
]
FEATURE = f"<svg onload={TRAP}=6>"
FEATURE2 = f"**bold** [l](javascript:{TRAP}=7) ../../etc/passwd"
VALUES = [
    f"<script>{TRAP}=8</script>",
    f'"><img src=x onerror={TRAP}=9>',
    '=HYPERLINK("http://evil.example/")',
    "+cmd|calc",
    "-2+3",
    "@SUM(1)",
    "../../etc/passwd",
    "'; DROP TABLE models; --",
]
AS_OF = pd.Timestamp("2026-11-10T00:00:00Z")
INIT = """
(() => {
  const hits = [];
  Object.defineProperty(window, '__pwned', {configurable: false, get() { return undefined; },
                                            set(v) { hits.push(String(v)); }});
  window.__hits = hits;
})();
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile model and a calm neighbour, judged red; one `alert` run against a local hook."""
    d = tmp_path_factory.mktemp("hostile")
    hook = faults.Hook()
    store = Store(d / "hostile.duckdb")
    spec = {
        "model_id": MODEL,
        "name": NAME,
        "task": "regression",
        "owner": OWNER,
        "team": TEAM,
        "tags": TAGS + ["T" * 10_000],
        "columns": {"timestamp": "ts", "prediction": "prediction"},
        "features": {FEATURE: "categorical", FEATURE2: "numeric"},
        "actions": {"retrain_url": hook.url + "/retrain"},
    }
    register_spec(store, spec)
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({FEATURE: rng.choice(["a", "b"], 400), FEATURE2: rng.normal(0, 1, 400)})
    ref["prediction"] = ref[FEATURE2] * 2
    ref["label"] = ref["prediction"] + rng.normal(0, 1, 400)
    ref.to_csv(d / "ref.csv", index=False)
    assert ingest_file(store, "reference", MODEL, d / "ref.csv").status == "ingested"
    ts = pd.date_range(AS_OF - pd.Timedelta(days=3), AS_OF, freq="5min", inclusive="right")
    cur = pd.DataFrame({"ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), FEATURE: rng.choice(["a", "b"], len(ts))})
    cur[FEATURE2] = rng.normal(3, 1, len(ts))  # drifted: red
    cur["prediction"] = cur[FEATURE2] * 2
    last = np.flatnonzero(np.asarray(ts > AS_OF - pd.Timedelta(days=1)))
    cur.loc[last[::2], FEATURE] = [VALUES[i % len(VALUES)] for i in range(len(last[::2]))]
    path = d / "..%2f..%2fetc%2fpasswd.csv"  # a hostile file name: it is stored as a name only
    cur.to_csv(path, index=False)
    outcome = ingest_file(store, "inference", MODEL, path)
    assert outcome.status == "ingested", outcome
    secrets = d / "secrets.toml"
    secrets.write_text("[actions]\nbackoff_s = 0.01\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLIGHT_SECRETS": str(secrets), "DRIFTLIGHT_POLICY": ""}
    run = subprocess.run(
        [sys.executable, "-m", "lib", "alert", "--db", store.path], cwd=ROOT, env=env, capture_output=True, text=True
    )
    yield {"store": store, "dir": d, "hook": hook, "alert": run, "env": env}
    hook.close()


@pytest.fixture(scope="module")
def server(hostile):
    with streamlit_server(
        hostile["store"].path, env={"DRIFTLIGHT_SECRETS": str(hostile["dir"] / "secrets.toml")}
    ) as base:
        yield base


def inert(page) -> dict:
    """What ran or broke out, over every frame of the page."""
    found = {"trap": [], "handlers": [], "js_links": [], "scripts": []}
    for frame in page.frames:
        try:
            state = frame.evaluate(
                """() => ({
                trap: window.__hits ? [...window.__hits] : [],
                handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
                    .filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name + '=' + a.value.slice(0, 60))),
                js_links: [...document.querySelectorAll('[href],[src],[action],[formaction]')].map(
                    e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action') || '')
                    .filter(u => /^\\s*javascript:/i.test(u)),
                // an injected <script> element (payloads inside a figure's JSON are data)
                scripts: [...document.querySelectorAll('script')].map(s => s.textContent.trim())
                    .filter(t => /^window\\.__pwned=\\d+$/.test(t)),
            })"""
            )
        except Exception as exc:  # a frame that navigated away meanwhile: nothing left to run
            if "detached" in str(exc) or "destroyed" in str(exc):
                continue
            raise
        for key in found:
            found[key] += state[key]
    return found


def visit(browser, url: str, *, hover: bool = False) -> tuple[str, dict, list]:
    context = browser.new_context(viewport={"width": 1800, "height": 1200})
    context.add_init_script(INIT)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(url)
        wait_for_app_run(page, timeout=TIMEOUT)
        if hover:  # chart hover text: move over every plot
            for plot in page.locator(".js-plotly-plot").all():
                plot.scroll_into_view_if_needed()
                box = plot.bounding_box()
                if box:
                    for fx in (0.3, 0.5, 0.7):
                        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] / 2)
                        page.wait_for_timeout(100)
        text = page.inner_text("body")
        return text, inert(page), dialogs
    finally:
        context.close()


def assert_inert(found: dict, dialogs: list) -> None:
    assert found == {"trap": [], "handlers": [], "js_links": [], "scripts": []}, found
    assert dialogs == []


def test_the_alert_run_sent_the_hostile_values_as_data(hostile):
    assert hostile["alert"].returncode == 0, hostile["alert"].stdout + hostile["alert"].stderr
    posts = [r for r in hostile["hook"].requests if r["path"] == "/retrain"]
    assert len(posts) == 1
    payload = json.loads(posts[0]["body"])
    assert payload["model"]["model_id"] == MODEL and payload["model"]["name"] == NAME


def test_grid_page_is_inert(browser, server):
    text, found, dialogs = visit(browser, server + "/")
    assert_inert(found, dialogs)
    assert MODEL in text


def test_model_page_is_inert_and_shows_the_values_as_text(browser, server):
    text, found, dialogs = visit(browser, f"{server}/model?model={MODEL}", hover=True)
    assert_inert(found, dialogs)
    assert f"<script>{TRAP}=1</script>" in text  # the name, as text
    assert FEATURE in text


@pytest.mark.parametrize("path", ["/alerts", f"/reports?model={MODEL}"])
def test_alerts_and_reports_pages_are_inert(browser, server, path):
    text, found, dialogs = visit(browser, server + path)
    assert_inert(found, dialogs)
    assert "Traceback" not in text


def test_reports_are_inert_and_formula_safe(browser, hostile, tmp_path):
    store = hostile["store"]
    out = {}
    for fmt in ("html", "csv", "json"):
        path = tmp_path / f"report.{fmt}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "lib",
                "report",
                "--db",
                store.path,
                "--model",
                MODEL,
                "--format",
                fmt,
                "--out",
                str(path),
            ],
            cwd=ROOT,
            env=hostile["env"],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        out[fmt] = path
    doc = json.loads(out["json"].read_text())
    assert NAME in json.dumps(doc, ensure_ascii=False)
    cells = [c for row in csv.reader(io.StringIO(out["csv"].read_text())) for c in row]
    assert any(c.startswith("'=HYPERLINK(") for c in cells) or any(c.startswith("'<svg") or FEATURE in c for c in cells)
    risky = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert risky == []
    context = browser.new_context()
    context.add_init_script(INIT)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(Path(out["html"]).as_uri())
        page.wait_for_load_state("load")
        assert_inert(inert(page), dialogs)
        assert f"<script>{TRAP}=1</script>" in page.inner_text("body")
    finally:
        context.close()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_the_trap_catches_a_live_payload(browser):
    """The checks above can fail: a page that does run the payloads is caught by each of them."""
    context = browser.new_context()
    context.add_init_script(INIT)
    page = context.new_page()
    try:
        page.set_content(
            f'<img src="data:," onerror="{TRAP}=1"><a href="javascript:{TRAP}=2">x</a><script>{TRAP}=3</script>'
        )
        page.wait_for_timeout(200)
        found = inert(page)
        assert found["trap"] == ["1", "3"] or sorted(found["trap"]) == ["1", "3"], found
        assert found["handlers"] and found["js_links"] == [f"javascript:{TRAP}=2"] and found["scripts"]
    finally:
        context.close()


# -- PDF (issue 12): no script, launch or file/javascript link; the values as text; offline ---------
def pdf_findings(path: Path) -> list[str]:
    """Every script, launch, auto-action or javascript:/file: link reachable from the PDF's trailer."""
    import pypdf
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack = [pypdf.PdfReader(str(path)).trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            if (obj.idnum, obj.generation) in seen:
                continue
            seen.add((obj.idnum, obj.generation))
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            for key in ("/JavaScript", "/JS", "/Launch", "/AA", "/OpenAction", "/EmbeddedFile", "/SubmitForm"):
                if key in obj:
                    found.append(key)
            if obj.get("/S") in ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToR"):
                found.append(f"/S {obj['/S']}")
            uri = obj.get("/URI")
            if uri is not None and not str(uri.get_object()).lower().startswith(("http://", "https://", "mailto:")):
                found.append(f"/URI {str(uri.get_object())[:80]}")
            stack.extend(v for k, v in obj.items() if k != "/Parent")
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return found


def test_the_pdf_report_runs_nothing_and_shows_the_values_as_text(hostile, tmp_path):
    pdf = tmp_path / "report.pdf"
    argv = ["report", "--db", hostile["store"].path, "--model", MODEL, "--format", "pdf", "--out", str(pdf)]
    proc = subprocess.run(
        [sys.executable, "-m", "lib", *argv], cwd=ROOT, env=hostile["env"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pdf_findings(pdf) == []
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())  # long strings wrap across lines
    for value in (f"<script>{TRAP}=1</script>", MODEL, FEATURE, VALUES[0]):
        assert "".join(value.split()) in flat, value
    # the HTML that feeds the PDF asks for nothing but itself (plotly.js is inline)
    from lib.reports.build import render_report
    from lib.reports.pdf import html_to_pdf

    blocked: list[str] = []
    in_a_thread(html_to_pdf, render_report(hostile["store"], "html", model_id=MODEL).decode("utf-8"), blocked=blocked)
    assert blocked == []


def in_a_thread(fn, *args, **kwargs):
    """Call fn in a thread of its own: the module's browser (Playwright's sync API) runs an asyncio
    loop in this one, and html_to_pdf starts a sync Playwright of its own."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def test_the_pdf_check_finds_a_script_and_a_javascript_link(tmp_path):
    """pdf_findings can fail: a PDF with an open-action script and a javascript: link is caught."""
    import pypdf
    from pypdf.annotations import Link
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1);")}
    )
    link = Link(rect=(10, 10, 100, 30), url="javascript:alert(2)")
    writer.add_annotation(0, link)
    path = tmp_path / "evil.pdf"
    with open(path, "wb") as f:
        writer.write(f)
    found = pdf_findings(path)
    assert {"/OpenAction", "/JS", "/S /JavaScript", "/URI javascript:alert(2)"} <= set(found), found


def test_printing_loads_nothing_but_the_report(tmp_path):
    """An HTML report that names another file, a local server (stylesheet, image, frame, fetch,
    WebSocket) prints with none of them: every request is blocked and recorded, none arrives."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from lib.reports.pdf import html_to_pdf

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"HTTP-CANARY")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    canary = tmp_path / "canary.txt"
    canary.write_text("FILE-CANARY-42")
    html = (
        f'<html><head><link rel="stylesheet" href="{url}/css"></head><body><p>report body</p>'
        f'<iframe src="{canary.as_uri()}"></iframe><img src="{url}/img"><iframe src="{url}/frame"></iframe>'
        f'<script>fetch("{url}/fetch").catch(() => 0); try {{ new WebSocket("ws{url[4:]}/ws") }} catch (e) {{}}</script>'
        "</body></html>"
    )
    blocked: list[str] = []
    try:
        pdf = tmp_path / "r.pdf"
        pdf.write_bytes(in_a_thread(html_to_pdf, html, blocked=blocked))
    finally:
        server.shutdown()
        server.server_close()
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "report body" in text and "FILE-CANARY" not in text and "HTTP-CANARY" not in text
    assert hits == []  # not even the WebSocket, which the route does not see (the closed proxy does)
    assert {f"{url}/css", f"{url}/img", f"{url}/frame", f"{url}/fetch", canary.as_uri()} <= set(blocked)
