"""Settings of the actions (issue 5): where notices go and how deliveries are retried.

Read from the `[actions]` table of `.streamlit/secrets.toml` (path: $DRIFTLIGHT_SECRETS, else
.streamlit/secrets.toml), with tomllib, so the command line needs no Streamlit; the committed
`.streamlit/secrets.toml.example` documents every key. Secrets (SMTP password, webhook tokens)
never reach the audit log: `redact()` strips them from targets before they are recorded.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

SECRETS_ENV = "DRIFTLIGHT_SECRETS"
DEFAULT_SECRETS = ".streamlit/secrets.toml"


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "driftlight@localhost"
    mode: str = "starttls"  # starttls | ssl | insecure (Apprise's mailto `mode`)


@dataclass(frozen=True)
class ActionConfig:
    base_url: str = "http://localhost:8501"  # deep links: {base_url}/model?model=ID
    smtp: Smtp | None = None
    extra_notify: tuple[str, ...] = ()  # Apprise URLs told about every notice (e.g. a team channel)
    retrain_headers: dict[str, str] = field(default_factory=dict)  # e.g. Authorization for the CI hook
    retrain_url_override: str = ""  # staging: every HTTP trigger goes here instead of the spec's URL
    default_retrain_url: str = ""  # for red models whose spec names no retrain_url / retrain_command
    timeout_s: float = 10.0  # per HTTP request / SMTP session / command
    attempts_per_run: int = 3  # tries within one `alert` run
    backoff_s: float = 1.0  # wait before the 2nd try; doubles for each further try
    max_attempts: int = 9  # then the action has failed for good (exit 1)
    retry_after_s: float = 0.0  # earliest next-run retry; doubles per failed run, max 6 h
    lease_s: float = 900.0  # an action left 'sending' this long by a dead run is retried
    workers: int = 8  # deliveries in flight at once

    def with_(self, **changes: Any) -> ActionConfig:
        return replace(self, **changes)


def load_config(path: str | os.PathLike | None = None) -> ActionConfig:
    """The `[actions]` table of the secrets file; built-in defaults when there is none."""
    path = Path(path or os.environ.get(SECRETS_ENV) or DEFAULT_SECRETS)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ActionConfig()
    block = data.get("actions", {}) or {}
    smtp = block.get("smtp")
    kwargs: dict[str, Any] = {}
    for key in (
        "base_url",
        "retrain_url_override",
        "default_retrain_url",
        "timeout_s",
        "attempts_per_run",
        "backoff_s",
        "max_attempts",
        "retry_after_s",
        "lease_s",
        "workers",
    ):
        if key in block:
            kwargs[key] = block[key]
    if "base_url" in kwargs:
        kwargs["base_url"] = str(kwargs["base_url"]).rstrip("/")
    if smtp:
        kwargs["smtp"] = Smtp(
            host=smtp["host"],
            port=int(smtp.get("port", 587)),
            user=smtp.get("user", ""),
            password=smtp.get("password", ""),
            sender=smtp.get("from", "driftlight@localhost"),
            mode=smtp.get("mode", "starttls"),
        )
    kwargs["extra_notify"] = tuple(block.get("notify", []) or [])
    kwargs["retrain_headers"] = dict(block.get("retrain_headers", {}) or {})
    return ActionConfig(**kwargs)


def email_address(url: str) -> str | None:
    """`mailto://dana@example.com` (an address, no SMTP credentials) -> the address; else None."""
    if not url.startswith("mailto://"):
        return None
    rest = url[len("mailto://") :]
    if "?" in rest or "/" in rest or ":" in rest or rest.count("@") != 1:
        return None
    return rest


def apprise_url(url: str, config: ActionConfig) -> str:
    """The URL handed to Apprise: a bare `mailto://ADDRESS` goes out through the configured SMTP
    server (Apprise's own mailto needs the server spelled out); anything else is used as is."""
    address = email_address(url)
    if address is None or config.smtp is None:
        return url
    s = config.smtp
    auth = f"{quote(s.user, safe='')}:{quote(s.password, safe='')}@" if s.user else ""
    query = urlencode({"smtp": s.host, "from": s.sender, "to": address, "mode": s.mode})
    return f"mailto://{auth}{s.host}:{s.port}?{query}"


def redact(url: str) -> str:
    """A target as the audit log shows it: scheme, host and recipient, never a password or token."""
    address = email_address(url)
    if address is not None:
        return f"mailto:{address}"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable target)"
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    return f"{parts.scheme}://{parts.hostname or ''}/…" if parts.scheme else "(command)"
