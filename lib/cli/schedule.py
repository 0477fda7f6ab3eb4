"""`python -m lib schedule`: ingest the inbox and run `alert`, once (cron) or every N (docs/schedule.md)."""

from __future__ import annotations


def add(sub, db_arg) -> None:
    p = sub.add_parser(
        "schedule",
        help="each tick: ingest new files from an inbox folder, then run alert",
        description="Each tick: ingest the files dropped in the inbox folder (INBOX/<model_id>/spec.yaml, "
        "INBOX/<model_id>/{reference,inference,labels}/FILE; moved to INBOX/processed/ or INBOX/rejected/ "
        "with a .reason file), then run `alert`, then log one line. One scheduler per store (a lock "
        "beside it). Layout and rules: docs/schedule.md.",
    )
    db_arg(p)
    p.add_argument("--every", default="15m", help="time between ticks: 30s, 15m, 1h (default 15m)")
    p.add_argument("--inbox", help="the inbox folder (default: $DRIFTLIGHT_INBOX; none: alert only)")
    p.add_argument(
        "--once", action="store_true", help="one tick, then exit (for cron): 0 ok, 2 a file rejected, 1 a failure"
    )
    p.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds between the two looks at a file's size and time; it must not change (default 2)",
    )
    p.add_argument("--no-alert", dest="alert", action="store_false", help="ingest only; do not run alert")
    p.set_defaults(func=run_schedule)


def run_schedule(args) -> int:
    import os

    from lib.actions.schedule import parse_every, serve
    from lib.errors import InputError
    from lib.store.connection import Store

    every = parse_every(args.every)
    if args.settle < 0:
        raise InputError(f"--settle {args.settle}: must be 0 or more seconds")
    inbox = args.inbox or os.environ.get("DRIFTLIGHT_INBOX") or None

    def log(line: str) -> None:
        print(line, flush=True)  # one line per tick, at once (a container's log, a cron mail)

    return serve(Store(args.db), inbox, every=every, once=args.once, alert=args.alert, settle=args.settle, log=log)
