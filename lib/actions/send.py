"""Delivery of one action attempt: an Apprise notice, an HTTP POST, or a command.

Each function makes exactly one attempt and returns an `Attempt` (ok, retryable, detail); the
retry loop, back-off and recording live in lib/actions/deliver.py. No store access here.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from lib.actions.config import ActionConfig, apprise_url


@dataclass(frozen=True)
class Attempt:
    ok: bool
    retryable: bool
    detail: str
    seconds: float = 0.0


def send_notice(target: str, title: str, body: str, config: ActionConfig) -> Attempt:
    """One notice to one Apprise URL (plain text, so names are shown, never interpreted)."""
    import apprise  # deferred: only the alert run needs it

    t0 = time.monotonic()
    obj = apprise.Apprise()
    if not obj.add(apprise_url(target, config)):
        return Attempt(False, False, "not a valid Apprise URL", time.monotonic() - t0)
    logs: list[str] = []
    try:
        result = obj.notify(
            body=body,
            title=title,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=config.timeout_s,
            log_callback=lambda entry, _p: logs.append(str(entry)),
        )
    except Exception as exc:  # a plugin bug must be a recorded failure, not a lost action
        return Attempt(False, True, f"{type(exc).__name__}: {exc}", time.monotonic() - t0)
    ok = bool(result)
    detail = "sent" if ok else ("; ".join(_strip_log(x) for x in logs[-2:]) or "not delivered")
    return Attempt(ok, not ok, detail[:500], time.monotonic() - t0)


def _strip_log(line: str) -> str:
    # "2026-11-27 02:15:48,129 - WARNING - Connection error …" -> "Connection error …"
    parts = line.split(" - ", 2)
    return parts[-1] if len(parts) == 3 else line


def post_json(url: str, payload: dict, key: str, config: ActionConfig) -> Attempt:
    """POST the payload; 2xx is delivered; 408, 429, 5xx and network errors may be retried."""
    t0 = time.monotonic()
    data = json.dumps(payload, allow_nan=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "User-Agent": "driftlight-alert",
        **config.retrain_headers,
    }
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=config.timeout_s) as resp:
            resp.read(65536)
            return Attempt(True, False, f"HTTP {resp.status}", time.monotonic() - t0)
    except urllib.error.HTTPError as exc:
        retryable = exc.code in (408, 425, 429) or exc.code >= 500
        return Attempt(False, retryable, f"HTTP {exc.code} {exc.reason}", time.monotonic() - t0)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Attempt(False, True, f"{type(reason).__name__}: {reason}"[:500], time.monotonic() - t0)


def run_command(command: str | list, payload: dict, key: str, config: ActionConfig) -> Attempt:
    """Run the retrain command (no shell) with the payload as JSON on stdin; exit 0 is delivered."""
    t0 = time.monotonic()
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    env = {
        **os.environ,
        "DRIFTLIGHT_MODEL_ID": payload["model"]["model_id"],
        "DRIFTLIGHT_IDEMPOTENCY_KEY": key,
        "DRIFTLIGHT_AS_OF": payload.get("as_of") or "",
    }
    try:
        proc = subprocess.run(
            argv,
            input=json.dumps(payload, allow_nan=False),
            capture_output=True,
            text=True,
            timeout=config.timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return Attempt(False, True, f"timed out after {config.timeout_s:g} s", time.monotonic() - t0)
    except OSError as exc:
        return Attempt(False, False, f"cannot run: {exc.strerror or exc}", time.monotonic() - t0)
    if proc.returncode == 0:
        return Attempt(True, False, "exit 0", time.monotonic() - t0)
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [""]
    return Attempt(False, True, f"exit {proc.returncode}: {tail[0][:300]}", time.monotonic() - t0)
