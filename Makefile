# strangler-fig: every target creates .venv and installs the project when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test lint bench soak drill test-tools clean help

help:
	@echo "make run    start the whole stack on 127.0.0.1 (SQLite, no Docker)"
	@echo "make test   run every test"
	@echo "make lint   ruff + import contracts"
	@echo "make bench  benchmarks (ratios measured side by side)"
	@echo "make drill  every rollback drill under load; reports in drills/reports/"
	@echo "make soak   70% of capacity through the proxy, flips every 5 s, worker restarts (SOAK_S=600)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

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

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: $(INSTALLED)
	$(BIN)/python -m benchmarks

# Every rollback drill against a stack of its own (free ports, temporary home), with locust traffic beside
# the drill's own load; reports in drills/reports/.
DRILL_ARGS ?= --locust-users 5
drill: $(INSTALLED)
	$(BIN)/strangler drill all $(DRILL_ARGS)

# The soak: 70% of the proxy's measured capacity with a route flip every 5 s and a data-plane worker
# restart every minute; ends with "soak: seconds=... failed_requests=... rss_growth=... fd_growth=...".
SOAK_S ?= 600
soak: $(INSTALLED)
	$(BIN)/python -m migration_plan.soak --seconds $(SOAK_S)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
