"""`python -m lib schedule` and the inbox (lib/ingest/inbox.py, lib/actions/schedule.py).

In-process tests pin the inbox's rules (where each file ends, its .reason, names that try to
leave the inbox, a crash between commit and move); subprocess tests run the scheduler as a user
or cron runs it: files dropped while it runs are ingested exactly once, a second scheduler is
refused, SIGKILL mid-tick and a restart lose and duplicate nothing, SIGTERM exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures import (  # noqa: F401
    BINARY,
    PY,
    ROOT,
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

from lib.__main__ import main
from lib.actions.schedule import Scheduler, TickReport, lock_path, parse_every
from lib.errors import AlreadyRunning, InputError
from lib.ingest import inbox as inbox_module
from lib.ingest.inbox import process_inbox
from lib.store import lock
from lib.store.connection import Store

BASE_INF = 30  # inference rows of the standard store's icecream model


def _inf_rows(db: Path) -> int:
    return query(db, f'SELECT count(*) FROM "inf__{BINARY}"')[0][0]


def _logged(db: Path, kind: str = "inference") -> int:
    return query(db, "SELECT count(*) FROM ingest_log WHERE model_id = ? AND kind = ?", [BINARY, kind])[0][0]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _inference(folder: Path, name: str, n: int) -> Path:
    """A valid inference file of the icecream model with n rows (n makes its content unique)."""
    folder.mkdir(parents=True, exist_ok=True)
    return csv_file(folder, name, "inference", n=n)


def _drop(folder: Path, name: str, n: int) -> Path:
    """Drop a file as the docs say: write under a temporary name, then rename into place."""
    tmp = _inference(folder, f".{name}.tmp", n)
    os.replace(tmp, folder / name)
    return folder / name


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    (path / BINARY / "inference").mkdir(parents=True)
    return path


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

    report = process_inbox(Store(db), inbox, settle=0)

    assert {r.name: r.status for r in report.results} == {
        "icecream/inference/bad.csv": "rejected",
        "icecream/inference/day1.csv": "ingested",
        "icecream/inference/day2.csv": "ingested",
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
        "rejected/icecream/stray.csv",
        "rejected/icecream/stray.csv.reason",
        "rejected/top.csv",
        "rejected/top.csv.reason",
    ]
    reason = (inbox / "rejected/icecream/inference/bad.csv.reason").read_text()
    assert reason.count("\n") == 1
    assert reason.startswith("icecream/inference/bad.csv: column ts, row 3: ")
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


# -- the command, as cron or a person runs it ------------------------------------------------------
def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLIGHT_SECRETS": str(tmp_path / "none.toml")}
    env.pop("DRIFTLIGHT_DB", None)
    return env


def _schedule(db: Path, inbox: Path, *extra: str) -> list[str]:
    return [PY, "-m", "lib", "schedule", "--db", str(db), "--inbox", str(inbox), *extra]


def _wait(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_once_exit_codes(db: Path, inbox: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("DRIFTLIGHT_SECRETS", str(tmp_path / "none.toml"))
    _inference(inbox / BINARY / "inference", "ok.csv", 5)
    # As cron runs it: a fresh process, one line on stdout, exit 0.
    ok = subprocess.run(
        _schedule(db, inbox, "--once", "--settle", "0"), env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("\n") == 1 and "inbox 1 ingested (5 rows)" in ok.stdout and "alert run 1" in ok.stdout
    # The same entry point in process for the other outcomes.
    cmd = ["schedule", "--db", str(db), "--inbox", str(inbox), "--once", "--settle", "0", "--no-alert"]
    (inbox / BINARY / "inference" / "bad.csv").write_text("ts,prediction\n")
    assert main(cmd) == 2
    out, err = capsys.readouterr()
    assert "1 rejected [icecream/inference/bad.csv]" in out and "alert skipped" in out
    assert "  rejected: icecream/inference/bad.csv: column " in out
    assert main([*cmd[:3], "--inbox", str(tmp_path / "nope"), "--once"]) == 2
    out, err = capsys.readouterr()
    assert err == f"{tmp_path / 'nope'}: inbox folder not found (create it, laid out as docs/schedule.md says)\n"
    assert main([*cmd, "--every", "soon"]) == 2
    assert capsys.readouterr().err == "--every 'soon': give a duration like 30s, 15m or 1h\n"
    with lock.sole(lock_path(Store(db)), "a scheduler for this store"):
        assert main(cmd) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{db}.schedule.lock: a scheduler for this store is already running (pid {os.getpid()}")
    assert main(cmd) == 0  # the lock is free again; nothing left to do
    assert _inf_rows(db) == BASE_INF + 5


def test_files_dropped_while_it_runs_are_ingested_once_then_sigterm_exits_0(db: Path, inbox: Path, tmp_path: Path):
    env = _env(tmp_path)
    inf = inbox / BINARY / "inference"
    log = (tmp_path / "log.txt").open("w")  # noqa: SIM115 (the child writes to it until SIGTERM)
    proc = subprocess.Popen(
        _schedule(db, inbox, "--every", "1s", "--settle", "0.4", "--no-alert"), env=env, stdout=log, stderr=log
    )
    try:
        _wait(lambda: "scheduler started" in (tmp_path / "log.txt").read_text(), what="start")
        second = subprocess.run(_schedule(db, inbox, "--once"), env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "is already running (pid " in second.stderr
        sizes = {}
        for i in range(5):  # renamed into place, one by one while it ticks
            sizes[f"drop{i}.csv"] = 3 + i
            _drop(inf, f"drop{i}.csv", 3 + i)
            time.sleep(0.3)
        _wait(lambda: len(list((inbox / "processed").rglob("*.csv"))) == 5, what="five files processed")
        # A slow writer in place: a row every 0.1 s for 3 s (longer than a tick; less than --settle apart).
        header, rows = rows_for("inference", n=31)  # n=30 is the seed file: skipped
        with open(inf / "slow.csv", "w") as fh:
            fh.write(",".join(header) + "\n")
            for r in rows:
                fh.write(",".join(r) + "\n")
                fh.flush()
                time.sleep(0.1)
        sizes["slow.csv"] = 31
        _wait(lambda: len(list((inbox / "processed").rglob("*.csv"))) == 6, what="six files processed")
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        log.close()
    text = (tmp_path / "log.txt").read_text()
    assert rc == 0, text
    assert "stopped after" in text.splitlines()[-1]
    assert "1 waiting (still being written)" in text  # slow.csv was seen mid-write, and left alone
    assert _files(inbox / "processed" / BINARY / "inference") == sorted(sizes)
    assert _inf_rows(db) == BASE_INF + sum(sizes.values())
    assert _logged(db) == 1 + len(sizes)  # the seed file + each dropped file, once
    assert not list(inf.iterdir())


def test_sigkill_mid_tick_then_restart_loses_nothing_and_duplicates_nothing(db: Path, inbox: Path, tmp_path: Path):
    env = _env(tmp_path)
    inf = inbox / BINARY / "inference"
    sizes = {f"f{i:02d}.csv": 3 + i for i in range(8)}
    for name, n in sizes.items():
        _inference(inf, name, n)
    # SIGTERM after the first file: the current file finishes, the rest stays, exit 0.
    term = subprocess.Popen(_schedule(db, inbox, "--once", "--settle", "0"), env=env, stdout=subprocess.PIPE, text=True)
    _wait(lambda: (inbox / "processed").exists() and _files(inbox / "processed"), what="a file processed")
    term.send_signal(signal.SIGTERM)
    out, _ = term.communicate(timeout=60)
    assert term.returncode == 0, out
    assert "stopping: the rest waits for the next start; alert skipped;" in out
    done = _files(inbox / "processed" / BINARY / "inference")
    assert 1 <= len(done) < len(sizes)
    assert _inf_rows(db) == BASE_INF + sum(sizes[n] for n in done)
    assert sorted(os.listdir(inf)) == sorted(set(sizes) - set(done))
    kills = 0
    for delay in (0.0, 0.2, 0.1):  # after the first file of each run, a little later each time
        if not list(inf.iterdir()):
            break
        before = len(_files(inbox / "processed")) if (inbox / "processed").exists() else 0
        proc = subprocess.Popen(
            _schedule(db, inbox, "--once", "--settle", "0", "--no-alert"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(
            lambda p=proc, b=before: (
                p.poll() is not None or ((inbox / "processed").exists() and len(_files(inbox / "processed")) > b)
            ),
            what="a file processed",
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
    assert kills >= 2
    final = subprocess.run(
        _schedule(db, inbox, "--once", "--settle", "0", "--no-alert"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    assert not list(inf.iterdir())
    assert _files(inbox / "processed" / BINARY / "inference") == sorted(sizes)  # each once, no ~2
    assert _inf_rows(db) == BASE_INF + sum(sizes.values())
    assert _logged(db) == 1 + len(sizes)
