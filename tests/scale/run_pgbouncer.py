"""`make test-pgbouncer`: ingest, jobs and the staff API through a real PgBouncer in transaction mode.

Starts a private PostgreSQL cluster and a PgBouncer (pool_mode = transaction) in front of it on
loopback ports PGBOUNCER_PORT_BASE (default 57100) and +1, then runs the project's own test suites
with DATABASE_URL pointing at PgBouncer and DATABASE_POOLER=pgbouncer. The test database gets two
entries, as docs/scaling.md deploys it: the web one and the jobs one, each setting its statement
timeout with connect_query; the `*` entry lets pytest-django create the test database through
PgBouncer. The test database is kept at the end (--reuse-db): PgBouncer still holds server
sessions to it, and the whole cluster is thrown away anyway.

Everything in those suites is run: about 840 tests, 3 to 6 minutes on the 2-core development
machine (16 to 17 while it was shared with other heavy work); the ten slowest tests are printed.
If it must be shorter, the schema fuzzers (tests/staff_api/test_schemathesis.py,
tests/ingest/test_ingest_schema.py) are the first to leave: they run the statements the other
tests run.

Environment: PGBOUNCER_PORT_BASE, PGBOUNCER_KEEP=1 keeps the temporary directory (logs),
PGBOUNCER_PYTEST_ARGS replaces the suites run. With CI=true a missing pgbouncer fails the run.
"""

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.faults.services import ROOT, Postgres, remove
from tests.scale.pgbouncer import PGBOUNCER, Entry, PgBouncer

PORT_BASE = int(os.environ.get("PGBOUNCER_PORT_BASE", "57100"))
STATEMENT_TIMEOUT, JOB_STATEMENT_TIMEOUT, IDLE_IN_TRANSACTION = 15, 480, 60
# Ingest (the group-commit writer runs threads in tests/ingest/test_group_commit.py), the jobs
# (events retention, rollups), the checks of session state and the beat lease
# and the staff API.
SUITES = ("tests/ingest tests/staff_api tests/events tests/rollups tests/scale/test_pgbouncer.py "
          "tests/core/test_beat.py")


def entries() -> list[Entry]:
    web = {"statement_timeout_ms": STATEMENT_TIMEOUT * 1000, "idle_in_transaction_ms": IDLE_IN_TRANSACTION * 1000}
    job = {**web, "statement_timeout_ms": JOB_STATEMENT_TIMEOUT * 1000}
    return [Entry("test_telemetry", dbname="test_telemetry", **web),
            Entry("test_telemetry_jobs", dbname="test_telemetry", **job),
            Entry("*")]


def main() -> int:
    if not PGBOUNCER.exists():
        print(f"{PGBOUNCER} is missing (apt-get install pgbouncer): nothing run", flush=True)
        return 1 if os.environ.get("CI") else 0
    workdir = Path(tempfile.mkdtemp(prefix="telemetry-pgbouncer-"))
    os.chmod(workdir, 0o755)
    pg = Postgres(workdir, PORT_BASE)
    bouncer = PgBouncer(workdir, PORT_BASE + 1, pg.port, entries())
    try:
        pg.init()
        bouncer.start()
        print(f"PostgreSQL on {pg.port}, PgBouncer (transaction mode) on {bouncer.port} ({workdir})", flush=True)
        env = {name: value for name, value in os.environ.items()
               if name not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
        env.update({"DATABASE_URL": bouncer.url("telemetry"), "DATABASE_POOLER": "pgbouncer",
                    "DATABASE_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
                    "JOB_DATABASE_STATEMENT_TIMEOUT": str(JOB_STATEMENT_TIMEOUT),
                    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": str(IDLE_IN_TRANSACTION)})
        suites = shlex.split(os.environ.get("PGBOUNCER_PYTEST_ARGS", SUITES))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--reuse-db", "--durations=10",
                   *suites]
        print(" ".join(command), flush=True)
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    finally:
        bouncer.stop()
        pg.cleanup()
        if os.environ.get("PGBOUNCER_KEEP"):
            print(f"kept {workdir}", flush=True)
        else:
            remove(workdir)


if __name__ == "__main__":
    sys.exit(main())
