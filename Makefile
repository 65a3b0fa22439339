# firsttouch: `make run` serves the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORPUS ?= ../shared/corpus
PYTEST_ARGS ?=
# Where `make run` accepts inbound mail over SMTP.
SMTP ?= 127.0.0.1:2525

.PHONY: run demo test test-fast bench acceptance lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/firsttouch db upgrade
	$(BIN)/firsttouch serve --smtp $(SMTP)

demo: $(STAMP)
	$(BIN)/firsttouch demo --serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" -x -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

acceptance: $(STAMP)
	$(BIN)/python -m acceptance $(CORPUS)

lint: $(STAMP)
	$(BIN)/ruff check firsttouch tests bench acceptance
	$(BIN)/ruff format --check firsttouch tests bench acceptance
	$(BIN)/mypy firsttouch

format: $(STAMP)
	$(BIN)/ruff format firsttouch tests bench acceptance
	$(BIN)/ruff check --fix firsttouch tests bench acceptance

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
