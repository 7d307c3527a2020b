# mimpaper: every target installs what it needs into .venv first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= smoke

.PHONY: install test sync-check pytest nbtest quickstart reproduce run-profile docs lab bench clean

$(STAMP): settings.ini setup.py constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
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
## the main job: regenerate the smoke profile from scratch (results/smoke-check/) and compare every committed number
reproduce: install
	$(BIN)/mimpaper reproduce --profile $(PROFILE) --check

## run (or resume) a profile into results/PROFILE/, e.g. the evidence: make run-profile PROFILE=cpu [WORKERS=2]
## (WORKERS=N: the evidence runs train in N one-thread processes side by side, one pool ahead of the notebooks; faster on a 2-core CPU)
run-profile: install
	$(BIN)/mimpaper reproduce --profile $(PROFILE) $(if $(WORKERS),--workers $(WORKERS))

docs: install
	$(BIN)/python tools/build_docs.py

lab: install
	$(BIN)/pip install -q jupyterlab
	$(BIN)/jupyter lab nbs/

clean:
	rm -rf _docs _proc _site .pytest_cache

## issue #16's GPU check on one CUDA GPU (about 9 min of an H200, at most 10): bench, gpu/slow notebook cells, CUDA tests, method comparison
.PHONY: gpu-check
gpu-check: install
	$(BIN)/python tools/gpu_check.py

## on a machine with a CUDA GPU: the notebooks' `#| gpu` / `#| slow` cells, then the CUDA pytest tests
.PHONY: test-gpu
test-gpu: install
	$(BIN)/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'make test-gpu needs a CUDA GPU')"
	$(BIN)/nbdev_test --flags "gpu slow" --timing
	$(BIN)/python -m pytest tests -k cuda -q -p no:cacheprovider
