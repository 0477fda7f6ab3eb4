# Driftlight: the app and the scheduler, two commands of one image (docs/deploy.md).
#   docker build -t driftlight .
#   docker compose up -d            # compose.yaml: app + scheduler sharing the store volume
# The base is a build argument so that a mirror of the same image can stand in for it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# Debian's Chromium prints PDF reports (Playwright drives it; no browser download at run time;
# Playwright's driver needs libatomic1, which the slim image lacks); tini reaps the browser's
# processes and passes signals on (SIGTERM: the scheduler finishes its file).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium libatomic1 fonts-dejavu-core tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY requirements.txt ./
RUN python3 -m venv /opt/venv && pip install -r requirements.txt

RUN groupadd --system --gid 10001 driftlight \
    && useradd --system --uid 10001 --gid driftlight --home-dir /app --no-create-home --shell /usr/sbin/nologin driftlight \
    && mkdir -p /data /inbox /app/.streamlit \
    && chown driftlight:driftlight /data /inbox

COPY lib/ lib/
COPY app_pages/ app_pages/
COPY app.py serve.py LICENSE ./
COPY .streamlit/config.toml .streamlit/secrets.toml.example .streamlit/
COPY docker/entrypoint.sh docker/

# The store and the inbox are volumes; the secrets file is mounted read-only at
# /app/.streamlit/secrets.toml (the app's st.secrets and `alert` read the same file).
# DRIFTLIGHT_SECRETS is that file's path, not a secret:
# hadolint ignore=DL3064
ENV DRIFTLIGHT_DB=/data/driftlight.duckdb \
    DRIFTLIGHT_INBOX=/inbox \
    DRIFTLIGHT_SECRETS=/app/.streamlit/secrets.toml \
    DRIFTLIGHT_CHROMIUM=/usr/bin/chromium \
    PORT=8501
VOLUME ["/data", "/inbox"]
USER 10001:10001
EXPOSE 8501

# The app: GET /_stcore/health answers "ok". The scheduler: its lock beside the store is held.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/app/docker/entrypoint.sh", "health"]

ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["app"]
