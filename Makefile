# Lượt — the two commands: `make demo` and `make test`. Everything else is a step they run.
SHELL := /bin/bash
# The newest supported Python that runs here (3.13, 3.12 or 3.11); `make PYTHON=python3.11` to choose.
PYTHON ?= $(firstword $(foreach v,3.13 3.12 3.11,$(shell python$(v) -c pass >/dev/null 2>&1 && echo python$(v))) python3.11)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export LUOT_INSTANCE_DIR ?= $(CURDIR)/instance
# The suite's workers: test files run in parallel on the machine's cores, at most 4 (pytest-xdist, one file per
# worker at a time); `make test TEST_WORKERS=1` runs it in one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n > 4 ? 4 : n )))

.PHONY: demo test setup system-deps python-deps web lint bench demo-scale lock bundle clean

demo: setup
	$(BIN)/luot init
	$(BIN)/luot seed-demo --history-days 30
	LUOT_HOST=$(HOST) LUOT_PORT=$(PORT) $(BIN)/luot demo-info
	LUOT_HOST=$(HOST) LUOT_PORT=$(PORT) $(BIN)/luot serve

test: setup
	./scripts/system-deps.sh --test
	$(MAKE) lint
	$(BIN)/pytest $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

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
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11, 3.12 or 3.13 is needed ($(PYTHON) not found)"; exit 1; }
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

# Regenerates the lockfiles from pyproject.toml (needs uv: pip install uv): one for every Python 3.11-3.13
# (--universal: markers where versions differ), with the test tools, and one with the server's packages only
# (the offline bundle's).
lock:
	uv pip compile pyproject.toml --extra dev --universal --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 -o requirements-runtime.lock

# The offline bundle for a centre with no internet: dist/luot-VERSION-pyX.Y-ARCH.tar.gz (README "Running a centre").
# BUNDLE_ARGS: --python 3.12 (another target Python), --with-debs (the Debian packages too).
bundle: setup
	./scripts/bundle.sh $(BUNDLE_ARGS)

clean:
	rm -rf $(VENV) node_modules */static/build dist
