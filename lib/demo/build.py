"""The demo fleet: hundreds of real scikit-learn models with 30 days of inference logs.

`build_demo(db_path)` plans a fleet (default 200 models, 7 teams, binary / multiclass /
regression), and for every model, in worker processes:

1. draws a training set and a hold-out set from its *domain template* (lib.demo.domains) with
   the model's own seeded variation (feature distributions, category mix, coefficients, noise);
2. fits a real, small scikit-learn pipeline (imputers + one-hot encoding + LogisticRegression,
   Ridge, HistGradientBoosting or a DecisionTree), and measures how much it relies on each
   feature (permutation importance of the fitted model on 500 hold-out rows, against its own
   predictions: lib.demo.estimators.own_importance), which its spec declares as `importance:`
   as a team that knows its model would; the showcase models leave it out, so their reference
   ingest measures it with the surrogate, as it does for a user's model;
3. writes the reference snapshot (the hold-out set with the model's predictions and, for binary
   models, its score), the inference log of `days` days ending just before `end` (at least 1,000
   rows a day, the model's own predictions; one file, split into the days before and the last
   24 h for the schema scenarios, whose change lands in the newest file), and for a share of
   models late labels, as Parquet files in a temporary directory.

Every file goes through the same ingestion API as users' files, split in its two halves: the
worker that made a model's files also reads, validates and profiles them
(`lib.ingest.pipeline.prepare_new_model`: `prepare_file` per file, the reference first, whose
bins the later files are profiled against), and the main process registers the model and writes
the prepared files, model by model in plan order (`register_spec` / `write_prepared`, the second
half of `ingest_file`), so it only writes. Same seed, same
store: all randomness comes from `numpy.random.default_rng((seed, model_index))` and fixed
`random_state`s, and ingestion order is fixed.

About two thirds of the models are healthy: their inference rows come from exactly the
distribution their reference came from, with enough rows, so no default threshold of DESIGN.md
fires. The others each carry one injected problem, a *scenario* (`SCENARIOS`), recorded in the
spec's tags as `scenario:NAME` (plus `expect:STATUS` and `check:CHECK`) and told in the spec's
`description`. Problems are injected well past the default thresholds. With `models >= 12` each
scenario appears at least once (the first model of each scenario is a fixed *showcase* model,
e.g. `icecream-sales`); with fewer models the fleet holds one healthy model and the first
`models - 1` problem scenarios in `PROBLEM_SCENARIOS` order. Keep `days >= 8` for the volume and
freshness scenarios to mean what they say (the volume baseline is the 7 days before the last 24 h).
Labels: about 30% of healthy models get a late-labels file (the last 14 days), 15% log the label
with the inference; the performance-decay models and `icecream-sales` get late labels too.

Where it lives: lib.demo.domains (scenarios and domain templates, pure data), lib.demo.fleet
(the plan and each model's spec), lib.demo.sample (rows from a domain), lib.demo.estimators (the
scikit-learn model), lib.demo.generate (one model's files, in a worker), and here the entry point
that writes the fleet's files and ingests them.

This package knows no SQL: it writes files and calls lib.ingest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

from lib.demo import generate, transfer
from lib.demo.domains import DOMAINS, SCENARIOS
from lib.demo.fleet import plan_fleet
from lib.demo.generate import generate_model
from lib.demo.progress import clear_progress, write_progress

# The newest inference of the default demo is just before this instant, so a fresh demo store's
# default as_of (newest inference rounded up to the hour) is exactly DEMO_END.
DEMO_END = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
# Models in the demo build's first two and last write transactions (Store.group), 4 x as many
# in each between (group_sizes: 20, 20, 80, 60, 20 for the default 200).
GROUP_MODELS = 20
# A pause between two groups: a reader waiting for the store (the page's judge polls the lock
# every 50 ms at most) gets it before the next group takes it again.
READER_WINDOW_S = 0.1


def write_demo_files(
    out_dir: str | os.PathLike,
    *,
    models: int = 200,
    days: int = 30,
    seed: int = 0,
    end: datetime = DEMO_END,
    workers: int | None = None,
    prepare: bool = False,
    spill_dir: str | None = None,
):
    """Generate the fleet's files into out_dir; yields each model's result in plan order.

    prepare=True: the worker also reads, validates and profiles the model's files
    (lib.ingest.pipeline.prepare_new_model), deletes them, and the result carries the prepared
    files under "prepared" instead; with `spill_dir`, worker processes send it through a file
    there (lib.demo.transfer)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    plans = plan_fleet(models, seed=seed)
    out_dir = str(out_dir)
    job = _generate_and_prepare if prepare else generate_model
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if workers <= 1 or len(plans) <= 2:
        for plan in plans:
            yield plan, job(plan, days, end, seed, out_dir)
        return
    _import_worker_modules()
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker)
    spilling = prepare and spill_dir is not None
    args = (days, end, seed, out_dir) + ((spill_dir,) if spilling else ())
    job = _prepare_and_spill if spilling else job
    try:
        # Submitted ahead of the writing: enough that the workers keep going while a large
        # group commits (~3 s for 80 models: with 6 ahead they stood idle through it); every
        # prepared model waits in /dev/shm (or memory, or the temporary directory) until written.
        ahead = 20 * workers
        futures = [pool.submit(job, plan, *args) for plan in plans[:ahead]]
        for i, plan in enumerate(plans):
            if i + ahead < len(plans):
                futures.append(pool.submit(job, plans[i + ahead], *args))
            result = futures[i].result()
            futures[i] = None
            yield plan, transfer.unspill(result) if spilling else result
    finally:
        # Also when the consumer stops early (an error while ingesting): drop what is queued.
        pool.shutdown(wait=True, cancel_futures=True)


def _import_worker_modules() -> None:
    """Import here, before the workers fork, what every worker imports (scikit-learn, Arrow's
    Parquet writer): each worker inherits it instead of paying the ~1.5 s of CPU itself."""
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import threadpoolctl  # noqa: F401

    from lib.demo.estimators import _pipeline

    _pipeline(next(iter(DOMAINS.values())), "hgb", random_state=0)  # imports every estimator's module
    import sklearn.model_selection  # noqa: F401  (the surrogate of the showcases' reference ingest)


def _init_worker() -> None:
    """In each worker process, once: native thread pools on one thread, for good; scikit-learn
    trusts that its inputs hold no infinity (the generator makes none; its checks were 4% of
    generating, the fitted models and predictions are the same); and Linux schedules the worker
    as a batch job (SCHED_BATCH: the same share of the CPU, nice 0, but the writing process, the
    build's bottleneck, and a page served meanwhile are not preempted by it when they wake):
    quiet, 31.3 -> 29.3 s; under two CPU burners, the same (50.9 s against 49.8 s)."""
    import sklearn
    from threadpoolctl import threadpool_limits

    generate._ONE_THREAD_FOR_GOOD = threadpool_limits(1)
    sklearn.set_config(assume_finite=True)
    with contextlib.suppress(AttributeError, OSError):  # not on every platform
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def _generate_and_prepare(plan, days: int, end: datetime, seed: int, out_dir: str) -> dict[str, Any]:
    """In a worker: one model's files, then read, validated and profiled as ingest does."""
    from lib.ingest.pipeline import prepare_new_model
    from lib.spec import parse_spec

    result = generate_model(plan, days, end, seed, out_dir)
    with generate.one_thread():
        prepared = [
            p.for_transfer() for p in prepare_new_model(parse_spec(result["spec"], source="demo"), result["files"])
        ]
    for _, path in result["files"]:
        os.unlink(path)
    return {**result, "files": [], "prepared": prepared}


def _prepare_and_spill(plan, days: int, end: datetime, seed: int, out_dir: str, spill_dir: str):
    """_generate_and_prepare, its result sent through a file (lib.demo.transfer)."""
    return transfer.spill(_generate_and_prepare(plan, days, end, seed, out_dir), spill_dir, f"{plan.model_id}.pickle")


def build_demo(
    db_path: str | os.PathLike | None = None,
    *,
    models: int = 200,
    days: int = 30,
    seed: int = 0,
    end: datetime = DEMO_END,
    workers: int | None = None,
    group: int = GROUP_MODELS,
    prepare_in_workers: bool = True,
) -> dict[str, Any]:
    """Build the demo fleet into the store at db_path through the real ingestion path.

    The models share write transactions (Store.group: their profile rows are inserted once per
    table), `group` in the first two and the last, 4 x `group` between (group_sizes); group=0
    makes every register and file its own transaction, as a user's `ingest` does (the
    benchmark's baseline). Both give the same store (tests/test_demo.py compares them). The store is let go of between groups
    (a write connection per group), and `<store>.demo.json` says how many models are in
    (lib/demo/progress.py): the app, served while the demo builds, shows the fleet filling in.

    `prepare_in_workers`: the worker processes that generate a model's files also read, validate
    and profile them (lib.ingest.pipeline.prepare_file, the first half of ingest_file), and the
    main process only writes them (write_prepared, the second half); False: the main process runs
    ingest_file on each file (the earlier build, the benchmark's baseline). Both give the same store
    (tests/test_demo_workers.py compares them).

    Returns a JSON-ready summary: models, rows (inference rows; all kinds in rows_by_kind),
    files (ingested / skipped), seconds, scenario
    counts, the showcase model of each scenario, and the end instant. Files that an earlier
    identical build already ingested are skipped by ingest (same content hash). Raises
    RuntimeError if the store rejects a generated file (a bug, never expected).
    """
    from lib.ingest.pipeline import ingest_file, register_spec, write_prepared
    from lib.store.connection import Store

    started, started_wall = time.perf_counter(), time.time()
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    store = Store(db_path)
    rows = {"reference": 0, "inference": 0, "labels": 0}
    outcomes = {"ingested": 0, "skipped": 0}
    scenarios: dict[str, list[str]] = {name: [] for name in SCENARIOS}
    teams: set[str] = set()
    ingest_seconds = 0.0
    write_progress(store.path, 0, models, started_wall)  # first: a page served meanwhile says so
    tmp = tempfile.mkdtemp(prefix="driftlight-demo-")
    spilled = transfer.spill_dir(tmp)
    results = write_demo_files(
        tmp,
        models=models,
        days=days,
        seed=seed,
        end=end,
        workers=workers,
        prepare=prepare_in_workers,
        spill_dir=spilled,
    )
    try:
        # Start the workers (fork) before the store connection opens.
        item = next(results, None)
        done = 0
        sizes = group_sizes(models, group)
        for k, size in enumerate(sizes):
            # Each group in a connection of its own, let go of between groups: a reader (the
            # app, served while the demo builds) gets the store between them.
            # A group's commit checkpoints (DuckDB's default threshold, 16 MB) and so skips the
            # WAL; one transaction per file (group=0) checkpoints at the end.
            wal = "16MB" if group > 0 else "1GB"
            with (
                store.batch(threads=1, checkpoint_threshold=wal),
                store.group() if group > 0 else contextlib.nullcontext(),
            ):
                for _ in range(size):
                    if item is None:
                        break
                    plan, result = item
                    ingest_started = time.perf_counter()
                    register_spec(store, result["spec"], source="demo")
                    for kind, path in result["files"]:
                        outcome = ingest_file(store, kind, plan.model_id, path)
                        _count(plan.model_id, kind, outcome, outcomes, rows)
                        os.unlink(path)
                    for prepared in result.get("prepared", ()):
                        _count(plan.model_id, prepared.kind, write_prepared(store, prepared), outcomes, rows)
                    scenarios[plan.scenario].append(plan.model_id)
                    teams.add(plan.team)
                    ingest_seconds += time.perf_counter() - ingest_started
                    done += 1
                    item = next(results, None)
            write_progress(store.path, done, models, started_wall)
            if k < len(sizes) - 1:
                time.sleep(READER_WINDOW_S)
    finally:
        results.close()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(spilled, ignore_errors=True)
    clear_progress(store.path)  # only a build that ended well: an interrupted one is resumed
    n_models = sum(len(v) for v in scenarios.values())
    return {
        "db": str(store.path),
        "models": n_models,
        "teams": len(teams),
        "rows": rows["inference"],
        "rows_by_kind": rows,
        "files": outcomes,
        "seconds": round(time.perf_counter() - started, 2),
        "ingest_seconds": round(ingest_seconds, 2),  # of which spent registering and ingesting
        "scenarios": {k: len(v) for k, v in scenarios.items() if v},
        "showcase": {k: v[0] for k, v in scenarios.items() if v and k != "healthy"},
        "seed": seed,
        "days": days,
        "end": end.isoformat(),
    }


def group_sizes(models: int, group: int) -> list[int]:
    """Models per write transaction: `group` in each of the first two (the first models reach the
    page soon: the page's judge, arriving during the second, waits for its end) and in the last
    (the last commit and checkpoint, which nothing runs beside, stay short), groups of 4 x `group`
    between them: fewer checkpoints (each rewrites the store's indexes). group <= 0: one model
    per connection."""
    if group <= 0 or models <= 0:
        return [1] * max(models, 0)
    sizes, left = [], models
    for _ in range(2):
        if left > 0:
            sizes.append(min(group, left))
            left -= sizes[-1]
    last = min(group, left)
    middle = left - last
    sizes += [min(4 * group, middle - i) for i in range(0, middle, 4 * group)]
    return sizes + ([last] if last else [])


def _count(model_id: str, kind: str, outcome, outcomes: dict[str, int], rows: dict[str, int]) -> None:
    if outcome.status == "rejected":
        raise RuntimeError(f"demo: {model_id}: {outcome.message}")
    outcomes[outcome.status] += 1
    rows[kind] += outcome.rows
