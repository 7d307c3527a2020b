# mimpaper: every target installs what it needs into .venv first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= smoke

.PHONY: install test sync-check pytest nbtest quickstart reproduce docs lab bench clean

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## the README's test command: notebooks/library/tests in step, pytest, notebook tests, docs
test: install sync-check pytest nbtest docs

sync-check: install
	$(BIN)/python tools/check_sync.py

pytest: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -q -n 2 -p no:cacheprovider

nbtest: install
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing

quickstart: install
	$(BIN)/mimpaper run-notebook nbs/experiments/quickstart.ipynb

## torch's default threads (all cores): on a quiet 2-core machine the smoke set took 14m01s with 2 threads, 20m34s with 1
reproduce: install
	$(BIN)/mimpaper reproduce --profile $(PROFILE)

docs: install
	$(BIN)/python tools/build_docs.py

lab: install
	$(BIN)/pip install -q jupyterlab
	$(BIN)/jupyter lab nbs/

clean:
	rm -rf _docs _proc _site .pytest_cache
