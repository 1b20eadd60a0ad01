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

# llama.cpp (the `llm` extra) is compiled without its AMX code path: that path crashes
# (SIGSEGV in ggml_backend_amx_mul_mat, llama.cpp issue 20824) on Intel CPUs with AMX. The
# wheel is built once per machine into a cache folder named after these flags, so a wheel
# built earlier with other flags (pip's own cache keys on the source, not the flags) is
# never reused.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS := $(HOME)/.cache/lakefuse/wheels/llama-$(LLAMA_VERSION)-noamx-avx2

$(LLAMA_WHEELS)/.built: | $(BIN)/python
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel -q --no-deps --no-cache-dir \
		-w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.core $(LLAMA_WHEELS)/.built
	$(BIN)/pip install -q --find-links $(LLAMA_WHEELS) -e ".[dev,bench,llm,spark]"
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

# the tables of docs/benchmarks.md (about 5 h on 2 cores): baselines, the default, the plain judge,
# every set method and resolver on the full suite; the SSACL ablations on the entity and
# stadium tasks; the ICLCR ablations on the stadium join task and (as far as 45 min allow:
# ICLCR with k=10 or 20 runs past the 600 s row limit there) on DBLP; plain ICLCR on the other
# tasks (FEBRL3 with a 1,500 s row limit); then one merged report (the ablation run first, so
# that where runs share a row the full run's is kept); then every resolver and ICLCR ablation
# on 60 sampled gold conflicts of each task (about 1 h with two workers)
BENCH_SYSTEMS := exact_fd splink lakefuse lakefuse[judge=similarity] lakefuse[sets=* \
	lakefuse[resolver=truth] lakefuse[resolver=vote] lakefuse[resolver=typo_vote,no_context] \
	lakefuse[seed=* \
	lakefuse[judge=ssacl,ensemble=3]
FULL := --suite full -q --timeout 600 --tasks-dir bench-out/full/tasks
bench-readme: $(VENV)/.dev
	$(BIN)/lakefuse bench run $(FULL) -o bench-out/full $(foreach s,$(BENCH_SYSTEMS),--system '$(s)')
	$(BIN)/lakefuse bench run $(FULL) -o bench-out/abl --task febrl_entity --task stadium_join \
		--task dblp_entity --system 'lakefuse[judge=ssacl,*' --system 'lakefuse[judge=similarity]'
	$(BIN)/lakefuse bench run $(FULL) -o bench-out/iclcr --task stadium_join \
		--setting balanced --setting se_heavy --system 'lakefuse[resolver=*'
	$(BIN)/lakefuse bench run $(FULL) -o bench-out/iclcr2 --task dblp_entity --setting balanced \
		--budget 2700 --system 'lakefuse[resolver=*'
	$(BIN)/lakefuse bench run $(FULL) -o bench-out/iclcr3 --task febrl_entity --task dblp_join \
		--task dblp_entity --task stadium_join --system 'lakefuse[resolver=iclcr]'
	$(BIN)/lakefuse bench run $(FULL) --timeout 1500 -o bench-out/iclcr4 --task febrl3_entity \
		--system 'lakefuse[resolver=iclcr]'
	$(BIN)/lakefuse bench report bench-out/abl/bench.json bench-out/full/bench.json \
		bench-out/iclcr/bench.json bench-out/iclcr2/bench.json bench-out/iclcr3/bench.json \
		bench-out/iclcr4/bench.json -o bench-out/readme --readme docs/benchmarks.md
	$(BIN)/lakefuse bench resolvers -q --tasks-dir bench-out/full/tasks --n 60 --jobs 2 \
		-o bench-out/resolvers --readme docs/benchmarks.md

clean:
	rm -rf $(VENV) demo-out bench-out .pytest_cache .ruff_cache
