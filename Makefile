# Madoguchi — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export MADOGUCHI_DATA_DIR ?= $(CURDIR)/var

.PHONY: install demo serve test test-fast lint typecheck lock assets bench clean

$(BIN)/uv:
	bash scripts/system-deps.sh demo
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==0.13.8

# Creates .venv and installs the locked dependencies (idempotent: re-runs only when the lock changes).
install: $(VENV)/.installed
$(VENV)/.installed: $(BIN)/uv requirements/lock.txt pyproject.toml
	$(BIN)/uv pip sync -q -p $(BIN)/python --require-hashes requirements/lock.txt
	$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e .
	@touch $@

# Embedded SQLite under var/, demo data, the whole platform on http://127.0.0.1:$(PORT)
demo: install
	$(BIN)/madoguchi migrate --no-input -v 0
	$(BIN)/madoguchi load_demo
	@echo "Madoguchi: http://127.0.0.1:$(PORT)/ (住民ポータル; デモ用カードでログイン) and http://127.0.0.1:$(PORT)/staff/login/ (職員; demo accounts are listed on the login page)"
	$(BIN)/madoguchi serve --port $(PORT)

# The full suite against throwaway PostgreSQL + Redis on loopback; browser journeys in Debian chromium.
test: install
	bash scripts/system-deps.sh test
	@[ -d node_modules/axe-core ] || npm ci --no-audit --no-fund --silent
	@dir=$$(mktemp -d /tmp/madoguchi-test.XXXXXX); \
	trap "bash scripts/test-services.sh stop $$dir" EXIT; \
	env=$$(bash scripts/test-services.sh start $$dir) && eval "$$env" && \
	MADOGUCHI_ENV=test $(BIN)/madoguchi makemigrations --check --dry-run -v 0 && \
	MADOGUCHI_ENV=test MADOGUCHI_DATA_DIR=$$dir/data $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy src

lock: $(BIN)/uv
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements/lock.txt

# Re-vendor htmx, Alpine (CSP build) and the デジタル庁 design tokens from npm into static/.
assets:
	npm ci --no-audit --no-fund --silent
	cp node_modules/htmx.org/dist/htmx.min.js src/madoguchi/core/static/vendor/htmx.min.js
	cp node_modules/@alpinejs/csp/dist/cdn.min.js src/madoguchi/core/static/vendor/alpine-csp.min.js
	cp node_modules/@digital-go-jp/design-tokens/dist/tokens.css src/madoguchi/core/static/vendor/tokens.css

clean:
	rm -rf $(VENV) var node_modules
