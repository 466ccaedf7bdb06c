"""docker/compose.yaml scales web behind the proxy: checked by reading the files (Docker cannot run here)."""

import re
from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def services() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]


def test_web_and_worker_have_no_host_port_so_they_scale():
    found = services()
    assert "ports" not in found["web"] and "ports" not in found["worker"]
    assert "container_name" not in found["web"] and "container_name" not in found["worker"]


def test_only_the_proxy_publishes_a_port_and_it_is_the_one_nginx_listens_on():
    published = {name: s["ports"] for name, s in services().items() if s.get("ports")}
    assert list(published) == ["proxy"]
    container_port = published["proxy"][0].rsplit(":", 1)[1]
    config = (DOCKER / "nginx.conf").read_text()
    assert re.search(rf"listen {container_port};", config)


def test_the_proxy_balances_over_every_web_replica_and_logs_no_address():
    proxy = services()["proxy"]
    config = (DOCKER / "nginx.conf").read_text()
    assert any(volume.startswith("./nginx.conf:") for volume in proxy["volumes"])
    assert re.search(r"server web:8000 resolve;", config)
    assert "access_log off;" in config
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in config
    # The web service then reads the client's address one proxy deep.
    assert str(services()["web"]["environment"]["TELEMETRY_PROXY_COUNT"]).startswith("${TELEMETRY_PROXY_COUNT:-1}")
