"""The command line: python -m lib <command>. The public contract is in DESIGN.md.

Exit codes: 0 success; 2 bad usage or invalid input (one line naming file, column, row);
1 any other failure, also one line: no traceback ever (DRIFTLIGHT_DEBUG=1 shows it). Each command is a thin face over lib/.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from lib.errors import AlreadyRunning, InputError, MissingDependency, OutOfMemory, StoreBusy, StoreError, StoreMissing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on bad usage: keep it one line
        self.exit(2, f"{self.prog}: {message}\n")


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="store file (default: $DRIFTLIGHT_DB, then data/driftlight.duckdb)")


def cmd_demo(args) -> int:
    from lib.demo.build import build_demo

    summary = build_demo(args.db or _default_db(), models=args.models, days=args.days, seed=args.seed)
    print(
        f"demo fleet: {summary.get('models')} models, {summary.get('rows')} inference rows "
        f"in {summary.get('seconds', 0):.1f} s -> {args.db or _default_db()}"
    )
    return 0


def cmd_register(args) -> int:
    from lib.ingest.pipeline import register_spec
    from lib.spec import load_spec_file
    from lib.store.connection import Store

    spec = load_spec_file(args.spec)
    register_spec(Store(args.db), spec, source=args.spec)
    print(f"{args.spec}: registered {spec.model_id}")
    return 0


def cmd_ingest(args) -> int:
    from lib.ingest.pipeline import ingest_file
    from lib.store.connection import Store

    store = Store(args.db)
    rejected = False
    for path in args.files:
        outcome = ingest_file(store, args.kind, args.model, path)
        stream = sys.stderr if outcome.status == "rejected" else sys.stdout
        print(outcome.line(), file=stream)
        rejected |= outcome.status == "rejected"
    return 2 if rejected else 0


def _default_db() -> str:
    from lib.store.connection import default_db_path

    return default_db_path()


COMMANDS: dict[str, Callable] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m lib", description="Driftlight: health of a fleet of ML models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="build the demo fleet store")
    _db_arg(p)
    p.add_argument("--models", type=int, default=200)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "register",
        help="create or update a model from its spec (YAML)",
        description="Create or update a model from its spec (YAML). The spec format, every field "
        "with its type and default, is documented in docs/spec.md. To draft a spec "
        "from a reference file: python -m lib init --model ID --reference FILE.",
    )
    _db_arg(p)
    p.add_argument("spec", help="the spec YAML file (format: docs/spec.md; draft one with `python -m lib init`)")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("ingest", help="ingest reference, inference or labels files")
    _db_arg(p)
    p.add_argument("kind", choices=["reference", "inference", "labels"])
    p.add_argument("--model", required=True)
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_ingest)

    from lib.cli import evaluate as cli_evaluate  # evaluate: kept apart to keep this file small

    cli_evaluate.add(sub, _db_arg)
    from lib.cli import actions as cli_actions  # report and alert (issue 5)

    cli_actions.add(sub, _db_arg)
    from lib.cli import init as cli_init  # init and models: a newcomer's first hour (issue 14)

    cli_init.add(sub, _db_arg)
    from lib.cli import models as cli_models

    cli_models.add(sub, _db_arg)
    from lib.cli import multivariate as cli_multivariate  # investigation depth (issue 13)

    cli_multivariate.add(sub, _db_arg)
    from lib.cli import config as cli_config  # check-config: the app's start-up checks (issue 10)

    cli_config.add(sub, _db_arg)
    from lib.cli import schedule as cli_schedule  # the scheduled pipeline (issue 10)

    cli_schedule.add(sub, _db_arg)
    from lib.cli import remedy as cli_remedy  # new category values: mapping, upstream, retrain (issue 13)

    cli_remedy.add(sub, _db_arg)
    from lib.cli import sync as cli_sync  # the lake, profiled in place (issue 11)

    cli_sync.add(sub, _db_arg)
    return parser


def _fit_address_cap() -> None:
    """Under an address-space cap (`ulimit -v`) glibc's per-thread malloc arenas (64 MB of address
    space each) and Arrow's jemalloc extents use the cap up before the data does: two arenas and
    the system allocator for Arrow (issue 12, docs/limits.md). DuckDB is capped in lib/store."""
    import resource

    if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
        return
    # Arrow's default pool (jemalloc) reserves address space in large extents: the system one
    # does not (read when pyarrow is first imported, after this)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    import contextlib
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):  # not glibc: its allocator has no such arenas
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """Run one command. `own_process`: this process ends with the command (`python -m lib`), so
    the command may change process-wide settings (evaluate's lean_process); never in-process
    callers such as the tests, whose process goes on."""
    _fit_address_cap()
    args = build_parser().parse_args(argv)
    args.own_process = own_process
    try:
        return args.func(args)
    except InputError as exc:
        print(str(exc).splitlines()[0] if str(exc) else "invalid input", file=sys.stderr)
        return 2
    except StoreMissing as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except (StoreBusy, StoreError) as exc:
        print(_one_line(exc), file=sys.stderr)
        return 1
    except MissingDependency as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 1
    except AlreadyRunning as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except OutOfMemory as exc:
        print(_one_line(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"python -m lib {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # no traceback ever from a command (issue 14): one line, exit 1
        if os.environ.get("DRIFTLIGHT_DEBUG"):
            raise
        text = (str(exc).strip().splitlines() or [""])[0]
        print(
            f"python -m lib {args.command}: unexpected error ({type(exc).__name__}{': ' + text if text else ''}); "
            "set DRIFTLIGHT_DEBUG=1 for the traceback",
            file=sys.stderr,
        )
        return 1


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:500]


if __name__ == "__main__":
    sys.exit(main(own_process=True))
