"""The processes a fault run starts, owns and stops: PostgreSQL, Redis, gunicorn, a Celery worker.

Everything listens on loopback ports of its own, lives in one temporary directory and is stopped
by the pid this module recorded (never by name), also when the run fails half-way.
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = Path(sys.executable).parent


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …; comm may contain spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {seconds:g} s: {what}")
        time.sleep(0.1)


class Postgres:
    """A private cluster (initdb + pg_ctl as the postgres user) on `port`, trust auth on loopback."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.dir = workdir / "pg"
        self.log = workdir / "postgres.log"
        self.socket_dir = workdir
        self.user = "postgres" if os.geteuid() == 0 else None
        self.frozen: list[int] = []

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/telemetry"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *command], check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.socket_dir, account.pw_uid, account.pw_gid)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self.start()
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "telemetry")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c shared_buffers=32MB "
                   "-c max_connections=60")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")

    def stop(self, mode: str) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-t", "60", "-m", mode, "stop")

    def postmaster(self) -> int | None:
        try:
            return int((self.dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def freeze(self) -> None:
        """SIGSTOP the postmaster, then every backend: the server hangs, its sockets stay open."""
        master = self.postmaster()
        assert master, "PostgreSQL is not running"
        self.frozen = [master, *children_of(master)]
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def cleanup(self) -> None:
        self.thaw()
        if self.postmaster():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-w", "-t", "30", "-m", "immediate", "stop",
                      check=False)


class Redis:
    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, seconds=20, what="Redis answers")

    def ping(self) -> bool:
        result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "ping"], capture_output=True,
                                text=True, timeout=10)
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def cleanup(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


class Managed:
    """A child process in its own session, logged to a file, stopped by its own process group id."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill_all(self) -> None:
        """SIGKILL the whole process group: a crash, no chance to hand anything back."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.process = None


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def gunicorn(env: dict[str, str], log: Path) -> Managed:
    return Managed("gunicorn", [str(VENV_BIN / "gunicorn"), "-c", "docker/gunicorn.conf.py", "telemetry_site.wsgi"],
                   env, log)


def celery_worker(env: dict[str, str], log: Path, *, name: str = "faults") -> Managed:
    """A worker with one pool process; `name` tells several workers on one host apart."""
    return Managed("celery", [str(VENV_BIN / "celery"), "-A", "telemetry_site", "worker", "--pool", "prefork",
                              "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
                              "-n", f"{name}@%h"], env, log)


def remove(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
