"""Scale: `evaluate` on a simulated fleet of 10,000 models x 20 features x 30 days (issue 11).

    .venv/bin/python bench/scale.py [--models 10000] [--baseline 500] [--repeat 3] [--rebuild]
                                    [--also-db bench/cache/fleet.duckdb] [--cache DIR] [--out FILE]

The fleet is written as profile rows directly (no raw rows: what `sync` leaves in a store for a
lake fleet), by SQL inside DuckDB, and cached in bench/cache/scale-<N>.duckdb (git-ignored):
every model a binary classifier with a score, 15 numeric features (decile bins) and 5
categorical ones (8 categories), logging 2,000 rows a day in one daily batch (the hour ending
00:00, so its hourly and daily profiles hold the same counts). Counts carry deterministic noise
(DuckDB's hash()); scenarios by model number: gradual drift of one feature, a new category on
the last day, a missing-value spike, out-of-range values; the rest healthy. No labels, no
per-model row tables (the fleet-wide judging never reads raw rows).

Measured, each as a fresh process (`python -m lib evaluate --format json`, stdout discarded),
median of --repeat runs, with its CPU seconds and the peak RSS of the process (/usr/bin/time) and
of its whole process tree (evaluate's helper included; sampled from /proc) and
the load average before each run: the cold fleet
evaluate and `--timeline 30`, on the N-model fleet and on the baseline fleet of the same
generator (and on --also-db, e.g. the 500-model ingest-built fleet of bench/fleet.py), in the
same run, with the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache"
sys.path.insert(0, str(ROOT))

DAYS = 30
N_NUM, N_CAT, N_VALUES, ROWS = 15, 5, 8, 2000
END = "2026-06-30 00:00:00"  # the last day-end: as_of
EDGES = [-1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816]  # normal deciles
FORMAT = 1


def spec(i: int) -> dict:
    features = {f"x{j:02d}": "numeric" for j in range(N_NUM)} | {f"c{j}": "categorical" for j in range(N_CAT)}
    return {
        "model_id": f"m{i:05d}",
        "name": f"Simulated model {i}",
        "task": "binary_classification",
        "owner": f"owner{i % 50}@example.com",
        "team": f"team{i % 20}",
        "tags": [],
        "columns": {"timestamp": "ts", "prediction": "prediction", "score": "score", "label": "label"},
        "features": features,
    }


def build(path: Path, models: int) -> dict:
    """Write the fleet's store (temporary name, renamed when complete)."""
    import pandas as pd

    from lib.spec import parse_spec
    from lib.store.connection import Store

    tmp = path.with_suffix(".building")
    for p in (tmp, Path(str(tmp) + ".version"), Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    now = pd.Timestamp("2026-07-01").to_pydatetime()
    specs = [parse_spec(spec(i)) for i in range(models)]
    with Store(tmp, timeout=600).write() as con:
        con.register(
            "m",
            pd.DataFrame(
                {
                    "i": range(models),
                    "model_id": [s.model_id for s in specs],
                    "team": [s.team for s in specs],
                    "owner": [s.owner for s in specs],
                    "spec_json": [json.dumps(s.as_dict()) for s in specs],
                }
            ),
        )
        con.execute(
            "INSERT INTO models SELECT model_id, model_id, 'binary_classification', owner, team, []::VARCHAR[], "
            "spec_json, ?, ? FROM m",
            [now, now],
        )
        # slots 0..14 numeric, 15..19 categorical; -1 the prediction (categorical), -2 the score.
        con.execute(
            "CREATE TEMP TABLE s AS SELECT range AS slot, CASE WHEN range < ? THEN 'numeric' ELSE 'categorical' END AS kind, "
            "CASE WHEN range < ? THEN 'x' || lpad(range::VARCHAR, 2, '0') ELSE 'c' || (range - ?)::VARCHAR END AS feature "
            "FROM range(?)",
            [N_NUM, N_NUM, N_NUM, N_NUM + N_CAT],
        )
        con.execute("INSERT INTO features SELECT m.model_id, s.slot, s.feature, s.kind, s.slot FROM m, s")
        perf = json.dumps({"accuracy": 0.8, "precision": 0.8, "recall": 0.8, "f1": 0.8, "n": 10000.0, "roc_auc": 0.85})
        con.execute("INSERT INTO snapshots SELECT model_id, 1, 0, ?, 10000, '1', ? FROM m", [now, perf])
        values = [f"v{k}" for k in range(N_VALUES)]
        con.execute(
            "INSERT INTO ref_profile SELECT m.model_id, 1, s.slot, s.kind, 10000, 0, "
            "CASE WHEN s.kind = 'numeric' THEN -4.0 END, CASE WHEN s.kind = 'numeric' THEN 4.0 END, "
            "CASE WHEN s.kind = 'numeric' THEN 1.0 END, CASE WHEN s.kind = 'numeric' THEN ?::DOUBLE[] END, "
            "CASE WHEN s.kind = 'categorical' THEN ?::VARCHAR[] END, "
            "CASE WHEN s.kind = 'numeric' THEN list_transform(range(10), lambda x: 1000) ELSE list_transform(range(?), lambda x: ?) END "
            "FROM m, (SELECT slot, kind FROM s UNION ALL SELECT -2, 'numeric') s",
            [EDGES, values, N_VALUES, 10000 // N_VALUES],
        )
        con.execute(
            "INSERT INTO ref_profile SELECT model_id, 1, -1, 'categorical', 10000, 0, NULL, NULL, NULL, NULL, "
            "['0', '1'], [5000, 5000] FROM m"
        )
        con.execute(
            "CREATE TEMP TABLE d AS SELECT range AS k, ?::TIMESTAMP - INTERVAL (? - 1 - range) DAY AS hour "
            "FROM range(?)",
            [END, DAYS, DAYS],
        )
        con.execute(
            "INSERT INTO prof_rows SELECT m.model_id, d.hour, d.k + 1, ?, d.hour - INTERVAL 1 MINUTE FROM m, d", [ROWS]
        )
        noise = "(hash(m.i, d.k, s.slot, b.range) % 41)::BIGINT - 20"
        drift = "CASE WHEN m.i % 10 = 1 AND s.slot = 0 THEN (b.range - 4.5) * d.k * 2 ELSE 0 END"
        for table, when in (("prof_num_h", "hour"), ("prof_num_d", "hour")):
            con.execute(
                f"INSERT INTO {table} SELECT m.model_id, d.{when}, s.slot, b.range, greatest(0, 200 + {noise} + {drift})::BIGINT "
                "FROM m, d, (SELECT slot FROM s WHERE kind = 'numeric' UNION ALL SELECT -2) s, range(10) b"
            )
        cat = (
            "SELECT m.model_id, d.hour, s.slot, 'v' || b.range::VARCHAR AS value, greatest(1, 250 + "
            "(hash(m.i, d.k, s.slot, b.range) % 41)::BIGINT - 20) AS n FROM m, d, (SELECT slot FROM s WHERE kind = "
            "'categorical') s, range(?) b UNION ALL SELECT m.model_id, d.hour, -1, p.v, 1000 FROM m, d, "
            "(SELECT unnest(['0', '1']) AS v) p UNION ALL SELECT m.model_id, d.hour, 15, 'new', 300 FROM m, d "
            "WHERE m.i % 10 = 2 AND d.k = ? - 1"
        )
        for table in ("prof_cat_h", "prof_cat_d"):
            con.execute(f"INSERT INTO {table} {cat}", [N_VALUES, DAYS])
        qual = (
            "SELECT m.model_id, d.hour, s.slot, CASE WHEN m.i % 10 = 3 AND s.slot = 1 AND d.k = ? - 1 THEN 600 "
            "ELSE (hash(m.i, d.k, s.slot) % 3)::BIGINT END, 0, CASE WHEN m.i % 10 = 4 AND s.slot = 2 AND d.k = ? - 1 "
            "THEN 150 ELSE 0 END, 0 FROM m, d, (SELECT slot FROM s UNION ALL SELECT -1 UNION ALL SELECT -2) s"
        )
        for table in ("prof_qual_h", "prof_qual_d"):
            con.execute(f"INSERT INTO {table} {qual}", [DAYS, DAYS])
    os.replace(tmp, path)
    os.replace(str(tmp) + ".version", str(path) + ".version")
    for lock in tmp.parent.glob(tmp.name + ".*.lock"):
        lock.unlink()
    info = {
        "models": models,
        "format": FORMAT,
        "build_s": round(time.perf_counter() - t0, 1),
        "bytes": path.stat().st_size,
    }
    Path(str(path) + ".json").write_text(json.dumps(info))
    return info


def fleet(models: int, rebuild: bool, cache: Path = CACHE) -> tuple[Path, dict]:
    cache.mkdir(exist_ok=True)
    path = cache / f"scale-{models}.duckdb"
    meta = Path(str(path) + ".json")
    if not rebuild and path.exists() and meta.exists() and json.loads(meta.read_text()).get("format") == FORMAT:
        return path, json.loads(meta.read_text())
    print(f"building {path} ({models} models) ...", file=sys.stderr, flush=True)
    return path, build(path, models)


def tree_rss_mb(root: int) -> float:
    """The resident memory of a process and all its descendants (from /proc), in MB: `evaluate`
    judges a large fleet in two processes, and /usr/bin/time's peak is the larger one's only."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as f:
                total += sum(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except OSError:
            continue
    return total / 1024


def timed(args: list[str], repeat: int) -> dict:
    """Median wall time, CPU seconds (user + system, all threads and helper processes) and peak
    RSS of a fresh `python -m lib ARGS` (stdout discarded): the largest process's (/usr/bin/time)
    and the whole process tree's (sampled every 0.2 s); the 1-minute load average before each run."""
    walls, cpus, rss, tree, loads = [], [], [], [], []
    for _ in range(repeat):
        loads.append(round(os.getloadavg()[0], 1))
        t0 = time.perf_counter()
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                ["/usr/bin/time", "-f", "%M %U %S", sys.executable, "-m", "lib", *args],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )
            peak = 0.0
            while proc.poll() is None:
                peak = max(peak, tree_rss_mb(proc.pid))
                time.sleep(0.2)
            walls.append(time.perf_counter() - t0)
            err.seek(0)
            stderr = err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"lib {' '.join(args)} exited {proc.returncode}: {stderr[-1500:]}")
        kb, user, system = stderr.strip().splitlines()[-1].split()
        rss.append(int(kb) / 1024)
        tree.append(peak)
        cpus.append(float(user) + float(system))
    return {
        "median_s": round(statistics.median(walls), 2),
        "runs_s": [round(w, 2) for w in walls],
        "cpu_s": round(statistics.median(cpus), 2),
        "runs_cpu_s": [round(c, 2) for c in cpus],
        "peak_rss_mb": round(max(rss)),
        "peak_tree_rss_mb": round(max(tree)),
        "load_1min_before": loads,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--also-db", default=None, help="another store to time in the same run (read-only)")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the fleets are cached (default bench/cache)")
    ap.add_argument("--out", default=None, help="also write the results here (e.g. bench/scale-results.json)")
    args = ap.parse_args(argv)
    runs = [(f"simulated {args.baseline}", *fleet(args.baseline, args.rebuild, args.cache))]
    runs.append((f"simulated {args.models}", *fleet(args.models, args.rebuild, args.cache)))
    if args.also_db:
        runs.append((f"store {args.also_db}", Path(args.also_db), {}))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    results = {"commit": commit.stdout.strip(), "load_before": os.getloadavg(), "fleets": {}}
    for name, path, info in runs:
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        results["fleets"][name] = {"build": info}
        for key, extra in (("evaluate", []), ("evaluate_timeline_30", ["--timeline", "30"])):
            results["fleets"][name][key] = timed(
                ["evaluate", "--db", str(path), "--format", "json", *extra], args.repeat
            )
            if args.out:  # as it goes: a long run interrupted keeps what it measured
                Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    results["load_after"] = os.getloadavg()
    big = results["fleets"][f"simulated {args.models}"]
    results["targets"] = {  # issue 11, on the N-model fleet
        "evaluate_cold_under_10_s": big["evaluate"]["median_s"] < 10,
        "timeline_30_cold_under_30_s": big["evaluate_timeline_30"]["median_s"] < 30,
        "peak_rss_under_8_gb": max(
            big[k][m] for k in ("evaluate", "evaluate_timeline_30") for m in ("peak_rss_mb", "peak_tree_rss_mb")
        )
        < 8192,
    }
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
