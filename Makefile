# CAS-App backend. `make run` and `make test` need only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# The embedded default: SQLite, eager Celery, local-memory cache, console push, no external service.
EMBEDDED := DATABASE_URL= REDIS_URL= PUSH_BACKEND=console
# The service tier used by CI: PostgreSQL and Redis on loopback.
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
# A Redis database of the tests' own: each test session empties it (FLUSHDB) when it starts and ends.
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/15
SERVICES := DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL)

.PHONY: run test test-services lint typecheck check schema conformance messages messages-check bench bench-push bench-reports bench-screen bench-faults clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## Serve http://127.0.0.1:8000/ with demo data (SQLite, eager tasks, console push).
run: $(STAMP)
	$(EMBEDDED) DJANGO_DEBUG=true $(PY) manage.py migrate --no-input
	$(EMBEDDED) DJANGO_DEBUG=true $(PY) manage.py load_demo
	$(EMBEDDED) DJANGO_DEBUG=true DJANGO_LOG_FORMAT=text $(PY) manage.py runserver 127.0.0.1:8000

## The whole suite on the embedded default (no services needed).
test: $(STAMP)
	$(EMBEDDED) $(PY) -m pytest

## The same suite on PostgreSQL + Redis, with a real Celery worker for the tests that need one.
test-services: $(STAMP)
	$(SERVICES) $(PY) -m pytest

## Lint, types, migrations, the OpenAPI schema and the API's conformance to it.
check: lint typecheck schema conformance messages-check
	$(EMBEDDED) DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(EMBEDDED) DJANGO_DEBUG=true $(PY) manage.py check

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(EMBEDDED) DJANGO_DEBUG=true $(VENV)/bin/mypy casapp push reports waste_calendar

schema: $(STAMP)
	$(EMBEDDED) DJANGO_DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

## Every operation against the OpenAPI schema: a bounded, seeded schemathesis run in-process on a
## throwaway SQLite database with the demo data (tests/schema_conformance.py); exits 1 on any violation.
conformance: $(STAMP)
	$(EMBEDDED) $(PY) -m tests.schema_conformance

## The catalogues complete (casapp/languages.py): German every text, English every entry present, Turkish the
## citizen-facing texts; none fuzzy. Extracted again in a copy, the tree untouched.
messages-check: $(STAMP)
	$(EMBEDDED) DJANGO_DEBUG=true $(PY) manage.py messages_check

## Rebuild the German/English/Turkish message catalogues (needs gettext; the .mo files are committed).
messages: $(STAMP)
	DJANGO_DEBUG=true $(PY) manage.py makemessages -l de -l en -l tr --no-obsolete \
		--ignore='.venv/*' --ignore='*/migrations/*' --ignore='tests/*' --ignore='bench/*'
	DJANGO_DEBUG=true $(PY) manage.py compilemessages --ignore='.venv/*' --ignore='bench/*'

## Benchmarks on PostgreSQL and Redis on loopback; method and figures in docs/benchmarks.md.
bench: $(STAMP)
	$(PY) -m bench.http_api

bench-push: $(STAMP)
	$(PY) -m bench.push_fanout

bench-reports: $(STAMP)
	$(PY) -m bench.reports

bench-screen: $(STAMP)
	$(PY) -m bench.screen

## The fault matrix (docs/operations.md#fault-matrix): own PostgreSQL, Redis, gunicorn, worker, beat, fake FCM.
bench-faults: $(STAMP)
	$(PY) -m bench.faults

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles .pytest-media .pytest_cache .mypy_cache .ruff_cache
