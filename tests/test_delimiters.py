"""CSV delimiters (comma, semicolon, tab, pipe) are detected, and a decimal comma is named as such
(issue 14, "messages that lead to the fix"; docs/files.md, Formats)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fixtures import BINARY, db, query, rows_for, standard_template  # noqa: F401

from lib.__main__ import main
from lib.errors import InputError
from lib.ingest import readers


def _write(path: Path, header: list[str], rows: list[list[str]], sep: str) -> Path:
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_each_delimiter_is_detected_and_read(tmp_path: Path, sep: str):
    path = _write(tmp_path / "f.csv", ["a", "b", "c"], [["1.5", "x y", "2"], ["3", "z", ""]], sep)
    assert readers.detect_delimiter(path) == sep
    frame = readers.read_table(path)
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["a"].tolist() == ["1.5", "3"]
    assert frame["b"].tolist() == ["x y", "z"]
    assert frame["c"].tolist()[0] == "2" and pd.isna(frame["c"].tolist()[1])


def test_a_quoted_cell_holding_another_delimiter_keeps_the_comma(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text('a,b,c\n1,"x;y|z",2\n3,"w;v",4\n', encoding="utf-8")
    assert readers.detect_delimiter(path) == ","
    assert readers.read_table(path)["b"].tolist() == ["x;y|z", "w;v"]


def test_a_semicolon_file_with_decimal_commas_is_split_on_the_semicolon(tmp_path: Path):
    path = _write(tmp_path / "f.csv", ["a", "b"], [["3,14", "x"], ["2,5", "y"]], ";")
    assert readers.detect_delimiter(path) == ";"
    assert readers.read_table(path)["a"].tolist() == ["3,14", "2,5"]


def test_one_column_file_falls_back_to_comma(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text("a\n1\n2\n", encoding="utf-8")
    assert readers.detect_delimiter(path) == ","
    assert readers.read_table(path)["a"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("raw", "fixed"), [("3,14", "3.14"), ("-0,5", "-0.5"), ("1.234,5", "1234.5"), ("+12,0", "+12.0")]
)
def test_decimal_comma_is_named_with_the_fix(raw: str, fixed: str):
    with pytest.raises(InputError) as exc:
        readers.parse_numeric(pd.Series(["1.5", raw]), "f.csv", "temperature")
    assert str(exc.value) == f"f.csv: column temperature, row 2: {raw!r} looks like a decimal comma; write {fixed}"


def test_text_with_a_comma_that_is_not_a_number_stays_not_a_number():
    with pytest.raises(InputError) as exc:
        readers.parse_numeric(pd.Series(["1,2,3"]), "f.csv", "temperature")
    assert str(exc.value) == "f.csv: column temperature, row 1: '1,2,3' is not a number"


def test_semicolon_csv_ingests_like_its_comma_twin(db: Path, tmp_path: Path, capsys):  # noqa: F811
    header, rows = rows_for("inference", n=6)
    path = _write(tmp_path / "semi.csv", header, rows, ";")
    assert main(["ingest", "--db", str(db), "inference", "--model", BINARY, str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ingested (6 rows)\n"
    stored = query(
        db,
        f'SELECT f1 FROM "inf__{BINARY}" WHERE file_id = (SELECT max(file_id) FROM ingest_log) ORDER BY row_no',
    )
    assert [r[0] for r in stored] == [float(r[header.index("temperature")]) for r in rows]


def test_decimal_comma_in_a_semicolon_csv_is_exit_2_one_line(db: Path, tmp_path: Path, capsys):  # noqa: F811
    header, rows = rows_for("inference", n=6, set={4: {"temperature": "21,5"}})
    path = _write(tmp_path / "semi.csv", header, rows, ";")
    assert main(["ingest", "--db", str(db), "inference", "--model", BINARY, str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{path}: column temperature, row 4: '21,5' looks like a decimal comma; write 21.5\n"
