"""bench/lake_throughput.py runs end to end on a 1-model fleet (a smoke test: numbers not judged).

The lake it lays out is made of symbolic links to the fleet's files (nothing copied), and `sync`
takes them as the files they point to: the store synced from the lake judges as the ingested one.
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
import lake_throughput  # noqa: E402

from lib.ingest.lake import discover  # noqa: E402

pytestmark = pytest.mark.xdist_group("bench")


def test_the_lake_is_symbolic_links_and_the_bench_runs(tmp_path):
    files = tmp_path / "files"
    fleet.write_files(1, files, workers=1)
    lake = lake_throughput.layout(1, files, tmp_path)
    (model,) = discover(lake)
    assert [(kind, p.relative_to(lake).as_posix()) for kind, p in model.files] == [
        ("reference", "bench-000/reference/reference.parquet"),
        ("inference", "bench-000/inference/date=2026-05-31/inference-d01-29.parquet"),
        ("inference", "bench-000/inference/date=2026-06-29/inference-d30.parquet"),
    ]
    assert all(p.is_symlink() and p.resolve().parent == files / "bench-000" for _, p in model.files)
    out = tmp_path / "results.json"
    args = ["--models", "1", "--repeat", "1", "--engines", "ingest,duckdb", "--files", str(files)]
    args += ["--lakes", str(tmp_path), "--work", str(tmp_path / "work"), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lake_throughput.py"), *args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    for key in ("ingest/1", "duckdb/1"):
        (run,) = results["runs"][key]
        assert run["rows_per_s"] == round(60_000 / run["wall_s"]) and run["cpu_s"] > 0 and run["peak_rss_mb"] > 50
    assert results["agreement"]["ingest_vs_duckdb"] == "equal (every number to 1e-9)"


def test_the_agreement_check_finds_a_number_off_by_more_than_1e_9():
    a = {"models": [{"id": "m", "psi": 0.25, "reasons": ["x"]}]}
    assert lake_throughput._diff(a, {"models": [{"id": "m", "psi": 0.25 + 1e-12, "reasons": ["x"]}]}) is None
    assert lake_throughput._diff(a, {"models": [{"id": "m", "psi": 0.25 + 1e-6, "reasons": ["x"]}]}) == (
        "$.models[0].psi: 0.25 vs 0.250001"
    )
    assert lake_throughput._diff(a, {"models": [{"id": "m", "psi": 0.25, "reasons": ["y"]}]}) == (
        "$.models[0].reasons[0]: 'x' vs 'y'"
    )
