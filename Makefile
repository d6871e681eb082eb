# lossviz: `make run` starts the app, `make test` runs every check.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint format bench browser clean

# Large freed tensors (the mining page's distance matrices) go back to the system at
# once instead of staying in glibc's arenas: with it, a server's memory after a class
# used the digits fell from 922 to 500 MB (bench/loadtest.py, see the README).
run: $(VENV)/.runtime
	MALLOC_MMAP_THRESHOLD_=1048576 $(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT)

test: $(VENV)/.dev browser
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

# torch==2.13.0 is pinned in requirements.txt: pip takes the local CPU wheel.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# Debian's chromium drives the browser tests (Playwright never downloads one).
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium not found at $(CHROMIUM) and not root: browser tests will be skipped (an error under CI=true)"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts
