# Lượt — the two commands: `make demo` and `make test`. Everything else is a step they run.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export LUOT_INSTANCE_DIR ?= $(CURDIR)/instance

.PHONY: demo test setup system-deps python-deps web lint bench demo-scale lock clean

demo: setup
	$(BIN)/luot init
	$(BIN)/luot seed-demo
	LUOT_HOST=$(HOST) LUOT_PORT=$(PORT) $(BIN)/luot demo-info
	LUOT_HOST=$(HOST) LUOT_PORT=$(PORT) $(BIN)/luot serve

test: setup
	./scripts/system-deps.sh --test
	$(MAKE) lint
	$(BIN)/pytest $(PYTEST_ARGS)

# The habits that run: Python style and format, types (mypy: [tool.mypy] files), browser JS (eslint.config.mjs).
lint: python-deps node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	npx --no-install eslint .

setup: system-deps python-deps web

system-deps:
	./scripts/system-deps.sh

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Installs exactly what requirements.lock pins (hashes checked), then Lượt itself.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	touch $@

python-deps: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: node_modules/.installed
	npm run --silent build

bench: setup
	$(BIN)/python -m bench

demo-scale: setup
	./scripts/demo-scale.sh

# Regenerates the lockfile from pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) node_modules */static/build
