"""Policy changes from the app (issue 10): an admin sets a threshold or min_rows for a team, a
model or a feature; stored in the store's policy_overrides table, above the YAML at the same level
(lib/judge/policy.py, docs/policy.md), so `evaluate`, `alert` and the grid judge by it at once.

A change is validated like the YAML (the merged block of its level goes through
`validate_policy_overrides`), needs a comment, and is written in one transaction with its audit
log entry (who, when, old -> new, why). `preview` judges the affected models under the current and
the proposed policy and lists those whose status would change. `explain` lists, for one model, the
effective thresholds and where each comes from (level, and whether the store overrides the YAML).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from lib.actions.plan import utcnow
from lib.actions.roles import Actor, require_admin
from lib.errors import InputError
from lib.judge.policy import (
    _FIXED_CHECKS,
    CHECK_ORDER,
    CHECKS_BY_NAME,
    Policy,
    effective_setting,
    effective_threshold,
    load_policy,
    merge_blocks,
    override_blocks,
    validate_policy_overrides,
    with_store_overrides,
)
from lib.store import actions as sa
from lib.store import policy_write
from lib.store.connection import Store
from lib.store.policy import COLUMNS as _COLUMNS
from lib.store.policy import read_overrides

TUNABLE = tuple(c for c in CHECK_ORDER if c not in _FIXED_CHECKS)
SOURCE = "policy page"


@dataclass(frozen=True)
class Change:
    """One setting at one level: a check's yellow / red (None keeps the level's current value),
    or `min_rows` (value). scope 'team' (target = team) or 'model' (target = model id, and
    `feature` for a per-feature check)."""

    scope: str
    target: str
    setting: str
    feature: str = ""
    yellow: float | None = None
    red: float | None = None
    value: float | None = None

    @property
    def where(self) -> str:
        return f"{self.scope} {self.target}" + (f" · feature {self.feature}" if self.feature else "")

    def block(self) -> dict[str, Any]:
        if self.setting == "min_rows":
            return {"min_rows": self.value}
        levels = {k: v for k, v in (("yellow", self.yellow), ("red", self.red)) if v is not None}
        return {"features": {self.feature: {self.setting: levels}}} if self.feature else {self.setting: levels}


def _models(con) -> pd.DataFrame:
    return con.execute("SELECT model_id, team, spec_json FROM models ORDER BY model_id").df()


def _validate(change: Change, policy: Policy, models: pd.DataFrame, specs: dict[str, dict], rows: list[dict]) -> None:
    if change.scope not in ("team", "model"):
        raise InputError(f"{SOURCE}: scope {change.scope!r}: use team or model")
    if change.setting != "min_rows" and change.setting not in TUNABLE:
        raise InputError(
            f"{SOURCE}: field {change.setting}: unknown check or setting (one of {', '.join(TUNABLE)}, min_rows)"
        )
    if change.setting == "min_rows":
        if change.feature:
            raise InputError(f"{SOURCE}: field features.{change.feature}.min_rows: min_rows is set per model or team")
        if change.value is None:
            raise InputError(f"{SOURCE}: field min_rows: give a value")
    elif change.yellow is None and change.red is None:
        raise InputError(f"{SOURCE}: field {change.setting}: give yellow and/or red")
    teams, stored_models = override_blocks(rows)
    if change.scope == "team":
        if change.target not in set(models["team"]) and change.target not in policy.teams:
            raise InputError(f"{SOURCE}: team {change.target!r}: no registered model has this team")
        if change.feature:
            raise InputError(f"{SOURCE}: a team's per-feature thresholds belong in the policy file")
        yaml_block = (policy.yaml_teams or policy.teams).get(change.target, {})
        merged = merge_blocks(merge_blocks(yaml_block, teams.get(change.target, {})), change.block())
        validate_policy_overrides(merged, source=SOURCE, prefix=f"teams.{change.target}")
        return
    spec = specs.get(change.target)
    if spec is None:
        raise InputError(f"{SOURCE}: model {change.target!r}: not registered")
    features = dict(spec.get("features", {}))
    if change.feature and not CHECKS_BY_NAME[change.setting].per_feature:
        raise InputError(f"{SOURCE}: field features.{change.feature}.{change.setting}: not a per-feature check")
    merged = merge_blocks(merge_blocks(spec.get("policy", {}), stored_models.get(change.target, {})), change.block())
    validate_policy_overrides(merged, source=SOURCE, features=features, prefix=f"models.{change.target}")


def _state(store: Store, policy: Policy | None):
    import json

    base = policy or load_policy()
    with store.read() as con:
        rows = read_overrides(con)
        models = _models(con)
    specs = {m: json.loads(s) for m, s in zip(models["model_id"], models["spec_json"])}
    return base, rows, models, specs


def _proposed_rows(rows: list[dict], change: Change) -> list[dict]:
    key = (change.scope, change.target, change.feature, change.setting)
    old = next((r for r in rows if (r["scope"], r["target"], r["feature"], r["setting"]) == key), None)
    new = {
        "scope": change.scope,
        "target": change.target,
        "feature": change.feature,
        "setting": change.setting,
        "yellow": change.yellow if change.yellow is not None else (old or {}).get("yellow"),
        "red": change.red if change.red is not None else (old or {}).get("red"),
        "value": change.value,
    }
    return [r for r in rows if (r["scope"], r["target"], r["feature"], r["setting"]) != key] + [new]


def _effective(policy: Policy, team: str, model_id: str, spec: dict, change: Change) -> str:
    mp = policy.model_policy(model_id, spec.get("policy"))
    if change.setting == "min_rows":
        return f"min_rows {effective_setting(policy, team, mp, 'min_rows'):g}"
    t = effective_threshold(policy, team, mp, change.setting, change.feature or None)
    return f"{change.setting} yellow {_num(t.yellow)}, red {_num(t.red)}"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:g}"


def _sample(models: pd.DataFrame, change: Change) -> tuple[str, str]:
    """A model the change applies to (to word old -> new): the target, or one of the team's."""
    if change.scope == "model":
        row = models[models["model_id"] == change.target].iloc[0]
    else:
        hit = models[models["team"] == change.target]
        if hit.empty:
            return "", change.target
        row = hit.iloc[0]
    return row["model_id"], row["team"]


def apply_change(
    store: Store, change: Change, *, actor: Actor, comment: str, policy: Policy | None = None
) -> tuple[str, str]:
    """Validate, store and audit one change. Returns (old, new) as written to the audit log."""
    import json

    require_admin(actor, "change the policy")
    if not (comment or "").strip():
        raise InputError(f"{SOURCE}: a comment is required: say why the threshold changes")
    base = policy or load_policy()
    with store.write() as con:
        rows = read_overrides(con)
        models = _models(con)
        specs = {m: json.loads(s) for m, s in zip(models["model_id"], models["spec_json"])}
        _validate(change, base, models, specs, rows)
        proposed = _proposed_rows(rows, change)
        stored = next(
            r
            for r in proposed
            if (r["scope"], r["target"], r["feature"], r["setting"])
            == (change.scope, change.target, change.feature, change.setting)
        )
        model_id, team = _sample(models, change)
        if model_id:
            old = _effective(with_store_overrides(base, rows), team, model_id, specs[model_id], change)
            new = _effective(with_store_overrides(base, proposed), team, model_id, specs[model_id], change)
        else:
            old, new = "(policy file)", json.dumps(change.block())
        now = utcnow()
        policy_write.set_override(
            con,
            **{k: stored[k] for k in ("scope", "target", "feature", "setting", "yellow", "red", "value")},
            at=now,
            by=actor.id,
            comment=comment.strip(),
        )
        sa.log(
            con,
            now,
            kind="policy",
            event="threshold changed",
            model_id=change.target if change.scope == "model" else None,
            target=f"{change.scope}:{change.target}" + (f":{change.feature}" if change.feature else ""),
            actor=actor.id,
            detail=f"{change.where}: {old} → {new} · why: {comment.strip()}",
        )
    return old, new


def clear_override(
    store: Store, scope: str, target: str, setting: str, feature: str = "", *, actor: Actor, comment: str
) -> bool:
    """Remove a stored override: the YAML's value (or the default) is in force again."""
    require_admin(actor, "change the policy")
    if not (comment or "").strip():
        raise InputError(f"{SOURCE}: a comment is required: say why the override goes")
    with store.write() as con:
        gone = policy_write.delete_override(con, scope=scope, target=target, feature=feature, setting=setting)
        if gone:
            where = f"{scope} {target}" + (f" · feature {feature}" if feature else "")
            sa.log(
                con,
                utcnow(),
                kind="policy",
                event="override cleared",
                model_id=target if scope == "model" else None,
                target=f"{scope}:{target}" + (f":{feature}" if feature else ""),
                actor=actor.id,
                detail=f"{where}: stored {setting} override removed · why: {comment.strip()}",
            )
    return gone


def preview(
    store: Store, change: Change, *, policy: Policy | None = None, as_of: pd.Timestamp | None = None
) -> list[dict[str, str]]:
    """The models whose status would change with `change` (validated first): id, before, after."""
    from lib.judge.evaluate import evaluate

    base, rows, models, specs = _state(store, policy)
    _validate(change, base, models, specs, rows)
    if change.scope == "model":
        ids = [change.target]
    else:
        ids = list(models.loc[models["team"] == change.target, "model_id"])
    if not ids:
        return []
    before = evaluate(store, as_of=as_of, model_ids=ids, detail=False, policy=with_store_overrides(base, rows))
    proposed = with_store_overrides(base, _proposed_rows(rows, change))
    after = evaluate(store, as_of=as_of, model_ids=ids, detail=False, policy=proposed)
    was = {m["model_id"]: m["status"] for m in before["models"]}
    return [
        {"model_id": m["model_id"], "before": was.get(m["model_id"], ""), "after": m["status"]}
        for m in after["models"]
        if was.get(m["model_id"]) != m["status"]
    ]


def explain(store: Store, model_id: str, *, policy: Policy | None = None) -> pd.DataFrame:
    """One row per (check, feature) of a model: yellow, red, their level and origin (YAML or store)."""
    base, rows, models, specs = _state(store, policy)
    spec = specs.get(model_id)
    if spec is None:
        raise InputError(f"model {model_id!r}: not registered")
    team = str(models.loc[models["model_id"] == model_id, "team"].iloc[0])
    full = with_store_overrides(base, rows)
    mp = full.model_policy(model_id, spec.get("policy"))
    stored = {(r["scope"], r["target"], r["feature"], r["setting"]) for r in rows}
    out = []
    features = list(spec.get("features", {}))
    for check in TUNABLE:
        for feat in [None, *features] if CHECKS_BY_NAME[check].per_feature else [None]:
            t = effective_threshold(full, team, mp, check, feat)
            if feat is not None and t.source != "feature":
                continue  # features at their model's value: the model row says it
            key_level = {
                "team": ("team", team, ""),
                "model": ("model", model_id, ""),
                "feature": ("model", model_id, feat or ""),
            }
            origin = (
                "store"
                if (*key_level.get(t.source, ("", "", "")), check) in stored
                else ({"default": "built-in", "team": "policy file", "model": "spec", "feature": "spec"}[t.source])
            )
            out.append(
                {
                    "check": check,
                    "feature": feat or "",
                    "yellow": t.yellow,
                    "red": t.red,
                    "level": t.source,
                    "origin": origin,
                }
            )
    mr = effective_setting(full, team, mp, "min_rows")
    src = "model" if "min_rows" in mp else ("team" if "min_rows" in full.teams.get(team, {}) else "default")
    key = ("model", model_id, "", "min_rows") if src == "model" else ("team", team, "", "min_rows")
    origin = "store" if key in stored else {"default": "built-in", "team": "policy file", "model": "spec"}[src]
    out.append({"check": "min_rows", "feature": "", "yellow": float(mr), "red": None, "level": src, "origin": origin})
    return pd.DataFrame(out)


def overrides(store: Store) -> pd.DataFrame:
    """The stored overrides, newest first (for the Policy page)."""
    if not store.exists():
        return pd.DataFrame(columns=list(_COLUMNS))
    with store.read() as con:
        rows = read_overrides(con)
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    return frame.sort_values("updated_at", ascending=False, ignore_index=True) if len(frame) else frame


def current(store: Store, scope: str, target: str, setting: str, feature: str = "", *, policy: Policy | None = None):
    """The values in force where a change would go: (yellow, red) of a check, or (min_rows, None)."""
    base, rows, models, specs = _state(store, policy)
    full = with_store_overrides(base, rows)
    if scope == "team":
        team, mp = target, {}
    else:
        team = str(models.loc[models["model_id"] == target, "team"].iloc[0])
        mp = full.model_policy(target, specs[target].get("policy"))
    if setting == "min_rows":
        return float(effective_setting(full, team, mp, "min_rows")), None
    t = effective_threshold(full, team, mp, setting, feature or None)
    return t.yellow, t.red


def feature_names(store: Store, model_id: str) -> list[str]:
    """A registered model's features, in its spec's order."""
    _, _, _, specs = _state(store, None)
    return list(specs.get(model_id, {}).get("features", {}))
