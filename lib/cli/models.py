"""`python -m lib models`: the registered models, one row each, as a table or JSON.

What a newcomer checks after `register` and `ingest`: is my model there, did its rows arrive,
when was its last prediction, how many reference snapshots does it have. Reads the store
through lib/store/read.py (one read under the shared lock); judges nothing.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

COLUMNS = ["model_id", "task", "owner", "team", "inference_rows", "last_inference", "reference_snapshots"]


def add(sub, db_arg) -> None:
    p = sub.add_parser("models", help="list the registered models: task, owner, team, rows, last inference")
    db_arg(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run)


def inventory(db: str | None) -> list[dict]:
    """The models as JSON-ready dicts (an absent store has none)."""
    from lib.store.connection import Store
    from lib.store.read import model_inventory

    store = Store(db)
    if not store.exists():
        return []
    with store.read() as con:
        frame = model_inventory(con)
    return [
        {
            "model_id": m,
            "task": t,
            "owner": o,
            "team": team,
            "inference_rows": int(n),
            # Stored timestamps are UTC without an offset; say so, as evaluate does.
            "last_inference": None if pd.isna(ts) else pd.Timestamp(ts).tz_localize("UTC").isoformat(),
            "reference_snapshots": int(s),
        }
        for m, t, o, team, n, ts, s in zip(*(frame[c].tolist() for c in COLUMNS))
    ]


def run(args) -> int:
    from lib.errors import InputError, StoreBusy, StoreMissing
    from lib.store.connection import default_db_path

    try:
        models = inventory(args.db)
    except (InputError, StoreBusy, StoreMissing):
        raise  # lib/__main__.py turns these into one line and exit 2 or 1
    except Exception as exc:  # e.g. a file that is not a Driftlight store: one line, exit 1, no traceback
        print(
            f"{args.db or default_db_path()}: cannot list the models ({type(exc).__name__}: {exc})".splitlines()[0],
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        sys.stdout.write(json.dumps({"models": models}, allow_nan=False) + "\n")
        return 0
    if not models:
        print("no models registered yet (python -m lib register SPEC.yaml; draft one with python -m lib init)")
        return 0
    rows = [["" if m[c] is None else str(m[c]) for c in COLUMNS] for m in models]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    for r in [COLUMNS, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return 0
