# Entry points of the project. `make test` and `make demo` work as the first command on a fresh Debian
# machine: they create .venv, install rgym into it, and start the services they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-k images -x'
PYTEST_ARGS ?=

.PHONY: help install test demo images bench lint clean distclean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-10s %s\n", $$1, $$2 }'

# venv needs ensurepip, which Debian ships apart in python3-venv.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || scripts/ensure-system-packages python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed  ## Create .venv and install rgym with its dev tools.

# Under CI (CI=true) a missing Docker engine or PostgreSQL fails the target; locally those tests skip.
IN_CI = case "$${CI:-}" in 1|true|yes) true ;; *) false ;; esac

test: $(VENV)/.installed  ## Install system packages, start Docker and PostgreSQL, run every test.
	scripts/ensure-system-packages
	@if scripts/ensure-docker; then \
		$(BIN)/rgym images build --base-only; \
	elif $(IN_CI); then \
		echo "make test: no Docker engine under CI" >&2; exit 1; \
	fi
	@url="$$(scripts/ensure-postgres)" || { ! $(IN_CI) || exit 1; url=""; }; \
	set -x; RGYM_TEST_POSTGRES_URL="$$url" $(BIN)/pytest $(PYTEST_ARGS)

demo: $(VENV)/.installed  ## Build the images, run the tuner 5 times and write report.html.
	scripts/ensure-docker
	$(BIN)/rgym images build
	scripts/demo

images: $(VENV)/.installed  ## Build the base image and every task image (no-op when up to date).
	scripts/ensure-docker
	$(BIN)/rgym images build

bench: $(VENV)/.installed  ## Run every benchmarks/bench_*.py.
	@shopt -s nullglob; for f in benchmarks/bench_*.py; do \
		m="benchmarks.$$(basename "$$f" .py)"; echo "== $$m"; $(BIN)/python -m "$$m" || exit 1; \
	done

lint: $(VENV)/.installed  ## ruff and mypy --strict.
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:  ## Remove caches, build outputs and the demo report (keeps .venv).
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache report.html
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean  ## Also remove .venv.
	rm -rf $(VENV)
