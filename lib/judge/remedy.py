"""Ways out of a data-quality incident of new category values (issue 13, the ice-cream case).

When a categorical feature logs values its reference never had, the owner has two ways out and
one follow-up: (1) map each unseen value to a default the model knows, until a retrain — a
category mapping file the serving pipeline applies; (2) tell the upstream feed's contact (the
spec's `upstream:` Apprise URLs) which values arrived, how often and since when; and, once the
values should be learned, trigger the retrain. This module is pure: it chooses the defaults
offered, builds the mapping document and the notice text, and names the commands that do each
(lib/actions/remedy.py does them, with the audit trail).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

# Reference values that already mean "something else" (compared case-insensitively, trimmed).
OTHER_LIKE = ("other", "others", "unknown", "misc", "miscellaneous", "__other__", "(other)", "other/unknown")


def default_choices(ref_counts: dict[str, int]) -> list[dict[str, Any]]:
    """The defaults offered for a feature's unseen values, the suggested one first.

    - the most frequent reference value (ties: the smaller text), and
    - the reference's `other`-like value (`OTHER_LIKE`), if it has one; when it has, it is
      suggested first — a catch-all is what an unknown value is.

    >>> default_choices({"vanilla": 40, "chocolate": 60})
    [{'value': 'chocolate', 'why': 'the most frequent reference value', 'reference_share': 0.6}]
    >>> [c["value"] for c in default_choices({"a": 5, "Other": 1})]
    ['Other', 'a']
    """
    total = sum(ref_counts.values())
    if not total:
        return []
    top = min(ref_counts, key=lambda v: (-ref_counts[v], v))
    out = [{"value": top, "why": "the most frequent reference value", "reference_share": ref_counts[top] / total}]
    others = sorted((v for v in ref_counts if v.strip().lower() in OTHER_LIKE), key=lambda v: (-ref_counts[v], v))
    if others and others[0] != top:
        out.insert(
            0,
            {
                "value": others[0],
                "why": "the reference's catch-all value",
                "reference_share": ref_counts[others[0]] / total,
            },
        )
    elif others:
        out[0]["why"] = "the most frequent reference value, and its catch-all"
    return out


def remedy_block(model_id: str, feature: str, unseen: list[dict], ref_counts: dict[str, int]) -> dict[str, Any]:
    """The `remedy` of an `unseen_categories` reason: defaults offered, the suggested mapping and
    the commands that write the mapping file, notify upstream and trigger the retrain."""
    choices = default_choices(ref_counts)
    suggested = choices[0]["value"] if choices else None
    m, f = shlex.quote(model_id), shlex.quote(feature)
    return {
        "choices": choices,
        "suggested": suggested,
        "mapping": {u["value"]: suggested for u in unseen} if suggested is not None else {},
        "commands": {
            "mapping": (
                f"python -m lib remedy --model {m} --feature {f} --map-unseen-to {shlex.quote(suggested)} "
                f"--out {shlex.quote(model_id + '-' + feature + '-mapping.yaml')}"
                if suggested is not None
                else None
            ),
            "notify_upstream": f"python -m lib remedy --model {m} --notify-upstream",
            "retrain": f"python -m lib remedy --model {m} --retrain",
        },
    }


def mapping_document(model_id: str, as_of: str | None, defaults: dict[str, tuple[str, list[dict]]]) -> dict:
    """The category mapping: per feature, the default and the map from each unseen value to it.

    `defaults`: feature -> (default value, the unseen values as the reason lists them)."""
    return {
        "model_id": model_id,
        "as_of": as_of,
        "generated_by": "driftlight remedy",
        "features": {
            feature: {
                "default": default,
                "map": {u["value"]: default for u in unseen},
                "unseen": [
                    {"value": u["value"], "rows_24h": u["count"], "first_seen": u.get("first_seen")} for u in unseen
                ],
            }
            for feature, (default, unseen) in defaults.items()
        },
    }


def render_mapping(doc: dict, fmt: str) -> str:
    """The mapping document as YAML (with a header comment) or JSON (allow_nan=False)."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    import yaml

    head = (
        f"# Category mapping for model {doc['model_id']} (as of {doc['as_of']}), written by Driftlight.\n"
        "# Apply it before the model: replace each value in `map` by its target, until a retrain\n"
        "# teaches the model the new values.\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def upstream_notice(
    model: dict, unseen_by_feature: dict[str, list[dict]], as_of: str | None, link: str
) -> tuple[str, str]:
    """Title and plain-text body of the notice to the upstream feed's contact: the values, their
    row counts in the last 24 h and when each was first seen."""
    n = sum(len(v) for v in unseen_by_feature.values())
    title = f"[Driftlight] {n} new value(s) in the feed of {model['model_id']}"
    lines = [
        f"The feed of model {model['model_id']} ({model.get('name') or ''}) sends category values that "
        f"the model was never trained on (as of {as_of}).",
        f"Model owner: {model.get('owner') or ''} · team: {model.get('team') or ''}",
        "",
    ]
    for feature, values in unseen_by_feature.items():
        lines.append(f"Column {feature}:")
        for u in values:
            lines.append(f"- {u['value']!r}: {u['count']:,} row(s) in the last 24 h, first seen {u.get('first_seen')}")
        lines.append("")
    lines += [
        "Was this change intended? If not, please fix the feed; if it was, tell the model owner so",
        "the values can be mapped to a known one until the model is retrained.",
        f"Details: {link}",
    ]
    return title, "\n".join(lines)
