"""`python -m lib multivariate --model ID`: multivariate drift of one model on demand.

A domain classifier (scikit-learn HistGradientBoosting) tries to tell the reference's rows from
the 7-day window's; its cross-validated ROC AUC and the features that separate them most are
printed as JSON (docs/json.md). Cached per (model, as_of, data_version) beside the store.
"""

from __future__ import annotations

import json
import sys


def add(sub, db_arg) -> None:
    p = sub.add_parser(
        "multivariate",
        help="multivariate drift of one model: a domain classifier's cross-validated AUC (JSON)",
    )
    db_arg(p)
    p.add_argument("--model", required=True)
    p.add_argument("--as-of", default=None, help="ISO8601; default: the store's newest inference")
    p.add_argument("--refresh", action="store_true", help="recompute even when a cached result exists")
    p.set_defaults(func=run)


def run(args) -> int:
    from lib.judge.evaluate import parse_as_of
    from lib.judge.multivariate import multivariate_drift
    from lib.store.connection import Store

    out = multivariate_drift(Store(args.db), args.model, parse_as_of(args.as_of), refresh=args.refresh)
    sys.stdout.write(json.dumps(out, allow_nan=False) + "\n")
    return 0
