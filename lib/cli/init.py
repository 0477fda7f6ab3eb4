"""`python -m lib init`: draft a model spec from a reference file, for a person to review.

The file is read with the ingest readers, so the draft sees the values as `ingest` will (CSV
cells as text, Parquet columns typed). Role columns are guessed from their names, feature kinds
and the task from the values; every guess carries a `# ... review` comment. The YAML is written
as text (PyYAML cannot write comments) and checked before it is shown: it must parse back to the
same mapping and pass the spec's own validation, so the draft registers as it is.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from lib.errors import InputError
from lib.ingest import readers
from lib.spec import MAX_FEATURE_NAME, MODEL_ID_PATTERN, parse_spec

# A number column with at most this many distinct values is categorical (codes, counts, terms).
NUMERIC_MIN_DISTINCT = 10
# A number label with more distinct values than this (or any fraction) is a regression target.
REGRESSION_MIN_DISTINCT = 20

# Role -> column names that suggest it, most telling first (compared lower-cased, '-' and ' ' as '_').
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    role: tuple(names.split())
    for role, names in {
        "label": "label target y_true y ground_truth truth actual outcome class",
        "prediction": "prediction pred y_pred predicted predicted_label predicted_class predicted_value yhat y_hat "
        "output",
        "score": "score proba probability prob y_score y_proba pred_proba predict_proba prediction_score "
        "positive_score",
        "id": "id request_id prediction_id inference_id event_id row_id record_id uuid transaction_id",
        "timestamp": "timestamp ts time event_time event_timestamp datetime prediction_time predicted_at "
        "inference_time request_time created_at",
    }.items()
}
ROLE_ORDER = ("timestamp", "id", "prediction", "score", "label")  # as the spec lists them
_GUESS_ORDER = ("label", "prediction", "score", "id", "timestamp")  # who picks a column first
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}.*)?$")
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@/-]*$")
_POSITIVE_WORDS = ("yes", "y", "positive", "pos")
_NUMBER_ONE = re.compile(r"^\+?1(\.0*)?$")


def add(sub, db_arg) -> None:
    p = sub.add_parser("init", help="draft a model spec (YAML) from a reference file, to review and register")
    p.add_argument("--model", required=True, help="the model_id of the draft")
    p.add_argument("--reference", required=True, metavar="FILE", help="the model's hold-out set (CSV or Parquet)")
    p.add_argument("--out", help="write the draft here (default: print it)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    for role in ROLE_ORDER:
        p.add_argument(f"--{role}", metavar="COLUMN", help=f"the {role} column (default: guessed from the names)")
    p.set_defaults(func=run)


@dataclass
class Draft:
    """What the draft says, and why (the comments)."""

    model_id: str
    source: str
    rows: int
    task: str = ""
    task_note: str = ""
    positive_class: str | None = None
    positive_note: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    column_notes: dict[str, str] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)
    feature_notes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run(args) -> int:
    try:
        return _run(args)
    except InputError:
        raise  # exit 2, one line (lib/__main__.py)
    except Exception as exc:  # a bug here, not the user's input: one line, exit 1, no traceback
        print(f"init: failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})", file=sys.stderr)
        return 1


def _run(args) -> int:
    if not MODEL_ID_PATTERN.match(args.model):
        raise InputError(f"--model: {args.model!r} does not match {MODEL_ID_PATTERN.pattern}")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise InputError(f"{out}: already exists (use --force to overwrite)")
    path = Path(args.reference)
    frame = readers.read_table(path)
    chosen = {role: getattr(args, role) for role in ROLE_ORDER if getattr(args, role)}
    draft = draft_spec(frame, args.model, str(path), chosen)
    text = render(draft)
    problem = check_registers(text, draft)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)  # as the store does for --db
        out.write_text(text, encoding="utf-8")
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{out}: cannot write (a part of its folder is a file, not a folder)") from None
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror})") from None
    kinds = list(draft.features.values())
    print(
        f"{out}: drafted {draft.model_id} ({draft.task}; {kinds.count('numeric')} numeric and "
        f"{kinds.count('categorical')} categorical features): review the lines marked 'review', "
        f"then: python -m lib register {out}"
    )
    return 0


# -- guessing --------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[\s-]+", "_", str(name).strip().lower())


def guess_roles(columns: list[str], chosen: dict[str, str], file: str) -> dict[str, str]:
    """role -> column: the chosen ones (checked), then each role's best-named unclaimed column."""
    roles: dict[str, str] = {}
    for role, col in chosen.items():
        if col not in columns:
            raise InputError(f"{file}: column {col}: not in the file (--{role})")
        if col in roles.values():
            raise InputError(f"{file}: column {col}: named for two roles")
        roles[role] = col
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(_norm(col), col)
    for role in _GUESS_ORDER:
        if role in roles:
            continue
        for name in ROLE_NAMES[role]:
            col = by_norm.get(name)
            if col is not None and col not in roles.values():
                roles[role] = col
                break
    return roles


def _numbers(series: pd.Series, file: str, column: str) -> np.ndarray | None:
    """The column's values as floats if every non-NULL one is a number (NaN for NULL), else None."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return None
    if not (pd.api.types.is_numeric_dtype(series) or readers.is_text(series)):
        return None
    try:
        return readers.parse_numeric(series, file, column)
    except InputError:
        return None


def _looks_like_dates(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if not readers.is_text(series):
        return False
    sample = series.dropna().astype(str).head(200)
    return len(sample) > 0 and all(_DATE_LIKE.match(v.strip()) for v in sample)


def feature_kind(series: pd.Series, file: str, column: str) -> tuple[str, str]:
    """(kind, why): numeric for numbers with more than NUMERIC_MIN_DISTINCT distinct values."""
    values = _numbers(series, file, column)
    if values is not None:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return "categorical", "no values in the reference: review"
        distinct = np.unique(finite).size
        if distinct > NUMERIC_MIN_DISTINCT:
            return "numeric", ""
        return "categorical", f"{distinct} distinct numbers ({NUMERIC_MIN_DISTINCT} or fewer): review"
    if _looks_like_dates(series):
        return "categorical", "dates: new values every day (unseen_categories); consider leaving it out"
    if pd.api.types.is_bool_dtype(series):
        return "categorical", "true / false"
    return "categorical", ""


def guess_task(labels: pd.Series, file: str, column: str) -> tuple[str, str, list[str]]:
    """(task, why, the label values as text) from the label column's values."""
    text = readers.parse_text(labels).dropna()
    distinct = sorted(set(text))
    if not distinct:
        raise InputError(f"{file}: column {column}: no label values (init needs data rows to guess the task)")
    shown = ", ".join(distinct[:4]) + (", …" if len(distinct) > 4 else "")
    if len(distinct) <= 2:
        return (
            "binary_classification",
            f"guessed from the label: {len(distinct)} distinct values ({shown}): review",
            distinct,
        )
    values = _numbers(labels, file, column)
    if values is not None:
        finite = values[np.isfinite(values)]
        fractional = bool(np.any(finite != np.round(finite)))
        if fractional or len(distinct) > REGRESSION_MIN_DISTINCT:
            why = "fractions" if fractional else f"{len(distinct)} distinct"
            return "regression", f"guessed from the label: numbers, {why}: review", distinct
    return (
        "multiclass_classification",
        f"guessed from the label: {len(distinct)} distinct values ({shown}): review",
        distinct,
    )


def guess_positive(labels: pd.Series, distinct: list[str]) -> tuple[str | None, str]:
    """The positive class of a binary task: None when the default ("1", else "true") applies."""
    if any(d in distinct for d in ("1", "true", "True", "TRUE")):
        return None, ""
    ones = [d for d in distinct if _NUMBER_ONE.match(d)]
    if len(ones) == 1:  # 1.0 (a float label column): the usual positive class, spelled as stored
        return ones[0], "labels compare as text: a float column's 1 is written 1.0: review"
    for word in _POSITIVE_WORDS:
        match = next((d for d in distinct if d.lower() == word), None)
        if match is not None:
            return match, "guessed: review"
    # The rarer class is usually the one a model is built to find (fraud, churn, default).
    counts = readers.parse_text(labels).value_counts()
    rarest = min(distinct, key=lambda d: (int(counts.get(d, 0)), d))
    return rarest, "the rarer label (no 1 / true among them): review"


def draft_spec(frame: pd.DataFrame, model_id: str, file: str, chosen: dict[str, str]) -> Draft:
    columns = [str(c) for c in frame.columns]
    draft = Draft(model_id=model_id, source=file, rows=len(frame))
    roles = guess_roles(columns, chosen, file)
    for role in ("label", "prediction"):
        if role not in roles:
            looked = ", ".join(ROLE_NAMES[role][:5])
            raise InputError(f"{file}: no {role} column (looked for {looked}, …); name it with --{role} COLUMN")
    if not roles.get("timestamp"):  # no name matched: a column of timestamps is the best guess
        dated = next((c for c in columns if c not in roles.values() and _looks_like_dates(frame[c])), None)
        if dated is not None:
            roles["timestamp"] = dated
            draft.column_notes["timestamp"] = "guessed from its values: review"
    draft.task, draft.task_note, distinct = guess_task(frame[roles["label"]], file, roles["label"])
    if draft.task == "binary_classification":
        draft.positive_class, draft.positive_note = guess_positive(frame[roles["label"]], distinct)
    elif "score" in roles:
        draft.notes.append(
            f"column {roles.pop('score')} looks like a score, which only a binary classifier has: "
            "left out (its column becomes an extra one)"
        )
    if "timestamp" not in roles:
        draft.column_notes["timestamp"] = "not in the reference: the logs' time column (default timestamp): review"
    for role in ROLE_ORDER:
        if role == "timestamp" and role not in roles:
            draft.columns[role] = "timestamp"
        elif role in roles:
            draft.columns[role] = roles[role]
            default = "chosen on the command line" if role in chosen else "guessed from the name: review"
            draft.column_notes.setdefault(role, default)
    for col in columns:
        if col in roles.values():
            continue
        if not col.strip() or len(col) > MAX_FEATURE_NAME:
            raise InputError(
                f"{file}: column {col[:40]!r}: a feature name must be non-empty and at most "
                f"{MAX_FEATURE_NAME} characters"
            )
        draft.features[col], note = feature_kind(frame[col], file, col)
        if note:
            draft.feature_notes[col] = note
    if not draft.features:
        raise InputError(f"{file}: no feature columns (every column was taken for a role)")
    return draft


# -- writing ---------------------------------------------------------------------------------------
OWNER_PLACEHOLDER, TEAM_PLACEHOLDER = "owner@example.com", "unassigned"


def scalar(value: str) -> str:
    """A YAML scalar that reads back as this very string: plain when it is safe, else quoted."""
    if _PLAIN.match(value) and yaml.safe_load(value) == value:
        return value
    return yaml.safe_dump(value, default_style='"', allow_unicode=True, width=float("inf")).strip()


def _block(rows: list[tuple[str, str]], indent: str = "") -> list[str]:
    """`key: value  # note` lines with the notes aligned."""
    width = min(max((len(indent + line) for line, _ in rows), default=0), 44)
    return [(f"{indent}{line}".ljust(width) + f"  # {note}") if note else f"{indent}{line}" for line, note in rows]


def intended(draft: Draft) -> dict:
    """The mapping the YAML text must parse back to."""
    data = {
        "model_id": draft.model_id,
        "name": draft.model_id,
        "task": draft.task,
        "owner": OWNER_PLACEHOLDER,
        "team": TEAM_PLACEHOLDER,
        "tags": [],
        "columns": dict(draft.columns),
        "features": dict(draft.features),
    }
    if draft.positive_class is not None:
        data["positive_class"] = draft.positive_class
    return data


def render(draft: Draft) -> str:
    lines = [
        f"# A draft Driftlight model spec, made by `python -m lib init` from {draft.source} ({draft.rows} rows).",
        "# Review the lines marked 'review' and the placeholders (owner, team), then register it:",
        "#   python -m lib register THIS_FILE",
        "# Every field is described in docs/spec.md.",
    ]
    lines += [f"# Note: {note}." for note in draft.notes]
    lines += _block(
        [
            (f"model_id: {scalar(draft.model_id)}", ""),
            (f"name: {scalar(draft.model_id)}", "a name for people: review"),
            (f"task: {draft.task}", draft.task_note),
            (f"owner: {OWNER_PLACEHOLDER}", "placeholder: who gets this model's notices"),
            (f"team: {TEAM_PLACEHOLDER}", "placeholder: the team (a policy file's teams: blocks key on it)"),
            ("tags: []", ""),
        ]
    )
    lines.append("columns:  # the files' non-feature columns")
    lines += _block(
        [(f"{role}: {scalar(col)}", draft.column_notes.get(role, "")) for role, col in draft.columns.items()], "  "
    )
    if "id" not in draft.columns:
        lines.append(
            "  # id: request_id  # optional: the id column that joins late labels; none found in the reference"
        )
    lines += [
        f"# Feature kinds: a column whose every value is a number is numeric when it has more than "
        f"{NUMERIC_MIN_DISTINCT} distinct",
        "# values in the reference, else categorical; text, true / false and dates are categorical.",
        '# Categorical values compare as text (a Parquet float 1.0 is "1.0", not "1").',
        "features:",
    ]
    lines += _block(
        [(f"{scalar(name)}: {kind}", draft.feature_notes.get(name, "")) for name, kind in draft.features.items()], "  "
    )
    if draft.task == "binary_classification":
        if draft.positive_class is None:
            lines.append(
                '# positive_class: "1"   # the default ("1", else "true"): the class the score is the probability of'
            )
        else:
            lines += _block([(f"positive_class: {scalar(draft.positive_class)}", draft.positive_note)])
    lines += [
        "# policy: {feature_drift: {yellow: 0.15, red: 0.3}}   # optional: thresholds (docs/policy.md)",
        "# actions: {notify: [mailto://you@example.com]}       # optional: who hears of yellow and red",
    ]
    return "\n".join(lines) + "\n"


def check_registers(text: str, draft: Draft) -> str | None:
    """Why the draft would not register as it is, or None. It must read back as intended and pass
    the spec's validation; a failure here is a bug of this module, not bad input."""
    data = yaml.safe_load(text)
    if data != intended(draft):
        return f"{draft.source}: init: the draft does not read back as drafted (a bug: please report it)"
    try:
        parse_spec(data, source=f"the draft from {draft.source}")
    except InputError as exc:
        return f"init: the draft does not validate (a bug: please report it): {exc}"
    return None
