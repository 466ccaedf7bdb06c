# Two commands on a fresh machine: `make run` (the platform, embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test test-faults test-pgbouncer test-replica test-nodes soak install lint typecheck migrate fleet audit bench-ingest bench-jobs bench-dashboard

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py setup_schedules
	@echo ""
	@echo "  Admin:       http://127.0.0.1:$(PORT)/admin/"
	@echo "  Health:      http://127.0.0.1:$(PORT)/healthz"
	@echo "  API docs:    http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Ingest:      http://127.0.0.1:$(PORT)/api/v1/ingest  (and /v1/batch, /capture/, ...)"
	@echo ""
	PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The platform under faults (docs/operations.md): its own PostgreSQL and Redis on loopback ports
# FAULTS_PORT_BASE..+2 (default 56610), gunicorn and Celery with production settings; about 3 minutes.
test-faults: install
	$(BIN)/python -m tests.faults.run

# Ingest, jobs and the staff API through a real PgBouncer in transaction mode (docs/scaling.md), in
# front of a private PostgreSQL; loopback ports PGBOUNCER_PORT_BASE..+1 (default 57100).
test-pgbouncer: install
	$(BIN)/python -m tests.scale.run_pgbouncer

# The read replica against a real streaming replica (docs/scaling.md): its own primary and hot standby
# (pg_basebackup) on loopback ports REPLICA_PORT_BASE..+2 (default 57080), the app under gunicorn; about a minute.
test-replica: install
	env -u DATABASE_URL -u DATABASE_REPLICA_URL TELEMETRY_REPLICA_TEST=1 $(BIN)/pytest tests/scale/test_replica.py $(PYTEST_ARGS)

# Many nodes (docs/scaling.md): two gunicorn nodes and two Celery workers on one private PostgreSQL
# and Redis (loopback ports NODES_PORT_BASE..+3, default 57140) must agree: dedupe, counts, answers
# after staff changes, and rollup jobs shared by the workers. One to two minutes.
test-nodes: install
	$(BIN)/python -m tests.scale.nodes

# Soak (docs/performance.md): 10 minutes (SOAK_MINUTES) of mixed load on gunicorn + Celery worker + beat
# with production settings on a private PostgreSQL and Redis (ports SOAK_PORT_BASE..+2, default 57150);
# errors, p50/p99 per kind and process memory every minute; exit 1 on any error or growing memory.
# Not run by CI: too long.
soak: install
	$(BIN)/python bench/soak.py

lint: install
	$(BIN)/ruff check .

# Static types (mypy with the django-stubs and DRF plugins; pyproject.toml [tool.mypy]).
typecheck: install
	$(BIN)/mypy .

fleet: migrate
	$(BIN)/python manage.py simulate_fleet

# Known vulnerabilities in the installed dependencies (pip-audit; needs the internet, so not run by CI).
# AUDIT_ARGS="--ignore-vuln ID" accepts an advisory that does not apply; docs/security.md says when.
audit: install
	$(BIN)/pip-audit --skip-editable --progress-spinner off --desc on $(AUDIT_ARGS)

# Ingest benchmark (issue 7) against PostgreSQL; the database is created when missing and emptied first.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/telemetry_bench
bench-ingest: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/ingest.py $(BENCH_ARGS)

# Scheduled jobs on 1M instances / 10M events; needs an empty PostgreSQL database in BENCH_DATABASE_URL.
bench-jobs: install
	$(BIN)/python bench/jobs.py

bench-dashboard: install
	$(BIN)/python bench/dashboard.py
