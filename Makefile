# gooseterm: one entry point for setting up, running, testing and benchmarking.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := $(CURDIR)/.gooseterm-demo
# Test servers and benchmark data live here, outside the clone (scripts/lib.sh says what goes where).
ifeq ($(strip $(GOOSETERM_CACHE)),)
GOOSETERM_CACHE := $(HOME)/.cache/gooseterm
endif
export GOOSETERM_CACHE
run: export GOOSETERM_HOME ?= $(DEMO)

.PHONY: run setup deps test contracts bench reset-demo clean clean-bench clean-deps

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

setup: $(STAMP)

# The venv and the demo ledger only: `make run` never installs or builds test servers.
run: $(STAMP)
	$(BIN)/gooseterm demo --if-missing
	$(BIN)/gooseterm

# A fresh demo in .gooseterm-demo/ (the venv stays).
reset-demo: $(STAMP)
	rm -rf $(DEMO)
	GOOSETERM_HOME=$(DEMO) $(BIN)/gooseterm demo

# The test servers and tools, without running the tests (make test does this first).
deps:
	./scripts/ensure-deps.sh

# The venv and the test servers are set up side by side, then pytest runs (scripts/test.sh).
test:
	./scripts/test.sh

# DESIGN.md's import arrows (the import-linter contracts in pyproject.toml); the tests run this too.
contracts: $(STAMP)
	$(BIN)/python scripts/lint_imports.py

bench: $(STAMP)
	$(BIN)/python bench/ledger_bench.py

# What the clone holds beyond its sources. The test servers and benchmark data in
# $(GOOSETERM_CACHE) stay: see clean-bench and clean-deps.
clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .hypothesis bench/out *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# The benchmarks' data (the 1,000,000-entry ledger is 1.5 GB; bench/out is where older versions kept it).
clean-bench:
	rm -rf $(GOOSETERM_CACHE)/bench bench/out

# The test servers ensure-deps put in the cache, and the apt command that removes the packages it installed.
clean-deps:
	./scripts/clean-deps.sh
