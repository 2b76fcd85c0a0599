"""A real Prometheus (Debian's package, started by tests/integration/prometheus_harness.py) scrapes
`gooseterm exporter` on 127.0.0.1 and answers the plan's dashboard queries (plan 3.6) and every
query of the Grafana dashboard (exports/grafana/).

The harness starts Prometheus with its own scrape config; this test adds the exporter as a second
job and reloads the config with SIGHUP, as an operator would.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.exports import gooseterm, make_demo
from prometheus_harness import PrometheusServer, start_prometheus

REPO = Path(__file__).resolve().parents[2]
GOOSETERM = Path(sys.executable).with_name("gooseterm")
DASHBOARD = REPO / "exports" / "grafana" / "service-compliance.json"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The demo ledger, verified once, served by `gooseterm exporter` on a free loopback port."""
    home = tmp_path_factory.mktemp("home")
    make_demo(home)
    code, _, stderr = gooseterm(home, "verify", "--jobs", "1")
    assert code == 0, stderr
    proc = subprocess.Popen([str(GOOSETERM), "exporter", "--listen", "127.0.0.1:0"],
                            env={"GOOSETERM_HOME": str(home), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://(127\.0\.0\.1:\d+)/metrics", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        yield home, match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def prometheus(exporter: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    try:
        server = start_prometheus(tmp_path_factory.mktemp("prometheus"), backfill=False)
    except RuntimeError as exc:
        pytest.fail(f"{exc} (scripts/deps/20-servers.sh unpacks it into the cache)")
    try:
        config = server.folder / "prometheus.yml"
        config.write_text(config.read_text() + f"  - job_name: gooseterm\n    static_configs:\n      - targets: ['{exporter[1]}']\n")
        server.process.send_signal(signal.SIGHUP)
        yield server
    finally:
        server.stop()


def query(server: PrometheusServer, expr: str) -> list[dict]:
    r = httpx.get(f"{server.url}/api/v1/query", params={"query": expr}, timeout=5)
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for(server: PrometheusServer, expr: str, n: int, timeout: float = 60) -> list[dict]:
    """Poll until the query returns at least n series (the reload and the first scrapes take seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        result = query(server, expr)
        if len(result) >= n or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def series(result: list[dict], *labels: str) -> dict[tuple, float]:
    return {tuple(r["metric"][k] for k in labels): float(r["value"][1]) for r in result}


def test_prometheus_answers_the_compliance_state_query(prometheus: PrometheusServer) -> None:
    got = series(wait_for(prometheus, 'compliance_state{service=~"service-[abc]"}', 9), "service", "state")
    assert len(got) == 9
    assert {k for k, v in got.items() if v == 1} == {
        ("service-a", "sandbox"), ("service-b", "compliance_ready"), ("service-c", "compliant")}


def test_prometheus_answers_the_promotion_pipeline_query(prometheus: PrometheusServer) -> None:
    result = wait_for(prometheus, 'promotion_status{service=~"service-[abc]"} == 1', 3)
    assert {(r["metric"]["service"], r["metric"]["status"]) for r in result} == {
        ("service-a", "blocked"), ("service-b", "awaiting_approval"), ("service-c", "promoted")}
    assert all(r["metric"]["promotion_id"].startswith(r["metric"]["service"] + "-") for r in result)


def test_prometheus_answers_the_dependency_graph_query(prometheus: PrometheusServer) -> None:
    got = series(wait_for(prometheus, "service_dependencies", 3), "service", "dependency", "kind")
    assert got == {("service-a", "service-b", "runtime"): 1.0, ("service-a", "service-c", "data"): 0.0,
                   ("service-b", "service-c", "security"): 1.0}


def test_prometheus_has_the_ledger_size_verification_and_gate_durations(exporter: tuple[Path, str], prometheus: PrometheusServer) -> None:
    size = wait_for(prometheus, "gooseterm_ledger_entries", 1)
    assert float(size[0]["value"][1]) > 60
    assert float(wait_for(prometheus, "gooseterm_last_verification_valid", 1)[0]["value"][1]) == 1.0
    counts = wait_for(prometheus, "sum(gooseterm_gate_duration_seconds_count)", 1)
    assert float(counts[0]["value"][1]) > 10
    p95 = wait_for(prometheus, 'histogram_quantile(0.95, sum by (le) (gooseterm_gate_duration_seconds_bucket))', 1)
    assert 0 <= float(p95[0]["value"][1]) < 60


def test_every_query_of_the_grafana_dashboard_runs_and_the_plans_return_data(prometheus: PrometheusServer) -> None:
    wait_for(prometheus, "gooseterm_ledger_entries", 1)
    model = json.loads(DASHBOARD.read_text())
    for panel in model["panels"]:
        for target in panel["targets"]:
            result = wait_for(prometheus, target["expr"], 1, timeout=20)
            if panel["title"] in ("Compliance State", "Promotion Pipeline", "Dependency Graph", "Ledger entries"):
                assert result, (panel["title"], target["expr"])
