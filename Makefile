# Two entry points: `make run` starts Roundtable, `make test` runs every check.
# Each installs what it needs into .venv (and tests/interop/node_modules for tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
TEST_STAMP := $(VENV)/.test-installed
NODE_STAMP := tests/interop/node_modules/.package-lock.json
WEB_STAMP := static/node_modules/.package-lock.json
BENCH_NODE_STAMP := bench/node/node_modules/.package-lock.json
BENCH_STAMP := $(VENV)/.bench-installed
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint typecheck pytest clean web bench soak fuzz

run: $(RUNTIME_STAMP)
	$(BIN)/roundtable serve

test: lint typecheck pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP) $(NODE_STAMP) $(WEB_STAMP) $(BENCH_NODE_STAMP) $(CHROMIUM)
	$(BIN)/pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUNTIME_STAMP)

$(NODE_STAMP): tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

# The benchmarks' load generator and peer servers (the tests run a short smoke of them).
$(BENCH_NODE_STAMP): bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error

$(BENCH_STAMP): pyproject.toml $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

# The comparison with the peer servers (docs/benchmarks.md): about 15 minutes.
bench: $(BENCH_STAMP) $(BENCH_NODE_STAMP)
	$(BIN)/python -m bench.compare

# The web client's build tools (esbuild): the tests rebuild the bundle and compare it
# with the committed static/dist.
$(WEB_STAMP): static/package-lock.json
	cd static && npm ci --no-audit --no-fund --loglevel=error

# Browser tests drive Debian's Chromium through Playwright.
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q chromium chromium-driver || { \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
	  $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q chromium chromium-driver; }

# Rebuild static/dist after changing static/src (the bundle is committed).
web: $(WEB_STAMP)
	cd static && node build.mjs

clean:
	rm -rf $(VENV) tests/interop/node_modules static/node_modules .pytest_cache .mypy_cache .ruff_cache

# The soak (bench/soak.py): 1,000 connections over 100 documents in cycles for
# $(MINUTES) minutes, checking that RSS stays flat and every document unloads (and,
# with SOAK_REDIS_URL, that no Redis listener is left). The tests run a three-cycle
# version (tests/bench/test_soak.py).
MINUTES ?= 5
SOAK_REDIS_URL ?= redis://127.0.0.1:6379/0
soak: $(TEST_STAMP)
	$(BIN)/python -m bench.soak --minutes $(MINUTES) $(if $(SOAK_REDIS_URL),--redis-url $(SOAK_REDIS_URL))

# Fuzz a live server with random and mutated y-websocket frames until $(FRAMES) frames
# went out (tests/server/test_fuzz.py; the tests run a short version); prints a report.
FRAMES ?= 100000
fuzz: $(TEST_STAMP)
	ROUNDTABLE_FUZZ_FRAMES=$(FRAMES) $(BIN)/pytest tests/server/test_fuzz.py -s -q
