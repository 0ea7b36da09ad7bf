# Each target creates .venv on first use and installs the package with its test extras
# (`bench` also with its bench extras).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

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

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/judge.py
	$(BIN)/python benchmarks/degenerate.py
	$(BIN)/python benchmarks/publish.py
	$(BIN)/python benchmarks/operations.py
	$(BIN)/python benchmarks/night.py
	$(BIN)/python benchmarks/wechat.py
	$(BIN)/python benchmarks/consultants.py
	$(BIN)/python benchmarks/ledger.py
	$(BIN)/python benchmarks/fleet.py

clean:
	rm -rf $(VENV) .mypy_cache .reconcile outputs/20* reports/20*
