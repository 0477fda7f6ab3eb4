"""Model specs: parsing, round trips, validation messages (API and `register`), positive_class,
and what registering does to the store (DESIGN.md "Model spec")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures import (  # noqa: F401
    BINARY,
    REGRESSION,
    csv_file,
    db,
    query,
    rows_for,
    spec_dict,
    standard_template,
    table_counts,
    write_csv_rows,
    write_spec,
)
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from lib.__main__ import main
from lib.errors import InputError
from lib.ingest.pipeline import ingest_file, load_model_spec, register_spec
from lib.spec import Spec, load_spec_file, parse_spec
from lib.store.connection import Store

FULL = {
    "model_id": "icecream-sales",
    "name": "Ice cream price forecast",
    "task": "binary_classification",
    "owner": "dana@example.com",
    "team": "retail",
    "tags": ["pricing", "eu"],
    "columns": {"timestamp": "ts", "id": "request_id", "prediction": "prediction", "score": "score", "label": "label"},
    "features": {"flavor": "categorical", "temperature": "numeric", "température ressentie": "numeric"},
    "positive_class": "1",
    "policy": {
        "feature_drift": {"yellow": 0.15, "red": 0.3},
        "min_rows": 50,
        "features": {"flavor": {"unseen_categories": {"yellow": 0.01}}},
    },
    "actions": {"notify": ["mailto://dana@example.com"], "retrain_url": "https://ci.example.com/hooks/retrain"},
    "description": "Prices ice cream by the weather.",
}


# -- parsing -------------------------------------------------------------------------------------------
def test_full_spec_round_trips_through_yaml_and_as_dict(tmp_path: Path):
    spec = load_spec_file(write_spec(tmp_path, FULL))
    assert spec == parse_spec(FULL)
    assert spec.model_id == "icecream-sales" and spec.task == "binary_classification"
    assert spec.tags == ("pricing", "eu")
    assert list(spec.features) == ["flavor", "temperature", "température ressentie"]  # the spec's order
    assert spec.columns == FULL["columns"] and spec.has_score
    assert spec.positive_class == "1"
    assert spec.policy == FULL["policy"] and spec.actions == FULL["actions"]
    assert spec.as_dict() == FULL
    assert parse_spec(json.loads(json.dumps(spec.as_dict()))) == spec


def test_minimal_spec_gets_the_defaults():
    spec = parse_spec({"model_id": "m1", "task": "regression", "owner": "o", "team": "t", "features": {"x": "numeric"}})
    assert spec == Spec(
        model_id="m1",
        name="m1",
        task="regression",
        owner="o",
        team="t",
        tags=(),
        columns={"timestamp": "timestamp", "prediction": "prediction"},
        features={"x": "numeric"},
        positive_class=None,
    )
    assert not spec.has_score


@pytest.mark.parametrize(
    "value, expected", [(None, None), ("yes", "yes"), (1, "1"), (True, "true"), (False, "false"), (0, "0")]
)
def test_positive_class_is_text(value, expected):
    data = spec_dict()
    if value is not None:
        data["positive_class"] = value
    assert parse_spec(data).positive_class == expected


# -- invalid specs: one line naming the field, through the API and `register` --------------------------
BAD_SPECS = [
    ("malformed-yaml", "model_id: m\ntask: [regression\n", "line", "not valid YAML"),
    ("tab-indented-yaml", "model_id: m\nfeatures:\n\tx: numeric\n", "line", "not valid YAML"),
    ("not-a-mapping", "- model_id: m\n", None, "a spec must be a mapping"),
    ("empty-file", "", None, "a spec must be a mapping of fields, got NoneType"),
    ("model-id-uppercase", {"model_id": "IceCream"}, "model_id", "'IceCream' does not match"),
    ("model-id-space", {"model_id": "ice cream"}, "model_id", "does not match"),
    ("model-id-leading-dash", {"model_id": "-icecream"}, "model_id", "does not match"),
    ("model-id-too-long", {"model_id": "m" * 65}, "model_id", "does not match"),
    ("model-id-quote", {"model_id": 'ice"cream'}, "model_id", "does not match"),
    ("model-id-number", {"model_id": 42}, "model_id", "42 does not match"),
    ("model-id-missing", {"model_id": None}, "model_id", "None does not match"),
    ("unknown-task", {"task": "clustering"}, "task", "'clustering' is not one of binary_classification"),
    ("unknown-kind", {"features": {"flavor": "ordinal"}}, "features.flavor", "kind 'ordinal' is not one of numeric"),
    ("no-features", {"features": {}}, "features", "must be a non-empty mapping"),
    ("feature-name-too-long", {"features": {"x" * 129: "numeric"}}, "features", "at most 128 characters"),
    ("feature-is-a-column", {"features": {"ts": "numeric"}}, "features.ts", "also named as a non-feature column"),
    ("unknown-field", {"colour": "red"}, "colour", "unknown field"),
    ("unknown-role", {"columns": {"timestamp": "ts", "weight": "w"}}, "columns.weight", "unknown role"),
    ("one-column-two-roles", {"columns": {"timestamp": "ts", "id": "ts"}}, "columns", "named for two roles"),
    ("score-on-regression", {"task": "regression"}, "columns.score", "only for binary_classification"),
    (
        "positive-class-on-multiclass",
        {"task": "multiclass_classification", "columns": {"timestamp": "ts"}, "positive_class": "a"},
        "positive_class",
        "only for binary_classification",
    ),
    ("owner-missing", {"owner": None}, "owner", "missing"),
    ("team-empty", {"team": "  "}, "team", "empty"),
    ("tags-not-a-list", {"tags": "a,b"}, "tags", "must be a list of text"),
    ("policy-unknown-check", {"policy": {"drift": {"red": 0.3}}}, "policy.drift", "unknown check or setting"),
    (
        "policy-threshold-text",
        {"policy": {"feature_drift": {"red": "high"}}},
        "policy.feature_drift.red",
        "must be a non-negative number",
    ),
    (
        "policy-threshold-negative",
        {"policy": {"missing": {"yellow": -0.1}}},
        "policy.missing.yellow",
        "must be a non-negative number",
    ),
    (
        "policy-unknown-level",
        {"policy": {"missing": {"orange": 0.1}}},
        "policy.missing",
        "must be a mapping with yellow and/or red",
    ),
    ("policy-schema-fixed", {"policy": {"schema": {"red": 2}}}, "policy.schema", "unknown check or setting"),
    ("policy-min-rows-negative", {"policy": {"min_rows": -5}}, "policy.min_rows", "must be a non-negative number"),
    (
        "policy-feature-unknown",
        {"policy": {"features": {"colour": {"missing": {"red": 0.5}}}}},
        "policy.features.colour",
        "not a feature of this model",
    ),
    (
        "policy-feature-model-check",
        {"policy": {"features": {"flavor": {"freshness": {"red": 5}}}}},
        "policy.features.flavor.freshness",
        "not a per-feature check",
    ),
    ("actions-unknown", {"actions": {"page": "ops"}}, "actions.page", "unknown"),
    ("actions-notify-text", {"actions": {"notify": "mailto://a@b"}}, "actions.notify", "must be a list"),
]


def _bad_spec_file(tmp_path: Path, content) -> Path:
    if isinstance(content, str):
        return write_spec(tmp_path, content, "bad.yaml")
    data = spec_dict("fresh-model")
    data.update(content)
    data = {k: v for k, v in data.items() if v is not None}
    if "model_id" in content and content["model_id"] is None:
        data.pop("model_id", None)
    return write_spec(tmp_path, data, "bad.yaml")


def _expected_start(path: Path, field: str | None) -> str:
    if field == "line":
        return f"{path}: line "
    return f"{path}: field {field}: " if field else f"{path}: "


@pytest.mark.parametrize("case", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_rejected_by_the_api(case, db: Path, tmp_path: Path):
    _, content, field, fragment = case
    path = _bad_spec_file(tmp_path, content)
    before = table_counts(db)
    with pytest.raises(InputError) as exc:
        register_spec(Store(db), load_spec_file(path), source=str(path))
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(_expected_start(path, field)), message
    assert fragment in message, message
    assert table_counts(db) == before


@pytest.mark.parametrize("case", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_rejected_by_register(case, db: Path, tmp_path: Path, capsys):
    _, content, field, fragment = case
    path = _bad_spec_file(tmp_path, content)
    before = table_counts(db)
    assert main(["register", "--db", str(db), str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(_expected_start(path, field)) and fragment in err, err
    assert table_counts(db) == before


def test_register_missing_or_non_utf8_spec_file(db: Path, tmp_path: Path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["register", "--db", str(db), str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: file not found\n"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("model_id: m\nname: Crème glacée\n".encode("latin-1"))
    assert main(["register", "--db", str(db), str(latin)]) == 2
    assert capsys.readouterr().err == f"{latin}: not UTF-8 text\n"


# -- registering ---------------------------------------------------------------------------------------
def test_register_stores_the_model_and_its_feature_slots(db: Path, tmp_path: Path, capsys):
    path = write_spec(tmp_path, FULL)
    assert main(["register", "--db", str(db), str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: registered icecream-sales\n"
    assert query(db, "SELECT name, task, owner, team, tags FROM models WHERE model_id = 'icecream-sales'") == [
        ("Ice cream price forecast", "binary_classification", "dana@example.com", "retail", ["pricing", "eu"])
    ]
    assert query(
        db, "SELECT feature, slot, kind, position FROM features WHERE model_id = 'icecream-sales' ORDER BY slot"
    ) == [("flavor", 0, "categorical", 0), ("temperature", 1, "numeric", 1), ("température ressentie", 2, "numeric", 2)]
    with Store(db).read() as con:
        assert load_model_spec(con, "icecream-sales") == parse_spec(FULL)


def test_reregister_adds_and_retires_features_but_keeps_kinds_and_task(db: Path, tmp_path: Path):
    store = Store(db)
    changed = spec_dict(
        BINARY,
        features={"temperature": "numeric", "flavor": "categorical", "wind": "numeric"},
        owner="eli@example.com",
        tags=["new"],
    )
    register_spec(store, changed)
    assert query(db, "SELECT owner, tags FROM models WHERE model_id = ?", [BINARY]) == [("eli@example.com", ["new"])]
    assert query(
        db, "SELECT feature, slot, kind, position FROM features WHERE model_id = ? ORDER BY slot", [BINARY]
    ) == [
        ("flavor", 0, "categorical", 1),
        ("temperature", 1, "numeric", 0),
        ("region", 2, "categorical", None),
        ("wind", 3, "numeric", 2),
    ]
    cols = [
        r[0]
        for r in query(
            db,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'inf__icecream' ORDER BY ordinal_position",
        )
    ]
    assert cols[-4:] == ["f0", "f1", "f2", "f3"]  # region's rows are kept, wind is new
    before = table_counts(db)
    with pytest.raises(InputError, match="field features.flavor: was categorical, cannot become numeric"):
        register_spec(store, spec_dict(BINARY, features={"flavor": "numeric"}))
    with pytest.raises(InputError, match="field task: icecream is a binary_classification model"):
        register_spec(store, spec_dict(BINARY, task="regression"))
    assert table_counts(db) == before


# -- positive_class at ingest ---------------------------------------------------------------------------
def _reference(tmp_path: Path, labels: tuple[str, str], n: int = 60) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    score = rng.uniform(0, 1, n).round(2)
    truth = np.where(rng.uniform(0, 1, n) < score, labels[1], labels[0])
    pred = np.where(score >= 0.5, labels[1], labels[0])
    header, rows = rows_for(
        "reference", n=n, set={i + 1: {"label": truth[i], "prediction": pred[i], "score": score[i]} for i in range(n)}
    )
    return write_csv_rows(tmp_path / f"ref-{labels[1]}.csv", header, rows), truth, pred, score


@pytest.mark.parametrize(
    "labels, positive_class, resolved",
    [
        (("0", "1"), None, "1"),
        (("false", "true"), None, "true"),
        (("False", "True"), None, "True"),
        (("ok", "fraud"), "fraud", "fraud"),
        (("1", "0"), "0", "0"),  # the spec may name either class
    ],
)
def test_positive_class_resolved_and_used_for_the_reference_performance(
    labels, positive_class, resolved, tmp_path: Path
):
    store = Store(tmp_path / "store.duckdb")
    extra = {"positive_class": positive_class} if positive_class is not None else {}
    register_spec(store, spec_dict("fraud", **extra))
    path, truth, pred, score = _reference(tmp_path, labels)
    assert ingest_file(store, "reference", "fraud", path).status == "ingested"
    ((stored, perf),) = query(
        tmp_path / "store.duckdb", "SELECT positive_class, performance_json FROM snapshots WHERE model_id = 'fraud'"
    )
    assert stored == resolved
    perf = json.loads(perf)
    positive = truth == resolved
    assert perf["roc_auc"] == pytest.approx(roc_auc_score(positive, score if resolved == labels[1] else -score))
    assert perf["f1"] == pytest.approx(f1_score(truth, pred, pos_label=resolved))
    assert perf["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert perf["n"] == len(truth)


def test_binary_labels_without_a_default_need_positive_class(tmp_path: Path):
    store = Store(tmp_path / "store.duckdb")
    register_spec(store, spec_dict("fraud"))
    path, *_ = _reference(tmp_path, ("ok", "fraud"))
    before = table_counts(tmp_path / "store.duckdb")
    outcome = ingest_file(store, "reference", "fraud", path)
    assert outcome.status == "rejected"
    assert outcome.message == (
        f"{path}: column label: labels ['fraud', 'ok'] include neither 1 nor true; "
        "name the positive class in the spec (positive_class)"
    )
    assert table_counts(tmp_path / "store.duckdb") == before


def test_regression_and_multiclass_have_no_positive_class(db: Path, tmp_path: Path):
    assert query(db, "SELECT positive_class FROM snapshots WHERE model_id = ?", [REGRESSION]) == [(None,)]
    store = Store(db)
    register_spec(
        store, spec_dict("species", task="multiclass_classification", columns={"timestamp": "ts", "label": "label"})
    )
    header, rows = rows_for(
        "reference",
        n=9,
        drop=("score",),
        set={i: {"label": "abc"[i % 3], "prediction": "abc"[(i + i // 4) % 3]} for i in range(1, 10)},
    )
    path = write_csv_rows(tmp_path / "species.csv", header, rows)
    assert ingest_file(store, "reference", "species", path).status == "ingested"
    ((pc, perf),) = query(db, "SELECT positive_class, performance_json FROM snapshots WHERE model_id = 'species'")
    assert pc is None
    truth = ["abc"[i % 3] for i in range(1, 10)]
    pred = ["abc"[(i + i // 4) % 3] for i in range(1, 10)]
    assert json.loads(perf)["accuracy"] == pytest.approx(accuracy_score(truth, pred))


@pytest.mark.parametrize(
    "labels, positive_class",
    [
        (("False", "True"), True),  # YAML true is the text "true": labels compare as text
        (("0", "1"), "yes"),
    ],
)
def test_positive_class_missing_from_the_reference_labels_is_rejected(labels, positive_class, tmp_path: Path):
    """A positive_class that names no label would silently make every row a negative
    (ROC AUC and F1 of nothing); the reference is rejected with the labels it holds."""
    db = tmp_path / "store.duckdb"
    store = Store(db)
    register_spec(store, spec_dict("fraud", positive_class=positive_class))
    path, *_ = _reference(tmp_path, labels)
    before = table_counts(db)
    outcome = ingest_file(store, "reference", "fraud", path)
    assert outcome.status == "rejected"
    expected = "true" if positive_class is True else positive_class
    assert outcome.message == (
        f"{path}: column label: positive_class {expected!r} is not one of the labels "
        f"{sorted(labels)!r} (labels compare as text)"
    )
    assert table_counts(db) == before
    header_only = write_csv_rows(tmp_path / "empty-ref.csv", rows_for("reference", n=1)[0], [])
    assert ingest_file(store, "reference", "fraud", header_only).status == "ingested"
