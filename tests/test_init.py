"""`python -m lib init`: a spec drafted from a reference file — roles, kinds, task — that registers as is.

Most cases run `lib.__main__.main` in this process (the same code as the command, cheap); one
runs the real command line end to end, draft -> register -> ingest the same reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from fixtures import run_cli

from lib.__main__ import main

N = 200


def _reference_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(N)],
            "age": rng.integers(18, 80, N),  # 62 possible values: numeric
            "n_items": rng.integers(1, 4, N),  # 3 distinct numbers: categorical
            "country": rng.choice(["NA", "DE", "FR"], N),  # text ("NA" is Namibia): categorical
            "label": rng.integers(0, 2, N),
            "prediction": rng.integers(0, 2, N),
            "score": rng.random(N).round(4),
        }
    )


def _init(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["init", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def _lines(text: str) -> dict[str, str]:
    """'key: value' (stripped) -> the comment after it, for the draft's commented lines."""
    out = {}
    for line in text.splitlines():
        code, _, comment = line.partition("  # ")
        if code.strip() and not code.lstrip().startswith("#"):
            out[code.strip()] = comment.strip()
    return out


def test_init_on_a_csv_guesses_roles_kinds_and_task(tmp_path: Path, capsys):
    path = tmp_path / "holdout.csv"
    _reference_frame().to_csv(path, index=False)
    rc, out, err = _init(capsys, "--model", "churn", "--reference", str(path))
    assert (rc, err) == (0, "")
    spec = yaml.safe_load(out)
    assert spec["model_id"] == "churn" and spec["task"] == "binary_classification"
    assert spec["columns"] == {
        "timestamp": "timestamp",  # not in a reference: the default, flagged for review
        "id": "request_id",
        "prediction": "prediction",
        "score": "score",
        "label": "label",
    }
    assert spec["features"] == {"age": "numeric", "n_items": "categorical", "country": "categorical"}
    assert list(spec["features"]) == ["age", "n_items", "country"]  # the file's order
    assert "positive_class" not in spec  # labels 0 / 1: the default "1" applies
    assert (spec["owner"], spec["team"]) == ("owner@example.com", "unassigned")
    notes = _lines(out)
    for role in ("id: request_id", "prediction: prediction", "score: score", "label: label"):
        assert notes[role] == "guessed from the name: review"
    assert notes["timestamp: timestamp"].startswith("not in the reference") and notes["timestamp: timestamp"].endswith(
        "review"
    )
    assert notes["n_items: categorical"] == "3 distinct numbers (10 or fewer): review"
    assert notes["task: binary_classification"] == "guessed from the label: 2 distinct values (0, 1): review"
    # the kind rule is stated in the output
    assert "numeric when it has more than 10 distinct" in out


def test_init_on_a_parquet_file_reads_its_types(tmp_path: Path, capsys):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "logged": pd.date_range("2026-01-01", periods=N, freq="h", tz="UTC"),  # no telling name: typed
            "amount": rng.normal(50, 10, N),
            "premium": rng.random(N) < 0.3,  # booleans: categorical
            "grade": rng.integers(1, 6, N).astype("float64"),  # 5 distinct floats: categorical
            "target": rng.integers(0, 2, N).astype("float64"),  # float labels: 0.0 / 1.0 as text
            "y_pred": rng.integers(0, 2, N).astype("float64"),
            "proba": rng.random(N),
        }
    )
    path = tmp_path / "holdout.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    rc, out, err = _init(capsys, "--model", "upsell", "--reference", str(path))
    assert (rc, err) == (0, "")
    spec = yaml.safe_load(out)
    assert spec["columns"] == {"timestamp": "logged", "prediction": "y_pred", "score": "proba", "label": "target"}
    assert spec["features"] == {"amount": "numeric", "premium": "categorical", "grade": "categorical"}
    assert spec["task"] == "binary_classification"
    # Labels compare as text: a float column's labels are "0.0" and "1.0", and "1.0" is named.
    assert spec["positive_class"] == "1.0"
    notes = _lines(out)
    assert notes["timestamp: logged"] == "guessed from its values: review"
    assert notes["premium: categorical"] == "true / false"
    assert "# id: request_id" in out  # no id column: shown commented out


@pytest.mark.parametrize(
    ("labels", "task", "positive"),
    [
        (["cat", "dog", "bird"], "multiclass_classification", None),
        ([1, 2, 3, 4, 5], "multiclass_classification", None),  # few whole numbers: classes
        ([round(0.37 * i, 2) for i in range(8)], "regression", None),  # fractions
        (list(range(30)), "regression", None),  # more than 20 whole numbers
        (["no", "yes"], "binary_classification", "yes"),
        (["ok", "fraud", "ok", "ok"], "binary_classification", "fraud"),  # no 1 / true / yes: the rarer
        (["False", "True"], "binary_classification", None),  # "True" is a default positive class
    ],
)
def test_the_task_and_positive_class_come_from_the_labels(labels, task, positive, tmp_path: Path, capsys):
    values = [labels[i % len(labels)] for i in range(N)]
    frame = pd.DataFrame({"x": np.arange(N) * 0.5, "label": values, "prediction": values})
    path = tmp_path / "ref.csv"
    frame.to_csv(path, index=False)
    rc, out, _ = _init(capsys, "--model", "m", "--reference", str(path))
    spec = yaml.safe_load(out)
    assert rc == 0 and spec["task"] == task
    assert spec.get("positive_class") == positive


def test_roles_named_on_the_command_line_win(tmp_path: Path, capsys):
    frame = _reference_frame().rename(columns={"label": "churned", "prediction": "decision"})
    path = tmp_path / "ref.csv"
    frame.to_csv(path, index=False)
    rc, out, err = _init(capsys, "--model", "m", "--reference", str(path), "--label", "churned")
    assert rc == 2 and out == ""  # the prediction column is still unknown
    assert (
        err
        == f"{path}: no prediction column (looked for prediction, pred, y_pred, predicted, predicted_label, …); name it with --prediction COLUMN\n"
    )
    rc, out, _ = _init(
        capsys, "--model", "m", "--reference", str(path), "--label", "churned", "--prediction", "decision"
    )
    spec = yaml.safe_load(out)
    assert rc == 0 and (spec["columns"]["label"], spec["columns"]["prediction"]) == ("churned", "decision")
    assert _lines(out)["label: churned"] == "chosen on the command line"


def test_the_draft_registers_and_its_reference_ingests(tmp_path: Path):
    frame = _reference_frame().rename(columns={"age": "yes", "country": "a: b #c", "n_items": "ünï cödé"})
    ref = tmp_path / "holdout.csv"
    frame.to_csv(ref, index=False)
    draft, db = tmp_path / "draft.yaml", tmp_path / "store.duckdb"
    done = run_cli("init", "--model", "churn", "--reference", str(ref), "--out", str(draft))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"{draft}: drafted churn (binary_classification; 1 numeric and 2 categorical")
    # YAML-sensitive names are quoted so that they read back as themselves
    assert yaml.safe_load(draft.read_text())["features"] == {
        "yes": "numeric",
        "ünï cödé": "categorical",
        "a: b #c": "categorical",
    }
    done = run_cli("register", str(draft), db=db)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{draft}: registered churn\n", "")
    done = run_cli("ingest", "reference", "--model", "churn", str(ref), db=db)
    assert (done.returncode, done.stdout) == (0, f"{ref}: ingested ({N} rows)\n"), done.stderr


def _header_only(tmp_path: Path) -> Path:
    (tmp_path / "empty.csv").write_text("x,label,prediction\n")
    return tmp_path / "empty.csv"


def _corrupt_parquet(tmp_path: Path) -> Path:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    return tmp_path / "bad.parquet"


def _no_label(tmp_path: Path) -> Path:
    _reference_frame().drop(columns="label").to_csv(tmp_path / "nolabel.csv", index=False)
    return tmp_path / "nolabel.csv"


def _only_roles(tmp_path: Path) -> Path:
    (tmp_path / "roles.csv").write_text("label,prediction\n1,1\n0,1\n")
    return tmp_path / "roles.csv"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.csv", "file not found"),
        (lambda d: (d / "x.json").write_text("{}") and d / "x.json", "unsupported file type .json"),
        (_corrupt_parquet, "not a readable Parquet file"),
        (_header_only, "column label: no label values"),
        (_no_label, "no label column"),
        (_only_roles, "no feature columns"),
    ],
    ids=["missing", "json", "corrupt-parquet", "header-only", "no-label", "no-features"],
)
def test_a_bad_file_exits_2_with_one_line_and_writes_nothing(make, reason, tmp_path: Path, capsys):
    path = make(tmp_path)
    out_file = tmp_path / "draft.yaml"
    rc, out, err = _init(capsys, "--model", "m", "--reference", str(path), "--out", str(out_file))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"{path}: ") and reason in err, err
    assert not out_file.exists()


def test_a_bad_model_id_or_an_existing_out_file_exits_2(tmp_path: Path, capsys):
    ref = tmp_path / "ref.csv"
    _reference_frame().to_csv(ref, index=False)
    rc, _, err = _init(capsys, "--model", "Churn Model", "--reference", str(ref))
    assert rc == 2 and err == "--model: 'Churn Model' does not match ^[a-z0-9][a-z0-9._-]{0,63}$\n"
    out_file = tmp_path / "spec.yaml"
    out_file.write_text("mine\n")
    rc, _, err = _init(capsys, "--model", "m", "--reference", str(ref), "--out", str(out_file))
    assert rc == 2 and err == f"{out_file}: already exists (use --force to overwrite)\n"
    assert out_file.read_text() == "mine\n"
    rc, _, _ = _init(capsys, "--model", "m", "--reference", str(ref), "--out", str(out_file), "--force")
    assert rc == 0 and yaml.safe_load(out_file.read_text())["model_id"] == "m"


def test_the_worked_examples_draft_matches_its_reviewed_spec(capsys):
    """data/examples/spec.yaml is init's draft of the example, reviewed: same columns, features, task."""
    root = Path(__file__).resolve().parent.parent / "data" / "examples"
    rc, out, _ = _init(capsys, "--model", "loan-default", "--reference", str(root / "reference.csv"))
    draft, reviewed = yaml.safe_load(out), yaml.safe_load((root / "spec.yaml").read_text())
    assert rc == 0
    for key in ("model_id", "task", "columns", "features"):
        assert draft[key] == reviewed[key], key


def test_out_may_name_a_new_folder_but_not_one_inside_a_file(tmp_path: Path, capsys):
    ref = tmp_path / "ref.csv"
    _reference_frame().to_csv(ref, index=False)
    nested = tmp_path / "specs" / "churn" / "spec.yaml"
    rc, _, _ = _init(capsys, "--model", "m", "--reference", str(ref), "--out", str(nested))
    assert rc == 0 and yaml.safe_load(nested.read_text())["model_id"] == "m"
    blocked = ref / "spec.yaml"  # ref.csv is a file
    rc, out, err = _init(capsys, "--model", "m", "--reference", str(ref), "--out", str(blocked))
    assert (rc, out) == (2, "") and err == f"{blocked}: cannot write (a part of its folder is a file, not a folder)\n"
