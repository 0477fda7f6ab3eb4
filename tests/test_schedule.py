"""`python -m lib schedule` and the inbox (lib/ingest/inbox.py, lib/actions/schedule.py).

In process: where each file ends, its .reason, names that try to leave the inbox, a crash
between commit and move, a file still growing, the tick's line and exit code, the lock. The
command in fresh processes with real signals: tests/test_schedule_cli.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures import (  # noqa: F401
    BINARY,
    csv_file,
    db,
    query,
    rows_for,
    spec_dict,
    standard_template,
    write_csv_rows,
    write_spec,
)
from schedule_support import BASE_INF, _files, _inf_rows, _inference, _logged, inbox  # noqa: F401

from lib.actions.schedule import Scheduler, TickReport, parse_every
from lib.errors import AlreadyRunning, InputError
from lib.ingest import inbox as inbox_module
from lib.ingest.inbox import process_inbox
from lib.store import lock
from lib.store.connection import Store


# -- the inbox, in process ------------------------------------------------------------------------
def test_tick_ingests_archives_and_rejects_with_reasons(db: Path, inbox: Path):
    inf = inbox / BINARY / "inference"
    _inference(inf, "day1.csv", 7)
    _inference(inf, "day2.csv", 5)
    header, rows = rows_for("inference", n=4, set={3: {"ts": "yesterday"}})
    write_csv_rows(inf / "bad.csv", header, rows)
    _inference(inbox / BINARY, "stray.csv", 3)  # beside the kind folders
    _inference(inbox, "top.csv", 3)  # not in a model folder
    _inference(inbox / "Not_A_Model" / "inference", "x.csv", 3)
    (inbox / BINARY / "inference" / "nested").mkdir()  # kind folders are flat: left alone
    _inference(inbox / BINARY / "old", "x.csv", 3)  # a folder beside the kind folders: rejected whole

    report = process_inbox(Store(db), inbox, settle=0)

    assert {r.name: r.status for r in report.results} == {
        "icecream/inference/bad.csv": "rejected",
        "icecream/inference/day1.csv": "ingested",
        "icecream/inference/day2.csv": "ingested",
        "icecream/old": "rejected",
        "icecream/stray.csv": "rejected",
        "Not_A_Model/inference/x.csv": "rejected",
        "top.csv": "rejected",
    }
    assert report.rows == 12 and report.ignored == 1 and report.waiting == 0
    assert _inf_rows(db) == BASE_INF + 12
    assert _files(inbox) == [
        "processed/icecream/inference/day1.csv",
        "processed/icecream/inference/day2.csv",
        "rejected/Not_A_Model/inference/x.csv",
        "rejected/Not_A_Model/inference/x.csv.reason",
        "rejected/icecream/inference/bad.csv",
        "rejected/icecream/inference/bad.csv.reason",
        "rejected/icecream/old.reason",
        "rejected/icecream/old/x.csv",
        "rejected/icecream/stray.csv",
        "rejected/icecream/stray.csv.reason",
        "rejected/top.csv",
        "rejected/top.csv.reason",
    ]
    reason = (inbox / "rejected/icecream/inference/bad.csv.reason").read_text()
    assert reason.count("\n") == 1
    assert reason.startswith("icecream/inference/bad.csv: column ts, row 3: ")
    assert (inbox / "rejected/icecream/old.reason").read_text() == (
        "icecream/old: a folder other than reference, inference, labels\n"
    )
    assert (inbox / "rejected/top.csv.reason").read_text() == (
        "top.csv: not in a model folder: drop files in INBOX/<model_id>/<kind>/\n"
    )
    assert (inbox / "rejected/Not_A_Model/inference/x.csv.reason").read_text() == (
        "Not_A_Model/inference/x.csv: folder 'Not_A_Model' is not a model id\n"
    )


def test_same_content_again_is_skipped_and_archived_under_a_fresh_name(db: Path, inbox: Path):
    inf = inbox / BINARY / "inference"
    _inference(inf, "day.csv", 6)
    process_inbox(Store(db), inbox, settle=0)
    _inference(inf, "day.csv", 6)  # the same file dropped twice
    report = process_inbox(Store(db), inbox, settle=0)
    assert [(r.status, r.rows) for r in report.results] == [("skipped", 0)]
    assert _inf_rows(db) == BASE_INF + 6 and _logged(db) == 2
    assert _files(inbox / "processed") == ["icecream/inference/day.csv", "icecream/inference/day~2.csv"]


def test_spec_registers_the_model_before_its_files(db: Path, inbox: Path):
    model, wrong = inbox / "gelato", inbox / "sorbet"
    for folder in (model / "reference", model / "inference", wrong / "inference"):
        folder.mkdir(parents=True)
    write_spec(model, spec_dict("gelato"))
    csv_file(model / "reference", "ref.csv", "reference", n=20)
    csv_file(model / "inference", "a.csv", "inference", n=9)
    write_spec(wrong, spec_dict("granita"))
    csv_file(wrong / "inference", "a.csv", "inference", n=9)

    report = process_inbox(Store(db), inbox, settle=0)

    assert [(r.name, r.status, r.rows) for r in report.results] == [
        ("gelato/spec.yaml", "registered", 0),
        ("gelato/reference/ref.csv", "ingested", 20),
        ("gelato/inference/a.csv", "ingested", 9),
        ("sorbet/spec.yaml", "rejected", 0),
        ("sorbet/inference/a.csv", "rejected", 0),
    ]
    assert query(db, 'SELECT count(*) FROM "inf__gelato"')[0][0] == 9
    assert (inbox / "rejected/sorbet/spec.yaml.reason").read_text() == (
        "sorbet/spec.yaml: field model_id: 'granita' differs from its folder's name\n"
    )
    assert (
        (inbox / "rejected/sorbet/inference/a.csv.reason")
        .read_text()
        .startswith("sorbet/inference/a.csv: unknown model 'sorbet'")
    )
    assert query(db, "SELECT count(*) FROM models WHERE model_id IN ('sorbet', 'granita')")[0][0] == 0


def test_odd_names_and_links_never_leave_the_inbox(db: Path, inbox: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = _inference(outside, "secret.csv", 4)
    inf = inbox / BINARY / "inference"
    os.symlink(secret, inf / "link.csv")  # a link to a valid file outside: never read
    os.symlink(outside, inbox / "linked-model")  # a model folder that is a link: never entered
    odd = "-rf ..\n$(x) ü;.csv"
    _inference(inf, odd, 3)
    hidden = "..\\..\\evil.csv"  # backslashes are plain characters here; a leading dot: in progress
    _inference(inf, hidden, 5)
    # An archive sub-folder planted as a link outside must not receive the moved file.
    (inbox / "processed").mkdir()
    os.symlink(outside, inbox / "processed" / BINARY)

    report = process_inbox(Store(db), inbox, settle=0)

    by_name = {r.name: r for r in report.results}
    assert by_name["icecream/inference/link.csv"].status == "rejected"
    assert "symbolic link" in by_name["icecream/inference/link.csv"].message
    assert by_name["linked-model"].status == "rejected"
    printable = "icecream/inference/-rf ..\\x0a$(x) ü;.csv"
    assert by_name[printable].status == "error"  # ingested, but its archive folder leads outside
    assert "leads outside the inbox or is no folder; " in by_name[printable].message
    assert os.listdir(outside) == ["secret.csv"]  # nothing moved or made out there, the target untouched
    assert secret.read_text().count("\n") == 5
    assert (inf / odd).exists()  # stays in the inbox: skipped, not re-ingested, next time
    assert (inf / hidden).exists() and not any(r.name.endswith("evil.csv") for r in report.results)
    assert _inf_rows(db) == BASE_INF + 3
    assert sorted(p.name for p in (inbox / "rejected").rglob("*")) == sorted(
        ["icecream", "inference", "link.csv", "link.csv.reason", "linked-model", "linked-model.reason"]
    )
    assert os.path.islink(inbox / "rejected" / "linked-model")  # the link itself was moved
    (inbox / "processed" / BINARY).unlink()
    again = process_inbox(Store(db), inbox, settle=0)
    assert [(r.name, r.status) for r in again.results] == [(printable, "skipped")]
    assert (inbox / "processed" / BINARY / "inference" / odd).read_text().count("\n") == 4
    assert _inf_rows(db) == BASE_INF + 3


def test_a_crash_between_commit_and_move_ingests_nothing_twice(db: Path, inbox: Path, monkeypatch):
    inf = inbox / BINARY / "inference"
    _inference(inf, "a.csv", 6)
    _inference(inf, "b.csv", 4)

    class Crash(BaseException):
        pass

    def crash(*args, **kwargs):
        raise Crash

    with monkeypatch.context() as m:
        m.setattr(inbox_module, "_archive", crash)
        with pytest.raises(Crash):
            process_inbox(Store(db), inbox, settle=0)
    assert _inf_rows(db) == BASE_INF + 6  # a.csv committed; still in the inbox
    report = process_inbox(Store(db), inbox, settle=0)
    assert [(r.name, r.status, r.rows) for r in report.results] == [
        ("icecream/inference/a.csv", "skipped", 0),
        ("icecream/inference/b.csv", "ingested", 4),
    ]
    assert _inf_rows(db) == BASE_INF + 10 and _logged(db) == 3
    assert _files(inbox / "processed") == ["icecream/inference/a.csv", "icecream/inference/b.csv"]


def test_a_file_that_changes_between_the_two_looks_waits(db: Path, inbox: Path, monkeypatch):
    inf = inbox / BINARY / "inference"
    path = _inference(inf, "growing.csv", 3)
    real_scan = inbox_module.scan

    def scan_then_append(*args):
        items = real_scan(*args)
        with open(path, "a") as fh:  # the writer goes on after the first look
            fh.write(",".join(rows_for("inference", n=4)[1][3]) + "\n")
        return items

    monkeypatch.setattr(inbox_module, "scan", scan_then_append)
    report = process_inbox(Store(db), inbox, settle=0.01)
    assert report.results == [] and report.waiting == 1
    assert path.exists() and _inf_rows(db) == BASE_INF


def test_tick_runs_alert_and_reports_one_line(db: Path, inbox: Path, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DRIFTLIGHT_SECRETS", str(tmp_path / "none.toml"))
    _inference(inbox / BINARY / "inference", "a.csv", 5)
    lines: list[str] = []
    tick = Scheduler(Store(db), inbox, settle=0, log=lines.append).tick()
    assert tick.exit_code == 0 and tick.alert is not None and tick.alert.run_id == 1
    assert query(db, "SELECT count(*) FROM alert_runs")[0][0] == 1
    assert len(lines) == 1
    assert " tick 1: inbox 1 ingested (5 rows), 0 registered, 0 skipped, 0 rejected; alert run 1 as of " in lines[0]


def test_exit_code_of_a_tick():
    from lib.ingest.inbox import FileResult, InboxReport

    def tick(*statuses):
        ib = InboxReport(results=[FileResult("f", s, 0, "m") for s in statuses])
        return TickReport(1, None, 0.0, ib, None)

    assert tick("ingested", "skipped").exit_code == 0
    assert tick("ingested", "rejected").exit_code == 2
    assert tick("rejected", "error").exit_code == 1
    assert TickReport(1, None, 0.0, None, None, alert_error="boom").exit_code == 1


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("30s", 30), ("1h", 3600), ("90", 90), ("1.5m", 90)])
def test_parse_every(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "15x", "-1m", "0.5s", "m"])
def test_parse_every_rejects(text):
    with pytest.raises(InputError):
        parse_every(text)


def test_the_lock_refuses_a_second_holder_and_frees_on_exit(tmp_path: Path):
    path = str(tmp_path / "s.duckdb.schedule.lock")
    with lock.sole(path, "a scheduler"):
        with pytest.raises(AlreadyRunning, match=rf"pid {os.getpid()}, since "):
            with lock.sole(path, "a scheduler"):
                pass
    with lock.sole(path, "a scheduler"):
        pass


def test_a_vanished_inbox_fails_the_tick_not_the_scheduler(db: Path, tmp_path: Path):
    lines: list[str] = []
    tick = Scheduler(Store(db), tmp_path / "gone", alert=False, settle=0, log=lines.append).tick()
    assert tick.exit_code == 1
    assert lines[0] == f"  inbox failed: {tmp_path / 'gone'}: inbox folder not found"
    assert " tick 1: inbox failed (see above); alert skipped; " in lines[1]
