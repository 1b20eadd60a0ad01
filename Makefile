# Two entry points (see README): `make demo` and `make test`. Both create .venv in the
# repository root and leave the CLI at .venv/bin/lakefuse.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench bench-quick bench-readme clean

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

# the README's full-suite table (baselines, default, one-change variants; 23-min variant budget)
BENCH_SYSTEMS := exact_fd splink lakefuse lakefuse[sets=components] lakefuse[sets=cliques] \
	lakefuse[sets=leiden] lakefuse[sets=louvain] lakefuse[sets=infomap] lakefuse[sets=spectral] \
	lakefuse[sets=girvan_newman] lakefuse[sets=gnn] lakefuse[resolver=vote] lakefuse[resolver=truth] \
	lakefuse[blocker=hybrid] lakefuse[judge=ssacl,blocker=hybrid]
bench-readme: $(VENV)/.dev
	$(BIN)/lakefuse bench run --suite full -o bench-out/full -q --timeout 180 --budget 1380 \
		$(foreach s,$(BENCH_SYSTEMS),--system '$(s)') --readme README.md

clean:
	rm -rf $(VENV) demo-out bench-out .pytest_cache .ruff_cache
