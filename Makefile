# Market Price Predictor — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2

.DEFAULT_GOAL := help

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(VENV)/.installed ## Create .venv and install the project with its dev tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $@

lint: setup ## Ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup ## mypy over the package
	$(BIN)/mypy src

test: lint typecheck ## Lint, type-check, then the test suite (slow tests excluded)
	$(BIN)/pytest $(PYTEST_ARGS)

test-slow: setup ## Only the tests marked slow (CI runs them after `make test`)
	$(BIN)/pytest $(PYTEST_ARGS) -m slow || [ $$? -eq 5 ]  # 5: none marked slow

test-all: lint typecheck ## Lint, type-check, then every test: the default run and the slow ones
	$(BIN)/pytest $(PYTEST_ARGS) -m ''

mutation: setup ## Mutation testing of the money-and-trust modules (~10 min on 2 shared cores); writes docs/benchmarks/mutation.md
	$(BIN)/python -m bench.mutation

demo: setup ## Offline end-to-end run on the sample data (ingest, train, replay 60 days)
	$(BIN)/mpp demo

up: setup ## Serve the API and the dashboard on this home (after make demo); Ctrl-C stops both
	$(BIN)/mpp up

format: setup ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: setup ## Run the benchmarks and rewrite docs/benchmarks.md sections
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.accuracy
	$(BIN)/python -m bench.train_cost
	$(BIN)/python -m bench.daily

mlflow-ui: setup ## Open the MLflow UI on this home's tracking database
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(abspath $(or $(MPP_HOME),.mpp))/mlflow.db --host 127.0.0.1 --port 5000

clean: ## Remove the local store, MLflow data and caches (keeps .venv)
	rm -rf .mpp .pytest_cache .ruff_cache .mypy_cache mutants

.PHONY: help setup lint typecheck test test-slow test-all mutation demo up format bench mlflow-ui clean
