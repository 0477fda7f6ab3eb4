"""Soak (issue 12): a writer ingesting one day per model every few seconds, `evaluate` in a loop,
and 5 browser sessions reloading the fleet grid and model pages, all against one store for
`--seconds` (10 minutes by default). Prints per-page latency p50 / p95 / max, errors, "store
busy" notices, and the rows written vs found at the end.

    .venv/bin/python bench/soak.py [--seconds 600] [--sessions 5] [--models 8] [--interval 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

from lib.ingest.pipeline import ingest_file, register_spec  # noqa: E402
from lib.store.connection import Store  # noqa: E402

START = pd.Timestamp("2026-11-01T00:00:00Z")
ROWS_PER_DAY = 2_000


def _spec(model_id: str) -> dict:
    return {
        "model_id": model_id,
        "name": f"Soak {model_id}",
        "task": "regression",
        "owner": f"{model_id}@example.com",
        "team": "soak",
        "columns": {"timestamp": "ts", "prediction": "prediction"},
        "features": {"colour": "categorical", "size": "numeric"},
    }


def _day(rng, day: int) -> pd.DataFrame:
    ts = pd.date_range(START + pd.Timedelta(days=day), periods=ROWS_PER_DAY, freq=f"{86400 // ROWS_PER_DAY}s")
    df = pd.DataFrame({"ts": ts, "colour": rng.choice(["a", "b", "c"], ROWS_PER_DAY)})
    df["size"] = rng.normal(10 + day * 0.05, 2, ROWS_PER_DAY)
    df["prediction"] = df["size"] * 2
    return df


def build(workdir: Path, models: int) -> tuple[Path, list[str]]:
    db = workdir / "soak.duckdb"
    store = Store(db)
    rng = np.random.default_rng(0)
    ids = [f"soak-{i:02d}" for i in range(models)]
    for m in ids:
        register_spec(store, _spec(m))
        ref = _day(rng, 0).drop(columns="ts")
        ref["label"] = ref["prediction"]
        ref.to_parquet(workdir / f"{m}-ref.parquet", index=False)
        assert ingest_file(store, "reference", m, workdir / f"{m}-ref.parquet").status == "ingested"
        for day in range(7):
            _day(rng, day).to_parquet(workdir / f"{m}-d{day}.parquet", index=False)
            assert ingest_file(store, "inference", m, workdir / f"{m}-d{day}.parquet").status == "ingested"
    return db, ids


def rows_found(db: Path, ids: list[str]) -> int:
    with Store(db, timeout=120).read() as con:
        return sum(con.execute(f'SELECT count(*) FROM "inf__{m}"').fetchall()[0][0] for m in ids)


def cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLIGHT_POLICY": ""}
    return subprocess.run([sys.executable, "-m", "lib", *argv], cwd=ROOT, env=env, capture_output=True, text=True)


def writer(db: Path, ids: list[str], workdir: Path, interval: float, stop: threading.Event, out: dict) -> None:
    """Every `interval` s, one new day for the next model, through `python -m lib ingest`."""
    rng = np.random.default_rng(1)
    day = dict.fromkeys(ids, 7)
    i = 0
    while not stop.is_set():
        m = ids[i % len(ids)]
        path = workdir / f"{m}-d{day[m]}.parquet"
        _day(rng, day[m]).to_parquet(path, index=False)
        t0 = time.monotonic()
        proc = cli("ingest", "--db", str(db), "inference", "--model", m, str(path))
        out["ingest_s"].append(time.monotonic() - t0)
        if proc.returncode == 0 and "ingested" in proc.stdout:
            out["rows_written"] += ROWS_PER_DAY
            day[m] += 1
        else:
            out["writer_errors"].append((proc.stdout + proc.stderr).strip()[:300])
        i += 1
        stop.wait(interval)


def evaluator(db: Path, stop: threading.Event, out: dict) -> None:
    while not stop.is_set():
        t0 = time.monotonic()
        proc = cli("evaluate", "--db", str(db), "--format", "json")
        out["evaluate_s"].append(time.monotonic() - t0)
        if proc.returncode != 0:
            out["evaluate_errors"].append(proc.stderr.strip()[:300])
        else:
            json.loads(proc.stdout)


READY = (
    "() => { const a = document.querySelector(\"[data-testid='stApp']\");"
    " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
    " && !document.querySelector('[data-testid=\"stSpinner\"]'); }"
)


async def session(browser, base: str, ids: list[str], until: float, seed: int, out: dict) -> None:
    rng = random.Random(seed)
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    while time.monotonic() < until:
        for kind, url in (("grid", base + "/"), ("model", f"{base}/model?model={rng.choice(ids)}")):
            if time.monotonic() >= until:
                break
            t0 = time.monotonic()
            try:
                await page.goto(url)
                await page.wait_for_selector("[data-testid='stApp']", timeout=120_000)
                await page.wait_for_timeout(150)
                await page.wait_for_function(READY, timeout=120_000)
                seconds = time.monotonic() - t0
                text = await page.inner_text("body")
                n_exc = await page.locator("[data-testid='stException']").count()
                n_err = await page.locator("[data-testid='stAlertContentError']").count()
                out["latency"].setdefault(kind, []).append(seconds)
                if "The store is busy." in text:
                    out["busy"] += 1
                if n_exc or n_err:
                    first = await page.locator(
                        "[data-testid='stException'], [data-testid='stAlertContentError']"
                    ).first.inner_text()
                    out["page_errors"].append(f"{kind}: {n_exc} exceptions, {n_err} error boxes: {first[:200]!r}")
            except Exception as exc:  # counted, never fatal to the soak
                out["page_errors"].append(f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    await page.close()


async def browse(base: str, ids: list[str], seconds: float, sessions: int, out: dict) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        until = time.monotonic() + seconds
        await asyncio.gather(*(session(browser, base, ids, until, i, out) for i in range(sessions)))
        await browser.close()


def _stats(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0}
    a = np.asarray(xs)
    return {
        "n": len(xs),
        "p50_s": round(float(np.percentile(a, 50)), 2),
        "p95_s": round(float(np.percentile(a, 95)), 2),
        "max_s": round(float(a.max()), 2),
    }


def soak(seconds: float, sessions: int, models: int, interval: float, workdir: Path) -> dict:
    db, ids = build(workdir, models)
    base_rows = rows_found(db, ids)
    out = {
        "rows_written": 0,
        "ingest_s": [],
        "evaluate_s": [],
        "writer_errors": [],
        "evaluate_errors": [],
        "latency": {},
        "busy": 0,
        "page_errors": [],
    }
    stop = threading.Event()
    load_before = [round(x, 2) for x in os.getloadavg()]  # the machine is shared: say how busy it was
    with streamlit_server(db) as base:
        threads = [
            threading.Thread(target=writer, args=(db, ids, workdir, interval, stop, out)),
            threading.Thread(target=evaluator, args=(db, stop, out)),
        ]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        try:
            asyncio.run(browse(base, ids, seconds, sessions, out))
        finally:
            stop.set()
            for t in threads:
                t.join()
        elapsed = time.monotonic() - t0
    found = rows_found(db, ids) - base_rows
    return {
        "seconds": round(elapsed, 1),
        "sessions": sessions,
        "models": models,
        "requests": sum(len(v) for v in out["latency"].values()) + len(out["page_errors"]),
        "pages": {k: _stats(v) for k, v in out["latency"].items()},
        "page_errors": len(out["page_errors"]),
        "page_error_samples": out["page_errors"][:5],
        "busy_notices": out["busy"],
        "ingests": len(out["ingest_s"]),
        "ingest": _stats(out["ingest_s"]),
        "writer_errors": out["writer_errors"][:5],
        "evaluates": _stats(out["evaluate_s"]),
        "evaluate_errors": out["evaluate_errors"][:5],
        "rows_written": out["rows_written"],
        "rows_found": found,
        "load_average_1_5_15_min": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between two ingests")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="driftlight-soak-") as tmp:
        result = soak(args.seconds, args.sessions, args.models, args.interval, Path(tmp))
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    ok = result["rows_written"] == result["rows_found"] and not result["page_errors"] and not result["writer_errors"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
