# Two commands a new user needs: `make demo` and `make test`. Everything they need is set up here.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/socialcredit demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

test: $(STAMP)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(MAKE) lint
	$(VENV)/bin/pytest -m "not slow"

test-all: $(STAMP)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) bench/bench_registry.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
