# Entry points of the project. `make test` and `make demo` work as the first command on a fresh Debian
# machine: they create .venv, install rgym into it, and start the services they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# docker-compose 1.29 (Debian's) or the docker compose v2 plugin, whichever is here.
COMPOSE ?= $(shell command -v docker-compose >/dev/null 2>&1 && echo docker-compose || echo docker compose)
# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-k images -x'
PYTEST_ARGS ?=
# Test processes (pytest-xdist). Most Docker tests wait on the engine rather than compute, so three workers
# keep two cores busy. Each test file stays on one worker (--dist loadfile): module fixtures, such as the
# shipped tasks' verifies, run once. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 3
# The mutation gate of `make test`: the share of mutants of the scoring estimators and metrics that the tests
# must kill, and the most seconds it may take (scripts/mutate.py gate: about 200 CPU-seconds, 2 to 4 minutes
# on 2 cores). It runs when PYTEST_ARGS is empty, as in CI.
MUTATION_GATE_MIN ?= 90
MUTATION_GATE_SECONDS ?= 480

.PHONY: help install test mutate demo images stack stack-envs bench lint clean distclean

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

test: $(VENV)/.installed  ## Install system packages, start Docker and PostgreSQL, run the mutation gate and every test.
	scripts/ensure-system-packages
	@if scripts/ensure-docker; then \
		$(BIN)/rgym images build --base-only; \
	elif $(IN_CI); then \
		echo "make test: no Docker engine under CI" >&2; exit 1; \
	fi
	@if [ -z "$(PYTEST_ARGS)" ]; then \
		$(BIN)/python scripts/mutate.py gate --min-score $(MUTATION_GATE_MIN) --time-limit $(MUTATION_GATE_SECONDS); \
	fi
	@url="$$(scripts/ensure-postgres)" || { ! $(IN_CI) || exit 1; url=""; }; \
	set -x; RGYM_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

mutate: $(VENV)/.installed  ## Mutation testing of the pure modules (mutmut); prints the mutation score.
	$(BIN)/python scripts/mutate.py all

demo: $(VENV)/.installed  ## Build the images, run the tuner 5 times and write report.html.
	scripts/ensure-docker
	$(BIN)/rgym images build
	scripts/demo

images: $(VENV)/.installed  ## Build the base image and every task image (no-op when up to date).
	scripts/ensure-docker
	$(BIN)/rgym images build

stack: $(VENV)/.installed  ## Build the team stack offline (PostgreSQL + rgym serve) and start it: docker-compose.yml.
	scripts/ensure-system-packages docker.io docker-compose
	scripts/ensure-docker
	$(BIN)/rgym images build --base-only
	scripts/stack-wheels
	$(COMPOSE) up -d --build
	@echo "stack: http://127.0.0.1:$${RGYM_API_PORT:-8000}/ ; stop it with: $(COMPOSE) down"

# The stack with episodes over HTTP (docker-compose.envs.yml): the api gets the host's Docker socket, which
# makes it root-equivalent on this host (README, "A shared store for a team"). Build task images first.
RGYM_STACK_TASKS ?= $(CURDIR)/tasks
RGYM_STACK_DIR ?= /var/tmp/rgym-stack
stack-envs: $(VENV)/.installed  ## The team stack, also serving episodes to remote agents (api gets the Docker socket).
	scripts/ensure-system-packages docker.io docker-compose
	scripts/ensure-docker
	$(BIN)/rgym images build --base-only
	scripts/stack-wheels
	install -d -m 2770 -g "$$(stat -c %g /var/run/docker.sock)" "$(RGYM_STACK_DIR)"
	RGYM_STACK_TASKS="$(RGYM_STACK_TASKS)" RGYM_STACK_DIR="$(RGYM_STACK_DIR)" \
		RGYM_DOCKER_GID="$$(stat -c %g /var/run/docker.sock)" \
		$(COMPOSE) -f docker-compose.yml -f docker-compose.envs.yml up -d --build
	@echo "stack: http://127.0.0.1:$${RGYM_API_PORT:-8000}/ (episodes at /api/envs); stop it with: $(COMPOSE) down"

# Every benchmark runs even when one fails or misses its target; the table of all results follows, and
# the target fails at the end if one did. `python -m benchmarks.table --readme` updates README.md from it.
bench: $(VENV)/.installed  ## Run every benchmarks/bench_*.py, then print one table of all (benchmarks/results.json).
	@shopt -s nullglob; failed=""; for f in benchmarks/bench_*.py; do \
		m="benchmarks.$$(basename "$$f" .py)"; echo "== $$m"; $(BIN)/python -m "$$m" || failed="$$failed $$m"; \
	done; \
	$(BIN)/python -m benchmarks.table || exit 1; \
	if [ -n "$$failed" ]; then echo "make bench: failed or over target:$$failed" >&2; exit 1; fi

lint: $(VENV)/.installed  ## ruff and mypy --strict.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p build/mypy-path && ln -sfn ../../agents build/mypy-path/rgym_agents
	$(BIN)/mypy

clean:  ## Remove caches, build outputs and the demo report (keeps .venv).
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache report.html
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean  ## Also remove .venv.
	rm -rf $(VENV)
