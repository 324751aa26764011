# Corridor's entry points. Every target creates .venv on first use and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install clean-devnet sim-long bench bench-quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## run: start a local consortium network with a live demo workload (Ctrl-C stops it)
run: $(VENV)/.installed
	$(BIN)/corridor devnet

## test: the whole test suite (unit, property, end-to-end with real node processes)
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

## sim-long: the consensus simulator on many more seeds per cluster size (make sim-long SEEDS=20000 START=100000)
sim-long: $(VENV)/.installed-test
	CORRIDOR_SIM_SEEDS=$(or $(SEEDS),10000) CORRIDOR_SIM_SEED_START=$(or $(START),0) $(BIN)/python -m pytest tests/sim/test_random_schedules.py -q

## bench: the performance benchmark, scenarios a-e with 20 s windows (docs/performance.md; results in bench/results/)
bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

## bench-quick: the short benchmark, scenarios a, b and d with 10 s windows (under a minute)
bench-quick: $(VENV)/.installed
	$(BIN)/python bench/run.py --quick

clean-devnet:
	rm -rf .corridor-devnet
