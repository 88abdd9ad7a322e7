# Two entry points: `make run` starts Roundtable, `make test` runs every check.
# Each installs what it needs into .venv (and tests/interop/node_modules for tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_STAMP := tests/interop/node_modules/.package-lock.json
WEB_STAMP := static/node_modules/.package-lock.json
BENCH_NODE_STAMP := bench/node/node_modules/.package-lock.json
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
CADDY := /usr/bin/caddy

# Python packages come from uv.lock, installed by uv (itself pinned with hashes in
# uv-requirements.txt, in .uv). uv uses the interpreter $(PYTHON) names and never
# downloads one. `--locked` stops with an error when pyproject.toml and uv.lock disagree;
# `--inexact` lets `make run` after `make test` keep the test tools (all from the lock).
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
# `--compile-bytecode` writes each package's .pyc files at install, as pip does, so that
# a server process starts without compiling them (and without the memory that costs);
# the project's own modules are compiled after every sync for the same reason.
SYNC = $(UV) sync --quiet --locked --inexact --compile-bytecode --python $(PYTHON)
COMPILE = $(BIN)/python -m compileall -q server rooms crdt >/dev/null

.PHONY: run test check lint typecheck pytest clean web web-check bench page-speed soak fuzz \
	mutation sync sync-test sync-bench sync-mutation lock upgrade test-latest

run: sync
	$(BIN)/roundtable serve

test: sync-test web-check
	$(MAKE) --no-print-directory check

# The checks alone, with the tools in $(BIN) (test-latest runs them in another venv).
check: lint typecheck pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest: $(NODE_STAMP) $(WEB_STAMP) $(BENCH_NODE_STAMP) $(CHROMIUM) $(NGINX) $(CADDY)
	$(BIN)/pytest

$(UV): uv-requirements.txt
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --quiet --disable-pip-version-check \
	  --require-hashes --no-deps -r uv-requirements.txt
	touch $@

sync: $(UV)
	$(SYNC)
	$(COMPILE)

sync-test: $(UV)
	$(SYNC) --extra test
	$(COMPILE)

sync-bench: $(UV)
	$(SYNC) --extra test --extra bench
	$(COMPILE)

sync-mutation: $(UV)
	$(SYNC) --extra test --extra mutation

# After editing the dependencies in pyproject.toml: resolve what changed, keep the rest.
lock: $(UV)
	$(UV) lock

# Move every locked package to the newest release pyproject.toml allows, on purpose;
# then run `make test` and commit uv.lock.
upgrade: $(UV)
	$(UV) lock --upgrade

# The suite against the newest releases pyproject.toml allows, in its own venv, outside
# the lock: tells whether `make upgrade` is safe before anyone depends on it.
LATEST_VENV := .venv-latest
test-latest: $(UV) $(NODE_STAMP) $(WEB_STAMP) $(BENCH_NODE_STAMP) $(CHROMIUM)
	rm -rf $(LATEST_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(LATEST_VENV)
	$(UV) pip install --quiet --python $(LATEST_VENV)/bin/python --refresh \
	  -e '.[test]'
	@echo "what make upgrade would change in uv.lock:"
	@$(UV) lock --upgrade --dry-run
	$(MAKE) --no-print-directory check BIN=$(LATEST_VENV)/bin

$(NODE_STAMP): tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

# The benchmarks' load generator and peer servers (the tests run a short smoke of them).
$(BENCH_NODE_STAMP): bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error

# The comparison with the peer servers (docs/benchmarks.md): about 45 minutes on two cores.
bench: sync-bench $(BENCH_NODE_STAMP)
	$(BIN)/python -m bench.compare

# How fast the web client is on a phone (docs/performance.md): the join page and the room
# page in Chromium with the CPU 4x slower and a slow 4G network, medians of $(RUNS) runs
# (about 20 s a run), beside the numbers from before the bundle was split. Writes every
# run to bench/results/page-speed.json.
RUNS ?= 5
page-speed: sync-test $(CHROMIUM)
	$(BIN)/python -m bench.page_speed --runs $(RUNS) \
	  --compare bench/results/page-speed-before.json --json bench/results/page-speed.json

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

# The multi-host test (tests/deploy) runs Debian's nginx with docs/deploy/nginx.conf, and
# checks docs/deploy/Caddyfile with Debian's caddy.
$(NGINX) $(CADDY):
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q nginx-light caddy || { \
	  $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
	  $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q nginx-light caddy; }

# Rebuild static/dist after changing static/src (the bundle is committed).
web: $(WEB_STAMP)
	cd static && node build.mjs

# The web client's own checks: ESLint (static/eslint.config.js) and the unit tests of its
# pure logic (static/test/*.test.js, node's test runner). `make test` runs them first.
# The shell expands the test files: node 22 and later take no directory after --test.
web-check: $(WEB_STAMP)
	cd static && npx eslint . && node --test test/*.test.js

clean:
	rm -rf $(VENV) .uv $(LATEST_VENV) tests/interop/node_modules static/node_modules .pytest_cache .mypy_cache .ruff_cache mutants

# The soak (bench/soak.py): 1,000 connections over 100 documents in cycles for
# $(MINUTES) minutes, checking that RSS stays flat and every document unloads (and,
# with SOAK_REDIS_URL, that no Redis listener is left). The tests run a three-cycle
# version (tests/bench/test_soak.py).
MINUTES ?= 5
SOAK_REDIS_URL ?= redis://127.0.0.1:6379/0
soak: sync-test
	$(BIN)/python -m bench.soak --minutes $(MINUTES) $(if $(SOAK_REDIS_URL),--redis-url $(SOAK_REDIS_URL))

# Fuzz a live server with random and mutated y-websocket frames until $(FRAMES) frames
# went out (tests/server/sockets/test_fuzz.py; the tests run a short version); then run $(CASES)
# cases of the convergence fuzzer: pycrdt and yjs clients editing through two server
# processes with delayed, reordered and duplicated delivery and reconnects
# (tests/convergence; the tests run 5 cases; it needs Redis and PostgreSQL, and fails
# without them). SEED=N replays from case seed N. Each prints a report.
FRAMES ?= 100000
CASES ?= 200
SEED ?=
# Mutation testing ([tool.mutmut] in pyproject.toml): mutants of crdt/, the live document
# and the permission code, each against the tests that reach the function it changes.
# Prints every mutant that survived; `.venv/bin/mutmut show NAME` shows one. A later run
# only re-checks functions that changed. Not part of `make test`: a first run takes an
# hour or more on two cores.
mutation: sync-mutation
	ROUNDTABLE_TEST_TIMEOUT_SCALE=3 $(BIN)/mutmut run
	$(BIN)/mutmut results

fuzz: sync-test $(NODE_STAMP)
	ROUNDTABLE_FUZZ_FRAMES=$(FRAMES) $(BIN)/pytest tests/server/sockets/test_fuzz.py -s -q
	ROUNDTABLE_REQUIRE_SERVICES=1 ROUNDTABLE_CONVERGENCE_CASES=$(CASES) \
	  $(if $(SEED),ROUNDTABLE_CONVERGENCE_SEED=$(SEED)) $(BIN)/pytest tests/convergence/test_convergence.py -s -q
