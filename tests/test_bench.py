"""The benchmark script runs end to end (a smoke test: its numbers are not judged here).

bench/run.py is run by people and by reviewers on the 500-model fleet, which takes minutes to
build; here it runs on a 6-model fleet made by the same generator (bench/fleet.py), without the
Evidently baseline, once per measurement, and its results file must hold every measurement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import fleet  # noqa: E402  (bench/fleet.py)

pytestmark = pytest.mark.xdist_group("bench")


def test_bench_runs_on_a_small_fleet(tmp_path):
    files, db = tmp_path / "files", tmp_path / "fleet.duckdb"
    fleet.write_files(6, files, workers=1)
    fleet.ingest_all(db, files, 6, progress=False)
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--db",
            str(db),
            "--skip-evidently",
            "--repeat",
            "1",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["fleet_evaluate"]["models"] == 6
    assert sum(r["fleet_evaluate"]["statuses"].values()) == 6
    for timed in (
        r["fleet_evaluate"]["cold_process"],
        r["fleet_evaluate"]["warm"],
        r["timeline_30d"]["cold_process"],
        r["drill_down"]["warm"],
        r["ingest_one_day"]["in_process"],
        r["floor"]["with_connect"],
    ):
        assert timed["n"] == 1 and timed["median_s"] > 0
    assert r["floor"]["tables"] == 6 and r["floor"]["rows_read"] == 6 * 7 * fleet.ROWS_PER_DAY
    targets = {t["target"]: t for t in r["ratios"]["targets"]}
    assert targets["fleet evaluate, cold process"]["value"] == r["fleet_evaluate"]["cold_process"]["median_s"]
    assert "PASS" in proc.stdout or "FAIL" in proc.stdout
