# The README's commands. Each one sets up .venv itself on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install reproduce test test-all bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,bench]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The main job. Until the comparison suites land (issue 3) it is the scan-core benchmark.
reproduce: bench

test: $(STAMP)
	$(BIN)/python -m pytest -q

# also the `slow` tests
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: $(STAMP)
	$(BIN)/python -m runners.bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
