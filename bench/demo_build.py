"""Time to first screen (issue 14): the demo build, and `make run` from a fresh clone to a page.

1. The demo build (`python -m lib demo`, default 200 models × 30 days), median of N runs, each
   into a fresh store, in a fresh process: what `demo` does (files read, validated and profiled
   in the two worker processes that generate them, the main process only writing, 20 models
   per transaction) and, in the same run as the baseline, the previous build (`ingest_file` on
   every file in the main process: `prepare_in_workers=False`); `--per-file` adds one
   transaction per register and per file (`group=0`). Every store must answer
   `evaluate --format json` byte for byte alike; the script checks it on the last run of each.
2. `make run` from a fresh clone (`git clone` of this checkout) until `/_stcore/health`
   answers: the clone reuses this checkout's virtual environment (a symlink, so pip's
   download time, which depends on the network, is not measured), builds the demo and serves.
3. `--load`: the same under load: two CPU burners (`python -c 'while 1: pass'`) on the two
   cores for the whole measurement.

    .venv/bin/python bench/demo_build.py [--repeat 3] [--models 200] [--load] [--skip-make]

The machine is shared: numbers vary with what else runs; the script prints the load average
before and after each measurement, and the CPU seconds of each build beside its wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


VARIANTS = {
    "workers": {},  # what `python -m lib demo` does
    "main_process": {"prepare_in_workers": False},  # the build before issue 14's last change
    "per_file": {"prepare_in_workers": False, "group": 0},  # --per-file only
}


def build_once(db: Path, models: int, kwargs: dict) -> tuple[float, float, float]:
    """Wall seconds of one demo build in a fresh process (the summary's own timer), the CPU
    seconds (user + system) of that process and its workers (on a shared machine the wall time
    follows the load, the CPU time much less), and the peak RSS in GB (`/usr/bin/time -f %M`: the
    largest of the process and its workers, not their sum)."""
    code = (
        "import json, sys; from lib.demo.build import build_demo; "
        f"r = build_demo({str(db)!r}, models={models}, **{kwargs!r}); print(json.dumps(r['seconds']))"
    )
    with tempfile.NamedTemporaryFile(suffix=".time") as t:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", t.name, PY, "-c", code],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_gb = int(Path(t.name).read_text().split()[-1]) / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(out.strip().splitlines()[-1]), round(cpu, 2), round(peak_gb, 2)


def evaluate_json(db: Path) -> bytes:
    return subprocess.run(
        [PY, "-m", "lib", "evaluate", "--db", str(db), "--format", "json"], cwd=ROOT, check=True, capture_output=True
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def make_run_once(models: int) -> float:
    """Seconds from `make run` in a fresh clone until the app's health endpoint answers."""
    with tempfile.TemporaryDirectory(prefix="driftlight-clone-") as tmp:
        clone = Path(tmp) / "driftlight"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        venv = ROOT / ".venv"
        (clone / ".venv").symlink_to(venv.resolve())
        port = free_port()
        env = dict(os.environ, STREAMLIT_SERVER_PORT=str(port))
        env.pop("DRIFTLIGHT_DB", None)
        started = time.perf_counter()
        # -o: the shared virtual environment is taken as up to date (never reinstalled from here).
        proc = subprocess.Popen(
            ["make", "-s", "-o", ".venv/.runtime", "run", f"DEMO_ARGS=--models {models}"],
            cwd=clone,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"make run exited with {proc.returncode}")
                try:
                    with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            return time.perf_counter() - started
                except OSError:
                    pass
                time.sleep(0.5)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def burners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([PY, "-c", "while 1: pass"]) for _ in range(n)]


def loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(args, label: str) -> dict:
    out: dict = {"label": label, "load_before": loadavg()}
    names = ["workers", "main_process"] + (["per_file"] if args.per_file else [])
    runs: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="driftlight-demo-bench-") as tmp:
        for i in range(args.repeat):
            for name in names:
                db = Path(tmp) / f"{name}-{i}.duckdb"
                load = loadavg()
                wall, used, peak = build_once(db, args.models, VARIANTS[name])
                runs[name].append({"wall_s": wall, "cpu_s": used, "peak_rss_gb": peak, "load_before": load})
                print(
                    f"[{label}] demo build {name} run {i + 1}: {wall:.1f} s wall, {used:.1f} s CPU, "
                    f"{peak:.2f} GB peak (load {load})",
                    flush=True,
                )
        texts = {name: evaluate_json(Path(tmp) / f"{name}-{args.repeat - 1}.duckdb") for name in names}
    out["demo_build"] = {
        name: {
            "median_wall_s": statistics.median(r["wall_s"] for r in rs),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "max_peak_rss_gb": max(r["peak_rss_gb"] for r in rs),
            "runs": rs,
        }
        for name, rs in runs.items()
    }
    out["evaluate_json_identical"] = len(set(texts.values())) == 1
    if not args.skip_make:
        times = []
        for i in range(args.make_repeat):
            times.append(make_run_once(args.models))
            print(f"[{label}] make run -> health run {i + 1}: {times[-1]:.1f} s", flush=True)
        out["make_run_to_health_s"] = {"median": statistics.median(times), "runs": times}
    out["load_after"] = loadavg()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--make-repeat", type=int, default=1)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--load", action="store_true", help="also measure with two CPU burners running")
    ap.add_argument("--skip-make", action="store_true", help="leave out the make-run measurement")
    ap.add_argument("--per-file", action="store_true", help="also time one transaction per file (group=0)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    results = [measure(args, "quiet")]
    if args.load:
        procs = burners(2)
        try:
            results.append(measure(args, "load"))
        finally:
            for p in procs:
                p.kill()
                p.wait()
    text = json.dumps(results, indent=2, allow_nan=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if all(r["evaluate_json_identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
