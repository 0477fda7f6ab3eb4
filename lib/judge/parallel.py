"""The chunks of a fleet judged by two processes at once (issue 11: 10,000 models on 2 cores).

Judging a chunk of models depends on nothing but the chunk (the fleet-wide FDR family is decided
before, lib/judge/evaluate.py), and most of its time is single-threaded pandas and numpy, so a
second process halves the wall time of a large fleet. This process takes chunks from the front,
a helper process (spawned: never a fork of a process holding a DuckDB connection and its threads)
takes them from the back, one at a time, until they meet: whichever is slowed down by the
machine's other work does less. The helper opens its own read-only connection without the lock:
this process holds the shared lock for the helper's whole life (Store.read_held). Each model's
JSON comes back pickled, so the output is the same bytes as one process's; the caller orders
the models.

Not used under an address-space cap (`ulimit -v`, issue 12): the cap is per process, so two
processes could use twice what the operator allowed.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import resource
import sys
import threading
import types
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from lib.judge.fleet import Fleet, split
from lib.store.connection import Store


def object_strings(enabled: bool = True) -> None:
    """For this process: pandas infers Python-object string columns, not pandas 3's Arrow-backed
    `str` (option future.infer_string). Judging builds hundreds of frames of model ids, features
    and checks from NumPy object arrays and reads them back; with `str` each is converted to
    Arrow and back, a fifth of a 10,000-model evaluate's CPU. The JSON is the same bytes either
    way (tests/test_evaluate_parallel.py). Set by `python -m lib evaluate` (a process of its own),
    never by the app (whose other threads share pandas' options). A no-op on a pandas without
    the (deprecated) option."""
    with warnings.catch_warnings(), contextlib.suppress(pd.errors.OptionError, KeyError):
        warnings.simplefilter("ignore", DeprecationWarning)
        pd.set_option("future.infer_string", not enabled)


def lean_process() -> Callable[[], None]:
    """For a process that only judges and exits (`python -m lib evaluate` and its helpers):
    object strings (above), and no cyclic garbage collector (its full passes over the growing
    JSON dicts cost ~10% of a 10,000-model evaluate's CPU; judging leaves no cycles worth it:
    peak RSS measured the same). Returns what undoes it (for tests).

    Not one BLAS thread: the exact Wasserstein distance's float sums then differ in the last bit
    from a default process's (the cubes call no BLAS, whose idle threads spun: lib/judge/cube.py)."""
    object_strings()
    gc.disable()

    def undo() -> None:
        object_strings(False)
        gc.enable()

    return undo


def _lean_now() -> bool:
    return _object_strings_now() and not gc.isenabled()


def _object_strings_now() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return not pd.get_option("future.infer_string")
        except (pd.errors.OptionError, KeyError):
            return False


def default_workers() -> int:
    """Processes that judge a fleet's chunks: 2 on a machine with 2 or more cores, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def worth_it(parts: list[list[str]], workers: int) -> bool:
    """Whether to judge in more than one process: more than one chunk, and no address-space cap."""
    capped = resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
    return workers > 1 and len(parts) > 1 and not capped


def judge_parts(store: Store, con, fleet: Fleet, parts: list[list[str]], job: tuple, workers: int) -> list[dict]:
    """lib.judge.evaluate.judge_parts over `parts`, this process and `workers` − 1 helpers sharing
    the chunks. The models' JSON in no particular order."""
    from lib.judge.evaluate import judge_parts as judge_here

    fleets = list(split(fleet, parts))
    lean = _lean_now()  # the helpers are as lean as this process
    done: dict[int, list[dict]] = {}
    state = {"lo": 0, "hi": len(parts)}  # parts[lo:hi] not taken yet
    taking = threading.Lock()
    failed: list[BaseException] = []

    def take(front: bool) -> int | None:
        with taking:
            if state["lo"] >= state["hi"] or failed:
                return None
            if front:
                state["lo"] += 1
                return state["lo"] - 1
            state["hi"] -= 1
            return state["hi"]

    def feed(pool: ProcessPoolExecutor) -> None:
        """One helper's loop: the next chunk from the back, until none is left."""
        while (k := take(front=False)) is not None:
            try:
                done[k] = pool.submit(_judge_chunk, store.path, fleets[k], parts[k], job, lean).result()
            except BaseException as exc:  # re-raised by this process below
                failed.append(exc)

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        with _main_hidden():
            started = [pool.submit(int) for _ in range(workers - 1)]  # the helpers start now
        for future in started:
            future.result()
        feeders = [threading.Thread(target=feed, args=(pool,), daemon=True) for _ in range(workers - 1)]
        for thread in feeders:
            thread.start()
        try:
            while (k := take(front=True)) is not None:
                done[k] = judge_here(con, None, fleets[k], [parts[k]], job)
        except BaseException as exc:
            failed.append(exc)
        for thread in feeders:
            thread.join()
    if failed:
        raise failed[0]
    return [model for k in sorted(done) for model in done[k]]


@contextlib.contextmanager
def _main_hidden():
    """While the helpers start, `__main__` is an empty module: a spawned child re-runs the
    parent's main script (as `__mp_main__`) unless it has a `__name__` guard, and a process that
    ran a Streamlit page (the app's server, AppTest) has the page script there, which must not
    run again in a helper. The helpers need nothing from `__main__`."""
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def _judge_chunk(path: str, fleet: Fleet, part: list[str], job: tuple, lean: bool) -> list[dict]:
    """In a helper process: one chunk's models, read through a connection of its own."""
    from lib.judge.evaluate import judge_parts as judge_here

    if lean:
        lean_process()
    with Store(path).read_held() as con:
        return judge_here(con, None, fleet, [part], job)
