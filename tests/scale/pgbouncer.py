"""A PgBouncer in transaction mode in front of a private PostgreSQL cluster (tests/faults/services.py).

It listens on a loopback port of its own, keeps its ini, user list, log and pid file in the run's
temporary directory, runs as the postgres user (PgBouncer refuses to run as root) and is stopped
by the pid this module started, also when the run fails half-way.
"""

import contextlib
import os
import pwd
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.faults.services import wait_for

PGBOUNCER = Path(os.environ.get("PGBOUNCER_BIN", "/usr/sbin/pgbouncer"))


@dataclass(frozen=True)
class Entry:
    """One [databases] line: a name clients use, the real database, the session settings."""

    name: str
    dbname: str | None = None  # None: the name the client asked for (the `*` entry)
    statement_timeout_ms: int | None = None
    idle_in_transaction_ms: int | None = None

    def line(self, pg_port: int) -> str:
        parts = [f"host=127.0.0.1 port={pg_port}"]
        if self.dbname:
            parts.append(f"dbname={self.dbname}")
        sets = [f"SET {name} = {value}" for name, value in (
            ("statement_timeout", self.statement_timeout_ms),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction_ms)) if value is not None]
        if sets:
            parts.append(f"connect_query='{'; '.join(sets)}'")
        return f"{self.name} = {' '.join(parts)}"


class PgBouncer:
    def __init__(self, workdir: Path, port: int, pg_port: int, entries: list[Entry], pool_size: int = 20) -> None:
        self.dir = workdir / "pgbouncer"
        self.port, self.pg_port, self.entries, self.pool_size = port, pg_port, entries, pool_size
        self.process: subprocess.Popen[bytes] | None = None
        self.user = "postgres" if os.geteuid() == 0 else None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def ini(self) -> Path:
        return self.dir / "pgbouncer.ini"

    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        databases = "\n".join(entry.line(self.pg_port) for entry in self.entries)
        self.ini.write_text(f"""[databases]
{databases}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir / 'userlist.txt'}
admin_users = postgres
pool_mode = transaction
default_pool_size = {self.pool_size}
max_client_conn = 500
server_check_delay = 1
logfile = {self.dir / 'pgbouncer.log'}
pidfile = {self.dir / 'pgbouncer.pid'}
""")
        if self.user:
            account = pwd.getpwnam(self.user)
            for path in (self.dir, *self.dir.iterdir()):
                os.chown(path, account.pw_uid, account.pw_gid)

    def start(self) -> None:
        if not PGBOUNCER.exists():
            raise FileNotFoundError(f"{PGBOUNCER} is missing: apt-get install pgbouncer")
        self.write()
        self.process = subprocess.Popen([str(PGBOUNCER), str(self.ini)], user=self.user, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.listening, seconds=20, what=f"PgBouncer listens on {self.port}")

    def listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.dir / "pgbouncer.log")
            raise RuntimeError(f"PgBouncer exited: {log.read_text() if log.exists() else ''}")
        with contextlib.closing(socket.socket()) as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # immediate shutdown: the run is over
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
