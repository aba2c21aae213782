# make run  -> install, then start the all-in-one with demo data and print the URLs
# make test -> install with test extras, then ruff, mypy and pytest
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
TEST_STAMP := $(VENV)/.test-deps-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint typecheck pytest bench clean readme

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Flowmeter needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEPS_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(DEPS_STAMP)

run: $(DEPS_STAMP)
	$(BIN)/flowmeter up --demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

readme: $(DEPS_STAMP)
	$(BIN)/python -m models.settings README.md

bench: $(DEPS_STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/orchestrator.py
	$(BIN)/python bench/queries.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
