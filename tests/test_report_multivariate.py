"""The model report's "Multivariate drift" section (issue 13): the cached domain-classifier result
in the HTML, JSON and CSV, equal to `python -m lib multivariate`'s JSON; "not computed" and the
command otherwise (a report never trains it unasked); `report --multivariate` computes it."""

from __future__ import annotations

import csv
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import report_fixtures as rf

from lib.reports.build import render_report
from tests.fixtures import run_cli

MODEL = "hostile-red"  # its feature name is an HTML attack: the section must escape it
AS_OF = "2026-11-10T00:00:00+00:00"
COMMAND = f"python -m lib multivariate --model {MODEL} --as-of {AS_OF}"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return rf.build(tmp_path_factory.mktemp("report-mv"))


def _cache_dir(store) -> Path:
    return Path(store.path + ".cache")


def _section_text(html_text: str) -> str:
    """The visible text from the "Multivariate drift" heading to the next heading."""

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []
            self.inside = False
            self.heading = False

        def handle_starttag(self, tag, attrs):
            if tag in ("h2", "h3"):
                self.heading = True
                if self.inside:
                    self.inside = None  # the next section: stop
            if tag in ("script", "style") and self.inside:
                raise AssertionError("a script or style element inside the section")

        def handle_endtag(self, tag):
            if tag in ("h2", "h3"):
                self.heading = False

        def handle_data(self, data):
            if self.heading and data.strip() == "Multivariate drift" and self.inside is False:
                self.inside = True
                return
            if self.inside:
                self.parts.append(data)

    parser = Text()
    parser.feed(html_text)
    assert parser.inside is not False, "no Multivariate drift section"
    return " ".join(" ".join(parser.parts).split())


def test_not_computed_states_the_command_and_trains_nothing(store):
    shutil.rmtree(_cache_dir(store), ignore_errors=True)
    out = json.loads(render_report(store, "json", model_id=MODEL))
    assert out["report"]["multivariate"] == {"computed": False, "result": None, "command": COMMAND}
    text = _section_text(render_report(store, "html", model_id=MODEL).decode())
    assert text.startswith("Not computed for this as-of time and data version — run " + COMMAND)
    assert not _cache_dir(store).exists()  # nothing was computed or cached
    rows = list(csv.DictReader(io.StringIO(render_report(store, "csv", model_id=MODEL).decode())))
    assert not [r for r in rows if r["section"] == "multivariate"]
    # a fleet report has no section and no key value
    fleet = json.loads(render_report(store, "json"))
    assert fleet["report"]["multivariate"] is None


def test_cached_result_equals_the_multivariate_command(store):
    shutil.rmtree(_cache_dir(store), ignore_errors=True)
    done = run_cli("multivariate", "--model", MODEL, db=store.path)
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    assert cli["cached"] is False and cli["as_of"] == AS_OF and cli["auc"] is not None
    assert cli["n_reference"] == 2000 and len(cli["fold_aucs"]) == 5

    out = json.loads(render_report(store, "json", model_id=MODEL))
    block = out["report"]["multivariate"]
    assert block["computed"] is True and block["command"] == COMMAND
    assert block["result"] == {**cli, "cached": True}  # every value, to the last bit

    raw = render_report(store, "html", model_id=MODEL).decode()
    text = _section_text(raw)
    folds = cli["fold_aucs"]
    assert f"domain classifier ROC AUC (reference vs last 7 days) {cli['auc']:.3f} {cli['status']}" in text
    assert f"fold AUCs {min(folds):.3f}–{max(folds):.3f} over 5 folds " + ", ".join(f"{a:.3f}" for a in folds) in text
    assert f"rows compared {cli['n_reference']:,} / {cli['n_current']:,}" in text
    assert f"computed {cli['computed_at']} · data version {store.data_version()} · as of {AS_OF}" in text
    for f in cli["features"]:  # the hostile feature name shows as text, escaped in the source
        assert f"{f['feature']} {f['importance']:.4f} {f['std']:.4f}" in text
    assert rf.HOSTILE_FEATURE not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw

    rows = list(csv.DictReader(io.StringIO(render_report(store, "csv", model_id=MODEL).decode())))
    mv = [r for r in rows if r["section"] == "multivariate"]
    assert float(mv[0]["value"]) == cli["auc"] and mv[0]["metric"] == "domain_auc"
    assert [float(r["value"]) for r in mv[1:6]] == folds
    assert [(r["feature"], float(r["value"])) for r in mv[6:]] == [
        ("'" + f["feature"] if f["feature"][0] in "=+-@\t\r" else f["feature"], f["importance"])
        for f in cli["features"]
    ]


def test_report_multivariate_flag_computes_and_caches(store, tmp_path):
    shutil.rmtree(_cache_dir(store), ignore_errors=True)
    out = tmp_path / "r.json"
    done = run_cli("report", "--model", MODEL, "--multivariate", "--format", "json", "--out", str(out), db=store.path)
    assert done.returncode == 0, done.stderr
    block = json.loads(out.read_text())["report"]["multivariate"]
    assert block["computed"] is True and block["result"]["cached"] is False
    # now cached: the command reads the very same result
    cli = json.loads(run_cli("multivariate", "--model", MODEL, db=store.path).stdout)
    assert cli == {**block["result"], "cached": True}
    bad = run_cli("report", "--fleet", "--multivariate", "--format", "json", "--out", "-", db=store.path)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "--multivariate: applies to a --model report only (a fleet report never trains it)"
    )
