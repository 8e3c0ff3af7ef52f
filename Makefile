# strangler-fig: every target creates .venv and installs the project when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCKED := $(VENV)/.locked
INSTALLED := $(VENV)/.installed
PYTEST_WORKERS ?= 2

LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock

.PHONY: run test lint bench soak drill test-tools lock upgrade clean help test-django42 wheel

help:
	@echo "make run    start the whole stack on 127.0.0.1 (SQLite, no Docker)"
	@echo "make test   run every test"
	@echo "make lint   ruff + import contracts + mypy"
	@echo "make test-django42  strangler_django's suite on Django 4.2 (its own virtualenv)"
	@echo "make bench  benchmarks (ratios measured side by side)"
	@echo "make drill  every rollback drill under load, the orders-crash drill, then the chaos drill (CHAOS_SEEDS); reports in drills/reports/"
	@echo "make soak   70% of capacity through the proxy, flips every 5 s, worker restarts (SOAK_S=600)"
	@echo "make lock   resolve the lock files again after a change of pyproject.toml (other pins kept)"
	@echo "make upgrade  move every pin of the lock files to the newest release pyproject.toml allows"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions, each checked against its hash (the lock pins pip and hatchling too), then
# the project itself, editable, built by the locked hatchling. A package dropped from the lock stays in
# .venv until `make clean`.
$(LOCKED): $(DEV_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $(LOCKED)

$(INSTALLED): $(LOCKED) pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(INSTALLED)

# The lock files: requirements.lock (what the project needs to run; the Docker image installs it) and
# requirements-dev.lock (that plus the tools to test, lint and lock; .venv installs it), resolved by uv
# for Python 3.11 on every platform, with hashes. `make lock` keeps every pin that pyproject.toml still
# allows; `make upgrade` moves them all to the newest release (then run make test: the drift checks of
# the data plane's copies of aiohttp and uvicorn code say what to re-read).
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command "make lock"
lock: $(LOCKED)
	$(UV_COMPILE) $(UV_ARGS) -o $(LOCK)
	$(UV_COMPILE) $(UV_ARGS) --extra dev -c $(LOCK) -o $(DEV_LOCK)
	$(BIN)/uv pip compile $(DJANGO42_IN) --universal --python-version 3.11 --generate-hashes --quiet \
		--custom-compile-command "make lock" $(UV_ARGS) -o $(DJANGO42_LOCK)

# strangler_django's own suite on Django 4.2, the oldest it supports, in a virtualenv of its own
# (.venv-django42: Django 4.2, DRF, pytest, pytest-django from their lock; the app from the checkout).
DJANGO42_IN := tests/django_app/requirements-django42.in
DJANGO42_LOCK := requirements-django42.lock
DJANGO42_VENV := .venv-django42
$(DJANGO42_VENV)/.locked: $(DJANGO42_LOCK)
	$(PYTHON) -m venv $(DJANGO42_VENV)
	$(DJANGO42_VENV)/bin/python -m pip install --quiet --require-hashes -r $(DJANGO42_LOCK)
	touch $@
test-django42: $(DJANGO42_VENV)/.locked
	$(DJANGO42_VENV)/bin/python -m pytest -c tests/django_app/pytest.ini tests/django_app -q

upgrade: UV_ARGS = --upgrade
upgrade: lock

run: $(INSTALLED)
	$(BIN)/strangler up

# Browser tests drive Debian's Chromium, the compose test Debian's docker-compose: installed with apt
# when missing (never `playwright install`).
test-tools:
	@scripts/ensure-test-tools

# Two phases: everything but the load tests on $(PYTEST_WORKERS) workers, then the load tests (locust,
# drills, soak, walkthrough) one at a time with the machine to themselves, since they measure
# rollback times and latency. Exit code 5 (nothing selected, e.g. PYTEST_ARGS names one file) is fine.
test: $(INSTALLED) test-tools
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not load" $(PYTEST_ARGS); \
	    status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]
	$(BIN)/python -m pytest -m load $(PYTEST_ARGS); status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]

# The installable wheel (docs/adopt.md), built by the locked PyPA build frontend and hatchling: dist/.
wheel: $(INSTALLED)
	$(BIN)/python -m build --wheel --no-isolation --outdir dist .

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The engine benchmark runs the real HAProxy (and nginx when it is there): test-tools installs it.
bench: $(INSTALLED) test-tools
	$(BIN)/python -m benchmarks

# Every rollback drill against a stack of its own (free ports, temporary home), with locust traffic beside
# the drill's own load, and the orders-crash drill (`drill all` ends with it), then the chaos drill for each of CHAOS_SEEDS; reports in drills/reports/.
DRILL_ARGS ?= --locust-users 5
CHAOS_SEEDS ?= 1 2 3
drill: $(INSTALLED)
	$(BIN)/strangler drill all $(DRILL_ARGS)
	for seed in $(CHAOS_SEEDS); do $(BIN)/strangler drill chaos --seed $$seed || exit 1; done

# The soak: 70% of the proxy's measured capacity with a route flip every 5 s and a data-plane worker
# restart every minute, one request in ten a write; ends with
# "soak: seconds=... requests=... writes=... failed_requests=... rss_growth=... fd_growth=...".
SOAK_S ?= 600
soak: $(INSTALLED)
	$(BIN)/python -m migration_plan.toolbox.soak --seconds $(SOAK_S)

clean:
	rm -rf $(VENV) $(DJANGO42_VENV) .pytest_cache .ruff_cache
