"""`python -m lib register` / `ingest`: exit codes, one line per file, and nothing changed on error.

Every bad file of the corpus goes through `lib.__main__.main` in this process (the same code as
the command, cheap); the multi-file, idempotency and register contracts also run as real
subprocesses, exactly as a user or a cron job runs them."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import pytest
from fixtures import (  # noqa: F401
    BAD_FILES,
    BINARY,
    REGRESSION,
    BadFile,
    csv_file,
    db,
    parquet_file,
    query,
    run_cli,
    spec_dict,
    standard_template,
    table_counts,
    write_spec,
)

from lib.__main__ import main
from lib.store import connection as store_module
from lib.store import lock


def _version(db: Path) -> str | None:
    side = Path(str(db) + ".version")
    return side.read_text() if side.exists() else None


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.id for c in BAD_FILES])
def test_cli_rejects_bad_file_with_exit_2_and_one_line(case: BadFile, db: Path, tmp_path: Path, capsys):
    path = case.make(tmp_path)
    before, version = table_counts(db), _version(db)
    rc = main(["ingest", "--db", str(db), case.kind, "--model", case.model, str(path)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(case.prefix(path)), err
    assert case.reason in err
    assert table_counts(db) == before and _version(db) == version


def test_cli_ingest_uses_the_environment_default_db(db: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_DB", str(db))
    path = csv_file(tmp_path, "env.csv", "inference", n=4)
    assert main(["ingest", "inference", "--model", BINARY, str(path)]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (f"{path}: ingested (4 rows)\n", "")
    assert query(db, "SELECT rows FROM ingest_log WHERE file_name = 'env.csv'") == [(4,)]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["ingest", "inference", "x.csv"], "--model"),
        (["ingest", "predictions", "--model", "m", "x.csv"], "invalid choice"),
        (["ingest", "inference", "--model", "m"], "required"),
        (["register"], "required"),
    ],
)
def test_cli_bad_usage_exits_2_with_one_line(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err


def test_cli_store_busy_is_exit_1_with_one_line(db: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(store_module, "Store", functools.partial(store_module.Store, timeout=0.3))
    path = csv_file(tmp_path, "busy.csv", "inference")
    before = table_counts(db)
    held, release = threading.Event(), threading.Event()

    def hold():
        with lock.exclusive(str(db), 5):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(5)
        rc = main(["ingest", "--db", str(db), "inference", "--model", BINARY, str(path)])
    finally:
        release.set()
        t.join()
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "busy" in err
    assert table_counts(db) == before


# -- real subprocesses ---------------------------------------------------------------------------------
def test_cli_several_files_each_reported_exit_2_if_any_rejected_then_skipped(db: Path, tmp_path: Path):
    good1 = csv_file(tmp_path, "good1.csv", "inference", n=5)
    bad_ts = csv_file(tmp_path, "bad-ts.csv", "inference", set={3: {"ts": "tomorrow"}})
    good2 = parquet_file(
        tmp_path, "good2.parquet", "inference", n=7, set={i: {"request_id": f"g{i}"} for i in range(1, 8)}
    )
    bad_num = csv_file(tmp_path, "bad-num.csv", "inference", set={6: {"temperature": "hot"}})
    bad_type = tmp_path / "notes.xlsx"
    bad_type.write_text("not a spreadsheet")
    files = [good1, bad_ts, good2, bad_num, bad_type]
    before = table_counts(db)
    r = run_cli("ingest", "inference", "--model", BINARY, *map(str, files), db=db)
    assert r.returncode == 2, r.stderr
    assert r.stdout.splitlines() == [f"{good1}: ingested (5 rows)", f"{good2}: ingested (7 rows)"]
    err = r.stderr.splitlines()
    assert len(err) == 3, r.stderr
    assert err[0].startswith(f"{bad_ts}: column ts, row 3: ")
    assert err[1].startswith(f"{bad_num}: column temperature, row 6: 'hot' is not a number")
    assert err[2].startswith(f"{bad_type}: unsupported file type .xlsx")
    after = table_counts(db)
    assert after["inf__icecream"] == before["inf__icecream"] + 12
    assert after["ingest_log"] == before["ingest_log"] + 2
    assert after["__data_version"] == before["__data_version"] + 2

    # the same good files again: reported as skipped, exit 0, nothing added
    r = run_cli("ingest", "inference", "--model", BINARY, str(good1), str(good2), db=db)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines() == [
        f"{good1}: skipped (already ingested: same content, model and kind)",
        f"{good2}: skipped (already ingested: same content, model and kind)",
    ]
    assert table_counts(db) == after


def test_cli_unknown_model_names_every_file_and_creates_no_store(tmp_path: Path):
    a = csv_file(tmp_path, "a.csv", "labels")
    b = csv_file(tmp_path, "b.csv", "labels")
    store = tmp_path / "fresh" / "store.duckdb"
    r = run_cli("ingest", "labels", "--model", "ghost", str(a), str(b), db=store)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        f"{a}: unknown model 'ghost' (no store yet; register its spec first)",
        f"{b}: unknown model 'ghost' (no store yet; register its spec first)",
    ]
    assert not store.exists()


def test_cli_register_malformed_then_valid(tmp_path: Path):
    store = tmp_path / "s" / "store.duckdb"
    bad = write_spec(tmp_path, "model_id: churn\ntask: [binary_classification\nfeatures: {a: numeric}\n", "bad.yaml")
    r = run_cli("register", str(bad), db=store)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"{bad}: line ") and "not valid YAML" in r.stderr
    assert not store.exists()

    good = write_spec(tmp_path, spec_dict("churn-eu"), "good.yaml")
    r = run_cli("register", str(good), db=store)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{good}: registered churn-eu\n", "")
    counts = table_counts(store)
    assert counts["models"] == 1 and counts["features"] == 3 and counts["inf__churn-eu"] == 0


def test_cli_regression_model_round_trip(db: Path, tmp_path: Path, capsys):
    """A regression model's inference and labels through the command line (in this process)."""
    inf = csv_file(
        tmp_path, "reg.csv", "inference", model=REGRESSION, n=6, set={i: {"request_id": f"q{i}"} for i in range(1, 7)}
    )
    labels = csv_file(
        tmp_path,
        "reg-labels.csv",
        "labels",
        model=REGRESSION,
        n=6,
        set={i: {"request_id": f"q{i}", "label": f"{i}.0"} for i in range(1, 7)},
    )
    assert main(["ingest", "--db", str(db), "inference", "--model", REGRESSION, str(inf)]) == 0
    assert main(["ingest", "--db", str(db), "labels", "--model", REGRESSION, str(labels)]) == 0
    assert capsys.readouterr().out == f"{inf}: ingested (6 rows)\n{labels}: ingested (6 rows)\n"
    # prediction of row i is i * 1.25, the label i: the regression aggregates of these six rows
    n, sse, sae, sy, syy = query(
        db, "SELECT sum(n), sum(sse), sum(sae), sum(sy), sum(syy) FROM prof_reg WHERE model_id = ?", [REGRESSION]
    )[0]
    errors = [i * 1.25 - i for i in range(1, 7)]
    assert n == 6
    assert sse == pytest.approx(sum(e * e for e in errors))
    assert sae == pytest.approx(sum(abs(e) for e in errors))
    assert sy == pytest.approx(21.0) and syy == pytest.approx(sum(i * i for i in range(1, 7)))
