# Two commands (README): `make run` starts the app on the demo fleet, `make test` runs every test.
# Both set up what they need from the package registries: a virtual environment from the
# pinned requirements, Debian's Chromium (+ poppler for PDF checks) for the browser tests, and
# Java 17 (openjdk-17-jre-headless) for the Spark engine of `sync`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= data/driftlight.duckdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format bench demo chromium system-deps clean

# pip installs without compiling (--no-compile: its compile of every package's own tests was most
# of its time), then the packages' code, not their tests, is compiled once, both cores at a time
# (~8 s): where PYTHONDONTWRITEBYTECODE is set (CI, containers), Python never writes a .pyc on
# import, and every process would compile pandas, numpy, scipy... afresh (+1.6 s per command).
COMPILE = $(PY) -m compileall -q -j 0 -x '/tests/' $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null || true

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(COMPILE)
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --no-compile -r requirements-dev.txt
	$(COMPILE)
	touch $@

demo: $(VENV)/.runtime
	$(PY) -m lib demo --db $(DB) $(DEMO_ARGS)

# The app is served at once; a missing demo store (or one whose build did not finish: its
# progress file, lib/demo/progress.py, is left) is built meanwhile, in its own process group
# (setsid, where there is one), stopped with the app. The page says how far the build is and fills in as models land.
run: $(VENV)/.runtime chromium
	$(VENV)/bin/python -m lib check-config --address localhost
	@build=; \
	if [ ! -f $(DB) ] || [ -f $(DB).demo.json ]; then \
		echo "Building the demo fleet into $(DB) while the app starts (the page shows it filling in)"; \
		$$(command -v setsid) $(PY) -m lib demo --db $(DB) $(DEMO_ARGS) & build=$$!; \
	fi; \
	trap 'if [ -n "$$build" ]; then kill -- -$$build 2>/dev/null || kill $$build 2>/dev/null; fi' EXIT INT TERM; \
	DRIFTLIGHT_DB=$(DB) $(VENV)/bin/streamlit run serve.py --server.address=localhost --server.headless=true

# PDF reports print with Chromium (a runtime part, like the requirements): installed with apt
# when missing; without apt, the line below says what to do (README, "PDF reports").
chromium:
	@if [ -z "$$DRIFTLIGHT_CHROMIUM" ] && [ ! -x /usr/bin/chromium ]; then \
		if command -v apt-get >/dev/null 2>&1; then \
			$(SUDO) apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "PDF reports need Chromium: install it, or set DRIFTLIGHT_CHROMIUM to its executable (README)"; \
		fi; \
	fi

system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium poppler-utils >/dev/null; \
	fi
	@# Java for `sync --engine spark` and its tests (issue 11): pyspark runs Spark in a JVM.
	@if ! command -v java >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi

# Lint: ruff (lint + format check) and the architecture's import contracts (pyproject.toml).
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint system-deps
	$(PY) -m pytest -q -n 2 --dist loadgroup

# The benchmark (not part of `make test`): Evidently lives in its own venv, never a dependency.
bench: $(VENV)/.dev
	test -x bench/.venv-evidently/bin/python || ( $(PYTHON) -m venv bench/.venv-evidently && \
		bench/.venv-evidently/bin/pip install --quiet -r bench/requirements-evidently.txt )
	$(PY) bench/run.py
	$(PY) bench/ingest_throughput.py

clean:
	rm -rf $(VENV) test-artifacts
