"""bench/capacity.py: the plan follows from its inputs, and reads the ingest bench's figures."""

from pathlib import Path

import orjson
import pytest

from bench import capacity

MIX = {"appsmith": 0.4, "flowfuse": 0.2, "hasura": 0.3, "wasp": 0.1}


def measured(per_node: float = 1000.0, pg_ms: float = 0.5) -> capacity.Measured:
    return capacity.Measured(per_node, pg_ms, None, "test")


def bench_file(tmp_path: Path, *, new: float, known: float, pg: float = 0.4) -> Path:
    path = tmp_path / "ingest.json"

    def scenario(rate: float) -> dict:
        return {"rate": rate, "p99_ms": 30.0, "cpu_ms_per_request": {"python": 1.5, "postgres": pg}}

    path.write_bytes(orjson.dumps({"measured_at": "2026-12-07T19:00:00+00:00", "commit": "abc1234",
                                   "scenarios": {"heartbeat": scenario(new), "heartbeat_known": scenario(known),
                                                 "heartbeat70": {**scenario(new * 0.7), "p99_ms": 41.5}}}))
    return path


def test_the_mean_rate_is_the_schedules_pings_per_day():
    plan = capacity.plan(86_400, mix={"appsmith": 1, "flowfuse": 0, "hasura": 0, "wasp": 0}, measured=measured())
    appsmith = next(s for s in capacity.SCHEDULES if s.product == "appsmith")
    assert plan.mean_rps == pytest.approx(appsmith.pings_per_day)
    assert plan.peak_rps == pytest.approx(10 * appsmith.pings_per_day)
    assert plan.events_per_day == pytest.approx(86_400 * appsmith.pings_per_day)


def test_doubling_the_per_node_capacity_halves_the_nodes():
    slow = capacity.plan(100_000_000, mix=MIX, measured=measured(per_node=500))
    fast = capacity.plan(100_000_000, mix=MIX, measured=measured(per_node=1000))
    assert slow.web_nodes > 10
    assert fast.web_nodes == pytest.approx(slow.web_nodes / 2, abs=1)
    assert fast.direct_connections < slow.direct_connections


def test_a_small_fleet_still_gets_two_nodes_and_two_job_processes():
    plan = capacity.plan(1_000, mix=MIX, measured=measured())
    assert (plan.web_nodes, plan.job_processes) == (2, 2)


def test_connections_follow_nodes_processes_and_threads():
    node = capacity.Node(workers=3, threads=8)
    plan = capacity.plan(10_000, mix=MIX, measured=measured(), node=node)
    assert plan.direct_connections == plan.web_nodes * 3 * (8 + 1) + plan.job_processes + 1


def test_the_pgbouncer_pool_grows_with_the_peak_and_the_database_time_per_request():
    small = capacity.plan(10_000, mix=MIX, measured=measured(pg_ms=0.5))
    big = capacity.plan(100_000_000, mix=MIX, measured=measured(pg_ms=0.5))
    slower = capacity.plan(100_000_000, mix=MIX, measured=measured(pg_ms=1.0))
    assert small.pgbouncer_pool < big.pgbouncer_pool < slower.pgbouncer_pool
    assert big.pgbouncer_pool < big.direct_connections


def test_disk_is_linear_in_retention_and_bytes_per_event():
    year = capacity.plan(1_000_000, mix=MIX, measured=measured(), retention_days=360, bytes_per_instance=0)
    quarter = capacity.plan(1_000_000, mix=MIX, measured=measured(), retention_days=90, bytes_per_instance=0)
    assert year.disk_gb == pytest.approx(4 * quarter.disk_gb)
    assert year.disk_gb == pytest.approx(year.events_per_day * 360 * 427 / 1e9)


def test_the_bench_figures_are_read_and_the_slower_heartbeat_kind_is_planned_on(tmp_path):
    found = capacity.load_measured(bench_file(tmp_path, new=900, known=1100, pg=0.45), per_node=None, pg_ms=None)
    assert (found.per_node, found.pg_ms, found.p99_ms_at_70) == (900, 0.45, 41.5)
    assert "2026-12-07" in found.source and "abc1234" in found.source


def test_options_override_the_bench_and_a_missing_file_falls_back(tmp_path):
    assert capacity.load_measured(bench_file(tmp_path, new=900, known=1100), per_node=2000, pg_ms=None).per_node == 2000
    missing = capacity.load_measured(tmp_path / "none.json", per_node=None, pg_ms=None)
    assert missing.per_node == 1300 and "defaults" in missing.source


def test_a_rerun_bench_changes_the_printed_plan(tmp_path, capsys):
    args = ["--instances", "100000000", "--bench"]
    capacity.main([*args, str(bench_file(tmp_path, new=500, known=500))])
    slow = capsys.readouterr().out
    capacity.main([*args, str(bench_file(tmp_path, new=1000, known=1000))])
    fast = capsys.readouterr().out
    nodes = [int(out.splitlines()[1].split()[3]) for out in (slow, fast)]
    assert nodes[1] == pytest.approx(nodes[0] / 2, abs=1)
    assert "1,000 heartbeats/s" in fast


def test_a_mix_that_does_not_add_up_is_refused(capsys):
    assert capacity.main(["--mix", "appsmith=0.5,flowfuse=0.2,hasura=0.2,wasp=0.2"]) == 2
    assert "--mix" in capsys.readouterr().err
