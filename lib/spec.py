"""Model specs: parse and validate a spec (YAML file or dict) into a frozen `Spec`.

Validation happens here, once, at the boundary (STYLE.md habit 4); everything downstream trusts
a `Spec`. Messages read `SPEC: field F: reason`. This module knows no SQL and no store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lib.errors import InputError

MODEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TASKS = ("binary_classification", "multiclass_classification", "regression")
KINDS = ("numeric", "categorical")
COLUMN_ROLES = ("timestamp", "id", "prediction", "score", "label")
DEFAULT_COLUMNS = {"timestamp": "timestamp", "prediction": "prediction"}
MAX_FEATURE_NAME = 128
# Segments (issue 13): a categorical feature written `{kind: categorical, segment: true | N}` keeps
# per-segment profiles of its reference's top N values (+ other + missing); docs/spec.md.
SEGMENT_TOP_DEFAULT = 10
SEGMENT_TOP_MAX = 50
MAX_SEGMENT_FEATURES = 3
_TOP_LEVEL = {
    "model_id",
    "name",
    "task",
    "owner",
    "team",
    "tags",
    "columns",
    "features",
    "positive_class",
    "policy",
    "actions",
    "description",
    "importance",
    "upstream",
}


@dataclass(frozen=True)
class Spec:
    model_id: str
    name: str
    task: str
    owner: str
    team: str
    tags: tuple[str, ...]
    columns: dict[str, str]  # role -> column name in the files
    features: dict[str, str]  # feature -> kind, in the spec's order
    positive_class: str | None  # binary only; None: the default "1", else "true"
    policy: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    importance: dict[str, float] = field(default_factory=dict)  # feature -> weight (optional)
    upstream: tuple[str, ...] = ()  # Apprise URLs of the feed's contact (issue 13: new category values)
    segments: dict[str, int] = field(default_factory=dict)  # segment feature -> top N (issue 13)

    @property
    def has_score(self) -> bool:
        return "score" in self.columns

    def as_dict(self) -> dict[str, Any]:
        out = {
            "model_id": self.model_id,
            "name": self.name,
            "task": self.task,
            "owner": self.owner,
            "team": self.team,
            "tags": list(self.tags),
            "columns": dict(self.columns),
            "features": {
                f: ({"kind": k, "segment": self.segments[f]} if f in self.segments else k)
                for f, k in self.features.items()
            },
        }
        if self.positive_class is not None:
            out["positive_class"] = self.positive_class
        if self.policy:
            out["policy"] = self.policy
        if self.actions:
            out["actions"] = self.actions
        if self.description:
            out["description"] = self.description
        if self.importance:
            out["importance"] = dict(self.importance)
        if self.upstream:
            out["upstream"] = list(self.upstream)
        return out


def load_spec_file(path: str | Path) -> Spec:
    """Read and validate a spec YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        # one line: a ReaderError (a NUL byte, found by tests/test_fuzz.py) spans two
        why = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise InputError(f"{path}:{where} not valid YAML ({why})") from None
    return parse_spec(data, source=str(path))


def _text(value: Any, source: str, name: str, *, required: bool = True, default: str = "") -> str:
    if value is None:
        if required:
            raise InputError(f"{source}: field {name}: missing")
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"{source}: field {name}: must be text, got {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise InputError(f"{source}: field {name}: empty")
    return text


def parse_spec(data: Any, *, source: str = "spec") -> Spec:
    """Validate a spec given as a mapping (parsed YAML) and return a `Spec`."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a spec must be a mapping of fields, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _TOP_LEVEL)
    if unknown:
        raise InputError(f"{source}: field {unknown[0]}: unknown field (known: {', '.join(sorted(_TOP_LEVEL))})")
    model_id = data.get("model_id")
    if not isinstance(model_id, str) or not MODEL_ID_PATTERN.match(model_id):
        raise InputError(f"{source}: field model_id: {model_id!r} does not match {MODEL_ID_PATTERN.pattern}")
    task = data.get("task")
    if task not in TASKS:
        raise InputError(f"{source}: field task: {task!r} is not one of {', '.join(TASKS)}")
    name = _text(data.get("name"), source, "name", required=False, default=model_id) or model_id
    owner = _text(data.get("owner"), source, "owner")
    team = _text(data.get("team"), source, "team")
    tags_raw = data.get("tags") or []
    if not isinstance(tags_raw, list) or not all(
        isinstance(t, (str, int)) and not isinstance(t, bool) for t in tags_raw
    ):
        raise InputError(f"{source}: field tags: must be a list of text")
    tags = tuple(str(t) for t in tags_raw)

    columns_raw = data.get("columns") or {}
    if not isinstance(columns_raw, dict):
        raise InputError(f"{source}: field columns: must be a mapping of role to column name")
    columns = dict(DEFAULT_COLUMNS)
    for role, col in columns_raw.items():
        if role not in COLUMN_ROLES:
            raise InputError(f"{source}: field columns.{role}: unknown role (known: {', '.join(COLUMN_ROLES)})")
        columns[role] = _text(col, source, f"columns.{role}")
    if "score" in columns and task != "binary_classification":
        raise InputError(f"{source}: field columns.score: a score column is only for binary_classification")
    used = list(columns.values())
    dup = next((c for c in used if used.count(c) > 1), None)
    if dup is not None:
        raise InputError(f"{source}: field columns: column {dup!r} is named for two roles")

    features_raw = data.get("features")
    if not isinstance(features_raw, dict) or not features_raw:
        raise InputError(f"{source}: field features: must be a non-empty mapping of feature to kind")
    features: dict[str, str] = {}
    segments: dict[str, int] = {}
    for feat, kind in features_raw.items():
        if isinstance(kind, dict):
            kind = _feature_options(kind, source, feat, segments)
        if not isinstance(feat, str) or not feat.strip() or len(feat) > MAX_FEATURE_NAME:
            raise InputError(
                f"{source}: field features: name {feat!r} must be non-empty text of at most {MAX_FEATURE_NAME} characters"
            )
        if kind not in KINDS:
            raise InputError(f"{source}: field features.{feat}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if feat in used:
            raise InputError(f"{source}: field features.{feat}: also named as a non-feature column in columns")
        features[feat] = kind
    if len(segments) > MAX_SEGMENT_FEATURES:
        raise InputError(
            f"{source}: field features: {len(segments)} segment features ({', '.join(segments)}); "
            f"at most {MAX_SEGMENT_FEATURES} per model"
        )

    positive_class = None
    if task == "binary_classification":
        # None means "the default": "1", else "true" (resolved against the labels at ingest).
        pc = data.get("positive_class", None)
        if isinstance(pc, bool):
            positive_class = "true" if pc else "false"
        elif pc is not None:
            positive_class = _text(pc, source, "positive_class")
    elif data.get("positive_class") is not None:
        raise InputError(f"{source}: field positive_class: only for binary_classification")

    policy = data.get("policy") or {}
    if not isinstance(policy, dict):
        raise InputError(f"{source}: field policy: must be a mapping")
    # Deferred import: the policy module validates its own keys (checks, thresholds, features).
    from lib.judge.policy import validate_policy_overrides

    validate_policy_overrides(policy, source=source, features=features)
    actions = data.get("actions") or {}
    if not isinstance(actions, dict):
        raise InputError(f"{source}: field actions: must be a mapping")
    for key in actions:
        if key not in ("notify", "retrain_url", "retrain_command"):
            raise InputError(f"{source}: field actions.{key}: unknown (known: notify, retrain_url, retrain_command)")
    notify = actions.get("notify")
    if notify is not None and not (isinstance(notify, list) and all(isinstance(u, str) for u in notify)):
        raise InputError(f"{source}: field actions.notify: must be a list of Apprise URLs")
    description = _text(data.get("description"), source, "description", required=False)
    importance = _importance(data.get("importance"), source, features)
    upstream = data.get("upstream") or []
    if isinstance(upstream, str):
        upstream = [upstream]
    if not isinstance(upstream, list) or not all(isinstance(u, str) and "://" in u.strip() for u in upstream):
        raise InputError(f"{source}: field upstream: must be a list of Apprise URLs (scheme://…)")
    return Spec(
        model_id=model_id,
        name=name,
        task=task,
        owner=owner,
        team=team,
        tags=tags,
        columns=columns,
        features=features,
        positive_class=positive_class,
        policy=policy,
        actions=actions,
        description=description,
        importance=importance,
        upstream=tuple(u.strip() for u in upstream),
        segments=segments,
    )


def _feature_options(options: dict, source: str, feat: Any, segments: dict[str, int]) -> Any:
    """A feature written as a mapping: `{kind: K}` and, for a categorical one, `segment: true | N`
    (profile per value of its reference's top N values; true = SEGMENT_TOP_DEFAULT). Returns the kind."""
    unknown = sorted(str(k) for k in options if k not in ("kind", "segment"))
    if unknown:
        raise InputError(f"{source}: field features.{feat}.{unknown[0]}: unknown option (known: kind, segment)")
    kind = options.get("kind")
    seg = options.get("segment", False)
    if seg is False or seg is None:
        return kind
    if kind != "categorical":
        raise InputError(f"{source}: field features.{feat}.segment: only a categorical feature can be a segment")
    if seg is True:
        top = SEGMENT_TOP_DEFAULT
    elif isinstance(seg, int) and not isinstance(seg, bool) and 1 <= seg <= SEGMENT_TOP_MAX:
        top = seg
    else:
        raise InputError(
            f"{source}: field features.{feat}.segment: must be true, false or a number of values 1..{SEGMENT_TOP_MAX}"
        )
    segments[str(feat)] = top
    return kind


def _importance(block: Any, source: str, features: dict[str, str]) -> dict[str, float]:
    """`importance: {feature: weight}`: non-negative numbers, not all 0; features not named weigh 0."""
    if block is None:
        return {}
    if not isinstance(block, dict) or not block:
        raise InputError(f"{source}: field importance: must be a mapping of feature to a non-negative weight")
    out = {}
    for feat, weight in block.items():
        if feat not in features:
            raise InputError(f"{source}: field importance.{feat}: not a feature of this model")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not weight >= 0
            or weight == float("inf")
        ):
            raise InputError(f"{source}: field importance.{feat}: must be a non-negative number")
        out[str(feat)] = float(weight)
    if not any(out.values()):
        raise InputError(f"{source}: field importance: at least one weight must be above 0")
    return out
