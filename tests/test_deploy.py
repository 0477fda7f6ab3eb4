"""The container's entrypoint (docker/entrypoint.sh), run outside a container from this checkout,
and the Dockerfile / compose file against the tree they package (docs/deploy.md).

The image itself is built and run where a container engine is at hand (the issue-10 note says
what was run); here the entrypoint's commands run exactly as the image runs them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from fixtures import BINARY, ROOT, csv_file, db, standard_template  # noqa: F401

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def _env(tmp_path: Path, secrets: str | None = None, **extra: str) -> dict[str, str]:
    path = tmp_path / "secrets.toml"
    if secrets is not None:
        path.write_text(secrets)
    env = {**os.environ, "DRIFTLIGHT_PYTHON": sys.executable, "DRIFTLIGHT_SECRETS": str(path)}
    env["TMPDIR"] = str(tmp_path)  # the role file of `health`
    env.pop("DRIFTLIGHT_DB", None)
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_schedule_once_and_evaluate_through_the_entrypoint(db: Path, tmp_path: Path):
    inbox = tmp_path / "inbox"
    (inbox / BINARY / "inference").mkdir(parents=True)
    csv_file(inbox / BINARY / "inference", "a.csv", "inference", n=6)
    env = _env(tmp_path, DRIFTLIGHT_DB=str(db), DRIFTLIGHT_INBOX=str(inbox))
    tick = _run(["schedule", "--once", "--settle", "0"], env)
    assert tick.returncode == 0, tick.stderr
    assert "inbox 1 ingested (6 rows)" in tick.stdout and "alert run 1" in tick.stdout
    assert (inbox / "processed" / BINARY / "inference" / "a.csv").exists()
    evaluated = _run(["evaluate", "--model", BINARY], env)
    assert evaluated.returncode == 0, evaluated.stderr
    direct = subprocess.run(
        [sys.executable, "-m", "lib", "evaluate", "--db", str(db), "--model", BINARY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(evaluated.stdout) == json.loads(direct.stdout)  # the same command, the same answer
    bad = _run(["evaluate", "--model", "nope"], env)
    assert bad.returncode == 2 and bad.stdout == ""  # exit codes pass through the exec


def test_help_and_a_broken_secrets_file_stop_before_streamlit(tmp_path: Path):
    helped = _run(["help"], _env(tmp_path))
    assert helped.returncode == 0
    assert [line.split()[0] for line in helped.stdout.splitlines()[1:6]] == [
        "app",
        "schedule",
        "COMMAND",
        "health",
        "help",
    ]
    no_cookie = _run(["app"], _env(tmp_path, '[auth]\nredirect_uri = "https://x/oauth2callback"\n'))
    assert no_cookie.returncode == 2
    assert no_cookie.stderr.strip().endswith("[auth] has no cookie_secret: set a long random string")
    broken = _run(["app"], _env(tmp_path, "[auth\n"))
    assert broken.returncode == 2 and "secrets.toml" in broken.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_health(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the app never answered /_stcore/health")


def _listening(port: int) -> list[str]:
    """IPv4 addresses listening on `port` (/proc/net/tcp: little-endian hex address, state 0A)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        host, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.append(socket.inet_ntoa(bytes.fromhex(host)[::-1]))
    return found


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("secrets", "address"),
    [
        (None, "127.0.0.1"),  # no login configured: never beyond the container
        ("[driftlight]\nallow_unauthenticated = true\n", "0.0.0.0"),
    ],
)
def test_app_binds_beyond_localhost_only_when_allowed_and_health_answers(db: Path, tmp_path: Path, secrets, address):
    port = _free_port()
    env = _env(tmp_path, secrets, DRIFTLIGHT_DB=str(db), PORT=str(port))
    proc = subprocess.Popen(
        ["sh", str(ENTRYPOINT), "app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_health(port, proc)
        assert _listening(port) == [address]
        health = _run(["health"], env)
        assert health.returncode == 0, health.stderr
    finally:
        _stop(proc)
    err = proc.stderr.read()
    notice = "configures no login ([auth]) and no [driftlight] allow_unauthenticated = true" in " ".join(err.split())
    assert notice == (address == "127.0.0.1"), err
    assert _run(["health"], env).returncode != 0  # nothing answers any more


def test_scheduler_health_is_its_lock(db: Path, tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = _env(tmp_path, DRIFTLIGHT_DB=str(db), DRIFTLIGHT_INBOX=str(inbox))
    proc = subprocess.Popen(
        ["sh", str(ENTRYPOINT), "schedule", "--every", "1h", "--no-alert"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _run(["health"], env).returncode != 0:
            assert time.monotonic() < deadline and proc.poll() is None, "the scheduler never took its lock"
            time.sleep(0.3)
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0  # SIGTERM reaches python through the exec: a clean stop
    unhealthy = _run(["health"], env)
    assert unhealthy.returncode == 1 and "nobody holds" in unhealthy.stderr


# -- the Dockerfile and compose.yaml against the tree ------------------------------------------------
def test_the_image_copies_what_the_app_needs_and_ignores_nothing_it_copies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    sources = [
        src
        for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.M)
        for src in line.split()[:-1]
        if not src.startswith("--")
    ]
    assert {
        "requirements.txt",
        "lib/",
        "app_pages/",
        "app.py",
        "serve.py",
        ".streamlit/config.toml",
        "docker/entrypoint.sh",
    } <= set(sources)
    for src in sources:
        assert (ROOT / src).exists(), src
    ignored = [
        p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")
    ]
    for src in sources:
        assert src.rstrip("/") not in ignored and src.split("/")[0] not in ignored, src
    assert ".streamlit/secrets.toml" in ignored  # a real secrets file never lands in an image
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)  # not root
    assert "HEALTHCHECK" in dockerfile and "chromium" in dockerfile
    assert os.access(ENTRYPOINT, os.X_OK)


def test_compose_runs_app_and_scheduler_on_one_store_with_read_only_secrets():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app, scheduler = compose["services"]["app"], compose["services"]["scheduler"]
    assert app["command"] == ["app"] and scheduler["command"][0] == "schedule"
    for service in (app, scheduler):
        assert "store:/data" in service["volumes"]
        assert "./.streamlit/secrets.toml:/app/.streamlit/secrets.toml:ro" in service["volumes"]
    assert "store" in compose["volumes"]
