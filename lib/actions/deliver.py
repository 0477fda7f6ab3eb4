"""Delivering queued actions: up to `attempts_per_run` tries each with back-off, `workers` at a time,
each outcome (delivered, retry, failed) and attempt stored as soon as it is known."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta

from lib.actions.config import ActionConfig, redact
from lib.actions.plan import KIND_HTTP, KIND_NOTIFY, utcnow
from lib.actions.send import Attempt, post_json, run_command, send_notice
from lib.store import actions as sa
from lib.store.connection import Store

Sender = Callable[[dict, ActionConfig], Attempt]


def deliver_once(action: dict, config: ActionConfig) -> Attempt:
    payload = json.loads(action["payload_json"])
    if action["kind"] == KIND_NOTIFY:
        return send_notice(action["target"], payload["title"], payload["body"], config)
    if action["kind"] == KIND_HTTP:
        return post_json(action["target"], payload, action["action_id"], config)
    target = action["target"]
    command = json.loads(target) if target.startswith("[") else target
    return run_command(command, payload, action["action_id"], config)


def _deliver_with_retries(action: dict, config: ActionConfig, sender: Sender) -> list[Attempt]:
    attempts: list[Attempt] = []
    left = max(1, min(config.attempts_per_run, config.max_attempts - int(action["attempts"])))
    for i in range(left):
        if i:
            time.sleep(config.backoff_s * 2 ** (i - 1))
        a = sender(action, config)
        attempts.append(a)
        if a.ok or not a.retryable:
            break
    return attempts


def _deliver_all(
    store: Store, run_id: int, ids: list[str], config: ActionConfig, sender: Sender
) -> tuple[list[dict], int]:
    """Deliver the claimed actions, `workers` at a time; store each outcome as soon as it is known."""
    todo = []
    if ids:
        with store.write() as con:  # one transaction marks them all 'sending'
            now = utcnow()
            for action_id in ids:
                if not sa.start_sending(con, action_id, run_id, now):
                    continue
                action = sa.get_action(con, action_id)
                sa.log(
                    con,
                    now,
                    kind=action["kind"],
                    event="sending",
                    run_id=run_id,
                    action_id=action_id,
                    model_id=action["model_id"],
                    target=redact(action["target"]),
                    detail=f"attempt {int(action['attempts']) + 1}",
                )
                todo.append(action)
    rows, failed = [], 0
    if not todo:
        return rows, failed
    pending: list[tuple[dict, list[Attempt]]] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal failed, last_flush
        outcomes = _record(store, run_id, pending, config)
        for (action, attempts), outcome in zip(pending, outcomes):
            failed += outcome == "failed"
            rows.append(
                {
                    "action_id": action["action_id"],
                    "model_id": action["model_id"],
                    "kind": action["kind"],
                    "target": redact(action["target"]),
                    "outcome": outcome,
                    "attempts": len(attempts),
                    "detail": attempts[-1].detail,
                }
            )
        pending.clear()
        last_flush = time.monotonic()

    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        futures = {pool.submit(_deliver_with_retries, a, config, sender): a for a in todo}
        for fut in as_completed(futures):
            try:
                attempts = fut.result()
            except Exception as exc:  # never lose an action to a bug in a sender
                attempts = [Attempt(False, True, f"{type(exc).__name__}: {exc}")]
            pending.append((futures[fut], attempts))
            # outcomes are stored at least every second (a crash loses at most that much knowledge,
            # and what it loses is re-sent with the same idempotency key)
            if time.monotonic() - last_flush >= 1.0:
                flush()
    if pending:
        flush()
    rows.sort(key=lambda r: (r["model_id"], r["kind"], r["target"]))
    return rows, failed


def _record(store: Store, run_id: int, done: list[tuple[dict, list[Attempt]]], config: ActionConfig) -> list[str]:
    """Store the outcomes of finished deliveries (one transaction) and return their statuses."""
    out = []
    with store.write() as con:
        now = utcnow()
        for action, attempts in done:
            total = int(action["attempts"]) + len(attempts)
            last = attempts[-1]
            if last.ok:
                status, next_at = "delivered", None
            elif last.retryable and total < config.max_attempts:
                runs_failed = max(1, total // max(1, config.attempts_per_run))
                delay = min(config.retry_after_s * 2 ** (runs_failed - 1), 6 * 3600)
                status, next_at = "retry", now + timedelta(seconds=delay)
            else:
                status, next_at = "failed", None
            for i, a in enumerate(attempts, start=int(action["attempts"]) + 1):
                sa.log(
                    con,
                    now,
                    kind=action["kind"],
                    event="attempt",
                    run_id=run_id,
                    action_id=action["action_id"],
                    model_id=action["model_id"],
                    target=redact(action["target"]),
                    outcome="ok" if a.ok else "error",
                    detail=f"attempt {i}: {a.detail} ({a.seconds:.2f} s)",
                )
            sa.finish_action(
                con,
                action["action_id"],
                status=status,
                attempts=total,
                now=now,
                next_attempt_at=next_at,
                last_error=None if last.ok else last.detail,
            )
            sa.log(
                con,
                now,
                kind=action["kind"],
                event=status,
                run_id=run_id,
                action_id=action["action_id"],
                model_id=action["model_id"],
                target=redact(action["target"]),
                outcome=status,
                detail=(f"next try at or after {next_at:%Y-%m-%d %H:%M:%S} UTC" if next_at else last.detail),
            )
            out.append(status)
    return out
