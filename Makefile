# lossviz: `make run` starts the app, `make test` runs every check.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501
WORKERS ?= 2
CHROMIUM ?= /usr/bin/chromium

.PHONY: run serve test lint format bench browser nginx postgresql clean

# deploy/serve.py is the one place that says how the app is started (the tests and
# benchmarks start it the same way); .streamlit/config.toml holds the server's settings.
run: $(VENV)/.runtime
	$(BIN)/python -m deploy.serve --host $(HOST) --port $(PORT)

# WORKERS app processes behind Debian's nginx on HOST:PORT, sticky per browser.
serve: $(VENV)/.runtime nginx
	$(BIN)/python -m deploy.serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(VENV)/.dev browser nginx postgresql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev
	$(BIN)/python -m bench.run_all

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch==2.13.0 is pinned in requirements.txt: pip takes the local CPU wheel. lossviz itself
# is installed editable (nothing copied): Streamlit then finds pyproject.toml's component
# manifest and serves the elements' JS files instead of resending them on every rerun.
$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(VENV)/.runtime $@

# $(call debian_package,PACKAGE,TEST,NEEDED_FOR): nothing when the shell TEST succeeds;
# else, as root with apt, install Debian's PACKAGE; else say what is missing (the tests
# that need it skip, except under CI=true, where they fail).
define debian_package
	@if $(2); then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian $(1) for $(3)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	else \
		echo "$(1) not found and not root: needed for $(3) (sudo apt-get install $(1)); those tests will be skipped (an error under CI=true)"; \
	fi
endef

# Debian's chromium drives the browser tests (Playwright never downloads one).
browser:
	$(call debian_package,chromium,[ -x "$(CHROMIUM)" ],the browser tests)

# Debian's nginx for `make serve` and the multi-process tests.
nginx:
	$(call debian_package,nginx,command -v nginx >/dev/null || [ -x /usr/sbin/nginx ],make serve and its tests)

# Debian's PostgreSQL server programs (initdb, pg_ctl) for the room store's tests. The tests
# start a throwaway server of their own (tests/postgres_server.py) on 127.0.0.1; Debian's
# package may also create its own "main" cluster, which they never use.
postgresql:
	$(call debian_package,postgresql,ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1,the room store's PostgreSQL tests)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts
