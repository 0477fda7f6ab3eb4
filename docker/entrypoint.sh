#!/bin/sh
# Driftlight's container entrypoint (docs/deploy.md). One image, several commands:
#   app                    the Streamlit app on port ${PORT:-8501} (health: /_stcore/health)
#   schedule [OPTIONS]     python -m lib schedule: the inbox and `alert`, every 15 min by default
#   COMMAND [ARGS]         any other `python -m lib` command: evaluate, ingest, report, alert, ...
#   health                 exit 0 when this container's service is up (the image's HEALTHCHECK)
#   help                   this text
# The app serves beyond the container (0.0.0.0) only when the secrets file configures login
# ([auth]) or says so explicitly ([driftlight] allow_unauthenticated = true); otherwise it binds
# 127.0.0.1 and says why. `python -m lib check-config` then vets the setup before Streamlit starts.
set -eu

APP_DIR=${DRIFTLIGHT_APP_DIR:-$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)}
PYTHON=${DRIFTLIGHT_PYTHON:-python}
export DRIFTLIGHT_SECRETS="${DRIFTLIGHT_SECRETS:-$APP_DIR/.streamlit/secrets.toml}"
cd "$APP_DIR"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

# What the secrets file allows: "auth" (login configured), "open" (allow_unauthenticated = true),
# "local" (neither, or no file), or "invalid: REASON" (unreadable, or [auth] without a cookie_secret).
access_mode() {
    "$PYTHON" - "$DRIFTLIGHT_SECRETS" <<'PY'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as fh:
        secrets = tomllib.load(fh)
except FileNotFoundError:
    secrets = {}
except (OSError, tomllib.TOMLDecodeError) as exc:
    print(f"invalid: {sys.argv[1]}: {exc}")
    raise SystemExit(0)
table = secrets.get("driftlight") or {}
auth = secrets.get("auth")
if auth is not None and not (isinstance(auth, dict) and str(auth.get("cookie_secret") or "").strip()):
    print(f"invalid: {sys.argv[1]}: [auth] has no cookie_secret: set a long random string")
elif auth is not None:
    print("auth")
elif isinstance(table, dict) and table.get("allow_unauthenticated") is True:
    print("open")
else:
    print("local")
PY
}

# The app's own start-up checks (`python -m lib check-config`) when this version has them;
# access_mode above is the minimal check otherwise.
check_config() {
    if "$PYTHON" -m lib check-config --help >/dev/null 2>&1; then
        "$PYTHON" -m lib check-config --address "$1"
    fi
}

# The HEALTHCHECK: the app answers /_stcore/health; a scheduler holds its lock beside the store.
health() {
    role=$(cat "${TMPDIR:-/tmp}/driftlight.role" 2>/dev/null || echo app)
    "$PYTHON" - "$role" "${PORT:-8501}" "${DRIFTLIGHT_DB:-data/driftlight.duckdb}.schedule.lock" <<'PY'
import fcntl, os, sys, urllib.request
role, port, lock = sys.argv[1:4]
if role == "schedule":
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        raise SystemExit(f"unhealthy: no scheduler lock at {lock}")
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(0)  # held: the scheduler is running
    raise SystemExit(f"unhealthy: nobody holds {lock}")
with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
    raise SystemExit(0 if response.status == 200 and response.read().strip() == b"ok" else 1)
PY
}

run_app() {
    mode=$(access_mode)
    case "$mode" in
        invalid:*)
            echo "driftlight: ${mode#invalid: }" >&2
            exit 2
            ;;
        auth | open) address=0.0.0.0 ;;
        *)
            address=127.0.0.1
            echo "driftlight: $DRIFTLIGHT_SECRETS configures no login ([auth]) and no" \
                "[driftlight] allow_unauthenticated = true: serving on 127.0.0.1 inside the container" \
                "only, which a published port cannot reach (docs/deploy.md)" >&2
            ;;
    esac
    check_config "$address"
    echo app >"${TMPDIR:-/tmp}/driftlight.role"
    exec "$PYTHON" -m streamlit run serve.py \
        --server.address="$address" --server.port="${PORT:-8501}" --server.headless=true \
        --browser.gatherUsageStats=false "$@"
}

command=${1:-app}
[ "$#" -gt 0 ] && shift
case "$command" in
    app) run_app "$@" ;;
    schedule)
        echo schedule >"${TMPDIR:-/tmp}/driftlight.role"
        exec "$PYTHON" -m lib schedule "$@"
        ;;
    health) health ;;
    help | -h | --help) usage ;;
    *) exec "$PYTHON" -m lib "$command" "$@" ;;
esac
