"""The README's "Your first model" walk-through, run as written, and the worked example behind it.

The commands are read from the README itself (its bash blocks), run as real processes against
a store in a temporary folder, and every output the README shows is compared with what the
command printed. So the walk-through cannot rot: change a message or a number and this fails.
`python -m lib models` is tested here too (the walk-through's last command).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "data" / "examples"
README_DIR = "/tmp/first-model"  # the README's scratch folder, replaced by a temporary one


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end > 0 else None]


def walkthrough() -> list[tuple[str, str]]:
    """The (language, body) code blocks of the README's "Your first model" section, in order."""
    section = _section((ROOT / "README.md").read_text(encoding="utf-8"), "## Your first model")
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def _lib(args: list[str], db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLIGHT_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "lib", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> dict:
    """Run every `python -m lib` line of the walk-through; keep each block's last output."""
    tmp = tmp_path_factory.mktemp("first-model")
    db, runs, shown, app_lines = None, [], [], []
    last = None
    for lang, body in walkthrough():
        if lang != "bash":
            shown.append((lang, body, last))
            continue
        for line in body.splitlines():
            line = line.split("  #")[0].strip().replace(README_DIR, str(tmp))
            if line.startswith("export DRIFTLIGHT_DB="):
                db = Path(line.split("=", 1)[1])
            elif line.startswith("python -m lib "):
                assert db is not None, "the walk-through sets DRIFTLIGHT_DB before its first command"
                last = _lib(shlex.split(line)[3:], db)
                runs.append((line, last))
            elif line:
                app_lines.append(line)
    return {"db": db, "tmp": tmp, "runs": runs, "shown": shown, "app": app_lines}


def test_every_command_of_the_walkthrough_succeeds(walked):
    commands = [line.split(" --", 1)[0].split()[3] for line, _ in walked["runs"]]
    assert commands == ["init", "register", "ingest", "ingest", "ingest", "evaluate", "evaluate", "models"]
    for line, done in walked["runs"]:
        assert (done.returncode, done.stderr) == (0, ""), line


def test_the_outputs_the_readme_shows_are_what_the_commands_print(walked):
    texts = [(body, done) for lang, body, done in walked["shown"] if lang == "text"]
    assert len(texts) == 2  # evaluate --format table, models
    for body, done in texts:
        assert done.stdout == body
    # the JSON block is the first reason of `evaluate --model loan-default`, as the README says
    (shown,) = [json.loads(body) for lang, body, _ in walked["shown"] if lang == "json"]
    (done,) = [d for line, d in walked["runs"] if line.endswith("evaluate --model loan-default")]
    assert json.loads(done.stdout)["models"][0]["reasons"][0] == shown


def test_the_app_line_opens_the_walkthroughs_store(walked):
    assert walked["app"] == [f"DRIFTLIGHT_DB={walked['db']} .venv/bin/streamlit run serve.py"]


def test_the_drafted_spec_registers_and_matches_the_reviewed_one(walked):
    draft = yaml.safe_load((walked["tmp"] / "spec.yaml").read_text())
    reviewed = yaml.safe_load((EXAMPLES / "spec.yaml").read_text())
    assert {k: draft[k] for k in ("model_id", "task", "columns", "features")} == {
        k: reviewed[k] for k in ("model_id", "task", "columns", "features")
    }
    other = walked["tmp"] / "draft-store.duckdb"
    done = _lib(["register", str(walked["tmp"] / "spec.yaml")], other)
    assert (done.returncode, done.stderr) == (0, "")


def test_evaluate_names_the_injected_problem(walked):
    done = _lib(["evaluate", "--model", "loan-default"], walked["db"])
    (model,) = json.loads(done.stdout)["models"]
    assert json.loads(done.stdout)["as_of"] == "2026-03-03T00:00:00+00:00"
    assert model["model_id"] == "loan-default" and model["status"] == "red"
    reasons = [(r["check"], r["feature"], r["status"], r["onset"]) for r in model["reasons"]]
    assert reasons == [
        ("unseen_categories", "channel", "red", "sudden"),  # the cause: a value never seen in training
        ("feature_drift", "channel", "red", "sudden"),  # its symptom: the distribution moved
    ]
    unseen = model["reasons"][0]
    # 69 of day 2's 480 rows came through the new channel
    assert unseen["value"] == 69 / 480 and unseen["threshold"] == 0.05
    assert unseen["unseen_values"] == [{"value": "partner", "count": 69, "first_seen": "2026-03-02T01:00:00+00:00"}]
    channel = next(f for f in model["features"] if f["feature"] == "channel")
    assert channel["unseen_share"] == 69 / 480 and channel["status"] == "red"
    assert [f["status"] for f in model["features"]] == ["green", "green", "green", "green", "red"]
    # the rest is healthy: prediction drift and performance (day 1's late labels) are green
    checks = {c["check"]: c["status"] for c in model["checks"]}
    assert checks["prediction_drift"] == checks["performance"] == checks["volume"] == "green"
    perf = model["performance"]
    assert (perf["metric"], perf["n_labeled"]) == ("roc_auc", 480) and perf["loss"] < 0.05
    # the numbers the README's prose quotes
    assert (round(perf["current"], 3), round(perf["reference"], 3)) == (0.723, 0.713)
    assert round(model["reasons"][1]["value"], 2) == 0.48
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "(PSI 0.48:" in readme and "ROC AUC 0.723 on day 1's labels against 0.713" in readme
    # the reviewed spec's feature-level threshold is the one in force for income's missing check
    missing = next(c for c in model["checks"] if c["check"] == "missing")
    assert (missing["feature"], missing["yellow"], missing["threshold_source"]) == ("income", 0.08, "feature")


def test_the_day_before_the_problem_is_green(walked):
    done = _lib(["evaluate", "--as-of", "2026-03-02", "--format", "csv"], walked["db"])
    assert done.stdout == "model_id,status,check,feature,value,threshold,message\nloan-default,green,,,,,\n"


def test_models_as_json(walked):
    done = _lib(["models", "--format", "json"], walked["db"])
    assert json.loads(done.stdout) == {
        "models": [
            {
                "model_id": "loan-default",
                "task": "binary_classification",
                "owner": "dana@example.com",
                "team": "credit",
                "inference_rows": 960,
                "last_inference": "2026-03-02T23:56:40+00:00",
                "reference_snapshots": 1,
            }
        ]
    }


def test_models_of_an_empty_or_missing_store(tmp_path: Path):
    missing = tmp_path / "none.duckdb"
    assert _lib(["models", "--format", "json"], missing).stdout == '{"models": []}\n'
    done = _lib(["models"], missing)
    assert (done.returncode, done.stdout) == (
        0,
        "no models registered yet (python -m lib register SPEC.yaml; draft one with python -m lib init)\n",
    )
    assert not missing.exists()  # listing creates no store
    db = tmp_path / "store.duckdb"
    assert _lib(["register", str(EXAMPLES / "spec.yaml")], db).returncode == 0
    (model,) = json.loads(_lib(["models", "--format", "json"], db).stdout)["models"]
    assert (model["inference_rows"], model["last_inference"], model["reference_snapshots"]) == (0, None, 0)


def test_the_docs_json_example_is_the_real_output(walked):
    """docs/json.md shows `evaluate --model loan-default` on the worked example, unabridged."""
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    marker = "<!-- output of: python -m lib evaluate --model loan-default (README walk-through) -->"
    block = re.search(r"```json\n(.*?)```", text[text.index(marker) :], re.S).group(1)
    actual = json.loads(_lib(["evaluate", "--model", "loan-default"], walked["db"]).stdout)
    _assert_same(json.loads(block), actual, "$")


def _assert_same(doc, real, where: str) -> None:
    """Equal, floats to 12 significant digits (the docs are not a bit-for-bit oracle)."""
    if isinstance(doc, float) or isinstance(real, float):
        assert isinstance(real, (int, float)) and math.isclose(doc, real, rel_tol=1e-12, abs_tol=1e-15), where
    elif isinstance(doc, dict):
        assert isinstance(real, dict) and list(doc) == list(real), f"{where}: keys {list(doc)} vs {list(real)}"
        for key in doc:
            _assert_same(doc[key], real[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert isinstance(real, list) and len(doc) == len(real), where
        for i, (d, r) in enumerate(zip(doc, real)):
            _assert_same(d, r, f"{where}[{i}]")
    else:
        assert doc == real, f"{where}: {doc!r} vs {real!r}"


def test_the_example_files_are_what_the_script_makes(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "make_example.py"), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == [
        "inference-2026-03-01.csv",
        "inference-2026-03-02.parquet",
        "labels-2026-03-01.csv",
        "reference.csv",
    ]
    for name in made:
        if name.endswith(".csv"):
            assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
        else:  # the values and types; Parquet metadata names the writer's version
            pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / name), pd.read_parquet(EXAMPLES / name))


def test_the_example_files_are_not_git_ignored():
    done = subprocess.run(
        ["git", "check-ignore", *(str(p.relative_to(ROOT)) for p in EXAMPLES.iterdir())],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (1, "")  # 1: none is ignored


def test_the_policy_pages_example_file_turns_the_example_yellow(walked, tmp_path: Path):
    """docs/policy.md says what its example policy file does to the worked example: check it."""
    text = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(re.search(r"```yaml\n(# driftlight-policy.yaml.*?)```", text, re.S).group(1), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLIGHT_DB": str(walked["db"]), "DRIFTLIGHT_POLICY": str(policy)}
    done = subprocess.run(
        [sys.executable, "-m", "lib", "evaluate", "--model", "loan-default"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (model,) = json.loads(done.stdout)["models"]
    assert model["status"] == "yellow"
    reasons = [(r["check"], r["feature"], r["status"], r["threshold"], r["threshold_source"]) for r in model["reasons"]]
    assert reasons == [
        ("unseen_categories", "channel", "yellow", 0.01, "team"),
        ("feature_drift", "channel", "yellow", 0.12, "default"),
    ]
    drift = next(c for c in model["checks"] if c["check"] == "feature_drift")
    assert (drift["yellow"], drift["red"], drift["threshold_source"]) == (0.12, 0.6, "team")
    prose = " ".join(text.split())
    assert '"threshold": 0.12, "threshold_source": "default"' in prose
    assert '"yellow": 0.12, "red": 0.6, "threshold_source": "team"' in prose


def test_models_of_a_file_that_is_not_a_store_is_one_line_exit_1(tmp_path: Path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("not a database\n")
    done = _lib(["models"], bogus)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(f"{bogus}: cannot list the models (") and done.stderr.count("\n") == 1, done.stderr
