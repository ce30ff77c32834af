# Linli: `make demo` runs it, `make test` tests it. Both bootstrap themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
PYTEST_ARGS ?=
# one test process per core (pytest-xdist); JOBS=0 runs in one process
JOBS ?= auto

.PHONY: demo test test-sqlite test-postgres lint setup vendor messages bench bench-cases bench-classifier bench-ingest clean

$(BIN)/.installed: requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end libraries come from npm (lockfile) and are served from our own static files.
vendor: node_modules/.installed
	mkdir -p linli/static/vendor/leaflet/images
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js linli/static/vendor/
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css linli/static/vendor/leaflet/
	cp node_modules/leaflet/dist/images/*.png linli/static/vendor/leaflet/images/

setup: $(BIN)/.installed vendor
	mkdir -p var/static

demo: setup
	$(BIN)/python manage.py demo --port $(PORT)

test: test-sqlite test-postgres

test-sqlite: setup
	LINLI_MODE=test $(BIN)/python -m pytest -q -n $(JOBS) $(PYTEST_ARGS)

test-postgres: setup
	LINLI_MODE=test $(BIN)/python bin/with-postgres $(BIN)/python -m pytest -q -n $(JOBS) $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy linli
	LINLI_MODE=test $(BIN)/python manage.py makemigrations --check --dry-run
	LINLI_MODE=test $(BIN)/python manage.py check
	LINLI_MODE=test $(BIN)/python manage.py validate_openapi

messages: setup
	cd linli && ../$(BIN)/python ../manage.py makemessages -l zh_Hans --no-location --no-obsolete -i "static/vendor/*" && ../$(BIN)/python ../manage.py compilemessages

bench: setup
	$(BIN)/python bin/with-postgres $(BIN)/python bench/registry.py $(BENCH_ARGS)

# Work-order benchmark against a PostgreSQL that already holds a generated registry (make bench, or
# manage.py generate): DATABASE_URL=postgres://… make bench-cases BENCH_ARGS="--generate district --rollup"
bench-cases: setup
	$(BIN)/python bench/cases.py $(BENCH_ARGS)

bench-classifier: setup
	$(BIN)/python bench/classifier.py

# Device ingestion (Mosquitto raw vs Linli, publish→console latency) against a PostgreSQL configured as in
# production (bin/with-postgres turns fsync off, which flatters commits): DATABASE_URL=postgres://… make bench-ingest
bench-ingest: setup
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules linli/static/vendor
