"""`python -m lib check-config`: the app's start-up checks (issue 10), for a shell or a container
entrypoint — the same `config_problems` the app runs before its first page (lib/ui/auth.py).

Reads the secrets file ($DRIFTLIGHT_SECRETS, else .streamlit/secrets.toml) with tomllib and the
server address from --address, else $STREAMLIT_SERVER_ADDRESS, else .streamlit/config.toml's
[server] address, else localhost (Streamlit's own order: command line, environment, file).
Exit 0 when the app may start, 2 with one line per problem otherwise.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from lib.actions.config import DEFAULT_SECRETS, SECRETS_ENV

CONFIG_FILE = ".streamlit/config.toml"


def _toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise SystemExit(f"{path}: not valid TOML ({exc})") from None


def server_address(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    if os.environ.get("STREAMLIT_SERVER_ADDRESS"):
        return os.environ["STREAMLIT_SERVER_ADDRESS"]
    return str(_toml(Path(CONFIG_FILE)).get("server", {}).get("address") or "localhost")


def check_config(args) -> int:
    from lib.actions.roles import config_problems, load_access

    path = Path(args.secrets or os.environ.get(SECRETS_ENV) or DEFAULT_SECRETS)
    secrets = _toml(path)
    address = server_address(args.address)
    problems = config_problems(secrets, address)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 2
    access = load_access(secrets.get("driftlight"))
    mode = "login via [auth]" if "auth" in secrets else "unauthenticated"
    print(
        f"{path}: ok — server.address {address}, {mode}, {len(access.admins)} admin(s), "
        f"upload limit {access.upload_limit_mb} MB"
    )
    return 0


def add(sub, _db_arg) -> None:
    p = sub.add_parser("check-config", help="check the login / address settings the app starts with")
    p.add_argument("--secrets", help="secrets file (default: $DRIFTLIGHT_SECRETS, then .streamlit/secrets.toml)")
    p.add_argument("--address", help="the server address the app will bind (default: as Streamlit resolves it)")
    p.set_defaults(func=check_config)
