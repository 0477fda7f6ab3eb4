"""Crash safety (issue 12): SIGKILL at random moments (ingest, register, alert, sync), a dead lock
holder, an action killed while 'sending'. bench/faults.py runs the same checks with >= 50 kills per
command; here a few each."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import faults  # noqa: E402  (bench/faults.py)

from lib.errors import StoreBusy  # noqa: E402
from lib.store import lock  # noqa: E402
from lib.store.connection import Store  # noqa: E402

pytestmark = pytest.mark.xdist_group("faults")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The harness's base store (3 models, 9 days) and its retrain hook, built once."""
    hook = faults.Hook(delay=0.3)
    base = faults.build_base(tmp_path_factory.mktemp("base"), hook.url, rows=10_000, lake_rows=3_000)
    yield hook, base
    hook.close()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory, fleet):
    return faults.campaign(2, faults.COMMANDS, 12, tmp_path_factory.mktemp("faults"), fixture=fleet, verbose=False)


@pytest.mark.parametrize("command", faults.COMMANDS)
def test_a_killed_command_leaves_the_before_or_the_after_state(campaign, command):
    r = campaign[command]
    assert r["kills"] == 2, r
    # sync: 'partial' is the state after some files' transactions (each file before or after)
    assert r["before"] + r["after"] + r["partial"] == r["runs"], r["problems"]
    assert r["other"] == 0 and r["unopenable"] == 0, r["problems"]
    assert r["profiles_mismatch"] == 0 and r["sidecar_behind"] == 0, r["problems"]
    if command == "sync":  # every file whole or absent; the next sync completes, the one after is a no-op
        assert r["files_whole_or_none"] == r["recovered"] == r["second_sync_noop"] == r["runs"], r
    else:
        assert r["partial"] == 0, r
    if command == "alert":
        assert r["recovered_all_delivered"] == r["resent_same_key"] == r["runs"], r


_HOLDER = """
import sys, time
from lib.store import lock
with lock.exclusive(sys.argv[1], 5):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_dead_writers_lock_is_released_by_the_kernel(tmp_path):
    """flock locks belong to open file descriptions: SIGKILL closes them, so the next writer gets
    the lock at once; while the holder lives, the next one gets one line naming the store."""
    db = str(tmp_path / "store.duckdb")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, db], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusy, match=r"store\.duckdb: the store is busy"):
            with lock.exclusive(db, 0.2):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        t0 = time.monotonic()
        with lock.exclusive(db, 1.0):
            waited = time.monotonic() - t0
        assert waited < 0.5
        assert Path(db + ".rw.lock").exists()  # the lock files stay; only the kernel's lock went
    finally:
        holder.kill()
        holder.wait()


def test_an_action_killed_while_sending_is_sent_again_with_its_key(tmp_path, fleet):
    hook, base = fleet
    hook.delay, n0 = 3, len(hook.requests)  # the first delivery hangs: the run is killed while 'sending'
    try:
        env = faults.cli_env(base)
        db = faults.fresh_copy(base, tmp_path / "run")
        arrived0 = hook.arrived
        proc = subprocess.Popen([sys.executable, "-m", "lib", *faults.argv_for("alert", base, db)], cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while hook.arrived < arrived0 + 2:  # the notice and the trigger are both in flight
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        left = faults.action_states(db)
        assert set(left.values()) == {"sending"} and len(left) == 2
        hook.delay = 0  # (the hung request still sleeps its 3 s: it is recorded below)
        done = subprocess.run(
            [sys.executable, "-m", "lib", *faults.argv_for("alert", base, db)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert set(faults.action_states(db).values()) == {"delivered"}

        def retrain_posts():
            return [r for r in hook.requests[n0:] if r["path"] == "/retrain"]

        while len(retrain_posts()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        sent = retrain_posts()
        # the hung first POST (answered once the run was dead) and the second one: one key
        assert len(sent) == 2 and len({r["key"] for r in sent}) == 1 and sent[0]["key"] in left
    finally:
        hook.delay = 0.3


def test_an_added_feature_counts_as_null_in_the_stored_rows_profiles(tmp_path, fleet):
    """Found by bench/faults.py: re-registering a spec with a new feature left the rows already
    stored without NULL counts for it, so its missing share read 0 until the next reference."""
    import yaml

    from lib.ingest.pipeline import register_spec
    from lib.spec import load_spec_file

    base = fleet[1]
    db = faults.fresh_copy(base, tmp_path / "run")
    register_spec(Store(db), load_spec_file(str(base["dir"] / "update.yaml")))
    assert faults.profiles(db) == faults.recomputed_profiles(db, tmp_path)
    spec = yaml.safe_load((base["dir"] / "update.yaml").read_text())
    assert list(spec["features"]) == ["colour", "size", "extra"]
    qual = faults.profiles(db)["prof_qual_h"]
    nulls = sum(v[0] for k, v in qual.items() if k[0] == "fault-green" and k[2] == 2)
    assert nulls == 21600  # every stored row of fault-green (9 days, one row per 36 s)


def test_the_sync_check_finds_a_torn_file(tmp_path, fleet):
    """file_traces can fail: a file whose profile rows, or whose lake_files entry, are gone is torn."""
    import duckdb

    from lib.ingest.lake import sync_lake

    base = fleet[1]
    db = faults.fresh_copy(base, tmp_path / "run")
    assert sync_lake(Store(db), base["lake"]).synced == len(base["files"])
    traces = faults.faults_lake.file_traces(db, base)
    assert set(traces.values()) == {"whole"} and len(traces) == len(base["files"]) == 14
    lake = str(base["lake"].resolve())
    inference = next(f for f in base["files"] if "/inference/" in f)
    con = duckdb.connect(str(db))
    try:
        fid = con.execute("SELECT file_id FROM ingest_log WHERE file_name = ?", [f"{lake}/{inference}"]).fetchall()[0][
            0
        ]
        con.execute("DELETE FROM prof_rows WHERE file_id = ?", [fid])
        con.execute("DELETE FROM lake_files WHERE path = ?", [base["files"][0]])
    finally:
        con.close()
    traces = faults.faults_lake.file_traces(db, base)
    assert traces[inference].startswith("torn: inference file")
    assert traces[base["files"][0]].startswith("torn: ingest_log")
    assert sum(v == "whole" for v in traces.values()) == 12
