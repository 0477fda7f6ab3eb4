"""Reports (issue 5) on a small fleet whose names and values are HTML / CSV attacks."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import report_fixtures as rf
from lib.evaluate import evaluate
from lib.reports import Filters, numeric_bin_labels, render_report

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return rf.build(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def html_report(store, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "hostile-red.html"
    path.write_bytes(render_report(store, "html", model_id="hostile-red"))
    return path


def test_json_is_the_evaluate_shape(store):
    out = json.loads(render_report(store, "json", model_id="hostile-red"))
    ref = evaluate(store, model_ids=["hostile-red"], timeline_days=30)
    assert out["as_of"] == ref["as_of"] == "2026-11-10T00:00:00+00:00"
    assert out["models"] == ref["models"]
    m = out["models"][0]
    assert m["status"] == "red" and m["name"] == rf.HOSTILE_NAME and len(m["timeline"]) == 30
    assert [(r["check"], r["status"]) for r in m["reasons"]] == [("unseen_categories", "red"), ("feature_drift", "yellow")]
    assert m["reasons"][0]["value"] == pytest.approx(0.30, abs=1e-9)
    assert out["report"]["kind"] == "model" and out["report"]["data_version"] == store.data_version()
    dist = out["report"]["distributions"]["hostile-red"][rf.HOSTILE_FEATURE]
    assert sum(dist["reference"]) == pytest.approx(1.0) and dist["n_reference"] == 2000
    assert set(rf.HOSTILE_VALUES) <= set(dist["bins"])

    fleet = json.loads(render_report(store, "json", filters=Filters(statuses=("red", "yellow"))))
    assert [m["model_id"] for m in fleet["models"]] == ["hostile-red", "quiet-yellow"]
    assert fleet["report"]["filters"]["statuses"] == ["red", "yellow"]


def test_csv_numbers_and_neutralized_cells(store):
    text = render_report(store, "csv", model_id="hostile-red").decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    reason = [r for r in rows if r["section"] == "reason"][0]
    assert reason["check"] == "unseen_categories" and float(reason["value"]) == pytest.approx(0.3)
    assert reason["feature"] == rf.HOSTILE_FEATURE
    unseen = {r["message"] for r in rows if r["section"] == "unseen_value"}
    assert "'=HYPERLINK(\"http://evil.example/\")" in unseen and "'+cmd|calc" in unseen and "'@SUM(1)" in unseen
    for r in rows:
        for cell in r.values():
            if cell and cell[0] in "=+-@\t\r":
                float(cell)    # only numbers may start with a sign
    assert len([r for r in rows if r["section"] == "timeline"]) == 30


def test_html_escapes_every_name(html_report):
    text = html_report.read_text()
    for raw in (rf.HOSTILE_NAME, rf.HOSTILE_FEATURE, *rf.HOSTILE_VALUES):
        assert raw not in text or not raw.startswith("<"), raw
    assert "<img src=x" not in text and '<script>alert(' not in text
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; Co" in text
    assert text.count("<script type=\"text/javascript\">/**") <= 1   # plotly.js inline once


def test_html_opens_offline_in_chromium(html_report):
    from playwright.sync_api import sync_playwright
    failed, dialogs, external = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(html_report.as_uri(), wait_until="load")
        page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                               ".every(d => d.querySelector('.main-svg'))", timeout=30000)
        body = page.inner_text("body")
        n_plots = page.locator(".plotly-graph-div .main-svg").count()
        injected = page.evaluate("() => document.querySelectorAll('img[src=x]').length + [...document.scripts]"
                                 ".filter(s => s.text.includes('alert(\\\"name') || s.text.startsWith('alert')).length")
        ticks = page.evaluate("() => [...document.querySelectorAll('.xtick text')].map(t => t.textContent)")
        browser.close()
    assert failed == [] and external == [] and dialogs == []
    assert injected == 0 and n_plots >= 2
    assert rf.HOSTILE_NAME in body and rf.HOSTILE_VALUES[0] in body    # shown as text, literally
    assert any(t.startswith("<script>alert") for t in ticks)          # chart labels too
    assert "Policy in force" in body and "unseen_categories" in body and "Status over the last 30 days" in body


def test_pdf_a4_with_page_numbers(store, tmp_path):
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_report(store, "pdf", model_id="hostile-red"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "(A4)" in info
    pages = int([line for line in info.splitlines() if line.startswith("Pages:")][0].split()[1])
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert rf.HOSTILE_NAME in text.replace("\n", " ") or '<script>alert("name")</script>' in text
    assert f"page 1 of {pages}" in text and "Reasons" in text and "unseen_categories" in text
    assert "=HYPERLINK(\"http://evil.example/\")" in text and "Policy in force" in text
    assert "As of 2026-11-10T00:00:00+00:00" in text


def test_cli_report(store, tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "lib", "report", "--db", store.path, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    out = tmp_path / "fleet.html"
    p = run("--fleet", "--format", "html", "--out", str(out))
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert "Fleet report" in text and "quiet-yellow" in text and "<img src=x" not in text
    p = run("--model", "nope", "--format", "json", "--out", str(tmp_path / "x.json"))
    assert p.returncode == 2 and "nope" in p.stderr
    p = run("--model", "calm-green", "--fleet", "--format", "json", "--out", "-")
    assert p.returncode == 2
    p = run("--fleet", "--status", "yellow", "--format", "csv", "--out", "-")
    assert p.returncode == 0 and {r["model_id"] for r in csv.DictReader(io.StringIO(p.stdout))} == {"quiet-yellow"}


def test_numeric_bin_labels():
    assert numeric_bin_labels([1.0, 2.5], 3) == ["< 1", "[1, 2.5)", "≥ 2.5"]
    assert numeric_bin_labels([], 1) == ["all"]


def test_reports_page_builds_a_download(store, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("DRIFTLIGHT_DB", store.path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/reports.py").run()
    assert not at.exception
    at.button(key="rep_fleet_build_json").click().run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download JSON"]
