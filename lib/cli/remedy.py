"""`python -m lib remedy`: the ways out of a new-category-values incident (issue 13).

Without an action flag it prints the incident (the unseen values, counts, first-seen times and
the defaults offered). `--map-unseen-to VALUE` writes the category mapping file (YAML or JSON);
`--notify-upstream` tells the spec's `upstream:` contacts; `--retrain` triggers the retrain.
Every action is in the audit log with `cli:<os user>` as who.
"""

from __future__ import annotations

import sys


def add(sub, db_arg) -> None:
    p = sub.add_parser(
        "remedy",
        help="new category values: write a mapping file, notify upstream, trigger the retrain",
        description="The ways out of a data-quality incident of new category values: map each unseen "
        "value to a default the model knows (a mapping file), tell the feed's upstream contact, "
        "or retrain. Without an action flag, shows the incident.",
    )
    db_arg(p)
    p.add_argument("--model", required=True)
    p.add_argument("--as-of", dest="as_of", help="ISO8601 time (default: newest inference, rounded up to the hour)")
    p.add_argument("--feature", help="only this categorical feature (default: every feature with unseen values)")
    p.add_argument(
        "--map-unseen-to", dest="map_to", metavar="VALUE", help="write a mapping of each unseen value to VALUE"
    )
    p.add_argument("--format", choices=["yaml", "json"], help="mapping file format (default: from --out, else yaml)")
    p.add_argument("--out", default="-", help="mapping file to write ('-': stdout, the default)")
    p.add_argument(
        "--notify-upstream", action="store_true", help="notify the spec's upstream contacts (values, counts)"
    )
    p.add_argument("--retrain", action="store_true", help="trigger the model's retrain action to learn the new values")
    p.add_argument("--dry-run", action="store_true", help="with --notify-upstream / --retrain: show, send nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    from lib.actions import remedy
    from lib.actions.roles import cli_actor
    from lib.judge.evaluate import parse_as_of
    from lib.store.connection import Store

    store = Store(args.db)
    actor = cli_actor()
    inc = remedy.incident(store, args.model, as_of=parse_as_of(args.as_of))
    acted = False
    if args.map_to is not None:
        fmt = args.format or ("json" if args.out.lower().endswith(".json") else "yaml")
        text, doc = remedy.mapping_file(
            store, args.model, args.map_to, feature=args.feature, fmt=fmt, actor=actor, inc=inc
        )
        if args.out == "-":
            sys.stdout.write(text)
        else:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
            n = sum(len(b["map"]) for b in doc["features"].values())
            print(f"{args.out}: {fmt} mapping of {n} unseen value(s) to {args.map_to!r}", file=sys.stderr)
        acted = True
    failed = 0
    for flag, fn in (("notify_upstream", remedy.notify_upstream), ("retrain", remedy.trigger_retrain)):
        if getattr(args, flag):
            for r in fn(store, args.model, actor=actor, inc=inc, dry_run=args.dry_run):
                failed += r["outcome"] == "failed"
                extra = f": {r['detail']}" if r.get("detail") else ""
                print(f"  {r['outcome']:<16} {r['kind']:<15} {r['target']}{extra}", file=sys.stderr)
            acted = True
    if not acted:
        _show(inc)
    return 1 if failed else 0


def _show(inc) -> None:
    m = inc.model
    print(f"{m['model_id']} is {m['status']} as of {inc.as_of}")
    if not inc.reasons:
        print("no unseen category values in the last 24 h: nothing to remedy")
        return
    for feature, r in inc.reasons.items():
        rem = r["remedy"]
        print(f"\n{feature}: {len(r['unseen_values'])} unseen value(s), {r['value']:.1%} of rows in the last 24 h")
        for u in r["unseen_values"]:
            print(f"  {u['value']!r:<30} {u['count']:>8,} rows  first seen {u.get('first_seen')}")
        for c in rem["choices"]:
            print(f"  map to {c['value']!r}: {c['why']} ({c['reference_share']:.1%} of the reference)")
        if rem["commands"]["mapping"]:
            print(f"  -> {rem['commands']['mapping']}")
    print(f"\nnotify upstream: python -m lib remedy --model {m['model_id']} --notify-upstream")
    print(f"retrain:         python -m lib remedy --model {m['model_id']} --retrain")
