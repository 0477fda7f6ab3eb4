"""The house rules as tests: import contracts (import-linter), file sizes, and the top of lib/.

`make lint` runs the same contracts; these tests also prove that a broken rule fails.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_LINES = 400


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def _copy_tree(dest: Path) -> Path:
    for name in ("lib", "app_pages"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("path", "line", "contract"),
    [
        ("app_pages/fleet.py", "import duckdb", "Only lib.store speaks SQL"),
        ("lib/judge/status.py", "import streamlit", "Only lib.ui speaks Streamlit"),
        ("lib/store/read.py", "from lib.judge import policy", "Data flows one way"),
        ("lib/judge/cube.py", "from lib.store import write", "Judging reads the store"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, path: str, line: str, contract: str):
    tree = _copy_tree(tmp_path)
    with open(tree / path, "a") as f:
        f.write(f"\n{line}\n")
    result = _lint_imports(tree)
    assert result.returncode == 1
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(row.startswith(contract) for row in broken), result.stdout


def test_the_entry_point_imports_no_duckdb():
    # app.py is a script, not a package, so import-linter cannot see it.
    tree = ast.parse((ROOT / "app.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(name == "duckdb" or name.startswith("duckdb.") for name in names)


def test_no_source_file_is_over_the_limit():
    files = sorted([*(ROOT / "lib").rglob("*.py"), *(ROOT / "app_pages").glob("*.py"), ROOT / "app.py"])
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_lib_holds_packages_and_two_shared_modules():
    modules = sorted(p.name for p in (ROOT / "lib").glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "errors.py", "spec.py"]


def test_every_package_says_what_it_owns_and_may_import():
    for init in sorted((ROOT / "lib").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "May import" in doc, init
