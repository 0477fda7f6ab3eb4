"""`python -m lib evaluate`: the fleet's judgment as json, csv or a table (DESIGN.md contract)."""

from __future__ import annotations

import json
import sys

from lib.reports.csvsafe import to_csv

SUMMARY_COLUMNS = ["model_id", "status", "check", "feature", "value", "threshold", "message"]


def add(sub, db_arg) -> None:
    p = sub.add_parser("evaluate", help="judge the fleet: status, reasons and metrics per model")
    db_arg(p)
    p.add_argument("--as-of", dest="as_of", help="ISO8601 time (default: newest inference, rounded up to the hour)")
    p.add_argument("--model", action="append", dest="models", help="only this model (repeatable); adds KS/Wasserstein")
    p.add_argument(
        "--detail", action="store_true", help="one model's detail (KS/Wasserstein, segments) even fleet-wide"
    )
    p.add_argument("--timeline", type=int, metavar="DAYS", help="add each model's daily status for DAYS days")
    p.add_argument("--format", choices=["json", "csv", "table"], default="json")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes that judge a large fleet's chunks (default 2 on 2+ cores; same output for any N)",
    )
    p.set_defaults(func=run)


def summary_rows(result: dict) -> list[list]:
    rows = []
    for m in result["models"]:
        first = m["reasons"][0] if m["reasons"] else {}
        rows.append(
            [
                m["model_id"],
                m["status"],
                first.get("check"),
                first.get("feature"),
                first.get("value"),
                first.get("threshold"),
                first.get("message") or m.get("message"),  # e.g. "no inference logged yet"
            ]
        )
    return rows


def run(args) -> int:
    from lib.errors import InputError
    from lib.judge.evaluate import evaluate, parse_as_of
    from lib.judge.parallel import default_workers, lean_process
    from lib.store.connection import Store

    if args.workers is not None and not 1 <= args.workers <= 64:
        raise InputError(f"--workers: {args.workers} is not between 1 and 64")
    if getattr(args, "own_process", False):
        lean_process()  # this process only judges and exits: cheaper settings (lib/judge/parallel.py)
    store = Store(args.db)
    if not store.exists():
        if args.models:
            from lib.errors import UnknownModel

            raise UnknownModel.suggest(args.models[0], [], hint=f"the store {store.path} does not exist")
        result = {"as_of": None, "models": []}
    else:
        result = evaluate(
            store,
            as_of=parse_as_of(args.as_of),
            model_ids=args.models,
            timeline_days=args.timeline,
            detail=True if args.detail else None,
            workers=default_workers() if args.workers is None else args.workers,
        )
    if args.format == "json":
        # json.dumps, not json.dump: dump to a stream takes json's pure-Python encoder (~3x
        # slower on a fleet); dumps uses the C one. Same bytes.
        sys.stdout.write(json.dumps(result, allow_nan=False) + "\n")
    elif args.format == "csv":
        sys.stdout.write(to_csv(SUMMARY_COLUMNS, summary_rows(result)))
    else:
        _table(result)
    return 0


def _table(result: dict) -> None:
    rows = [
        [("" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))) for v in r]
        for r in summary_rows(result)
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(SUMMARY_COLUMNS)]
    widths[-1] = len(SUMMARY_COLUMNS[-1])
    print(f"as of {result['as_of']}")
    print("  ".join(h.ljust(w) for h, w in zip(SUMMARY_COLUMNS, widths)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
