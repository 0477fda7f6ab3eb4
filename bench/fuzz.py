"""The longer fuzz campaign (issue 12): the properties of tests/test_fuzz.py with many random
examples (not derandomized), each failure printed with its minimal example.

    .venv/bin/python bench/fuzz.py [--examples 1000] [--only csv,parquet,spec]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fixtures import build_standard_store  # noqa: E402
from fuzz_strategies import csv_bytes, parquet_bytes, spec_text  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_fuzz import check_ingest  # noqa: E402

from lib.errors import InputError  # noqa: E402
from lib.ingest.pipeline import register_spec  # noqa: E402
from lib.spec import load_spec_file  # noqa: E402
from lib.store.connection import Store  # noqa: E402

KINDS = st.sampled_from(["inference", "inference", "reference", "labels"])


def run(examples: int, only: list[str], workdir: Path) -> dict[str, str]:
    store = Store(build_standard_store(workdir), timeout=10)
    cfg = settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))

    @cfg
    @given(data=csv_bytes(), kind=KINDS)
    def csv_case(data, kind):
        check_ingest(store, workdir, kind, data, ".csv")

    @cfg
    @given(data=parquet_bytes(), kind=KINDS)
    def parquet_case(data, kind):
        check_ingest(store, workdir, kind, data, ".parquet")

    @cfg
    @given(text=spec_text())
    def spec_case(text):
        path = workdir / "spec.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            register_spec(store, load_spec_file(path), source=str(path))
        except InputError as exc:
            assert "\n" not in str(exc)

    results = {}
    for name, fn in (("csv", csv_case), ("parquet", parquet_case), ("spec", spec_case)):
        if name not in only:
            continue
        t0 = time.monotonic()
        try:
            fn()
            results[name] = f"{examples} examples, no failure ({time.monotonic() - t0:.0f} s)"
        except Exception as exc:  # report the minimal failing example and go on
            results[name] = f"FAILED: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        print(f"{name}: {results[name]}", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--only", default="csv,parquet,spec")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="driftlight-fuzz-") as tmp:
        results = run(args.examples, args.only.split(","), Path(tmp))
    sys.exit(1 if any(r.startswith("FAILED") for r in results.values()) else 0)


if __name__ == "__main__":
    main()
