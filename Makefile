# vpncheck — two commands do all set-up: `make demo` and `make test`.
# Needs only python3 (>= 3.11), node + npm and redis-server on the PATH.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: help install demo test lint typecheck layers unit bench sandbox clean check-tools

help:
	@echo "make demo    - install, start the sandbox, run /vpncheck scenarios, print the Slack threads"
	@echo "make test    - install, then ruff + mypy + every test (real Redis, Azurite, simulators)"
	@echo "make sandbox - start every local stand-in, serve and worker; print how to drive them (README: Try it by hand)"
	@echo "make bench   - run the benchmarks in bench/ (by hand; figures go into the README)"

check-tools:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python >= 3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 needed, found $$($(PYTHON) --version)"; exit 1; }
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	@command -v redis-server >/dev/null || { echo "error: redis-server not found (Debian: apt-get install redis-server)"; exit 1; }

$(STAMP): pyproject.toml | check-tools
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

$(NODE_STAMP): package.json package-lock.json | check-tools
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# checkov lives in a venv of its own: it pins packaging<24, which pytest 9 cannot use.
CHECKOV := $(VENV)/checkov/bin/checkov
$(CHECKOV): | check-tools
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet checkov==3.3.30

install: $(STAMP) $(NODE_STAMP)

demo: install
	$(PY) -m sandbox demo

sandbox: install
	$(PY) -m sandbox start --bot

lint: $(STAMP)
	$(VENV)/bin/ruff check bot handlers sandbox tests bench
	$(VENV)/bin/ruff format --check bot handlers sandbox tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# the layer contracts of pyproject.toml [tool.importlinter] (the house plan in docs/architecture.md)
layers: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

# The three installs are mostly downloads and unpacking: they run side by side (-j3). They byte-compile:
# where PYTHONDONTWRITEBYTECODE is set, nothing else would, and each process start (the tests start many
# workers) would compile the Azure and Slack SDKs again (4.4 s instead of 1.5 s per start, measured). Test processes spend
# most of their time waiting on sockets and subprocesses, so four share the two cores of a CI machine
# (each with its own private Redis and Azurite).
unit: install $(CHECKOV)
	@command -v kubectl >/dev/null || echo "note: kubectl not found: the kustomize checks of tests/deploy skip (see README, 'Tools the deploy checks use')"
	$(VENV)/bin/pytest -q -n 4

test:
	@$(MAKE) --no-print-directory -j3 --output-sync=target install $(CHECKOV)
	@$(MAKE) --no-print-directory lint typecheck layers unit

bench: install
	$(PY) bench/parse_bench.py
	$(PY) -m bench.queue_bench
	$(PY) -m bench.ack_bench
	$(PY) -m bench.zip_bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
