"""`python -m lib schedule` as a user or cron runs it: fresh processes, real signals.

Files dropped while it runs are ingested exactly once (renamed into place, or written slowly in
place); a second scheduler is refused; SIGTERM lets the current file finish and exits 0; SIGKILL
mid-tick and a restart lose nothing and duplicate nothing. The inbox's rules, in process:
tests/test_schedule.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fixtures import BINARY, db, rows_for, standard_template  # noqa: F401
from schedule_support import (  # noqa: F401
    BASE_INF,
    _drop,
    _env,
    _files,
    _inf_rows,
    _inference,
    _logged,
    _schedule,
    _wait,
    inbox,
)

from lib.__main__ import main
from lib.actions.schedule import lock_path
from lib.store import lock
from lib.store.connection import Store

# -- the command, as cron or a person runs it ------------------------------------------------------


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
