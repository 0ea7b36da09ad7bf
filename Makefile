# Each target creates .venv on first use and installs the package with its test extras.
# `bench` also makes .venv-bench, with the bench extras besides (DuckDB, numpy): the
# benchmarks' generators and yardsticks run there, while the nights they time run the
# product as .venv has it (pyarrow imports numpy at every start wherever it is installed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed-bench

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reconcile demo .

# mypy first (seconds with its cache in .mypy_cache): a type error fails before the suite runs.
# Then the suite on two workers (pytest-xdist), a whole test file per worker so that
# module fixtures are built once.
test: $(STAMP)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

$(BENCH_STAMP): pyproject.toml
	test -x $(BENCH_BIN)/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python -m pip install --quiet --upgrade pip
	$(BENCH_BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BENCH_BIN)/python benchmarks/ingest.py
	$(BENCH_BIN)/python benchmarks/judge.py
	$(BENCH_BIN)/python benchmarks/degenerate.py
	$(BENCH_BIN)/python benchmarks/publish.py
	$(BENCH_BIN)/python benchmarks/operations.py
	$(BENCH_BIN)/python benchmarks/night.py
	$(BENCH_BIN)/python benchmarks/wechat.py
	$(BENCH_BIN)/python benchmarks/consultants.py
	$(BENCH_BIN)/python benchmarks/ledger.py
	$(BENCH_BIN)/python benchmarks/fleet.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .reconcile outputs/20* reports/20*
