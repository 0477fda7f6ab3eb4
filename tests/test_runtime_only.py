"""Every command runs with the runtime requirements only (issue 14: "no traceback, ever").

Each `python -m lib` command runs in a subprocess whose PYTHONPATH starts with a folder holding a
`sitecustomize.py` that puts a finder first on `sys.meta_path`: importing any module of a package
that only requirements-dev.txt brings (pytest, hypothesis, aiosmtpd, ruff, import-linter, …)
raises ImportError there, as on a machine where only requirements.txt is installed. PDF included
(Playwright is a runtime requirement; Chromium comes from the Makefile's `chromium` target).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "data" / "examples"

pytestmark = pytest.mark.xdist_group("runtime_only")

HOOK = """
import importlib.abc, sys
BLOCKED = set({blocked!r})
class _DevOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is only in requirements-dev.txt")
        return None
sys.meta_path.insert(0, _DevOnly())
"""


def _names(path: Path) -> set[str]:
    out = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            out.add(re.split(r"[=<>!~\[ ]", line)[0].lower().replace("_", "-"))
    return out


def dev_only_modules() -> set[str]:
    """Top-level modules of the packages in requirements-dev.txt but not in requirements.txt."""
    dev_only = _names(ROOT / "requirements-dev.txt") - _names(ROOT / "requirements.txt")
    mods = set()
    for module, dists in importlib.metadata.packages_distributions().items():
        if any(d.lower().replace("_", "-") in dev_only for d in dists):
            mods.add(module)
    return mods


def test_dev_only_packages_are_the_test_tools():
    dev_only = _names(ROOT / "requirements-dev.txt") - _names(ROOT / "requirements.txt")
    tools = {"pytest", "pytest-xdist", "hypothesis", "aiosmtpd", "ruff", "import-linter", "atheris", "pypdf"}
    # a real OpenID provider for the login tests, and what it needs
    oidc = {"oidc-provider-mock", "flask", "werkzeug", "htpy", "pydantic", "pydantic-core", "annotated-types"}
    oidc |= {"typing-inspection", "blinker"}
    assert dev_only == tools | oidc
    assert {"pytest", "_pytest", "xdist", "hypothesis", "aiosmtpd", "ruff", "importlinter"} <= dev_only_modules()
    assert "playwright" in _names(ROOT / "requirements.txt")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    hook = tmp_path_factory.mktemp("hook")
    (hook / "sitecustomize.py").write_text(HOOK.format(blocked=sorted(dev_only_modules())))
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
        "DRIFTLIGHT_DB": str(tmp_path_factory.mktemp("store") / "store.duckdb"),
    }


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lib", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_hook_blocks_dev_packages(env):
    proc = subprocess.run(
        [sys.executable, "-c", "import pytest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "ImportError: pytest is only in requirements-dev.txt" in proc.stderr


def test_every_command_with_runtime_requirements_only(env, tmp_path):
    demo = str(tmp_path / "demo.duckdb")  # the demo in a store of its own; the example in env's
    steps = [
        ("demo", "--db", demo, "--models", "2", "--days", "8"),
        ("evaluate", "--db", demo, "--format", "json"),
        ("alert", "--db", demo, "--dry-run"),
        ("register", str(EXAMPLES / "spec.yaml")),
        ("ingest", "reference", "--model", "loan-default", str(EXAMPLES / "reference.csv")),
        (
            "ingest",
            "inference",
            "--model",
            "loan-default",
            str(EXAMPLES / "inference-2026-03-01.csv"),
            str(EXAMPLES / "inference-2026-03-02.parquet"),
        ),
        ("ingest", "labels", "--model", "loan-default", str(EXAMPLES / "labels-2026-03-01.csv")),
        ("evaluate", "--format", "json"),
        *[
            ("report", "--model", "loan-default", "--format", fmt, "--out", str(tmp_path / f"r.{fmt}"))
            for fmt in ("html", "json", "csv", "pdf")
        ],
        ("report", "--fleet", "--format", "html", "--out", str(tmp_path / "fleet.html")),
        ("alert", "--dry-run"),
        (
            "init",
            "--model",
            "drafted",
            "--reference",
            str(EXAMPLES / "reference.csv"),
            "--out",
            str(tmp_path / "s.yaml"),
        ),
        ("models", "--format", "json"),
    ]
    outputs = []
    for step in steps:
        proc = run(env, *step)
        assert proc.returncode == 0, (step, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr, step
        outputs.append(proc.stdout)
    assert len(json.loads(outputs[1])["models"]) == 2  # the two demo models
    assert "dry run (nothing sent, nothing stored)" in outputs[2]
    evaluated = json.loads(outputs[steps.index(("evaluate", "--format", "json"))])
    assert [m["model_id"] for m in evaluated["models"]] == ["loan-default"]
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "r.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert "model_id: drafted" in (tmp_path / "s.yaml").read_text(encoding="utf-8")
    listed = json.loads(outputs[-1])
    assert [m["model_id"] for m in listed["models"]] == ["loan-default"]


def test_missing_chromium_is_one_line_exit_1(env, tmp_path):
    proc = run(
        {**env, "DRIFTLIGHT_CHROMIUM": str(tmp_path / "no-chromium")},
        "report",
        "--model",
        "loan-default",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "r.pdf"),
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "apt-get install chromium" in proc.stderr
    assert str(tmp_path / "no-chromium") in proc.stderr
    assert not (tmp_path / "r.pdf").exists()
