"""Remedies for new category values (issue 13): the mapping file, the upstream notice, the retrain.

Each is an action with the audit trail (who, when, what): writing a mapping file logs a
`remedy` entry; the upstream notice and the retrain trigger are queued in the action queue
(idempotency key: the model, the target and the unseen values, so the same news is never sent
twice) and delivered by the same machinery as `alert` (lib/actions/deliver.py: retries,
outcomes, audit). They are queued with `run_id` 0 — "by hand, outside an alert run" — and a
delivery that is to be retried is picked up by the next `alert` run.

The values come from the model's `unseen_categories` reasons as `evaluate --model` gives them
(the 24-hour window, with counts and first-seen times); lib/judge/remedy.py builds the texts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lib.actions.config import ActionConfig, load_config, redact
from lib.actions.deliver import Sender, _deliver_all, deliver_once
from lib.actions.plan import KIND_COMMAND, KIND_HTTP, KIND_NOTIFY, _digest, model_link, retrain_payload, utcnow
from lib.actions.roles import Actor, require_owner
from lib.errors import InputError, UnknownModel
from lib.judge.remedy import mapping_document, render_mapping, upstream_notice
from lib.store import actions as sa
from lib.store.connection import Store

MANUAL_RUN = 0  # the run_id of actions taken by hand (remedy), outside an `alert` run


@dataclass
class Incident:
    """A model's new category values now: what the remedies act on."""

    model: dict  # the evaluate JSON of the model
    spec: dict
    as_of: str | None
    reasons: dict[str, dict] = field(default_factory=dict)  # feature -> unseen_categories reason

    @property
    def unseen(self) -> dict[str, list[dict]]:
        return {f: r.get("unseen_values") or [] for f, r in self.reasons.items()}


def incident(store: Store, model_id: str, *, as_of: pd.Timestamp | None = None, result: dict | None = None) -> Incident:
    """The model's unseen-value reasons as of a time (UnknownModel when there is no such model)."""
    from lib.judge.evaluate import evaluate

    if not store.exists():
        raise UnknownModel(f"--model: unknown model {model_id!r} (the store {store.path} does not exist)")
    with store.read() as con:
        specs = sa.model_specs(con)
    if model_id not in specs:
        raise UnknownModel(f"--model: unknown model {model_id!r}")
    if result is None:
        result = evaluate(store, as_of=as_of, model_ids=[model_id])
    spec = specs[model_id]
    found = [m for m in result["models"] if m["model_id"] == model_id]
    # no inference yet: nothing unseen, but the model and its spec still are
    model = found[0] if found else {"model_id": model_id, "status": "grey", "reasons": [], **_who(spec)}
    reasons = {r["feature"]: r for r in model["reasons"] if r["check"] == "unseen_categories"}
    return Incident(model, spec, result.get("as_of"), reasons)


def _who(spec: dict) -> dict:
    return {k: spec.get(k) for k in ("name", "task", "owner", "team")}


def mapping_file(
    store: Store,
    model_id: str,
    value: str,
    *,
    feature: str | None = None,
    fmt: str = "yaml",
    actor: Actor,
    inc: Incident | None = None,
    as_of: pd.Timestamp | None = None,
) -> tuple[str, dict]:
    """The mapping file's text and document, mapping each unseen value to `value`; logs who wrote it.

    `value` must be a value the reference has (else the map would make another unseen value);
    without `feature`, every feature with unseen values is mapped (each must know `value`)."""
    inc = inc or incident(store, model_id, as_of=as_of)
    if feature is not None and feature not in inc.reasons:
        raise InputError(
            f"--feature: {feature!r} has no unseen values in the last 24 h"
            + (f" (features with some: {', '.join(inc.reasons)})" if inc.reasons else "")
        )
    if not inc.reasons:
        raise InputError(f"--model: {model_id} has no unseen category values in the last 24 h: nothing to map")
    features = [feature] if feature is not None else list(inc.reasons)
    with store.read() as con:
        known = {f: _reference_values(con, model_id, f) for f in features}
    for f in features:
        if value not in known[f]:
            near = ", ".join(repr(c["value"]) for c in inc.reasons[f]["remedy"]["choices"]) or "none"
            raise InputError(
                f"--map-unseen-to: {value!r} is not a reference value of feature {f!r} (suggested: {near})"
            )
    doc = mapping_document(model_id, inc.as_of, {f: (value, inc.reasons[f]["unseen_values"]) for f in features})
    text = render_mapping(doc, fmt)
    log_mapping(store, model_id, doc, fmt, actor=actor)
    return text, doc


def _reference_values(con, model_id: str, feature: str) -> set[str]:
    from lib.store.model_info import _model_info

    info = _model_info(con, model_id)
    slot = info.slot_of(feature)
    prof = info.ref.get(slot) if slot is not None else None
    cats = prof.get("categories") if prof else None
    return {str(c) for c in cats} if cats is not None else set()


def log_mapping(store: Store, model_id: str, doc: dict, fmt: str, *, actor: Actor) -> None:
    """The audit entry of a mapping file written or downloaded (kind `remedy`, event `mapping`)."""
    what = "; ".join(f"{f}: {len(b['map'])} value(s) -> {b['default']!r}" for f, b in doc["features"].items())
    with store.write() as con:
        sa.log(
            con, utcnow(), kind="remedy", event="mapping", model_id=model_id, actor=actor.id, detail=f"{fmt}: {what}"
        )


def upstream_targets(spec: dict) -> list[str]:
    return list(dict.fromkeys(spec.get("upstream") or []))


def retrain_targets(spec: dict, config: ActionConfig) -> list[tuple[str, Any]]:
    """The spec's retrain endpoints (as `alert` uses them), else the configured default."""
    a = spec.get("actions") or {}
    out: list[tuple[str, Any]] = []
    if a.get("retrain_url"):
        out.append((KIND_HTTP, config.retrain_url_override or a["retrain_url"]))
    if a.get("retrain_command"):
        out.append((KIND_COMMAND, a["retrain_command"]))
    if not out and config.default_retrain_url:
        out.append((KIND_HTTP, config.retrain_url_override or config.default_retrain_url))
    return out


def notify_upstream(
    store: Store,
    model_id: str,
    *,
    actor: Actor,
    config: ActionConfig | None = None,
    sender: Sender = deliver_once,
    inc: Incident | None = None,
    dry_run: bool = False,
) -> list[dict]:
    """Tell the upstream feed's contacts which values arrived (values, counts, first seen).
    Only the model's owner, its team's owners or an admin may (PermissionDenied, nothing sent)."""
    config = config or load_config()
    inc = inc or incident(store, model_id)
    _require_owner(actor, model_id, inc, "notify the upstream feed of")
    targets = upstream_targets(inc.spec)
    if not targets:
        raise InputError(f"--notify-upstream: the spec of {model_id} names no upstream contact (field upstream)")
    if not inc.reasons:
        raise InputError(f"--notify-upstream: {model_id} has no unseen category values in the last 24 h")
    title, body = upstream_notice(inc.model, inc.unseen, inc.as_of, model_link(config, model_id))
    values = sorted((f, u["value"]) for f, vs in inc.unseen.items() for u in vs)
    acts = []
    for target in targets:
        key = "a-" + _digest("upstream", target, model_id, *values)
        payload = {"title": title, "body": body, "event": "driftlight.upstream", "idempotency_key": key}
        acts.append((key, KIND_NOTIFY, target, payload))
    what = f"upstream notice: {len(values)} new value(s) in {', '.join(inc.unseen)}"
    return _queue_and_deliver(store, model_id, acts, what, actor, config, sender, dry_run)


def trigger_retrain(
    store: Store,
    model_id: str,
    *,
    actor: Actor,
    config: ActionConfig | None = None,
    sender: Sender = deliver_once,
    inc: Incident | None = None,
    dry_run: bool = False,
) -> list[dict]:
    """Trigger the model's retrain so it learns the new values (once per snapshot and value set).
    Only the model's owner, its team's owners or an admin may (PermissionDenied, nothing sent)."""
    config = config or load_config()
    inc = inc or incident(store, model_id)
    _require_owner(actor, model_id, inc, "trigger a retrain of")
    targets = retrain_targets(inc.spec, config)
    if not targets:
        raise InputError(
            f"--retrain: the spec of {model_id} names no retrain action (actions.retrain_url or retrain_command)"
        )
    with store.read() as con:
        snapshot = sa.snapshot_info(con).get(model_id)
    values = sorted((f, u["value"]) for f, vs in inc.unseen.items() for u in vs)
    current = [{"reason": r} for r in inc.model["reasons"]]
    acts = []
    for kind, target in targets:
        text = target if isinstance(target, str) else json.dumps(target)
        key = "a-" + _digest("remedy-retrain", kind, text, model_id, (snapshot or {}).get("snapshot_id"), *values)
        payload = retrain_payload(inc.model, inc.spec, current, [], key, inc.as_of, snapshot, config)
        payload["trigger"] = {"by": actor.id, "why": "learn new category values", "unseen_values": inc.unseen}
        acts.append((key, kind, target, payload))
    what = "retrain to learn " + (f"{len(values)} new value(s)" if values else "the current data")
    return _queue_and_deliver(store, model_id, acts, what, actor, config, sender, dry_run)


def _require_owner(actor: Actor, model_id: str, inc: Incident, what: str) -> None:
    spec = inc.spec or {}
    require_owner(actor, model_id, spec.get("owner"), spec.get("team"), what)


def _queue_and_deliver(store, model_id, acts, what, actor: Actor, config, sender, dry_run) -> list[dict]:
    """Queue each (key, kind, target, payload) unless that key exists, then deliver the new ones."""
    rows, new = [], []
    now = utcnow()
    with store.read() as con:
        existing = {a: sa.get_action(con, a) for a, *_ in acts}
    for key, kind, target, _payload in acts:
        if existing[key] is not None:
            done = existing[key]
            rows.append(_row(key, model_id, kind, target, f"already {done['status']}", done.get("last_error")))
    if dry_run:
        return rows + [_row(k, model_id, kind, t, "would send") for k, kind, t, _ in acts if existing[k] is None]
    with store.write() as con:
        for key, kind, target, payload in acts:
            if existing[key] is not None:
                continue
            text = target if isinstance(target, str) else json.dumps(target)
            rec = {
                "action_id": key,
                "run_id": MANUAL_RUN,
                "model_id": model_id,
                "kind": kind,
                "target": text,
                "finding_ids": [],
                "at": now,
                "payload_json": json.dumps(payload, allow_nan=False),
            }
            if sa.insert_action(con, rec):
                sa.log(
                    con,
                    now,
                    kind=kind,
                    event="queued",
                    run_id=MANUAL_RUN,
                    action_id=key,
                    model_id=model_id,
                    target=redact(text),
                    detail=f"by hand: {what}",
                    actor=actor.id,
                )
                new.append(key)
    delivered, _failed = _deliver_all(store, MANUAL_RUN, new, config, sender)
    return rows + delivered


def _row(key: str, model_id: str, kind: str, target, outcome: str, detail: str | None = None) -> dict:
    text = target if isinstance(target, str) else json.dumps(target)
    return {
        "action_id": key,
        "model_id": model_id,
        "kind": kind,
        "target": redact(text),
        "outcome": outcome,
        "detail": detail or "",
    }


def model_spec(store: Store, model_id: str) -> dict:
    """The stored spec of a model ({} when unknown)."""
    with store.read() as con:
        return sa.model_specs(con).get(model_id, {})


def incident_from(model: dict, spec: dict, as_of: str | None) -> Incident:
    """An incident from a model's evaluate JSON already at hand (the model page)."""
    reasons = {r["feature"]: r for r in model.get("reasons", []) if r["check"] == "unseen_categories"}
    return Incident(model, spec, as_of, reasons)
