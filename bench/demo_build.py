"""Time to first screen (issue 14): the demo build, and `make run` from a fresh clone to a page.

1. The demo build (`python -m lib demo`, default 200 models × 30 days), median of N runs, each
   into a fresh store, in a fresh process: what `demo` does (`workers`), and in the same run the
   baseline: the same build by another commit's code (`--baseline REF`, default `main`: a
   `git clone` of this checkout at REF, run with this virtual environment). `--main-process` adds
   the build with every file ingested in the main process (`prepare_in_workers=False`),
   `--per-file` one transaction per register and per file (`group=0`). The variants of this
   code must answer `evaluate --format json` byte for byte alike; against the baseline, every
   model must get the same status (the script checks both on the last run of each).
2. `make run` from a fresh clone (`git clone` of this checkout, committed state) until
   `/_stcore/health` answers and the fleet page shows its first tile in headless Chromium: by
   default the clone reuses this checkout's virtual environment (a symlink); `--fresh-venv`
   lets `make` create its own, as a newcomer's first `make run` does (pip may use its cache),
   and times the phases: virtual environment + pip, demo build, server start, first tile.
3. `--load`: the same under load: two CPU burners (`python -c 'while 1: pass'`) on the two
   cores for the whole measurement.

    .venv/bin/python bench/demo_build.py [--repeat 3] [--models 200] [--baseline main|none]
        [--load] [--skip-make] [--fresh-venv] [--make-repeat N] [--main-process] [--per-file]

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
    "baseline": {},  # the same call, by the baseline commit's code (--baseline)
    "main_process": {"prepare_in_workers": False},  # --main-process only
    "per_file": {"prepare_in_workers": False, "group": 0},  # --per-file only
}


def baseline_checkout(ref: str, into: Path) -> Path:
    """A clone of this checkout at `ref` (its committed code only), for the baseline build."""
    clone = into / "baseline"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", ref], check=True)
    return clone


def build_once(db: Path, models: int, kwargs: dict, cwd: Path = ROOT) -> tuple[float, float, float]:
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
            cwd=cwd,
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


def statuses(text: bytes) -> dict[str, str]:
    return {m["model_id"]: m["status"] for m in json.loads(text)["models"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def first_tile(url: str, timeout_s: float) -> float:
    """Seconds until the fleet page at url shows its first model tile in headless Chromium."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    started = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page()
            page.goto(url, timeout=timeout_s * 1000)
            page.wait_for_selector("[data-testid='dl-tile']", timeout=timeout_s * 1000)
        finally:
            browser.close()
    return time.perf_counter() - started


def make_run_once(models: int, fresh_venv: bool) -> dict[str, float]:
    """`make run` in a fresh clone: seconds until each phase ended, from the start: `venv` (the
    virtual environment made and the requirements installed; --fresh-venv only), `health` (the
    server answers /_stcore/health: the page is served, saying how far the demo build is),
    `first_tile` (the fleet page shows a model tile: the first group of models is in and
    judged), `demo` (the whole demo store built, in the background of the served app)."""
    with tempfile.TemporaryDirectory(prefix="driftlight-clone-") as tmp:
        clone = Path(tmp) / "driftlight"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        make = ["make", "-s", "run"] + ([] if models == 200 else [f"DEMO_ARGS=--models {models}"])
        if not fresh_venv:
            (clone / ".venv").symlink_to((ROOT / ".venv").resolve())
            # -o: the shared virtual environment is taken as up to date (never reinstalled from here).
            make[2:2] = ["-o", ".venv/.runtime"]
        port = free_port()
        env = dict(os.environ, STREAMLIT_SERVER_PORT=str(port))
        env.pop("DRIFTLIGHT_DB", None)
        log = open(Path(tmp) / "make.log", "w")  # noqa: SIM115 (closed below)
        started = time.perf_counter()
        proc = subprocess.Popen(make, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        marks: dict[str, float] = {}
        try:
            while "health" not in marks:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"make run exited with {proc.returncode}: {(Path(tmp) / 'make.log').read_text()}"
                    )
                now = time.perf_counter() - started
                if fresh_venv and "venv" not in marks and (clone / ".venv" / ".runtime").exists():
                    marks["venv"] = now
                if "demo" not in marks and "demo fleet:" in (Path(tmp) / "make.log").read_text():
                    marks["demo"] = now
                try:
                    with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            marks["health"] = time.perf_counter() - started
                except OSError:
                    pass
                time.sleep(0.25)
            marks["first_tile"] = marks["health"] + first_tile(f"http://localhost:{port}/", 300)
            deadline = time.perf_counter() + 900
            while "demo" not in marks and time.perf_counter() < deadline and proc.poll() is None:
                if "demo fleet:" in (Path(tmp) / "make.log").read_text():
                    marks["demo"] = time.perf_counter() - started
                time.sleep(0.25)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()
        return {k: round(v, 1) for k, v in marks.items()}


def burners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([PY, "-c", "while 1: pass"]) for _ in range(n)]


def loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(args, label: str, baseline: Path | None) -> dict:
    out: dict = {"label": label, "load_before": loadavg()}
    names = ["workers"] + (["baseline"] if baseline else [])
    names += (["main_process"] if args.main_process else []) + (["per_file"] if args.per_file else [])
    runs: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="driftlight-demo-bench-") as tmp:
        for i in range(args.repeat):
            for name in names:
                db = Path(tmp) / f"{name}-{i}.duckdb"
                load = loadavg()
                cwd = baseline if name == "baseline" else ROOT
                wall, used, peak = build_once(db, args.models, VARIANTS[name], cwd)
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
    ours = {name: t for name, t in texts.items() if name != "baseline"}
    out["evaluate_json_identical"] = len(set(ours.values())) == 1
    if baseline:
        a, b = statuses(texts["workers"]), statuses(texts["baseline"])
        out["statuses_as_baseline"] = a == b
        out["status_differences"] = {m: [b.get(m), a.get(m)] for m in sorted(set(a) | set(b)) if a.get(m) != b.get(m)}
    if not args.skip_make:
        times = []
        for _ in range(args.make_repeat):
            times.append(make_run_once(args.models, args.fresh_venv))
            print(f"[{label}] make run, fresh clone: phases ended at (s) {times[-1]}", flush=True)
        out["make_run_s"] = {
            "fresh_venv": args.fresh_venv,
            "median_first_tile": statistics.median(t["first_tile"] for t in times),
            "runs": times,
        }
    out["load_after"] = loadavg()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--make-repeat", type=int, default=1)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--load", action="store_true", help="also measure with two CPU burners running")
    ap.add_argument("--load-only", action="store_true", help="only the measurement with two CPU burners")
    ap.add_argument("--skip-make", action="store_true", help="leave out the make-run measurement")
    ap.add_argument("--per-file", action="store_true", help="also time one transaction per file (group=0)")
    ap.add_argument("--main-process", action="store_true", help="also time ingest in the main process")
    ap.add_argument("--baseline", default="main", help="git ref built as the baseline in the same run, or none")
    ap.add_argument("--fresh-venv", action="store_true", help="make run creates its own venv (pip timed)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="driftlight-baseline-") as tmp:
        baseline = None if args.baseline == "none" else baseline_checkout(args.baseline, Path(tmp))
        results = [] if args.load_only else [measure(args, "quiet", baseline)]
        if args.load or args.load_only:
            procs = burners(2)
            try:
                results.append(measure(args, "load", baseline))
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
    text = json.dumps(results, indent=2, allow_nan=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    ok = all(r["evaluate_json_identical"] and r.get("statuses_as_baseline", True) for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
