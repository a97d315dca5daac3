# Two commands a new user needs: `make demo` and `make test`. Everything they need is set up here.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
RAY_STAMP := $(VENV)/.ray-stamp

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

# The tests run studies on a local Ray cluster (tests/study/test_ray*.py): the ray extra, pinned in
# pyproject.toml. The core install (`make setup`, `make demo`) stays without it.
$(RAY_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $(RAY_STAMP)

test: $(RAY_STAMP)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(MAKE) lint
	$(VENV)/bin/pytest -m "not slow"

test-all: $(RAY_STAMP)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(VENV)/bin/pytest

# The benchmarks' peers (Mesa, LASER, Starsim) come with the bench extra, pinned in pyproject.toml.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Every benchmark at its documented default size: out/bench/results.json and results.md.
# First the peers' smoke tests (make test runs our side of every benchmark at its smoke size).
bench: $(BENCH_STAMP)
	$(VENV)/bin/pytest -q -m peers tests/bench
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
