"""Kill harness (issue 12): SIGKILL `register`, `ingest`, `alert` and `sync` at random moments and
check what the next process finds.

After every kill, on the store the killed process left behind:
- the store opens (read-only, as the app opens it, and read-write, as the next writer does);
- every table's row count (and meta.data_version) equals a state a complete run passes through
  (before; after; for `alert`, the state after each of its write transactions) — never between;
- every model's profiles equal a recomputation from its stored rows (lib's reprofile, summed by key);
- the lock does not wedge the next writer (fcntl.flock: the kernel drops a dead holder's lock);
- `alert` only: a second run (lease 0) delivers every action that was left 'pending' or
  'sending', and every retrain request carries the action's own id as its Idempotency-Key.
- `sync` only (bench/faults_lake.py): the store is the state after some prefix of the sync's
  transactions, each lake file's traces are all there or none, the next sync completes the job
  (the complete run's counts and profiles) and a second sync changes nothing.

    .venv/bin/python bench/faults.py [--kills 50] [--commands ingest,register,alert,sync] [--seed 0] [--rows 40000]

tests/test_faults.py runs the same checks with a few kills per command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import faults_lake  # noqa: E402  (bench/faults_lake.py)

from lib.ingest.pipeline import ingest_file, register_spec  # noqa: E402
from lib.store.connection import Store  # noqa: E402

AS_OF = pd.Timestamp("2026-11-10T00:00:00Z")
COMMANDS = ("ingest", "register", "alert", "sync")
PROFILE_KEYS = {
    "prof_rows": (["model_id", "hour", "file_id"], ["n"]),
    "prof_num_h": (["model_id", "hour", "slot", "bin"], ["n"]),
    "prof_num_d": (["model_id", "day", "slot", "bin"], ["n"]),
    "prof_cat_h": (["model_id", "hour", "slot", "value"], ["n"]),
    "prof_cat_d": (["model_id", "day", "slot", "value"], ["n"]),
    "prof_qual_h": (["model_id", "hour", "slot"], ["n_null", "n_below", "n_above", "n_inf"]),
    "prof_qual_d": (["model_id", "day", "slot"], ["n_null", "n_below", "n_above", "n_inf"]),
    "prof_cls": (["model_id", "hour", "label", "prediction"], ["n"]),
    "prof_auc": (["model_id", "hour", "score"], ["n_pos", "n_neg"]),
    "prof_reg": (["model_id", "hour"], ["n", "sse", "sae", "sy", "syy"]),
    "prof_score_h": (["model_id", "hour", "score", "pred_pos"], ["n"]),
}


# -- a local retrain hook / notice receiver -----------------------------------------------------
class Hook:
    """Records every POST (path, Idempotency-Key, body); answers 202 after `delay` seconds."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[dict] = []
        self.arrived = 0  # counted before the delay: a request is in flight
        self.delay = delay
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.arrived += 1
                time.sleep(hook.delay)
                hook.requests.append(
                    {"path": self.path, "key": self.headers.get("Idempotency-Key"), "body": body.decode("utf-8")}
                )
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the fleet and the files of each command ------------------------------------------------------
def _spec(model_id: str, *, features: dict[str, str] | None = None, actions: dict | None = None) -> dict:
    spec = {
        "model_id": model_id,
        "name": f"Model {model_id}",
        "task": "regression",
        "owner": f"{model_id}@example.com",
        "team": "faults",
        "columns": {"timestamp": "ts", "prediction": "prediction"},
        "features": features or {"colour": "categorical", "size": "numeric"},
    }
    if actions:
        spec["actions"] = actions
    return spec


def _frame(rng: np.random.Generator, n: int, cats: list[str]) -> pd.DataFrame:
    df = pd.DataFrame({"colour": rng.choice(cats, n), "size": rng.normal(10, 2, n)})
    df["prediction"] = df["size"] * 2 + rng.normal(0, 1, n)
    return df


def build_base(workdir: Path, hook_url: str, *, rows: int = 40_000, lake_rows: int | None = None) -> dict:
    """A store with a red model (retrain hook), a yellow one (notice to the hook) and a green one,
    plus the files the commands under test use. Returns their paths."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "base.duckdb"
    store = Store(db)
    rng = np.random.default_rng(12)
    fleet = [
        ("fault-red", 0.30, {"retrain_url": hook_url + "/retrain"}),
        ("fault-yellow", 0.005, {"notify": [hook_url.replace("http://", "json://") + "/notify"]}),
        ("fault-green", 0.0, None),
    ]
    ts = pd.date_range(AS_OF - pd.Timedelta(days=9), AS_OF, freq="36s", inclusive="right")
    for model_id, unseen, actions in fleet:
        register_spec(store, _spec(model_id, actions=actions))
        ref = _frame(rng, 2000, ["a", "b", "c"])
        ref["label"] = ref["prediction"] + rng.normal(0, 1, len(ref))
        ref.to_csv(workdir / f"{model_id}-ref.csv", index=False)
        assert ingest_file(store, "reference", model_id, workdir / f"{model_id}-ref.csv").status == "ingested"
        cur = _frame(rng, len(ts), ["a", "b", "c"])
        cur.insert(0, "ts", ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
        last = np.flatnonzero(np.asarray(ts > AS_OF - pd.Timedelta(days=1)))
        k = int(round(unseen * len(last)))
        if k:
            cur.loc[last[:: max(1, len(last) // k)][:k], "colour"] = "new"
        cur.to_parquet(workdir / f"{model_id}-inf.parquet", index=False)
        assert ingest_file(store, "inference", model_id, workdir / f"{model_id}-inf.parquet").status == "ingested"
    # ingest: one more day of `rows` rows for the green model, with late labels in the file
    day = pd.date_range(AS_OF, AS_OF + pd.Timedelta(days=1), periods=rows + 1, inclusive="right")
    more = _frame(rng, rows, ["a", "b", "c", "d"])
    more.insert(0, "ts", day)
    more["label"] = more["prediction"] + rng.normal(0, 1, rows)
    more.to_parquet(workdir / "ingest.parquet", index=False)
    # register: the green model's spec with a new feature (new slot, ALTER TABLE) and a new model
    (workdir / "update.yaml").write_text(
        yaml.safe_dump(
            _spec("fault-green", features={"colour": "categorical", "size": "numeric", "extra": "numeric"}),
            sort_keys=False,
        )
    )
    (workdir / "new.yaml").write_text(yaml.safe_dump(_spec("fault-new")))
    (workdir / "secrets.toml").write_text("[actions]\nlease_s = 0\nbackoff_s = 0.01\ntimeout_s = 5\n")
    # sync: a lake of two models, `lake_rows` (default `rows`) inference rows each (bench/faults_lake.py)
    lake = faults_lake.build_lake(workdir, lake_rows or rows)
    return {"db": db, "dir": workdir, "lake": lake, "files": faults_lake.lake_files(lake)}


def argv_for(command: str, base: dict, db: Path, variant: int = 0) -> list[str]:
    d = base["dir"]
    if command == "ingest":
        return ["ingest", "--db", str(db), "inference", "--model", "fault-green", str(d / "ingest.parquet")]
    if command == "register":
        return ["register", "--db", str(db), str(d / ("update.yaml" if variant % 2 == 0 else "new.yaml"))]
    if command == "alert":
        return ["alert", "--db", str(db)]
    if command == "sync":
        return faults_lake.argv(base, db)
    raise ValueError(command)


def cli_env(base: dict) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DRIFTLIGHT_SECRETS": str(base["dir"] / "secrets.toml"),
        "DRIFTLIGHT_POLICY": "",
        "HOME": os.environ.get("HOME", "/tmp"),
    }


# -- what a store holds ---------------------------------------------------------------------------
def counts(db: Path) -> tuple:
    """Every table's row count and meta.data_version, as a hashable, sorted tuple."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        out = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}
        out["__data_version"] = int(con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall()[0][0])
        return tuple(sorted(out.items()))
    finally:
        con.close()


def profiles(db: Path) -> dict:
    """Every profile table summed by key (rows may repeat per ingest; readers always sum)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, (keys, values) in PROFILE_KEYS.items():
            sums = ", ".join(f"sum({v})" for v in values)
            rows = con.execute(f"SELECT {', '.join(keys)}, {sums} FROM {table} GROUP BY ALL ORDER BY ALL").fetchall()
            out[table] = {r[: len(keys)]: tuple(round(float(x), 6) for x in r[len(keys) :]) for r in rows}
        return out
    finally:
        con.close()


def recomputed_profiles(db: Path, scratch: Path) -> dict:
    """The profiles of a copy of the store after lib recomputes every model's from its rows."""
    from lib.ingest.lake_rows import read_lake_rows
    from lib.ingest.pipeline import load_model_spec
    from lib.store.reprofile import reprofile_model

    copy = scratch / "recompute.duckdb"
    shutil.copyfile(db, copy)
    store = Store(copy, timeout=5)
    with store.write() as con:
        models = [r[0] for r in con.execute("SELECT model_id FROM models").fetchall()]
        for model_id in models:
            spec = load_model_spec(con, model_id)
            snap = con.execute(
                "SELECT positive_class FROM snapshots WHERE model_id = ? ORDER BY snapshot_id DESC LIMIT 1",
                [model_id],
            ).fetchall()
            reprofile_model(con, spec, snap[0][0] if snap else None, lake_rows=read_lake_rows)
    try:
        return profiles(copy)
    finally:
        for p in scratch.glob("recompute.duckdb*"):
            p.unlink()


def opens(db: Path) -> str | None:
    """None if the store opens read-only (as the app opens it) and the next writer gets the
    lock and opens it read-write (replaying or dropping a torn WAL) within 2 s; else what went
    wrong. Commits nothing: the counts are taken afterwards."""
    import duckdb

    from lib.store import lock

    try:
        with Store(db, timeout=5).read() as con:
            con.execute("SELECT count(*) FROM models").fetchall()
        t0 = time.monotonic()
        with lock.exclusive(str(db), 5):
            waited = time.monotonic() - t0
            con = duckdb.connect(str(db))
            try:
                con.execute("SELECT count(*) FROM models").fetchall()
            finally:
                con.close()
        if waited > 2:
            return f"the next writer waited {waited:.1f} s for the lock"
    except Exception as exc:  # the harness reports any failure as a finding
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def action_states(db: Path, kind: str | None = None) -> dict[str, str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        sql = "SELECT action_id, status FROM alert_actions WHERE ? IS NULL OR kind = ?"
        return dict(con.execute(sql, [kind, kind]).fetchall())
    finally:
        con.close()


# -- runs ---------------------------------------------------------------------------------------------
def run_to_end(argv: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "lib", *argv], cwd=ROOT, env=env, capture_output=True, text=True)
    return proc, time.monotonic() - t0


_finished_in: list[float] = []  # how long the runs that ended before their kill took


def run_and_kill(argv: list[str], env: dict, delay: float) -> bool:
    """Start the command, SIGKILL it after `delay` s; True if it was still running then."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    t0 = time.monotonic()
    try:
        proc.wait(timeout=delay)
        _finished_in.append(time.monotonic() - t0)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def fresh_copy(base: dict, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    db = target / "store.duckdb"
    for p in target.glob("store.duckdb*"):
        p.unlink()
    shutil.copyfile(base["db"], db)
    shutil.copyfile(str(base["db"]) + ".version", str(db) + ".version")
    return db


def reference_states(command: str, base: dict, scratch: Path, env: dict, variant: int, hook: Hook) -> tuple[set, float]:
    """The states a complete run passes through (before, each write transaction's result) and its
    duration. Intermediate states of `alert` are found by running it with its writes observed."""
    db = fresh_copy(base, scratch / "ref")
    states = {counts(db)}
    if command == "alert":
        from lib.actions.config import load_config
        from lib.actions.run import run_alerts

        class Observed(Store):
            def write(self):
                return _observe(super().write(), self.path, states)

        n = len(hook.requests)
        run_alerts(Observed(db), config=load_config(base["dir"] / "secrets.toml"))
        del hook.requests[n:]
        db = fresh_copy(base, scratch / "ref")
    if command == "sync":
        base["sync_states"] = faults_lake.reference_states(base, db, counts)
        states = set(base["sync_states"])
        db = fresh_copy(base, scratch / "ref")
    proc, seconds = run_to_end(argv_for(command, base, db, variant), env)
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed on a fresh copy: {proc.stdout}{proc.stderr}")
    states.add(counts(db))
    if command == "sync":
        if counts(db) != base["sync_states"][-1]:
            raise SystemExit("the CLI's sync ended in another state than the observed in-process sync")
        base["final_counts"], base["final_profiles"] = counts(db), profiles(db)
    return states, seconds


class _observe:
    """Wrap a write() context: after it commits, record the store's counts."""

    def __init__(self, cm, path, states):
        self.cm, self.path, self.states = cm, path, states

    def __enter__(self):
        return self.cm.__enter__()

    def __exit__(self, *exc):
        out = self.cm.__exit__(*exc)
        self.states.add(counts(Path(self.path)))
        return out


def kill_once(command: str, base: dict, scratch: Path, env: dict, states: set, span: float, rng, variant: int, hook):
    """One kill and every check; returns a record of what was found."""
    db = fresh_copy(base, scratch / "kill")
    before = counts(db)
    delay = rng.uniform(0.05, span)
    killed = run_and_kill(argv_for(command, base, db, variant), env, delay)
    rec = {"command": command, "delay": round(delay, 3), "killed": killed}
    problem = opens(db)
    if problem:
        rec.update(state="unopenable", problem=problem)
        return rec
    now = counts(db)
    rec["state"] = "before" if now == before else ("after" if now in states else "other")
    if command == "sync" and rec["state"] == "after" and now != base["sync_states"][-1]:
        rec["state"] = "partial"  # after some files' transactions, before the others'
    if rec["state"] == "other":
        rec["counts"] = dict(now)
    stored, again = profiles(db), recomputed_profiles(db, scratch)
    rec["profiles_ok"] = stored == again
    sidecar = int(Path(str(db) + ".version").read_text() or 0)
    rec["sidecar_ok"] = sidecar == dict(now)["__data_version"]
    if command == "alert":
        left = action_states(db)
        unfinished = {a for a, s in left.items() if s in ("sending", "pending")}
        retrain_ids = set(action_states(db, kind="retrain_http"))
        delivered = {a for a, s in left.items() if s == "delivered"}
        time.sleep(hook.delay + 0.2)  # the killed run's last request is answered meanwhile
        n2 = len(hook.requests)
        proc, _ = run_to_end(argv_for(command, base, db, variant), env)
        retried = {r["key"] for r in hook.requests[n2:] if r["path"] == "/retrain"}
        after = action_states(db)
        rec["left_sending"] = len(unfinished)
        rec["recovery_exit"] = proc.returncode
        rec["all_delivered"] = bool(after) and all(s == "delivered" for s in after.values())
        # every retrain left unfinished went out again under its own id; none delivered went twice
        rec["resent_same_key"] = (unfinished & retrain_ids) <= retried and not (retried & delivered)
        rec["retried"] = len(retried)
        rec["redelivered_retrain"] = sorted(unfinished & retrain_ids & retried)
    if command == "sync":
        faults_lake.check_after_kill(db, base, env, rec, counts=counts, profiles=profiles)
    return rec


def campaign(
    kills: int,
    commands: tuple[str, ...],
    seed: int,
    workdir: Path,
    *,
    rows: int = 40_000,
    verbose: bool = True,
    fixture: tuple[Hook, dict] | None = None,
) -> dict:
    """`kills` kill runs per command; `fixture` = (hook, base) reuses a built base (the tests)."""
    rng = random.Random(seed)
    # deliveries take a moment: kills land while actions are 'sending'
    hook = fixture[0] if fixture else Hook(delay=0.3)
    try:
        base = fixture[1] if fixture else build_base(workdir / "base", hook.url, rows=rows)
        env = cli_env(base)
        results: dict[str, dict] = {}
        for command in commands:
            records = []
            variants = (0, 1) if command == "register" else (0,)
            plan = {v: reference_states(command, base, workdir, env, v, hook) for v in variants}
            i = 0
            # until `kills` runs were really killed (a run may finish before its kill time)
            while sum(r["killed"] for r in records) < kills and i < 3 * kills:
                variant = i % 2 if command == "register" else 0
                states, seconds = plan[variant]
                if _finished_in:  # a run that ended before its kill: kill within what runs take now
                    seconds = min(seconds, max(_finished_in[-1], 0.5))
                    plan[variant] = (states, seconds)
                    _finished_in.clear()
                rec = kill_once(command, base, workdir, env, states, seconds * 1.1, rng, variant, hook)
                i += 1
                records.append(rec)
                if verbose and _problem(rec):
                    print(f"  finding: {json.dumps(rec)}", flush=True)
            results[command] = summarize(records, plan[0][1])
            if verbose:
                print(f"{command}: {json.dumps(results[command])}", flush=True)
        return results
    finally:
        if not fixture:
            hook.close()


def summarize(records: list[dict], seconds: float) -> dict:
    states = Counter(r["state"] for r in records)
    out = {
        "kills": sum(r["killed"] for r in records),
        "runs": len(records),
        "full_run_s": round(seconds, 2),
        "before": states["before"],
        "after": states["after"],
        "partial": states["partial"],
        "killed_before": sum(r["killed"] and r["state"] == "before" for r in records),
        "killed_after": sum(r["killed"] and r["state"] == "after" for r in records),
        "other": states["other"],
        "unopenable": states["unopenable"],
        "profiles_mismatch": sum(not r.get("profiles_ok", True) for r in records),
        "sidecar_behind": sum(not r.get("sidecar_ok", True) for r in records),
    }
    alerts = [r for r in records if "left_sending" in r]
    if alerts:
        out["left_sending_or_pending"] = sum(r["left_sending"] > 0 for r in alerts)
        out["recovered_all_delivered"] = sum(r["all_delivered"] and r["recovery_exit"] == 0 for r in alerts)
        out["resent_same_key"] = sum(r["resent_same_key"] for r in alerts)
        out["retrain_redelivered"] = sum(len(r["redelivered_retrain"]) for r in alerts)
    syncs = [r for r in records if "files_ok" in r]
    if syncs:
        out["files_whole_or_none"] = sum(r["files_ok"] for r in syncs)
        out["files_synced_at_kill"] = dict(sorted(Counter(r["files_synced"] for r in syncs).items()))
        out["recovered"] = sum(r["recovered"] for r in syncs)
        out["second_sync_noop"] = sum(r["second_sync_noop"] for r in syncs)
    out["problems"] = [r for r in records if _problem(r)][:5]
    return out


def _problem(r: dict) -> bool:
    bad = r["state"] in ("other", "unopenable") or not r.get("profiles_ok", True)
    return bad or not (r.get("files_ok", True) and r.get("recovered", True) and r.get("second_sync_noop", True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50, help="kills per command")
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=40_000, help="rows of the ingested file")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="driftlight-faults-") as tmp:
        results = campaign(args.kills, tuple(args.commands.split(",")), args.seed, Path(tmp), rows=args.rows)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
