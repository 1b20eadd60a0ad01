# Two entry points (see README): `make demo` and `make test`. Both create .venv in the
# repository root and leave the CLI at .venv/bin/lakefuse.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.core
	$(BIN)/pip install -q -e ".[dev,bench,llm]"
	touch $@

demo: $(VENV)/.core
	$(BIN)/lakefuse integrate examples/lake -o demo-out
	@echo "lakefuse: the integrated example lake is in demo-out/ (integrated.csv, membership.csv, pairs.parquet, provenance.parquet, run.json)"

test: $(VENV)/.dev
	$(BIN)/ruff check src tests
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

bench-quick: $(VENV)/.dev
	$(BIN)/lakefuse bench run --suite quick

bench: $(VENV)/.dev
	$(BIN)/lakefuse bench run --suite full

clean:
	rm -rf $(VENV) demo-out bench-out .pytest_cache .ruff_cache
