"""The fleet grid in Chromium at 10,000 models (issue 11), with the 200-model demo fleet as the
baseline in the same run.

    .venv/bin/python bench/grid.py [--db bench/cache/scale-10000.duckdb] [--baseline bench/cache/demo-200.duckdb]
                                   [--repeat 5] [--out bench/grid-results.json] [--shots DIR] [--keep-judgment]

For each store: the persisted judgment beside it (`<store>.cache/fleet/`) is removed, the app is
started (`streamlit run serve.py`, its own process, as `make run` serves it: its start-up hook
starts the judgment before any visit), and a first visit times how long the progress notice takes
to appear (the page must not wait for the judgment); the background judgment is
waited for (its duration is recorded). Then, in headless Chromium (Debian's, driven by Playwright):

- warm: a fresh tab per run; the time from navigation start (the page's `performance` clock) to
  the last tile of the page visible, median of --repeat, for the first page, page 50 (or the
  last), a team filter with a search, and the status filter Red;
- cold after a restart: the server is stopped and started again (the persisted result on disk),
  and a first visit times navigation start to the first tile visible (--repeat restarts).

The store itself is only read (its `.cache/` folder beside it is written): pass a copy when the
store is not yours. The 10,000-model store is built by bench/scale.py when missing, the demo by
`python -m lib demo`. Load averages are recorded before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from lib.reports.pdf import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the same browser the tests drive)

PAGE = 100  # tiles a page (lib/ui/fleet_view.py PAGE_SIZE)

# The last tile of the page in view (scrolled to) and painted: returns the page's clock then.
LAST_TILE_JS = """(n) => {
  const tiles = document.querySelectorAll("[data-testid='dl-tile']");
  if (tiles.length < n) return false;
  const last = tiles[tiles.length - 1];
  const r = last.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return false;
  return performance.now();
}"""
# Then the whole page drawn: the script run over, no skeleton left (the pager, the sidebar).
COMPLETE_JS = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector("[data-testid='stSkeleton']")) return false;
  return performance.now();
}"""
FIRST_CONTENT_JS = """() => {
  const t = document.querySelector("[data-testid='dl-tile']");
  if (t && t.getBoundingClientRect().width > 0) return {what: 'tiles', at: performance.now()};
  const main = document.querySelector("[data-testid='stMain']");
  if (main && /Judging the fleet for the first time|Reading back the last judgment/.test(main.innerText))
    return {what: 'notice', at: performance.now()};
  return false;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(db: Path):
    """`streamlit run serve.py` on a free port against the store; yields (base URL, pid)."""
    port = free_port()
    env = {**os.environ, "DRIFTLIGHT_DB": str(db), "DRIFTLIGHT_POLICY": "", "DRIFTLIGHT_JUDGE_WAIT": "3"}
    log = open(f"/tmp/driftlight-bench-grid-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "serve.py",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--server.headless=true",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (see {log.name})")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024)
    return float("nan")


def timed_visit(
    browser, url: str, js: str, arg=None, shot: Path | None = None, timeout: float = 600, context=None, complete=None
):
    """Open url in a fresh tab (of `context`: warm, its HTTP cache kept; else of a new one: cold);
    the page-clock time (ms) at which js first returns a value."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        got = page.wait_for_function(js, arg=arg, polling="raf", timeout=timeout * 1000).json_value()
        if complete is not None:
            complete.append(page.wait_for_function(COMPLETE_JS, polling="raf", timeout=timeout * 1000).json_value())
        if shot is not None:
            page.wait_for_timeout(300)
            page.screenshot(path=str(shot), full_page=False)
        return got
    finally:
        page.close()
        if own:
            context.close()


def persisted(db: Path) -> Path:  # lib/ui/judged.py persisted_path's folder
    return Path(str(db) + ".cache") / "fleet"


def bench_store(
    browser, label: str, db: Path, n_models: int, repeat: int, shots: Path | None, keep: bool = False
) -> dict:
    from lib.reports.data import Filters

    keep = keep and (persisted(db) / "judged.json").is_file()
    if not keep:
        shutil.rmtree(persisted(db), ignore_errors=True)
    out: dict = {"store": str(db), "models": n_models, "load_before": os.getloadavg(), "kept_judgment": keep}
    views = {
        "first page": ("/", min(PAGE, n_models)),
        "page 50 (or last)": (f"/?page={min(50, -(-n_models // PAGE))}", None),
        "team + search": ("/?team={team}&q={q}", None),
        "status Red": ("/?status=Red", None),
    }
    with server(db) as (base, pid):
        if not keep:
            first = timed_visit(browser, base + "/", FIRST_CONTENT_JS, timeout=300)
            out["first_start_first_content_s"] = round(first["at"] / 1000, 2)
            out["first_start_shows"] = first["what"]
        t0 = time.monotonic()
        while not (persisted(db) / "judged.json").is_file():  # the background judgment, persisted
            time.sleep(1)
        doc = json.loads((persisted(db) / "judged.json").read_text())
        out["background_judgment_s"] = round(doc["seconds"], 1)
        out["waited_for_judgment_s"] = round(time.monotonic() - t0, 1)
        models = doc["fleet"]["models"]
        some = models[len(models) // 2]
        team, q = some["team"], some["model_id"][:-1]
        expect = {
            "team + search": sum(Filters(teams=(team,), search=q).keep(m) for m in models),
            "status Red": sum(Filters(statuses=("red",)).keep(m) for m in models),
        }
        out["warm_s"] = {}
        warm = browser.new_context(viewport={"width": 1500, "height": 1000})
        timed_visit(browser, base + "/", LAST_TILE_JS, arg=min(PAGE, n_models), context=warm)  # fills its cache
        for name, (path, n) in views.items():
            path = path.format(team=team, q=q)
            if n is None:
                total = expect.get(name, n_models)
                page = int(path.split("page=")[1]) if "page=" in path else 1
                n = max(0, min(PAGE, total - (page - 1) * PAGE))
                if n == 0:
                    continue
            runs, whole = [], []
            for i in range(repeat):
                shot = shots / f"{label}-{name.split()[0]}.png" if shots and i == repeat - 1 else None
                at = timed_visit(browser, base + path, LAST_TILE_JS, arg=n, shot=shot, context=warm, complete=whole)
                runs.append(at / 1000)
            out["warm_s"][name] = {
                "url": path,
                "tiles": n,
                "median": round(statistics.median(runs), 2),
                "runs": [round(r, 2) for r in runs],
                "page_complete_median": round(statistics.median(whole) / 1000, 2),
            }
        warm.close()
        out["server_rss_mb"] = rss_mb(pid)
        out["server_peak_rss_mb"] = rss_mb(pid, "VmHWM")  # the judging's peak included
    colds = []
    for _ in range(repeat):
        with server(db) as (base, _pid):
            got = timed_visit(browser, base + "/", FIRST_CONTENT_JS, timeout=300)
            colds.append((got["what"], got["at"] / 1000))
    out["cold_after_restart_s"] = {
        "median": round(statistics.median(t for _, t in colds), 2),
        "runs": [round(t, 2) for _, t in colds],
        "shows": sorted({w for w, _ in colds}),
    }
    out["load_after"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(BENCH / "cache" / "scale-10000.duckdb"))
    ap.add_argument("--baseline", default=str(BENCH / "cache" / "demo-200.duckdb"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(BENCH / "grid-results.json"))
    ap.add_argument("--shots", default=None, help="folder for a screenshot of each warm view")
    ap.add_argument(
        "--keep-judgment",
        action="store_true",
        help="reuse a persisted judgment beside each store (no first-start measurement, no judging)",
    )
    args = ap.parse_args(argv)
    db, baseline = Path(args.db), Path(args.baseline)
    if not db.exists():
        import scale  # bench/scale.py

        db = scale.fleet(10_000, rebuild=False)[0]
    if not baseline.exists():
        subprocess.run([sys.executable, "-m", "lib", "demo", "--db", str(baseline)], cwd=ROOT, check=True)
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    from lib.store import detail
    from lib.store.connection import Store

    results = {"load_before": os.getloadavg(), "repeat": args.repeat, "stores": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for label, path in (("baseline", baseline), ("fleet", db)):
            n = len(detail.catalog(Store(str(path)))["models"])
            print(f"{label}: {path} ({n:,} models) ...", file=sys.stderr, flush=True)
            results["stores"][label] = bench_store(browser, label, path, n, args.repeat, shots, args.keep_judgment)
        browser.close()
    results["load_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
