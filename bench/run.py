"""Driftlight's speed benchmark (issue 3, item 5). See bench/README.md for what each number means.

    .venv/bin/python bench/run.py [--repeat 5] [--skip-evidently] [--profile] [--rebuild]

Builds (or reuses) the cached 500-model fleet (bench/fleet.py), runs every measurement
`--repeat` times, prints a table of medians (with min / max) and the ratios and targets, and
writes bench/results.json.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import fleet  # noqa: E402  (bench/fleet.py)

EVIDENTLY_VENV = BENCH / ".venv-evidently"
EVIDENTLY_PY = EVIDENTLY_VENV / "bin" / "python"
RESULTS = BENCH / "results.json"
DRILL_MODEL = "bench-003"  # a drifting model (gradual drift of n00): what a person drills into
INGEST_MODEL = "bench-000"  # a labelled model: its new day also updates the performance profiles
EVIDENTLY_SETUP = (
    "python3 -m venv bench/.venv-evidently && bench/.venv-evidently/bin/pip install -r bench/requirements-evidently.txt"
)

# Targets of issue 3, item 5.
TARGET_COLD_EVALUATE_S = 5.0
TARGET_TIMELINE_S = 10.0
TARGET_DRILL_S = 1.0
TARGET_EVIDENTLY_RATIO = 500.0
TARGET_FLOOR_RATIO = 1.0


class Times(list):
    """Wall-clock seconds of each run, with the CPU seconds (user + system, all threads) beside."""

    def __init__(self):
        super().__init__()
        self.cpu: list[float] = []


def stats(times: list[float]) -> dict:
    out = {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "n": len(times),
        "runs_s": [round(t, 4) for t in times],
    }
    cpu = getattr(times, "cpu", None)
    if cpu:
        out["cpu_median_s"] = statistics.median(cpu)
        out["cpu_runs_s"] = [round(t, 4) for t in cpu]
    return out


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed_process(cmd: list[str], repeat: int, times: Times | None = None) -> Times:
    """Wall time of a fresh process (imports included), stdout discarded; fails loudly."""
    times = Times() if times is None else times
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        times.cpu.append(_children_cpu() - c0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return times


def timed_call(fn, repeat: int, warmup: int = 1) -> Times:
    for _ in range(warmup):
        fn()
    times = Times()
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        times.cpu.append(time.process_time() - c0)
    return times


def profile_call(fn, top: int = 25) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# -- (e) the floor ------------------------------------------------------------------------------
def floor_sql(con, start, end) -> tuple[str, list]:
    """One statement: for every model's inference table, count(*) of the 7-day window's rows and
    one aggregate per feature column (sum(f) for numeric, max(f) for categorical), UNION ALL."""
    feats = con.execute(
        "SELECT model_id, slot, kind FROM features WHERE position IS NOT NULL ORDER BY model_id, slot"
    ).fetchall()
    by_model: dict[str, list[tuple[int, str]]] = {}
    for m, s, k in feats:
        by_model.setdefault(m, []).append((s, k))
    parts, params = [], []
    for m, cols in by_model.items():
        # Categorical aggregates become text length so every branch of the UNION has one type.
        aggs = ", ".join((f"sum(f{s})" if k == "numeric" else f"length(max(f{s}))::DOUBLE") for s, k in cols)
        parts.append(f"SELECT '{m}' AS model_id, count(*) AS n, {aggs} FROM \"inf__{m}\" WHERE hour > ? AND hour <= ?")
        params += [start, end]
    return " UNION ALL ".join(parts), params


def measure_floor(db: str, as_of, repeat: int) -> dict:
    import duckdb
    import pandas as pd

    end = pd.Timestamp(as_of).tz_convert("UTC").tz_localize(None).to_pydatetime()
    start = end - pd.Timedelta(days=7).to_pytimedelta()
    con = duckdb.connect(db, read_only=True)
    sql, params = floor_sql(con, start, end)
    con.close()
    rows = {}

    def with_connect():
        c = duckdb.connect(db, read_only=True)
        try:
            rows["result"] = c.execute(sql, params).fetchall()
        finally:
            c.close()

    full = timed_call(with_connect, repeat)
    con = duckdb.connect(db, read_only=True)
    try:
        query_only = timed_call(lambda: con.execute(sql, params).fetchall(), repeat)
    finally:
        con.close()
    result = rows["result"]
    return {
        "with_connect": stats(full),
        "query_only": stats(query_only),
        "tables": len(result),
        "rows_read": int(sum(r[1] for r in result)),
        "columns_per_table": len(result[0]) - 2 if result else 0,
        "what": "one read-only DuckDB connection, one SQL statement: for each of the models' inference "
        "tables, count(*) and one aggregate per feature column (sum(f) numeric, "
        "length(max(f)) categorical) over rows with hour in (as_of - 7 days, as_of], "
        "UNION ALL of all tables; 'with_connect' = connect + execute + fetch + close "
        "(what every evaluate() call also pays), 'query_only' = execute + fetch on an open connection",
    }


# -- (d) ingest one day -------------------------------------------------------------------------
def measure_ingest(db: str, repeat: int, model: str) -> dict:
    from lib.ingest.pipeline import ingest_file
    from lib.store.connection import Store

    tmp = Path(tempfile.mkdtemp(prefix="driftlight-bench-ingest-"))
    try:
        copy = tmp / "fleet.duckdb"
        t0 = time.perf_counter()
        shutil.copyfile(db, copy)
        copy_s = time.perf_counter() - t0
        index = int(model.split("-")[1])
        files = []
        for k in range(2 * repeat):
            path = tmp / f"{model}-day{fleet.DAYS + 1 + k}.parquet"
            fleet.write_extra_day(index, fleet.DAYS + 1 + k, path)
            files.append(path)
        store = Store(str(copy))
        in_process, rows = Times(), 0
        for path in files[:repeat]:
            c0, t0 = time.process_time(), time.perf_counter()
            outcome = ingest_file(store, "inference", model, path)
            in_process.append(time.perf_counter() - t0)
            in_process.cpu.append(time.process_time() - c0)
            if outcome.status != "ingested":
                raise RuntimeError(f"ingest {path}: {outcome.status}: {outcome.message}")
            rows = outcome.rows
        cli = Times()
        for path in files[repeat:]:
            timed_process(
                [sys.executable, "-m", "lib", "ingest", "--db", str(copy), "inference", "--model", model, str(path)],
                1,
                cli,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "in_process": stats(in_process),
        "cold_process": stats(cli),
        "rows_per_file": rows,
        "copy_store_s": copy_s,
        "model": model,
        "what": f"a copy of the store (copied first, not timed); {repeat} successive new days (31, 32, ...) "
        f"of {model}'s logs, 2,000 rows each, one Parquet file each: ingest_file() in-process "
        "(hash, read, validate, lock, connect, append rows + profiles in one transaction, close), "
        "then further days through `python -m lib ingest` as fresh processes",
    }


# -- (f) Evidently -----------------------------------------------------------------------------
def measure_evidently(db: str, as_of: str, model: str, repeat: int) -> dict | None:
    if not EVIDENTLY_PY.exists():
        print(
            f"\n(f) skipped: the Evidently environment is missing. Create it with:\n    {EVIDENTLY_SETUP}\n",
            file=sys.stderr,
        )
        return None
    proc = subprocess.run(
        [
            str(EVIDENTLY_PY),
            str(BENCH / "evidently_baseline.py"),
            "--db",
            db,
            "--model",
            model,
            "--as-of",
            as_of,
            "--repeat",
            str(repeat),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"evidently_baseline.py exited {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the run ----------------------------------------------------------------------------------
def run(args) -> dict:
    if args.db:  # smoke tests on another store
        import duckdb

        db = args.db
        con = duckdb.connect(db, read_only=True)
        n_models = con.execute("SELECT count(*) FROM models").fetchone()[0]
        rows = sum(
            con.execute(f'SELECT count(*) FROM "inf__{m}"').fetchone()[0]
            for (m,) in con.execute("SELECT model_id FROM models").fetchall()
        )
        con.close()
        manifest = {
            "params": {"models": n_models},
            "db": db,
            "inference_rows": rows,
            "store_bytes": Path(db).stat().st_size,
        }
    else:
        manifest = fleet.build(rebuild=args.rebuild)
        db = str(fleet.DB)
        n_models = manifest["params"]["models"]
    from lib.judge.evaluate import evaluate
    from lib.store.connection import Store

    store = Store(db)
    py = sys.executable
    results: dict = {"fleet": manifest, "repeat": args.repeat}
    lib_before = _versions()
    load_before = os.getloadavg()

    def step(name: str):
        print(f"  {name} ...", file=sys.stderr, flush=True)

    step("(a) fleet evaluate, cold process")
    cold = timed_process([py, "-m", "lib", "evaluate", "--db", db, "--format", "json"], args.repeat)
    step("(a) fleet evaluate, warm")
    out: dict = {}
    warm = timed_call(lambda: out.update(r=evaluate(store)), args.repeat)
    as_of = out["r"]["as_of"]
    statuses = {}
    for m in out["r"]["models"]:
        statuses[m["status"]] = statuses.get(m["status"], 0) + 1
    results["fleet_evaluate"] = {
        "cold_process": stats(cold),
        "warm": stats(warm),
        "models": len(out["r"]["models"]),
        "as_of": as_of,
        "statuses": statuses,
    }

    step("(b) 30-day timeline, cold process")
    tl_cold = timed_process(
        [py, "-m", "lib", "evaluate", "--db", db, "--timeline", "30", "--format", "json"], args.repeat
    )
    step("(b) 30-day timeline, warm")
    tl_warm = timed_call(lambda: evaluate(store, timeline_days=30), args.repeat)
    results["timeline_30d"] = {"cold_process": stats(tl_cold), "warm": stats(tl_warm)}

    step(f"(c) drill-down of {args.drill_model}")
    dd_warm = timed_call(lambda: out.update(d=evaluate(store, model_ids=[args.drill_model])), args.repeat)
    dd_cold = timed_process(
        [py, "-m", "lib", "evaluate", "--db", db, "--model", args.drill_model, "--format", "json"], args.repeat
    )
    detail = out["d"]["models"][0]
    results["drill_down"] = {
        "warm": stats(dd_warm),
        "cold_process": stats(dd_cold),
        "model": args.drill_model,
        "status": detail["status"],
        "ks_reported": sum(1 for f in detail["features"] if f.get("ks") is not None),
    }

    step(f"(d) ingest one day for {args.ingest_model} (into a copy of the store)")
    results["ingest_one_day"] = measure_ingest(db, args.repeat, args.ingest_model)

    step("(e) the floor: one DuckDB pass over every feature column of the 7-day window")
    results["floor"] = measure_floor(db, as_of, args.repeat)

    if args.skip_evidently:
        results["evidently"] = None
    else:
        step(f"(f) Evidently DataDriftPreset on {args.drill_model} (its own venv)")
        results["evidently"] = measure_evidently(db, as_of, args.drill_model, args.repeat)

    if args.profile:
        step("profiles (cProfile) of warm fleet evaluate, timeline and drill-down")
        results["profiles"] = {
            "fleet_evaluate_warm": profile_call(lambda: evaluate(store)),
            "timeline_30d_warm": profile_call(lambda: evaluate(store, timeline_days=30)),
            "drill_down_warm": profile_call(lambda: evaluate(store, model_ids=[args.drill_model])),
        }

    results["ratios"] = ratios(results, n_models)
    results["machine"] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    results["versions"] = _versions()
    results["versions"]["lib_fingerprint_at_start"] = lib_before["lib_fingerprint"]
    results["lib_changed_during_run"] = lib_before["lib_fingerprint"] != results["versions"]["lib_fingerprint"]
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def ratios(r: dict, n_models: int) -> dict:
    fe = r["fleet_evaluate"]
    out = {
        "evaluate_warm_over_floor": fe["warm"]["median_s"] / r["floor"]["with_connect"]["median_s"],
        "evaluate_warm_over_floor_query_only": fe["warm"]["median_s"] / r["floor"]["query_only"]["median_s"],
    }
    ev = r.get("evidently")
    if ev:
        out["evidently_per_model_s"] = ev["median_s"]
        out["evidently_fleet_s"] = ev["median_s"] * n_models
        out["evidently_fleet_over_evaluate_cold"] = ev["median_s"] * n_models / fe["cold_process"]["median_s"]
        out["evidently_fleet_over_evaluate_warm"] = ev["median_s"] * n_models / fe["warm"]["median_s"]
    targets = [
        (
            "fleet evaluate, cold process",
            fe["cold_process"]["median_s"],
            f"< {TARGET_COLD_EVALUATE_S:g} s",
            fe["cold_process"]["median_s"] < TARGET_COLD_EVALUATE_S,
        ),
        (
            "fleet evaluate compute (warm) vs floor pass",
            out["evaluate_warm_over_floor"],
            f"<= {TARGET_FLOOR_RATIO:g}x",
            out["evaluate_warm_over_floor"] <= TARGET_FLOOR_RATIO,
        ),
        (
            "30-day timeline, cold process",
            r["timeline_30d"]["cold_process"]["median_s"],
            f"< {TARGET_TIMELINE_S:g} s",
            r["timeline_30d"]["cold_process"]["median_s"] < TARGET_TIMELINE_S,
        ),
        (
            "one model's drill-down (warm, as in the app)",
            r["drill_down"]["warm"]["median_s"],
            f"< {TARGET_DRILL_S:g} s",
            r["drill_down"]["warm"]["median_s"] < TARGET_DRILL_S,
        ),
    ]
    # Two readings of "500x faster than the Evidently way": (f) times one report in a warm
    # process, without its imports and without reading the data from the store, so the
    # like-for-like figure is our warm evaluate (which does read the store); the cold process
    # (our imports included, Evidently's not) is the stricter one. Both are reported.
    for name, key in (
        ("Evidently x models vs fleet evaluate compute (warm, like for like)", "evidently_fleet_over_evaluate_warm"),
        ("Evidently x models vs fleet evaluate, cold process", "evidently_fleet_over_evaluate_cold"),
    ):
        value = out.get(key)
        targets.append(
            (name, value, f">= {TARGET_EVIDENTLY_RATIO:g}x", None if value is None else value >= TARGET_EVIDENTLY_RATIO)
        )
    out["targets"] = [{"target": t, "value": v, "goal": g, "pass": p} for t, v, g, p in targets]
    return out


def _versions() -> dict:
    import duckdb
    import numpy
    import pandas

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "lib"], cwd=ROOT, capture_output=True, text=True
        ).stdout.split("\n")
    except OSError:
        commit, dirty = None, []
    digest = hashlib.sha256()
    for path in sorted((ROOT / "lib").rglob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return {
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "git_commit": commit,
        "lib_uncommitted": [d[3:] for d in dirty if d.strip()],
        "lib_fingerprint": digest.hexdigest()[:12],
    }


def _fmt(x: float | None) -> str:
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def table(r: dict) -> str:
    m = r["fleet"]["params"]["models"]
    lines = []
    rows = [
        ("(a) fleet evaluate, cold process (CLI, imports incl.)", r["fleet_evaluate"]["cold_process"]),
        ("(a) fleet evaluate, warm (in-process)", r["fleet_evaluate"]["warm"]),
        ("(b) 30-day timeline, cold process", r["timeline_30d"]["cold_process"]),
        ("(b) 30-day timeline, warm", r["timeline_30d"]["warm"]),
        (f"(c) drill-down {r['drill_down']['model']}, warm", r["drill_down"]["warm"]),
        (f"(c) drill-down {r['drill_down']['model']}, cold process", r["drill_down"]["cold_process"]),
        ("(d) ingest 1 day (2,000 rows), in-process", r["ingest_one_day"]["in_process"]),
        ("(d) ingest 1 day (2,000 rows), cold process", r["ingest_one_day"]["cold_process"]),
        ("(e) floor: 1 DuckDB pass, 7-day window (connect incl.)", r["floor"]["with_connect"]),
        ("(e) floor: same statement, query only", r["floor"]["query_only"]),
    ]
    ev = r.get("evidently")
    if ev:
        rows.append(("(f) Evidently DataDriftPreset, 1 model", ev))
    w = max(len(name) for name, _ in rows)
    lines.append(f"{'measurement'.ljust(w)}  {'median s':>9}  {'min s':>8}  {'max s':>8}  {'cpu s':>7}  n")
    for name, s in rows:
        cpu = _fmt(s["cpu_median_s"]) if "cpu_median_s" in s else ""
        lines.append(
            f"{name.ljust(w)}  {_fmt(s['median_s']):>9}  {_fmt(s['min_s']):>8}  {_fmt(s['max_s']):>8}  "
            f"{cpu:>7}  {s.get('n', len(s.get('runs_s', [])))}"
        )
    if ev:
        lines.append(
            f"{('(f) Evidently x ' + str(m) + ' models (median x ' + str(m) + ')').ljust(w)}  "
            f"{_fmt(r['ratios']['evidently_fleet_s']):>9}"
        )
    ra = r["ratios"]
    lines.append("")
    lines.append(
        f"fleet evaluate warm / floor pass (connect incl.): {ra['evaluate_warm_over_floor']:.2f}x "
        f"(query only: {ra['evaluate_warm_over_floor_query_only']:.2f}x)"
    )
    if ev:
        lines.append(
            f"Evidently x {m} / fleet evaluate warm: {ra['evidently_fleet_over_evaluate_warm']:.0f}x "
            f"(vs cold process: {ra['evidently_fleet_over_evaluate_cold']:.0f}x)"
        )
    lines.append("")
    lines.append("targets (issue 3):")
    for t in ra["targets"]:
        verdict = "not run" if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        value = "—" if t["value"] is None else (f"{t['value']:.2f}" + (" s" if t["goal"].endswith("s") else "x"))
        lines.append(f"  {verdict:7} {t['target']}: {value} (goal {t['goal']})")
    mach = r["machine"]
    lines.append("")
    ver = r["versions"]
    lines.append(
        f"lib at commit {ver['git_commit']}"
        + (f" + uncommitted {', '.join(ver['lib_uncommitted'])}" if ver["lib_uncommitted"] else "")
        + f" (lib fingerprint {ver['lib_fingerprint']}); duckdb {ver['duckdb']}, pandas {ver['pandas']}"
    )
    lines.append(
        f"{mach['cores']} cores; load average before {mach['loadavg_before'][0]:.1f}, "
        f"after {mach['loadavg_after'][0]:.1f}; fleet: {m} models, {r['fleet']['inference_rows']:,} "
        f"inference rows, store {r['fleet']['store_bytes'] / 1e9:.2f} GB"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Driftlight speed benchmark (issue 3, item 5)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached fleet first")
    ap.add_argument("--skip-evidently", action="store_true", help="leave out (f), the Evidently baseline")
    ap.add_argument("--profile", action="store_true", help="add cProfile tops of the warm evaluations to results.json")
    ap.add_argument("--drill-model", default=DRILL_MODEL)
    ap.add_argument("--ingest-model", default=INGEST_MODEL)
    ap.add_argument("--db", help="benchmark another store instead of the cached fleet (smoke tests)")
    ap.add_argument("--out", default=str(RESULTS), help="results JSON (default bench/results.json)")
    args = ap.parse_args(argv)
    if not args.skip_evidently and not EVIDENTLY_PY.exists():
        print(
            f"The Evidently baseline needs its own environment. Create it with:\n    {EVIDENTLY_SETUP}\n"
            "or run with --skip-evidently.",
            file=sys.stderr,
        )
        return 2
    results = run(args)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    if results["lib_changed_during_run"]:
        print("\nWARNING: lib/ changed while the benchmark ran; cold and warm numbers may mix versions. Rerun.")
    if args.profile:
        for name, text in results["profiles"].items():
            print(f"\n--- cProfile: {name} ---\n{text}")
    print(f"\nwritten: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
