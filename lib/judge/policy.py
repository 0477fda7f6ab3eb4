"""The stoplight policy as data: one declarative table of checks with default thresholds.

Precedence of thresholds: feature > model (spec `policy:`) > team (policy file `teams:`) >
default. Overrides stored by the Policy page (lib/store/policy.py) sit above the YAML at the
same level: a stored team value over the policy file's team block, a stored model or feature
value over the spec's (`with_store_overrides`; docs/policy.md). `effective_thresholds` says which level each value came from, so the app and the
reports can show it. This module turns nothing into a status by itself; see lib/status.py.
A test (tests/test_policy.py) keeps every setting documented in README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from lib.errors import InputError


@dataclass(frozen=True)
class CheckSetting:
    name: str
    yellow: float | None
    red: float | None
    direction: str  # "above": bad when value >= threshold; "below": bad when value < threshold;
    # "above_strict": bad when value > threshold
    per_feature: bool
    unit: str  # "share", "psi", "ratio", "hours", "loss", "count"
    help: str


# Order matters: it is the reason order of DESIGN.md (a cause before its symptoms).
CHECKS: tuple[CheckSetting, ...] = (
    CheckSetting(
        "schema",
        1,
        1,
        "above",
        True,
        "count",
        "Columns of the inference files with rows in the last 24 h against the spec: an extra column is yellow, a missing feature column is red.",
    ),
    CheckSetting(
        "freshness",
        24,
        48,
        "above_strict",
        False,
        "hours",
        "Hours since the model's last inference; yellow above 24, red above 48.",
    ),
    CheckSetting(
        "volume",
        0.5,
        0.1,
        "below",
        False,
        "ratio",
        "Rows in the last 24 h divided by the daily mean of the 7 days before; yellow below 0.5, red below 0.1. A baseline of 0 passes.",
    ),
    CheckSetting(
        "missing",
        0.05,
        0.20,
        "above",
        True,
        "share",
        "NULL share of a feature in the last 24 h minus its NULL share in the reference; yellow at 0.05, red at 0.20.",
    ),
    CheckSetting(
        "unseen_categories",
        0.001,
        0.05,
        "above",
        True,
        "share",
        "Share of non-NULL rows in the last 24 h whose category never appears in the reference; yellow at 0.001, red at 0.05.",
    ),
    CheckSetting(
        "out_of_range",
        0.01,
        0.05,
        "above",
        True,
        "share",
        "Share of non-NULL numeric values in the last 24 h outside the reference's [min, max] (±inf included); yellow at 0.01, red at 0.05.",
    ),
    CheckSetting(
        "feature_drift",
        0.10,
        0.25,
        "above",
        True,
        "psi",
        "PSI of a feature over the last 7 days against the reference; yellow at 0.10, red at 0.25.",
    ),
    CheckSetting(
        "prediction_drift",
        0.10,
        0.25,
        "above",
        False,
        "psi",
        "PSI of the score (else the prediction) over the last 7 days against the reference; yellow at 0.10, red at 0.25.",
    ),
    CheckSetting(
        "performance",
        0.05,
        0.10,
        "above",
        False,
        "loss",
        "Relative loss of the primary metric over the labelled rows of the last 7 days against the reference; yellow at 0.05, red at 0.10.",
    ),
    CheckSetting(
        "performance_estimate",
        0.05,
        0.10,
        "above",
        False,
        "loss",
        "Binary classifiers with a score: relative loss of the ROC AUC estimated from the scores of the last 7 days (CBPE: the reference's isotonic calibration), before labels arrive, against the reference; yellow at 0.05, red at 0.10. Off unless estimate_performance is true.",
    ),
)
CHECK_ORDER: tuple[str, ...] = tuple(c.name for c in CHECKS)
CHECKS_BY_NAME: dict[str, CheckSetting] = {c.name: c for c in CHECKS}

# Settings that are not check thresholds.
SETTINGS: dict[str, tuple[float, str]] = {
    "min_rows": (100, "A check with fewer rows than this in its window is grey (not enough data), not green."),
    "cooldown_hours": (24, "Hours before the same finding may notify its owner again."),
    "estimate_performance": (
        False,
        "true turns on the performance_estimate check (estimated ROC AUC before labels arrive) for the models it covers; off by default.",
    ),
}
_BOOLEAN_SETTINGS = {"estimate_performance"}

# Settings whose value is a mapping (issue 13), with their defaults. `fdr` is fleet-wide (a false
# discovery rate is a property of the whole family of tests): only the policy file's top level
# may set it. `volume_baseline` may be set at every level, like a threshold.
BLOCK_SETTINGS: dict[str, tuple[dict[str, Any], str]] = {
    "fdr": (
        {"enabled": False, "alpha": 0.05},
        "Benjamini-Hochberg control of the false discovery rate of feature-drift findings across the fleet: a "
        "feature_drift flag stands only if its chi-squared p-value is a discovery at level alpha (docs/policy.md).",
    ),
    "volume_baseline": (
        {"mode": "daily_mean", "weeks": 4},
        "The volume check's baseline: daily_mean (the daily mean of the 7 days before the last 24 h) or "
        "same_weekday (the mean of the same 24 hours 1, 2, ... weeks earlier, over `weeks` weeks).",
    ),
}
FLEET_ONLY_SETTINGS = {"fdr"}
VOLUME_MODES = ("daily_mean", "same_weekday")
MAX_BASELINE_WEEKS = 12

POLICY_FILE_ENV = "DRIFTLIGHT_POLICY"
_FIXED_CHECKS = {"schema"}  # schema is structural: its levels are not thresholds to tune


def _check_threshold_block(block: Any, source: str, where: str, check: str) -> None:
    if not isinstance(block, dict) or not block or set(block) - {"yellow", "red"}:
        raise InputError(f"{source}: field {where}: must be a mapping with yellow and/or red")
    for level, value in block.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
            raise InputError(f"{source}: field {where}.{level}: must be a non-negative number")
    if "yellow" in block and "red" in block:
        # Red must be at least as bad as yellow, in the check's own direction.
        lower_is_worse = CHECKS_BY_NAME[check].direction == "below"
        if (block["yellow"] < block["red"]) if lower_is_worse else (block["yellow"] > block["red"]):
            worse = "at or below" if lower_is_worse else "at or above"
            raise InputError(
                f"{source}: field {where}: red ({block['red']}) must be {worse} yellow ({block['yellow']})"
            )


def validate_policy_overrides(
    policy: dict[str, Any], *, source: str, features: dict[str, str] | None = None, prefix: str = "policy"
) -> None:
    """Check a spec's or team's `policy:` block; raise InputError naming the field."""
    for key, block in policy.items():
        where = f"{prefix}.{key}"
        if key == "features":
            if not isinstance(block, dict):
                raise InputError(f"{source}: field {where}: must be a mapping of feature to checks")
            for feat, checks in block.items():
                if features is not None and feat not in features:
                    raise InputError(f"{source}: field {where}.{feat}: not a feature of this model")
                if not isinstance(checks, dict):
                    raise InputError(f"{source}: field {where}.{feat}: must be a mapping of check to thresholds")
                for check, thresholds in checks.items():
                    setting = CHECKS_BY_NAME.get(check)
                    if setting is None or not setting.per_feature or check in _FIXED_CHECKS:
                        raise InputError(f"{source}: field {where}.{feat}.{check}: not a per-feature check")
                    _check_threshold_block(thresholds, source, f"{where}.{feat}.{check}", check)
        elif key in _BOOLEAN_SETTINGS:
            if not isinstance(block, bool):
                raise InputError(f"{source}: field {where}: must be true or false")
        elif key in SETTINGS:
            if isinstance(block, bool) or not isinstance(block, (int, float)) or block < 0:
                raise InputError(f"{source}: field {where}: must be a non-negative number")
            if key == "min_rows" and (block != int(block) or block < 1):
                raise InputError(f"{source}: field {where}: must be a whole number of rows, at least 1")
        elif key in BLOCK_SETTINGS:
            _check_block_setting(key, block, source, where, fleet_level=prefix == "defaults")
        elif key in CHECKS_BY_NAME and key not in _FIXED_CHECKS:
            _check_threshold_block(block, source, where, key)
        else:
            raise InputError(f"{source}: field {where}: unknown check or setting")


def _check_block_setting(key: str, block: Any, source: str, where: str, *, fleet_level: bool) -> None:
    if key in FLEET_ONLY_SETTINGS and not fleet_level:
        raise InputError(f"{source}: field {where}: fleet-wide; set it at the top level of the policy file")
    known = BLOCK_SETTINGS[key][0]
    if not isinstance(block, dict) or set(block) - set(known):
        raise InputError(f"{source}: field {where}: must be a mapping with keys {', '.join(known)}")
    if "enabled" in block and not isinstance(block["enabled"], bool):
        raise InputError(f"{source}: field {where}.enabled: must be true or false")
    alpha = block.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InputError(f"{source}: field {where}.alpha: must be a number between 0 and 1 (exclusive)")
    if block.get("mode", VOLUME_MODES[0]) not in VOLUME_MODES:
        raise InputError(f"{source}: field {where}.mode: must be one of {', '.join(VOLUME_MODES)}")
    weeks = block.get("weeks", 1)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_BASELINE_WEEKS:
        raise InputError(f"{source}: field {where}.weeks: must be a whole number from 1 to {MAX_BASELINE_WEEKS}")


@dataclass(frozen=True)
class Policy:
    """Default thresholds plus team overrides, as loaded from the policy file."""

    defaults: dict[str, Any]
    teams: dict[str, dict[str, Any]]  # the policy file's team blocks, with stored team overrides merged in
    source: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # stored model / feature overrides
    stored: tuple[dict, ...] | None = None  # the store's override rows once layered (None: not yet)
    yaml_teams: dict[str, dict[str, Any]] | None = None  # the file's team blocks alone (for the Policy page)

    def model_policy(self, model_id: str, spec_policy: dict[str, Any] | None) -> dict[str, Any]:
        """A model's own level: its spec's `policy:` block with the stored overrides merged in."""
        return merge_blocks(spec_policy or {}, self.models.get(model_id, {}))


def merge_blocks(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge two policy blocks of the same level: `over` wins per check level, per feature."""
    if not over:
        return base
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in over.items():
        if key == "features":
            feats = {f: dict(c) for f, c in out.get("features", {}).items()}
            for feat, checks in value.items():
                fb = feats.setdefault(feat, {})
                for check, levels in checks.items():
                    fb[check] = {**fb.get(check, {}), **levels}
            out["features"] = feats
        elif isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def override_blocks(rows: list[dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Stored override rows (lib/store/policy.py) as policy blocks: (team -> block, model -> block)."""
    teams: dict[str, dict] = {}
    models: dict[str, dict] = {}
    for r in rows:
        block = (teams if r["scope"] == "team" else models).setdefault(r["target"], {})
        if r["setting"] in SETTINGS:
            if r["value"] is not None:
                block[r["setting"]] = int(r["value"]) if r["setting"] == "min_rows" else r["value"]
            continue
        levels = {k: r[k] for k in ("yellow", "red") if r[k] is not None}
        if not levels:
            continue
        if r["feature"]:
            block.setdefault("features", {}).setdefault(r["feature"], {})[r["setting"]] = levels
        else:
            block[r["setting"]] = levels
    return teams, models


def with_store_overrides(policy: Policy, rows: list[dict]) -> Policy:
    """The policy with the store's overrides layered above the YAML (idempotent: layered once)."""
    if policy.stored is not None:
        return policy
    teams, models = override_blocks(rows)
    merged = {t: merge_blocks(policy.teams.get(t, {}), teams.get(t, {})) for t in {*policy.teams, *teams}}
    return replace(policy, teams=merged, models=models, stored=tuple(rows), yaml_teams=policy.teams)


def load_store_policy(store, policy: Policy | None = None) -> Policy:
    """The policy file (or `policy`) with the store's overrides, read under a shared lock."""
    from lib.store.policy import read_overrides

    policy = policy or load_policy()
    if policy.stored is not None or not store.exists():
        return policy
    with store.read() as con:
        return with_store_overrides(policy, read_overrides(con))


def default_policy() -> Policy:
    defaults: dict[str, Any] = {c.name: {"yellow": c.yellow, "red": c.red} for c in CHECKS}
    defaults.update({k: v for k, (v, _) in SETTINGS.items()})
    defaults.update({k: dict(v) for k, (v, _) in BLOCK_SETTINGS.items()})
    return Policy(defaults=defaults, teams={}, source="built-in defaults")


def load_policy(path: str | os.PathLike | None = None) -> Policy:
    """The policy file (YAML: the same keys as a spec's policy, plus `teams:`), over the defaults."""
    path = path or os.environ.get(POLICY_FILE_ENV)
    base = default_policy()
    if not path:
        return base
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{p}: cannot read the policy file ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: the policy file must be a mapping")
    teams = data.pop("teams", {}) or {}
    if not isinstance(teams, dict):
        raise InputError(f"{p}: field teams: must be a mapping of team to policy")
    if "features" in data:
        # Feature names belong to a model: per-feature thresholds go in its spec or its team's block.
        raise InputError(
            f"{p}: field defaults.features: per-feature thresholds belong in a model's spec "
            "(policy.features) or a team's block (teams.TEAM.features)"
        )
    validate_policy_overrides(data, source=str(p), prefix="defaults")
    for team, block in teams.items():
        if not isinstance(block, dict):
            raise InputError(f"{p}: field teams.{team}: must be a mapping")
        validate_policy_overrides(block, source=str(p), prefix=f"teams.{team}")
    defaults = dict(base.defaults)
    for key, value in data.items():
        defaults[key] = {**defaults[key], **value} if isinstance(value, dict) else value
    return Policy(defaults=defaults, teams=teams, source=str(p))


@dataclass(frozen=True)
class Threshold:
    yellow: float | None
    red: float | None
    source: str  # "default" | "team" | "model" | "feature": the most specific level that set any
    yellow_source: str = "default"  # where each level came from: a reason shows the source of
    red_source: str = "default"  # the threshold it reached (a feature block may set red only)


def effective_threshold(
    policy: Policy, team: str, model_policy: dict[str, Any], check: str, feature: str | None = None
) -> Threshold:
    """The thresholds in force for one check (and feature), and where each level came from."""
    levels: dict[str, float | None] = dict(policy.defaults[check])
    source = "default"
    sources = {"yellow": "default", "red": "default"}
    team_policy = policy.teams.get(team, {})
    layers = [("team", team_policy.get(check))]
    if feature is not None:  # a team's per-feature block is still the team's level
        layers.append(("team", team_policy.get("features", {}).get(feature, {}).get(check)))
    layers.append(("model", model_policy.get(check)))
    if feature is not None:
        layers.append(("feature", model_policy.get("features", {}).get(feature, {}).get(check)))
    for name, block in layers:
        if block:
            levels.update(block)
            sources.update(dict.fromkeys(block, name))
            source = name
    return Threshold(levels.get("yellow"), levels.get("red"), source, sources["yellow"], sources["red"])


def effective_setting(policy: Policy, team: str, model_policy: dict[str, Any], key: str) -> float:
    """A setting (min_rows, cooldown_hours) in force: model > team > default."""
    value = policy.defaults[key]
    value = policy.teams.get(team, {}).get(key, value)
    return model_policy.get(key, value)


def effective_block(policy: Policy, team: str, model_policy: dict[str, Any], key: str) -> dict[str, Any]:
    """A mapping setting (BLOCK_SETTINGS) in force for a model: default < team < model, key by key."""
    return {**policy.defaults[key], **policy.teams.get(team, {}).get(key, {}), **model_policy.get(key, {})}
