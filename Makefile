# churnml: the two commands of the README are `make train` and `make test`.
# Both create .venv with Python 3.11 and install what they need when missing.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: train test lint types unit metrics score synthetic bench clean help

help:
	@echo "make train   train on the bundled data, log to ./mlflow.db"
	@echo "make test    lint + types + the whole test suite"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@command -v java >/dev/null 2>&1 || echo "warning: the Spark tests need Java 17 on PATH"
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	@touch $(STAMP)

train: $(STAMP)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python -m churnml.train $(ARGS)

metrics: $(STAMP)
	$(BIN)/python -m churnml.metrics $(ARGS)

score: $(STAMP)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python -m churnml.score $(ARGS)

synthetic: $(STAMP)
	$(BIN)/python -m churnml.datasets synthetic $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check churnml tests benchmarks
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint types unit

bench: $(STAMP)
	cd benchmarks && ../$(BIN)/python features.py $(ARGS)
	cd benchmarks && ../$(BIN)/python train_fit.py
	cd benchmarks && ../$(BIN)/python scoring.py
	cd benchmarks && ../$(BIN)/python read_validate.py
	cd benchmarks && ../$(BIN)/python log_dataset.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
