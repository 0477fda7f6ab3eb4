"""Who may do what (issue 10): the `[driftlight]` table of secrets.toml, turned into an Actor.

Pure logic — no Streamlit, no SQL. The app builds an Actor from the logged-in user (st.user's
email) with `actor_for`, the command line acts as `cli:<os user>` with admin rights
(`cli_actor`), and the action functions (lib/actions/run.py, lib/actions/policy_edit.py,
lib/actions/upload.py) call `require(...)` before they write, so a hidden button is a
convenience, never the check.

Roles: **viewer** (anyone allowed to log in) reads everything; **owner** of a model (the
spec's `owner`, or a member of its team's list in `teams = {team = [emails]}`) may
acknowledge, snooze, mute and requeue that model's actions and upload its files; **admin**
(`admins = [...]`) does everything, incl. policy changes and registering models. Who may log in
at all: `allowed_users` and/or `allowed_domains`; with neither, every authenticated user.
Without an `[auth]` table the app is unauthenticated on localhost and its one user is an admin
(today's trust model: whoever reaches localhost owns the machine).
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.errors import InputError

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_UPLOAD_LIMIT_MB = 200


class PermissionDenied(Exception):  # noqa: N818 — the name the issue and the pages use
    """The acting user may not do this; the message is one line, fit to show as is."""


@dataclass(frozen=True)
class Access:
    """The `[driftlight]` table: who may log in, who is admin, the teams' owner lists."""

    admins: frozenset[str] = frozenset()
    allowed_users: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)
    allow_unauthenticated: bool = False
    upload_limit_mb: int = DEFAULT_UPLOAD_LIMIT_MB

    def may_log_in(self, email: str | None) -> bool:
        if not email:
            return False
        email = email.strip().lower()
        if email in self.admins:
            return True
        if not self.allowed_users and not self.allowed_domains:
            return True
        domain = email.rsplit("@", 1)[-1] if "@" in email else ""
        return email in self.allowed_users or domain in self.allowed_domains


@dataclass(frozen=True)
class Actor:
    """Who is acting: `id` goes to the audit log (an email, `cli:<user>`, `local:<user>`)."""

    id: str
    admin: bool = False
    teams: frozenset[str] = frozenset()  # teams whose owner list names this user

    @property
    def role(self) -> str:
        return "admin" if self.admin else ("owner" if self.teams else "viewer")

    def owns(self, owner: str | None, team: str | None) -> bool:
        """Whether this actor may act on a model with this spec owner and team."""
        if self.admin:
            return True
        mine = self.id.strip().lower()
        return bool(owner) and owner.strip().lower() == mine or (team is not None and team in self.teams)


def _emails(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise InputError(f"secrets.toml: field driftlight.{where}: must be a list of strings")
    return frozenset(v.strip().lower() for v in value if v.strip())


def load_access(table: Mapping[str, Any] | None) -> Access:
    """Validate the `[driftlight]` table (a mapping, from st.secrets or tomllib)."""
    t = dict(table or {})
    unknown = set(t) - {
        "admins",
        "allowed_users",
        "allowed_domains",
        "teams",
        "allow_unauthenticated",
        "upload_limit_mb",
    }
    if unknown:
        raise InputError(f"secrets.toml: field driftlight.{sorted(unknown)[0]}: unknown setting")
    teams_raw = t.get("teams") or {}
    if not isinstance(teams_raw, Mapping):
        raise InputError("secrets.toml: field driftlight.teams: must be a table of team = [emails]")
    teams = {str(k): _emails(v, f"teams.{k}") for k, v in teams_raw.items()}
    limit = t.get("upload_limit_mb", DEFAULT_UPLOAD_LIMIT_MB)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError("secrets.toml: field driftlight.upload_limit_mb: must be a whole number of MB, at least 1")
    allow = t.get("allow_unauthenticated", False)
    if not isinstance(allow, bool):
        raise InputError("secrets.toml: field driftlight.allow_unauthenticated: must be true or false")
    domains = frozenset(d.lstrip("@") for d in _emails(t.get("allowed_domains"), "allowed_domains"))
    return Access(
        admins=_emails(t.get("admins"), "admins"),
        allowed_users=_emails(t.get("allowed_users"), "allowed_users"),
        allowed_domains=domains,
        teams=teams,
        allow_unauthenticated=allow,
        upload_limit_mb=limit,
    )


def actor_for(access: Access, email: str) -> Actor:
    email = email.strip().lower()
    teams = frozenset(team for team, members in access.teams.items() if email in members)
    return Actor(id=email, admin=email in access.admins, teams=teams)


def cli_actor() -> Actor:
    """The command line acts with admin rights: whoever runs it can open the store file anyway."""
    return Actor(id=f"cli:{_os_user()}", admin=True)


def local_actor() -> Actor:
    """The app without login (localhost only): the machine's user, admin as before issue 10."""
    return Actor(id=f"local:{_os_user()}", admin=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"


# -- the checks the action functions call ----------------------------------------------------------
def require_admin(actor: Actor, what: str) -> None:
    if not actor.admin:
        raise PermissionDenied(f"{actor.id} may not {what}: only an admin may")


def require_owner(actor: Actor, model_id: str, owner: str | None, team: str | None, what: str) -> None:
    if owner is None and team is None and not actor.admin:
        raise PermissionDenied(f"{actor.id} may not {what} {model_id}: no such model")
    if not actor.owns(owner, team):
        raise PermissionDenied(
            f"{actor.id} may not {what} {model_id}: only its owner ({owner}), its team's owners or an admin may"
        )


# -- configuration checks shared by the app and `python -m lib check-config` -----------------------
def config_problems(secrets: Mapping[str, Any], server_address: str | None) -> list[str]:
    """What keeps the app from starting safely, one line each; [] when it may start."""
    problems: list[str] = []
    try:
        access = load_access(secrets.get("driftlight"))
    except InputError as exc:
        return [str(exc)]
    auth = secrets.get("auth")
    address = (server_address or "localhost").strip().strip("[]")
    if auth is not None:
        if not isinstance(auth, Mapping):
            return ["secrets.toml: [auth] must be a table"]
        if not str(auth.get("cookie_secret") or "").strip():
            problems.append(
                "secrets.toml: [auth] has no cookie_secret: set a long random string "
                '(python -c "import secrets; print(secrets.token_hex(32))")'
            )
        if not str(auth.get("redirect_uri") or "").strip():
            problems.append("secrets.toml: [auth] has no redirect_uri (https://YOUR_HOST/oauth2callback)")
    elif address not in LOCAL_HOSTS and not access.allow_unauthenticated:
        problems.append(
            f"server.address is {address!r} but secrets.toml has no [auth] table: anyone who reaches the port "
            "would see every model. Configure login ([auth]), bind to localhost, or set "
            "[driftlight] allow_unauthenticated = true for a trusted network"
        )
    return problems
