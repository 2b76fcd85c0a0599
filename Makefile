# gooseterm: one entry point for setting up, running, testing and benchmarking.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
run: export GOOSETERM_HOME ?= $(CURDIR)/.gooseterm-demo

.PHONY: run setup test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/gooseterm demo --if-missing
	$(BIN)/gooseterm

test: $(STAMP)
	./scripts/test.sh

bench: $(STAMP)
	$(BIN)/python bench/ledger_bench.py

clean:
	rm -rf $(VENV) .gooseterm-demo .pytest_cache
