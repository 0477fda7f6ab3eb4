"""docs/ and the README against the code: every setting, spec field and command is documented,
every example in them is valid, every link lands.

The documentation is the users' contract; these tests make a new setting, field or command
without its documentation fail, and keep the examples from rotting.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lib.__main__ import build_parser
from lib.judge.policy import CHECK_ORDER, CHECKS, SETTINGS, load_policy
from lib.spec import _TOP_LEVEL, COLUMN_ROLES, KINDS, MAX_FEATURE_NAME, MODEL_ID_PATTERN, TASKS, parse_spec

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [
    "README.md",
    "spec.md",
    "files.md",
    "metrics.md",
    "policy.md",
    "json.md",
    "schedule.md",
    "deploy.md",
    "limits.md",
]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _table(text: str, heading: str) -> dict[str, list[str]]:
    """The first markdown table after a heading: first cell (without backticks) -> other cells."""
    section = text[text.index(heading) :]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def _number(cell: str) -> float | None:
    found = re.findall(r"\d+(?:\.\d+)?", cell)
    return float(found[0]) if found else None


def test_the_docs_pages_exist():
    assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(PAGES)


# -- policy ------------------------------------------------------------------------------------
def test_every_policy_setting_is_in_the_policy_table_with_its_default():
    table = _table(_read(DOCS / "policy.md"), "## Default thresholds")
    names = [c.name for c in CHECKS] + list(SETTINGS)
    assert list(table) == names  # all of them, in the order of lib/judge/policy.py, nothing else
    for c in CHECKS:
        if c.name == "schema":  # structural: its levels are words, not numbers
            assert table["schema"][:2] == ["extra column", "missing feature"]
            continue
        assert (_number(table[c.name][0]), _number(table[c.name][1])) == (float(c.yellow), float(c.red)), c.name
        bad_when = {"above": "value ≥ threshold", "above_strict": "value > threshold", "below": "value < threshold"}
        assert table[c.name][2] == bad_when[c.direction], c.name
    for name, (value, _) in SETTINGS.items():
        assert _number(table[name][0]) == float(value), name


def test_the_policy_pages_names_the_environment_variable_and_precedence():
    text = _read(DOCS / "policy.md")
    for phrase in ("DRIFTLIGHT_POLICY", "teams:", "feature > model > team > default", "threshold_source"):
        assert phrase in text, phrase


def test_the_policy_file_example_loads_and_says_what_the_page_says(tmp_path: Path):
    text = _read(DOCS / "policy.md")
    block = re.search(r"```yaml\n(# driftlight-policy.yaml.*?)```", text, re.S).group(1)
    path = tmp_path / "policy.yaml"
    path.write_text(block, encoding="utf-8")
    policy = load_policy(path)
    assert policy.defaults["feature_drift"] == {"yellow": 0.12, "red": 0.25}
    assert (policy.defaults["min_rows"], policy.defaults["cooldown_hours"]) == (200, 48)
    assert policy.teams["credit"]["features"]["channel"] == {"feature_drift": {"red": 0.6}}


# -- the spec ----------------------------------------------------------------------------------
def test_every_spec_field_role_kind_and_task_is_in_the_spec_page():
    text = _read(DOCS / "spec.md")
    fields = _table(text, "## Fields")
    assert set(fields) == set(_TOP_LEVEL)  # every top-level field parsed by lib/spec.py, no other
    roles = _table(text, "### `columns`")
    assert set(roles) == set(COLUMN_ROLES)
    for word in (*KINDS, *TASKS, "notify", "retrain_url", "retrain_command", MODEL_ID_PATTERN.pattern):
        assert f"`{word}`" in text, word
    assert f"at most {MAX_FEATURE_NAME} characters" in text
    # the spec page's policy keys: every adjustable check and setting
    for name in [c.name for c in CHECKS if c.name != "schema"] + list(SETTINGS):
        assert f"`{name}`" in text, name


def _spec_blocks(text: str) -> list[str]:
    return [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.lstrip().startswith("model_id:")]


@pytest.mark.parametrize("page", ["README.md", "docs/spec.md", "data/examples/spec.yaml"])
def test_every_spec_example_is_a_valid_spec(page: str):
    text = _read(ROOT / page)
    blocks = [text] if page.endswith(".yaml") else _spec_blocks(text)
    assert blocks, page
    for block in blocks:
        spec = parse_spec(yaml.safe_load(block), source=page)
        assert spec.model_id and spec.features


# -- commands ----------------------------------------------------------------------------------
def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return list(sub.choices)


def test_every_command_is_in_the_readme_and_the_docs_index():
    commands = _commands()
    assert {"init", "models", "register", "ingest", "evaluate", "report", "alert", "demo"} <= set(commands)
    readme, index = _read(ROOT / "README.md"), _read(DOCS / "README.md")
    for command in commands:
        assert re.search(rf"^python -m lib {command} ", readme, re.M), f"README's command list lacks {command}"
        assert re.search(rf"^python -m lib {command} ", index, re.M), f"docs/README.md lacks {command}"


def test_register_help_says_where_the_spec_is_documented(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["register", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "docs/spec.md" in text and "python -m lib init" in text


def test_the_readme_points_to_docs_not_to_the_internal_design():
    readme = _read(ROOT / "README.md")
    assert "DESIGN.md" not in readme
    assert "[docs/](docs/README.md)" in readme
    for page in PAGES[1:]:
        assert f"(docs/{page})" in readme, page


def test_every_check_is_defined_in_metrics_and_json():
    for page in ("metrics.md", "json.md", "policy.md"):
        text = _read(DOCS / page)
        missing = [c for c in CHECK_ORDER if f"`{c}`" not in text]
        assert not missing, f"{page} lacks {missing}"
    # the reason order the JSON page states is the code's
    assert ", ".join(CHECK_ORDER) in " ".join(_read(DOCS / "json.md").split())


# -- links -------------------------------------------------------------------------------------
def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", _read(path), re.M)}


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{p}" for p in PAGES)])
def test_every_relative_link_lands(page: str):
    path = ROOT / page
    links = re.findall(r"\]\(([^)\s]+)\)", _read(path))
    for link in links:
        if re.match(r"^[a-z]+://", link):
            continue
        target, _, anchor = link.partition("#")
        dest = (path.parent / target).resolve() if target else path
        assert dest.exists(), f"{page}: {link}"
        if anchor:
            assert anchor in _anchors(dest), f"{page}: {link} (anchors: {sorted(_anchors(dest))})"
