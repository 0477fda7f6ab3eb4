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

from lib.judge.evaluate import evaluate
from lib.metrics import numeric_bin_labels
from lib.reports.build import render_report
from lib.reports.data import Filters
from lib.reports.pdf import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent


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
    assert [(r["check"], r["status"]) for r in m["reasons"]] == [
        ("unseen_categories", "red"),
        ("feature_drift", "yellow"),
    ]
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
    assert '\'=HYPERLINK("http://evil.example/")' in unseen and "'+cmd|calc" in unseen and "'@SUM(1)" in unseen
    for r in rows:
        for cell in r.values():
            if cell and cell[0] in "=+-@\t\r":
                float(cell)  # only numbers may start with a sign
    assert len([r for r in rows if r["section"] == "timeline"]) == 30


def test_html_escapes_every_name(html_report):
    text = html_report.read_text()
    for raw in (rf.HOSTILE_NAME, rf.HOSTILE_FEATURE, *rf.HOSTILE_VALUES):
        assert raw not in text or not raw.startswith("<"), raw
    assert "<img src=x" not in text and "<script>alert(" not in text
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; Co" in text
    assert text.count("window.PlotlyConfig") == 1  # plotly.js inline once


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
        page.wait_for_function(
            "() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))",
            timeout=30000,
        )
        body = page.inner_text("body")
        n_plots = page.locator(".plotly-graph-div .main-svg").count()
        injected = page.evaluate(
            "() => document.querySelectorAll('img[src=x]').length + [...document.scripts]"
            ".filter(s => s.text.includes('alert(\\\"name') || s.text.startsWith('alert')).length"
        )
        ticks = page.evaluate("() => [...document.querySelectorAll('.xtick text')].map(t => t.textContent)")
        browser.close()
    assert failed == [] and external == [] and dialogs == []
    assert injected == 0 and n_plots >= 2
    assert rf.HOSTILE_NAME in body and rf.HOSTILE_VALUES[0] in body  # shown as text, literally
    assert any(t.startswith("<script>alert") for t in ticks)  # chart labels too
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
    assert "Performance over time" in text and "No labels received yet" in text
    assert '=HYPERLINK("http://evil.example/")' in text and "Policy in force" in text
    assert "As of 2026-11-10T00:00:00+00:00" in text


def test_cli_report(store, tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "lib", "report", "--db", store.path, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

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


# -- performance over time ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return rf.build_labelled(tmp_path_factory.mktemp("labelled"))


def _series(store, model_id):
    from lib.reports.data import report_data

    data = report_data(store, model_id=model_id)
    return data["models"][0], data["performance_over_time"][model_id]


def test_performance_per_day_equals_sklearn_on_raw_rows(labelled):
    from sklearn.metrics import roc_auc_score, root_mean_squared_error

    store, truth = labelled
    m, s = _series(store, "scored-lead")
    assert s["metric"] == "roc_auc" and len(s["days"]) == 30 and s["days"][-1]["date"] == "2026-11-09"
    rows = truth["scored-lead"].assign(day=lambda f: rf.label_day(f["ts"]))
    checked = 0
    for d in s["days"]:
        day = rows[rows["day"] == d["date"]]
        assert d["n_labeled"] == len(day), d
        if len(day):
            assert d["value"] == pytest.approx(roc_auc_score(day["label"] == "1", day["score"]), abs=1e-12), d
            checked += 1
    assert checked == 10  # 12 days of logs, 2 of them without labels
    assert s["reference"] == m["performance"]["reference"] and s["current_7d"] == m["performance"]["current"]

    m, s = _series(store, "labelled-reg")
    rows = truth["labelled-reg"].assign(day=lambda f: rf.label_day(f["ts"]))
    for date in ("2026-11-05", "2026-11-09"):
        day = rows[rows["day"] == date]
        got = next(d for d in s["days"] if d["date"] == date)
        assert got["n_labeled"] == len(day) == 720
        assert got["value"] == pytest.approx(root_mean_squared_error(day["label"], day["prediction"]), rel=1e-9)


def test_performance_threshold_lines_are_the_effective_thresholds(labelled):
    store, _ = labelled
    m, s = _series(store, "scored-lead")
    check = next(c for c in m["checks"] if c["check"] == "performance")
    assert (
        (s["yellow"], s["red"], s["threshold_source"])
        == (check["yellow"], check["red"], "model")
        == (0.03, 0.15, "model")
    )
    assert s["yellow_line"] == pytest.approx(s["reference"] * 0.97, abs=1e-12)
    assert s["red_line"] == pytest.approx(s["reference"] * 0.85, abs=1e-12)
    m, s = _series(store, "labelled-reg")  # RMSE: lower is better, lines above the reference
    check = next(c for c in m["checks"] if c["check"] == "performance")
    assert (
        (s["yellow"], s["red"], s["threshold_source"])
        == (check["yellow"], check["red"], "default")
        == (0.05, 0.10, "default")
    )
    assert s["yellow_line"] == pytest.approx(s["reference"] * 1.05, abs=1e-12)
    assert s["red_line"] == pytest.approx(s["reference"] * 1.10, abs=1e-12)

    from lib.reports.charts import performance_figure

    fig = performance_figure(s)
    lines = {t.name.split()[0]: t.y for t in fig.data if t.type == "scatter" and t.mode == "lines"}
    assert lines["yellow"] == (s["yellow_line"],) * 2 and lines["red"] == (s["red_line"],) * 2
    assert lines["reference"] == (s["reference"],) * 2


def test_days_without_labels_are_gaps_not_zeros(labelled):
    store, _ = labelled
    _, s = _series(store, "scored-lead")
    by_day = {d["date"]: d for d in s["days"]}
    for date in (*rf.NO_LABEL_DAYS, "2026-10-20"):  # unlabelled rows; no rows at all
        assert by_day[date] == {"date": date, "value": None, "n_labeled": 0}
    from lib.reports.charts import performance_figure

    fig = performance_figure(s)
    line = next(t for t in fig.data if t.mode == "lines+markers")
    bars = next(t for t in fig.data if t.type == "bar")
    assert not line.connectgaps
    values = dict(zip(line.x, line.y))
    assert values["2026-11-05"] is None and values["2026-11-06"] is None and values["2026-11-04"] > 0.5
    assert dict(zip(bars.x, bars.y))["2026-11-05"] == 0
    assert [d["n_labeled"] for d in s["days"]] == list(bars.y)
    shaded = [(sh.x0, sh.x1) for sh in fig.layout.shapes]
    assert ("2026-11-04 12:00", "2026-11-06 12:00") in shaded  # the two unlabelled days, marked


def test_performance_section_in_html_json_csv(labelled, html_report):
    store, _ = labelled
    text = render_report(store, "html", model_id="scored-lead").decode()
    assert "<h3>Performance over time</h3>" in text and "ROC AUC per day" in text
    assert "10 of 30 days have labels" in text and "from model" in text
    assert text.count("window.PlotlyConfig") == 1
    # a model that never had labels: one line, no chart
    hostile = html_report.read_text()
    assert '<h3>Performance over time</h3>\n<p class="note">No labels received yet' in hostile
    assert "per day, last 30 days" not in hostile

    out = json.loads(render_report(store, "json", model_id="labelled-reg"))
    s = out["report"]["performance_over_time"]["labelled-reg"]
    assert s["metric"] == "rmse" and sum(d["n_labeled"] for d in s["days"]) == 3600
    rows = [
        r
        for r in csv.DictReader(io.StringIO(render_report(store, "csv", model_id="labelled-reg").decode()))
        if r["section"] == "performance_day"
    ]
    assert len(rows) == 30 and rows[-1]["date"] == "2026-11-09" and rows[0]["value"] == ""
    assert float(rows[-1]["value"]) == pytest.approx(s["days"][-1]["value"], rel=1e-12)

    fleet = render_report(store, "html").decode()  # both red: each gets its section and chart
    assert fleet.count("<h3>Performance over time</h3>") == 2 and "RMSE per day" in fleet
    assert fleet.count("window.PlotlyConfig") == 1


def test_performance_section_in_pdf(labelled, tmp_path):
    store, _ = labelled
    pdf = tmp_path / "lead.pdf"
    pdf.write_bytes(render_report(store, "pdf", model_id="scored-lead"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Performance over time" in text and "ROC AUC per day, last 30 days (UTC)" in text
    assert "10 of 30 days have labels" in " ".join(text.split())
