# govkpi — two commands: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv's managed Pythons come from GitHub: use the machine's Python 3.11
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON ?= python3.11
export GX_ANALYTICS_ENABLED := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DO_NOT_TRACK := 1
# .pyc files for the whole venv at install: imports (Airflow, dbt, GX) take half the time, and
# they stay compiled where the environment forbids writing them (PYTHONDONTWRITEBYTECODE)
export UV_COMPILE_BYTECODE := 1

VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo .local/uv/bin/uv)

.PHONY: help install manifest demo airflow test bench lint format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.local/uv/bin/uv:
	@echo "==> uv not found: installing it into .local/uv"
	python3 -m venv .local/uv && .local/uv/bin/pip install --quiet uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed ## create .venv from uv.lock (nothing else is installed)

manifest: install ## dbt parse → dbt_project/target/manifest.json (what Cosmos renders)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

demo: manifest ## run the whole pipeline on a simulated province and print the KPI table
	$(BIN)/govkpi demo

airflow: manifest ## the Airflow UI and services locally, no Docker (AIRFLOW_ARGS=...); Ctrl-C stops
	$(BIN)/govkpi airflow $(AIRFLOW_ARGS)

bench: manifest ## the province-year benchmark, scale 1.0 (~40 min; BENCH_ARGS='--scale 0.1' is quicker)
	$(BIN)/python bench/province_year.py $(BENCH_ARGS)

lint: install ## ruff
	$(BIN)/ruff check include dags tests bench

test: manifest lint ## lint, dbt parse, and every test (unit, integration, DAGs, end-to-end)
	$(BIN)/pytest

format: install
	$(BIN)/ruff check --fix include dags tests && $(BIN)/ruff format include dags tests

clean: ## remove generated files (keeps the embedded database in .local/pgdata)
	rm -rf dbt_project/target dbt_project/logs .local/airflow .local/demo
