"""`python -m lib sync --lake DIR`: profile a lake of Parquet / CSV files in place (issue 11).

Each new file's outcome is one line (stdout; a rejected file's reason on stderr), then a summary.
Exit 2 when any file was rejected (the other files are still synced), else 0. The work is in
lib/ingest/lake.py and lake_local.py (the local DuckDB engine) and lib/ingest/spark_profile.py (Spark).
"""

from __future__ import annotations

import sys


def add(sub, db_arg) -> None:
    p = sub.add_parser(
        "sync",
        help="profile a lake of Parquet / CSV files in place (LAKE/<model_id>/{spec.yaml,reference,inference,labels})",
        description="Register every spec of the lake, then profile every file not yet synced; inference rows "
        "stay in the lake. The lake's layout: README, 'The lake'.",
    )
    db_arg(p)
    p.add_argument("--lake", required=True, help="the lake folder: LAKE/<model_id>/spec.yaml, reference/, ...")
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb", help="profiling engine (default duckdb)")
    p.add_argument("--spark-master", default=None, help="Spark master URL (--engine spark; default local[2])")
    p.add_argument("--model", action="append", default=[], help="sync only this model's folder (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    from lib.ingest.lake import sync_lake
    from lib.store.connection import Store, default_db_path

    store = Store(args.db or default_db_path())
    profile_file = None
    if args.engine == "spark":
        from lib.ingest.spark_profile import spark_profiler

        profile_file = spark_profiler(master=args.spark_master or "local[2]")

    def emit(line: str, err: bool) -> None:
        print(line, file=sys.stderr if err else sys.stdout, flush=True)

    report = sync_lake(store, args.lake, models=args.model or None, profile_file=profile_file, emit=emit)
    if report.changed:
        print(
            f"sync: {report.synced} new files profiled, {report.known} already synced, {report.rejected} rejected; "
            f"{report.registered} specs registered or updated (data_version {store.data_version()})"
        )
    else:
        print(
            f"sync: nothing new ({report.known} files already synced, {report.rejected} rejected); "
            f"the store is unchanged (data_version {store.data_version()})"
        )
    return 2 if report.rejected else 0
