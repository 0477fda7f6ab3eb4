"""`python -m lib report` and `python -m lib alert` (DESIGN.md command-line contract, issue 5)."""

from __future__ import annotations

import json
import sys


def add(sub, db_arg) -> None:
    p = sub.add_parser("report", help="export a model's or the fleet's report (html, pdf, json, csv)")
    db_arg(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="one model's report")
    which.add_argument("--fleet", action="store_true", help="the fleet's report (or the part the filters keep)")
    p.add_argument("--format", choices=["html", "pdf", "json", "csv"], required=True)
    p.add_argument("--out", required=True, help="file to write ('-' for stdout; not for pdf)")
    p.add_argument("--as-of", dest="as_of", help="ISO8601 time (default: newest inference, rounded up to the hour)")
    p.add_argument("--team", action="append", help="fleet: only these teams (repeatable)")
    p.add_argument("--owner", action="append", help="fleet: only these owners (repeatable)")
    p.add_argument(
        "--status",
        action="append",
        choices=["red", "yellow", "grey", "green"],
        help="fleet: only models with these statuses (repeatable)",
    )
    p.add_argument(
        "--multivariate",
        action="store_true",
        help="--model only: train the domain classifier (seconds) if no cached result exists for this as-of time "
        "and data version; without it the report shows the cached result or the command that computes it",
    )
    p.set_defaults(func=run_report)

    p = sub.add_parser("alert", help="notify owners of yellow models, trigger retrains of red ones")
    db_arg(p)
    p.add_argument("--dry-run", action="store_true", help="show what would be sent; send and store nothing")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="first put every action that failed for good back in the queue (same idempotency key)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=run_alert)


def run_report(args) -> int:
    from lib.errors import InputError
    from lib.judge.evaluate import parse_as_of
    from lib.reports.build import render_report
    from lib.reports.data import Filters
    from lib.store.connection import Store

    if args.format == "pdf" and args.out == "-":
        raise InputError("--out: a PDF needs a file name, not '-'")
    if args.format == "pdf":
        from lib.reports.pdf import chromium_path

        chromium_path()  # before the evaluation: a missing Chromium is one line at once
    if args.model and (args.team or args.owner or args.status):
        raise InputError("--team/--owner/--status: filters apply to --fleet only")
    if args.multivariate and not args.model:
        raise InputError("--multivariate: applies to a --model report only (a fleet report never trains it)")
    store = Store(args.db)
    filters = Filters(teams=tuple(args.team or ()), owners=tuple(args.owner or ()), statuses=tuple(args.status or ()))
    data = render_report(
        store,
        args.format,
        model_id=args.model,
        filters=filters,
        as_of=parse_as_of(args.as_of),
        multivariate=args.multivariate,
    )
    if args.out == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(args.out, "wb") as fh:
            fh.write(data)
        print(f"{args.out}: {args.format} report, {len(data):,} bytes")
    return 0


def run_alert(args) -> int:
    from lib.actions.run import run_alerts
    from lib.store.connection import Store

    store = Store(args.db)
    if not store.exists():
        print(f"{store.path}: no store yet (build the demo with: python -m lib demo)", file=sys.stderr)
        return 1
    if args.retry_failed and not args.dry_run:
        from lib.actions.roles import cli_actor
        from lib.actions.run import requeue_all_failed

        n = requeue_all_failed(store, actor=cli_actor())
        print(f"requeued {n} action(s) that had failed for good")
    report = run_alerts(store, dry_run=args.dry_run)
    if args.format == "json":
        out = {
            "run_id": report.run_id,
            "dry_run": report.dry_run,
            "as_of": report.as_of,
            "summary": report.summary,
            "actions": report.actions,
        }
        sys.stdout.write(json.dumps(out, default=str, allow_nan=False) + "\n")  # strict JSON: no NaN
        return report.exit_code
    head = "dry run (nothing sent, nothing stored)" if report.dry_run else f"alert run {report.run_id}"
    print(f"{head}, as of {report.as_of}: " + ", ".join(f"{k} {v}" for k, v in report.summary.items()))
    for a in report.actions:
        extra = f" after {a['attempts']} attempt(s): {a.get('detail', '')}" if "attempts" in a else ""
        print(f"  {a['outcome']:<11} {a['kind']:<15} {a['model_id']:<32} {a['target']}{extra}")
    return report.exit_code
