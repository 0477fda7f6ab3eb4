"""The stoplight policy as data: one declarative table of checks with default thresholds.

Precedence of thresholds: feature > model (spec `policy:`) > team (policy file `teams:`) >
default. `effective_thresholds` says which level each value came from, so the app and the
reports can show it. This module turns nothing into a status by itself; see lib/status.py.
A test (tests/test_policy.py) keeps every setting documented in README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
        elif key in CHECKS_BY_NAME and key not in _FIXED_CHECKS:
            _check_threshold_block(block, source, where, key)
        else:
            raise InputError(f"{source}: field {where}: unknown check or setting")


@dataclass(frozen=True)
class Policy:
    """Default thresholds plus team overrides, as loaded from the policy file."""

    defaults: dict[str, Any]
    teams: dict[str, dict[str, Any]]
    source: str


def default_policy() -> Policy:
    defaults: dict[str, Any] = {c.name: {"yellow": c.yellow, "red": c.red} for c in CHECKS}
    defaults.update({k: v for k, (v, _) in SETTINGS.items()})
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
    value = policy.defaults[key]
    value = policy.teams.get(team, {}).get(key, value)
    return model_policy.get(key, value)
