# Huitouke — `make demo` runs the embedded shop; `make test` runs every check on SQLite and PostgreSQL.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install assets lint typecheck checks test-sqlite test-postgres bench messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[test,bench]"
	touch $@

node_modules/.package-lock.json: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed
assets: node_modules/.package-lock.json

demo: install assets
	$(VENV)/bin/huitouke demo

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy src

checks: install assets
	$(VENV)/bin/huitouke check --fail-level WARNING
	HUITOUKE_ENV=production SECRET_KEY=check-deploy-$$(date +%s)-a-long-random-enough-secret-value-xyz \
		ALLOWED_HOSTS=crm.example.com $(VENV)/bin/huitouke check --deploy --fail-level WARNING
	$(VENV)/bin/huitouke makemigrations --check --dry-run

test-sqlite: install assets
	HUITOUKE_DATA_DIR=$(CURDIR)/var/test-sqlite $(VENV)/bin/pytest -n 2 -p no:cacheprovider

test-postgres: install assets
	@if $(PY) bench/pg_ready.py "$(TEST_DATABASE_URL)"; then \
		HUITOUKE_DATA_DIR=$(CURDIR)/var/test-pg DATABASE_URL="$(TEST_DATABASE_URL)" $(VENV)/bin/pytest -n 2 -p no:cacheprovider; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL at $(TEST_DATABASE_URL) is not reachable (CI=true: failing)"; exit 1; \
	else echo "PostgreSQL not reachable at $(TEST_DATABASE_URL): PostgreSQL tests NOT run"; fi

test: lint typecheck checks test-sqlite test-postgres

bench: install
	$(PY) bench/web_latency.py

messages: install
	cd src/huitouke && ../../$(VENV)/bin/huitouke makemessages -l zh_Hans -l en --no-obsolete && ../../$(VENV)/bin/huitouke compilemessages

clean:
	rm -rf var/test-sqlite var/test-pg
