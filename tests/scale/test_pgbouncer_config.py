"""docker/pgbouncer.ini and the compose file agree with the settings (Docker cannot run here)."""

import configparser
import re
from pathlib import Path

import yaml

from telemetry_site.settings import base as settings  # the configured values, whatever a test changed since

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def entries() -> dict[str, str]:
    ini = configparser.ConfigParser(inline_comment_prefixes=None, comment_prefixes=(";",), interpolation=None)
    ini.read(DOCKER / "pgbouncer.ini")
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    return dict(ini["databases"])


def timeouts(entry: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r"SET (\w+) = (\d+)", entry)}


def test_the_web_and_jobs_entries_set_the_configured_timeouts() -> None:
    found = entries()
    idle = 60_000  # DATABASE_IDLE_IN_TRANSACTION_TIMEOUT's default, in ms
    assert timeouts(found["telemetry"]) == {"statement_timeout": settings.DATABASE_STATEMENT_TIMEOUT * 1000,
                                            "idle_in_transaction_session_timeout": idle}
    assert timeouts(found["telemetry_jobs"]) == {
        "statement_timeout": settings.JOB_DATABASE_STATEMENT_TIMEOUT * 1000,
        "idle_in_transaction_session_timeout": idle}
    assert "dbname=telemetry " in found["telemetry_jobs"]


def test_web_worker_and_beat_go_through_pgbouncer_and_migrate_goes_straight_to_postgres() -> None:
    services = yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DATABASE_POOLER"] == "pgbouncer"
        assert environment["DATABASE_URL"].endswith("@pgbouncer:6432/telemetry")
    assert "DATABASE_POOLER" not in services["migrate"]["environment"]
    assert "@postgres:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    assert "apps.core.beat:LeaseScheduler" in services["beat"]["command"]
