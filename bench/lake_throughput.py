"""Lake throughput (issue 11): rows per second profiled by `sync --engine duckdb` and `--engine spark`.

    .venv/bin/python bench/lake_throughput.py [--models 10,50] [--repeat 3] [--engines ingest,duckdb,spark]
                                              [--once 500] [--spark-master local[2]] [--out FILE]

The lake is the ingest-built benchmark fleet's own files (bench/fleet.py, bench/cache/files/), laid out
per the lake contract with symbolic links, nothing copied, in bench/cache/lake-<N>/:

    lake-<N>/<model>/spec.yaml                                         fleet.spec(i) as YAML
    lake-<N>/<model>/reference/reference.parquet                      -> files/<model>/reference.parquet
    lake-<N>/<model>/inference/date=2026-05-31/inference-d01-29.parquet -> 58,000 rows (days 1-29)
    lake-<N>/<model>/inference/date=2026-06-29/inference-d30.parquet    ->  2,000 rows (day 30)

(the fleet keeps days 1-29 in one file; a date= partition is only a hint to the lake reader, the
profiled hours are exact). N models hold N x 60,000 inference rows (500 models: 30 M).

Each run is a fresh process into a fresh store: `python -m lib sync --lake lake-<N> --engine E`,
and the baseline in the same run, `ingest` of the same files (bench/fleet.ingest_all: register +
ingest_file of each file in one writer, the path that copies the rows into the store). Measured:
wall seconds, CPU seconds of the whole process tree (user + system; Spark's JVM is a child), the
peak of the tree's summed RSS (sampled every 0.2 s) and the load average before and after. rows/s
is inference rows / wall seconds. `--repeat` runs per size give medians; `--once N` adds one run
per engine at N models (the full 30 M rows: `--once 500`). After the runs, the duckdb-engine and
spark-engine stores of the smallest size are compared: `evaluate --format json` must be equal,
every number to 1e-9 (and the ingest store's too, as information).
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import fleet  # noqa: E402  (bench/fleet.py: the files, their specs)

PY = sys.executable
ENGINES = ("ingest", "duckdb", "spark")
FIRST_DAY, LAST_DAY = "2026-05-31", "2026-06-29"  # day 1 and day 30 of the fleet (END 2026-06-30)
INFERENCE_ROWS = fleet.DAYS * fleet.ROWS_PER_DAY  # 60,000 a model
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def layout(models: int, files: Path = fleet.FILES, cache: Path = fleet.CACHE) -> Path:
    """bench/cache/lake-<models>/: the fleet's first `models` models as a lake of symbolic links."""
    import yaml

    lake = cache / f"lake-{models}"
    for i in range(models):
        mid = fleet.model_id(i)
        folder = lake / mid
        for name, sub in (
            ("reference.parquet", "reference"),
            ("inference-d01-29.parquet", f"inference/date={FIRST_DAY}"),
            ("inference-d30.parquet", f"inference/date={LAST_DAY}"),
        ):
            source = files / mid / name
            if not source.is_file():
                raise SystemExit(f"{source}: missing; build the fleet first: .venv/bin/python bench/fleet.py")
            (folder / sub).mkdir(parents=True, exist_ok=True)
            link = folder / sub / name
            if not link.is_symlink():
                link.symlink_to(source)
        text = yaml.safe_dump(fleet.spec(i), sort_keys=False)
        if not (folder / "spec.yaml").is_file() or (folder / "spec.yaml").read_text() != text:
            (folder / "spec.yaml").write_text(text)
    return lake


# -- measuring a process tree --------------------------------------------------------------------
def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _sample(pids: list[int]) -> tuple[dict[int, float], int]:
    """(cpu seconds of each pid, summed RSS bytes)."""
    cpu, rss = {}, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/statm") as fh:
                rss += int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return cpu, rss


def timed(cmd: list[str], log: Path) -> dict:
    """Run `cmd`; wall s, CPU s of its tree, peak summed RSS, load average before and after."""
    import resource

    load_before = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen: dict[int, float] = {}
    peak = 0
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        while proc.poll() is None:
            cpu, rss = _sample(_tree(proc.pid))
            seen.update(cpu)
            peak = max(peak, rss)
            time.sleep(0.2)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}; see {log}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(max(waited, sum(seen.values())), 2),
        "peak_rss_mb": round(peak / 2**20),  # ru_maxrss of RUSAGE_CHILDREN is over every child so far
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def command(engine: str, models: int, lake: Path, db: Path, master: str, files: Path) -> list[str]:
    if engine == "ingest":
        return [PY, str(Path(__file__).resolve()), "--_ingest", str(db), str(models), str(files)]
    cmd = [PY, "-m", "lib", "sync", "--lake", str(lake), "--db", str(db), "--engine", engine]
    return cmd + (["--spark-master", master] if engine == "spark" else [])


def run_one(engine: str, models: int, lake: Path, work: Path, master: str, files: Path, keep: bool) -> dict:
    db = work / f"{engine}-{models}.duckdb"
    for p in work.glob(f"{engine}-{models}.duckdb*"):
        p.unlink()
    result = timed(command(engine, models, lake, db, master, files), work / f"{engine}-{models}.log")
    result["rows_per_s"] = round(models * INFERENCE_ROWS / result["wall_s"])
    result["rows_per_cpu_s"] = round(models * INFERENCE_ROWS / result["cpu_s"])
    result["store_mb"] = round(sum(p.stat().st_size for p in work.glob(f"{engine}-{models}.duckdb*")) / 2**20)
    if not keep:
        for p in work.glob(f"{engine}-{models}.duckdb*"):
            p.unlink()
    return result


# -- the two stores agree --------------------------------------------------------------------------
def _diff(a, b, where: str = "$", tol: float = 1e-9) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{where}: keys {sorted(set(a) ^ set(b))[:5]}"
        return next((d for k in a if (d := _diff(a[k], b[k], f"{where}.{k}", tol))), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        return next(
            (d for i, (x, y) in enumerate(zip(a, b, strict=True)) if (d := _diff(x, y, f"{where}[{i}]", tol))), None
        )
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return None if math.isclose(a, b, rel_tol=tol, abs_tol=tol) else f"{where}: {a!r} vs {b!r}"
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def evaluate_json(db: Path) -> dict:
    out = subprocess.run(
        [PY, "-m", "lib", "evaluate", "--db", str(db), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode not in (0, 1):  # 1: a red model (DESIGN: evaluate's exit codes)
        raise SystemExit(f"evaluate --db {db}: exit {out.returncode}: {out.stderr.strip()[:300]}")
    return json.loads(out.stdout)


def _summary(doc: dict) -> dict:
    models = doc.get("models", doc if isinstance(doc, list) else [])
    statuses: dict[str, int] = {}
    for m in models:
        statuses[m.get("status", "?")] = statuses.get(m.get("status", "?"), 0) + 1
    return statuses


def compare(work: Path, models: int) -> dict:
    # every engine's store in --work: an earlier invocation's too (e.g. ingest,duckdb then ingest,spark)
    stores = {e: work / f"{e}-{models}.duckdb" for e in ENGINES if (work / f"{e}-{models}.duckdb").exists()}
    docs = {e: evaluate_json(db) for e, db in stores.items()}
    out: dict = {"models": models, "statuses": {e: _summary(d) for e, d in docs.items()}}
    if "duckdb" in docs and "spark" in docs:
        out["duckdb_vs_spark"] = _diff(docs["duckdb"], docs["spark"]) or "equal (every number to 1e-9)"
    if "ingest" in docs and "duckdb" in docs:
        out["ingest_vs_duckdb"] = _diff(docs["ingest"], docs["duckdb"]) or "equal (every number to 1e-9)"
    return out


# -- main ------------------------------------------------------------------------------------------
def _git() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def _line(engine: str, models: int, runs: list[dict]) -> str:
    keys = ("wall_s", "cpu_s", "peak_rss_mb", "rows_per_s", "rows_per_cpu_s")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    loads = [r["load_before"][0] for r in runs] + [r["load_after"][0] for r in runs]
    return (
        f"{engine:<7}{models:>7}{models * INFERENCE_ROWS:>12,}{med['rows_per_s']:>11,.0f}{med['wall_s']:>10.1f}"
        f"{med['cpu_s']:>9.1f}{med['rows_per_cpu_s']:>10,.0f}{med['peak_rss_mb']:>8.0f}{len(runs):>3}"
        f"   {min(loads):.1f}-{max(loads):.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="10,50", help="sizes in models, comma-separated (60,000 rows each)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine and size (medians)")
    ap.add_argument("--once", type=int, default=0, help="one more run per engine at this many models (500: 30 M rows)")
    ap.add_argument("--engines", default="ingest,duckdb,spark")
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--work", default=None, help="folder for the stores (default: a temporary one)")
    ap.add_argument("--out", default=str(BENCH / "lake-results.json"))
    ap.add_argument("--files", default=str(fleet.FILES), help="the fleet's files (default bench/cache/files)")
    ap.add_argument("--lakes", default=str(fleet.CACHE), help="where lake-<N>/ are laid out (default bench/cache)")
    ap.add_argument("--_ingest", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._ingest:  # the baseline, in its own process: the fleet's ingest of the same files
        fleet.ingest_all(Path(args._ingest[0]), Path(args._ingest[2]), int(args._ingest[1]), progress=False)
        return 0
    engines = args.engines.split(",")
    sizes = [int(s) for s in args.models.split(",") if s]
    work = Path(args.work or tempfile.mkdtemp(prefix="lake-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    plan = [(n, args.repeat) for n in sizes] + ([(args.once, 1)] if args.once else [])
    results: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": _git(),
        "spark_master": args.spark_master,
        "cpus": os.cpu_count(),
        "runs": {},
        "layout": "lake-<N>/<model>/{spec.yaml, reference/, inference/date=.../}: symbolic links to --files",
    }
    smallest = min(n for n, _ in plan)
    for models, repeat in plan:
        lake = layout(models, Path(args.files), Path(args.lakes))
        for r in range(repeat):
            for engine in engines:  # interleaved: each engine's runs meet the same load
                keep = models == smallest and r == repeat - 1
                res = run_one(engine, models, lake, work, args.spark_master, Path(args.files), keep)
                results["runs"].setdefault(f"{engine}/{models}", []).append(res)
                print(f"  {engine} {models} models run {r + 1}/{repeat}: {json.dumps(res)}", flush=True)
    results["agreement"] = compare(work, smallest)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(
        f"\n{'engine':<7}{'models':>7}{'inf. rows':>12}{'rows/s':>11}{'wall s':>10}{'cpu s':>9}{'RSS MB':>9}{'n':>4}   load"
    )
    for key, runs in results["runs"].items():
        engine, models = key.split("/")
        print(_line(engine, int(models), runs))
    print(f"\nagreement at {smallest} models: {json.dumps(results['agreement'], indent=1)}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
