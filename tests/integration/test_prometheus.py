"""The performance gate and the Prometheus adapter against a real Prometheus (Debian's 2.42).

One server per session (prometheus_harness.py): six hours of backfilled history for made-up
services whose latencies pass, warn, fail, go NaN or regress against their compliant baseline,
plus one live series scraped from a local exporter. Bad input (down, slow, bad PromQL, empty
result, wrong credentials) must give a clear error naming the source and write nothing.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_harness import BASIC_PASSWORD, BASIC_USER, PrometheusServer, free_port, start_prometheus

from gooseterm.adapters.errors import SourceError
from gooseterm.adapters.http import Credentials, RetryPolicy, SourceClient
from gooseterm.adapters.prometheus import PrometheusClient, reduce
from gooseterm.breaker import SourceHealth
from gooseterm.collect import Request, collect
from gooseterm.gates import VALIDATORS, Result
from gooseterm.promotions import Orchestrator
from gooseterm.orgconfig import load_org
from helpers.orgs import GOOSETERM, TestOrg, build_org, example_rules, row_count, service_yaml, utc_now, write_config

pytestmark = pytest.mark.integration

SERVICES = ("fast", "warm", "slow", "regress", "nan", "dup", "ghost", "live")
SLO = {
    "total_score": {"pass": "90%", "warning": "75%"},
    "objectives": [
        {"sli": "latency_p99_ms", "display_name": "p99 latency", "query": 'goose_latency_p99_ms{service="${service}"}',
         "pass": ["<= 600", "<= +10%"], "warning": ["<= 800"], "weight": 1, "key_sli": True},
        {"sli": "error_ratio", "query": 'goose_error_ratio{service="${service}"}', "pass": ["< 0.01"], "warning": ["< 0.02"]},
    ],
}


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus on 127.0.0.1 with backfilled history, for the whole session."""
    server = start_prometheus(tmp_path_factory.mktemp("prometheus"))
    try:
        yield server
    finally:
        server.stop()


def org_config(root: Path, url: str, slo: dict = SLO, **source: object) -> Path:
    """The example org with the test services, `slo` in rules.yaml and Prometheus at `url`."""
    rules = example_rules()
    rules["slo"] = slo
    config = write_config(root, {s: service_yaml(s) for s in SERVICES}, rules=rules)
    org = yaml.safe_load((config / "org.yaml").read_text())
    org.pop("mesh", None)  # the example's mesh section names the example services
    org.setdefault("evidence_sources", {})["prometheus"] = {"url": url, "timeout": "2s", "retries": 2,
                                                         "allow_insecure_http": True, **source}  # Prometheus on 127.0.0.1
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    return config


@pytest.fixture
def org(prometheus: PrometheusServer, isolated_home: Path, tmp_path: Path) -> Iterator[TestOrg]:
    """Keys, a ledger and orchestrators for an org whose Prometheus is the test server."""
    built = build_org(isolated_home, org_config(tmp_path / "org", prometheus.url), clock=utc_now)
    try:
        yield built
    finally:
        built.close()


def take(org: TestOrg, service: str, at, health: SourceHealth | None = None):
    """Collect the service's metrics snapshot from Prometheus as of `at`, as CI would."""
    return collect(org.as_("ci"), Request(service, ["prometheus"]), health, env={}, now=at)


def gate(org: TestOrg, service: str):
    """The performance gate's outcome for the service, as a promotion would evaluate it."""
    return VALIDATORS["performance_baseline_met"](org.reader().context(service), {})


def row(outcome, sli: str) -> dict:
    return next(r for r in outcome.details["objectives"] if r["sli"] == sli)


def client(url: str, **kw) -> PrometheusClient:
    return PrometheusClient(SourceClient("prometheus", url, timeout=kw.pop("timeout", 2.0),
                                         retry=RetryPolicy(attempts=2, backoff=0.05),
                                         allow_insecure_http=True, **kw))  # the test server is on 127.0.0.1


# -- the adapter --------------------------------------------------------------------------------


def test_instant_query_reads_value_strings_as_floats(prometheus: PrometheusServer) -> None:
    result = client(prometheus.url).query('goose_latency_p99_ms{service="fast"}', at=prometheus.end)
    assert result.result_type == "vector" and len(result.series) == 1
    sample = result.series[0].samples[0]
    assert isinstance(sample.raw, str) and sample.value == float(sample.raw) and 190 <= sample.value <= 210
    assert result.series[0].labels["service"] == "fast"


def test_range_query_returns_one_sample_per_step(prometheus: PrometheusServer) -> None:
    result = client(prometheus.url).query_range('goose_latency_p99_ms{service="regress"}',
                                                prometheus.end - timedelta(hours=2), prometheus.end, 60)
    values = [s.value for s in result.series[0].samples]
    assert result.result_type == "matrix" and len(values) == 121
    assert values[0] == 400 and values[-1] == 480
    assert reduce(result, "max") == 480 and reduce(result, "min") == 400


def test_nan_arrives_as_a_string_and_is_flagged(prometheus: PrometheusServer) -> None:
    result = client(prometheus.url).query('goose_latency_p99_ms{service="nan"}', at=prometheus.end)
    sample = result.series[0].samples[0]
    assert sample.raw == "NaN" and not sample.finite
    assert reduce(result) != reduce(result)  # NaN


def test_bad_promql_is_refused_with_prometheus_own_reason(prometheus: PrometheusServer) -> None:
    with pytest.raises(SourceError) as error:
        client(prometheus.url).query("sum(rate(goose_latency_p99_ms[5m]")
    assert error.value.reason == "bad_query" and error.value.status == 400
    assert str(error.value).startswith(f"prometheus ({prometheus.url}): query `sum(rate(goose_latency_p99_ms[5m]` was refused (bad_data)")
    assert "unclosed left parenthesis" in str(error.value)


def test_empty_result_is_no_data_naming_source_and_query(prometheus: PrometheusServer) -> None:
    result = client(prometheus.url).query('goose_latency_p99_ms{service="ghost"}', at=prometheus.end)
    assert result.empty
    with pytest.raises(SourceError, match=r"prometheus \(http://127\.0\.0\.1:\d+\): query `goose_latency_p99_ms\{service=\"ghost\"\}` returned an empty result") as error:
        reduce(result)
    assert error.value.reason == "no_data"


def test_several_series_are_ambiguous(prometheus: PrometheusServer) -> None:
    result = client(prometheus.url).query('goose_latency_p99_ms{service="dup"}', at=prometheus.end)
    with pytest.raises(SourceError, match="returned 2 series") as error:
        reduce(result)
    assert "aggregate the query" in str(error.value)


def test_basic_auth_is_sent_and_a_wrong_password_is_named(tmp_path: Path) -> None:
    server = start_prometheus(tmp_path / "auth", basic_auth=True, backfill=False)
    try:
        ok = client(server.url, credentials=Credentials.basic(BASIC_USER, BASIC_PASSWORD)).query("vector(42)")
        assert ok.series[0].samples[0].value == 42
        wrong = Credentials.basic(BASIC_USER, "not-it")
        with pytest.raises(SourceError) as error:
            client(server.url, credentials=wrong).query("vector(42)")
        assert error.value.reason == "unauthorized" and error.value.status == 401
        assert "not-it" not in str(error.value) and "not-it" not in repr(wrong)
    finally:
        server.stop()


def test_prometheus_down_is_unreachable_after_retries() -> None:
    with pytest.raises(SourceError, match=r"cannot connect after 2 tries") as error:
        client(f"http://127.0.0.1:{free_port()}").query("up")
    assert error.value.reason == "unreachable" and error.value.transient


def test_slow_prometheus_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts into its backlog, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(SourceError, match="no answer within the timeout after 2 tries") as error:
            client(url, timeout=0.3).query("up")
    assert error.value.reason == "timeout" and error.value.transient


def test_live_series_from_the_local_exporter(prometheus: PrometheusServer) -> None:
    import time

    deadline = time.monotonic() + 20  # the first scrape comes a few seconds after start
    result = client(prometheus.url).query('goose_live_latency_ms{service="live"}')
    while result.empty and time.monotonic() < deadline:
        time.sleep(0.25)
        result = client(prometheus.url).query('goose_live_latency_ms{service="live"}')
    assert reduce(result) == 123.0 and result.series[0].labels["job"] == "exporter"


# -- the performance gate on real series ----------------------------------------------------


def test_passing_service_scores_full_marks(org: TestOrg, prometheus: PrometheusServer) -> None:
    report = take(org, "fast", prometheus.end)
    [recorded] = report.recorded
    assert recorded["collector"] == "prometheus" and recorded["source"] == f"{prometheus.url}/api/v1/query"
    outcome = gate(org, "fast")
    assert outcome.result == Result.PASS, outcome.reason
    assert outcome.details["score"] == 100.0 and outcome.evidence == (recorded["digest"],)
    latency = row(outcome, "latency_p99_ms")
    assert latency["status"] == "pass" and latency["criteria"]["pass"][0][1]["note"] == "no compliant baseline yet"


def test_warning_service_scores_between_the_thresholds(org: TestOrg, prometheus: PrometheusServer) -> None:
    take(org, "warm", prometheus.end)
    outcome = gate(org, "warm")
    assert outcome.result == Result.WARN, outcome.reason
    assert outcome.details["score"] == 75.0
    assert row(outcome, "latency_p99_ms")["status"] == "warning" and row(outcome, "latency_p99_ms")["score"] == 0.5


def test_failing_key_sli_fails_the_gate(org: TestOrg, prometheus: PrometheusServer) -> None:
    take(org, "slow", prometheus.end)
    outcome = gate(org, "slow")
    assert outcome.result == Result.FAIL
    assert outcome.details["key_sli_failed"] == ["latency_p99_ms"] and outcome.reason.startswith("key SLI latency_p99_ms failed")


def test_no_data_fails_by_default_and_is_recorded_as_such(org: TestOrg, prometheus: PrometheusServer) -> None:
    take(org, "ghost", prometheus.end)
    facts = org.reader().context("ghost").evidence["metrics"].facts
    assert set(facts["no_data"]) == {"latency_p99_ms", "error_ratio"} and facts["values"] == {}
    outcome = gate(org, "ghost")
    assert outcome.result == Result.FAIL
    assert "no data (prometheus" in row(outcome, "latency_p99_ms")["reason"] and "no_data policy: fail" in outcome.reason


def test_no_data_policy_ignore_leaves_an_objective_out(prometheus: PrometheusServer, isolated_home: Path, tmp_path: Path) -> None:
    slo = {**SLO, "objectives": [SLO["objectives"][0], {**SLO["objectives"][1], "query": "goose_missing_metric", "no_data": "ignore"}]}
    built = build_org(isolated_home, org_config(tmp_path / "org", prometheus.url, slo), clock=utc_now)
    try:
        take(built, "fast", prometheus.end)
        outcome = gate(built, "fast")
        assert outcome.result == Result.PASS and row(outcome, "error_ratio")["status"] == "ignored"
        assert outcome.details["maximum"] == 1
    finally:
        built.close()


def test_nan_fails_closed(org: TestOrg, prometheus: PrometheusServer) -> None:
    take(org, "nan", prometheus.end)
    assert org.reader().context("nan").evidence["metrics"].facts["non_finite"] == ["latency_p99_ms"]
    outcome = gate(org, "nan")
    assert outcome.result == Result.FAIL and row(outcome, "latency_p99_ms")["reason"] == "value is NaN: not a finite number"


def test_range_window_is_aggregated(prometheus: PrometheusServer, isolated_home: Path, tmp_path: Path) -> None:
    slo = {**SLO, "objectives": [{**SLO["objectives"][0], "window": "2h", "aggregate": "max"}]}
    built = build_org(isolated_home, org_config(tmp_path / "org", prometheus.url, slo), clock=utc_now)
    try:
        take(built, "regress", prometheus.end)
        snapshot = json.loads(built.ledger.blob(built.reader().context("regress").evidence["metrics"].digest))
        entry = snapshot["metrics"]["latency_p99_ms"]
        assert entry["value"] == "480.0" and entry["window"] == "7200s" and entry["aggregate"] == "max"
    finally:
        built.close()


def test_relative_criterion_compares_with_the_last_compliant_baseline(org: TestOrg, prometheus: PrometheusServer) -> None:
    org.onboard("regress")
    org.collect("regress", like="service-c", kinds=("junit", "sarif", "coverage"))
    take(org, "regress", prometheus.end - timedelta(hours=2))  # latency 400 then
    assert org.as_("alice").request("regress", "compliance_ready").status == "promoted"
    pid = org.as_("alice").request("regress", "compliant").promotion
    org.as_("bob").approve(pid)
    assert org.as_("carol").approve(pid).status == "promoted"
    baseline_digest = org.reader().context("regress").evidence["metrics"].digest

    take(org, "regress", prometheus.end)  # latency 480: +20% over the baseline
    outcome = gate(org, "regress")
    assert outcome.result == Result.WARN, outcome.reason
    latency = row(outcome, "latency_p99_ms")
    assert (latency["value"], latency["baseline"], latency["status"]) == (480.0, 400.0, "warning")
    assert latency["criteria"]["pass"][0] == [{"criterion": "<= 600", "threshold": 600.0, "met": True},
                                              {"criterion": "<= +10%", "threshold": pytest.approx(440.0), "met": False}]
    assert outcome.details["baseline"]["digest"] == baseline_digest and baseline_digest in outcome.evidence


def test_gate_result_in_the_ledger_records_the_score_per_objective(org: TestOrg, prometheus: PrometheusServer) -> None:
    org.onboard("warm")
    org.collect("warm", like="service-c", kinds=("junit", "sarif", "coverage"))
    take(org, "warm", prometheus.end)
    org.as_("alice").request("warm", "compliance_ready")
    out = org.as_("alice").request("warm", "compliant")
    entries = org.entries(kind="gate.result", promotion=out.promotion)
    check = next(c for e in entries for c in e.predicate["checks"] if c["validator"] == "performance_baseline_met")
    assert check["result"] == "warn" and check["details"]["score"] == 75.0
    assert {o["sli"]: o["score"] for o in check["details"]["objectives"]} == {"latency_p99_ms": 0.5, "error_ratio": 1.0}


# -- degradation: the circuit breaker --------------------------------------------------------


def test_a_source_that_keeps_failing_is_cut_off_and_its_gates_go_inconclusive(
    prometheus: PrometheusServer, isolated_home: Path, tmp_path: Path
) -> None:
    good = org_config(tmp_path / "good", prometheus.url, circuit_breaker={"failures": 2, "cooldown": "1h"})
    built = build_org(isolated_home, good, clock=utc_now)
    health = SourceHealth(tmp_path / "sources")
    try:
        take(built, "fast", prometheus.end, health)
        assert health.state("prometheus")["failures"] == 0
        down = load_org(org_config(tmp_path / "down", f"http://127.0.0.1:{free_port()}",
                                   circuit_breaker={"failures": 2, "cooldown": "1h"}, retries=1))
        broken = Orchestrator(built.ledger, down, built.signers["ci"], health)
        size = built.size()
        for _ in range(2):
            with pytest.raises(SourceError, match="cannot connect"):
                collect(broken, Request("fast", ["prometheus"]), health, env={}, now=prometheus.end)
        with pytest.raises(SourceError, match=r"cut off for \d+m more after 2 failed collections") as cut:
            collect(broken, Request("fast", ["prometheus"]), health, env={}, now=prometheus.end)
        assert cut.value.reason == "cut_off" and built.size() == size
        outcome = VALIDATORS["performance_baseline_met"](broken.context("fast"), {})
        assert outcome.result == Result.INCONCLUSIVE
        assert "source prometheus is cut off since" in outcome.reason and "the last good metrics fact is" in outcome.reason
    finally:
        built.close()


def test_after_the_cooldown_one_trial_closes_the_breaker(prometheus: PrometheusServer, org: TestOrg, tmp_path: Path) -> None:
    clock = [1_000_000.0]
    health = SourceHealth(tmp_path / "sources", clock=lambda: clock[0])
    settings = org.org.org.evidence_sources.prometheus.circuit_breaker
    error = SourceError("prometheus", "http://x", "down", reason="unreachable", transient=True)
    for _ in range(settings.failures):
        health.failed("prometheus", error, settings)
    with pytest.raises(SourceError, match="cut off"):
        take(org, "fast", prometheus.end, health)
    clock[0] += settings.cooldown.total_seconds() + 1
    take(org, "fast", prometheus.end, health)
    assert health.state("prometheus")["open"] is False and health.cut_off("prometheus") is None


# -- the command: nothing half-written ------------------------------------------------------


def run_collect(org: TestOrg, config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GOOSETERM), "--config", str(config), "--as", "ci", "collect", *args],
                          capture_output=True, text=True, timeout=60, env=_env(org))


def _env(org: TestOrg) -> dict:
    import os

    return {**os.environ, "GOOSETERM_HOME": str(org.home)}


def test_collect_command_records_the_snapshot_with_url_time_and_digest(org: TestOrg, prometheus: PrometheusServer) -> None:
    ran = run_collect(org, org.config, "--service", "live", "--source", "prometheus", "--json")
    assert ran.returncode == 0, ran.stderr
    [recorded] = json.loads(ran.stdout)["recorded"]
    entry = org.ledger.entry(recorded["seq"])
    assert entry.kind == "evidence.metrics" and entry.predicate["source"] == f"{prometheus.url}/api/v1/query"
    assert entry.predicate["collector"] == "prometheus" and entry.predicate["digest"] == recorded["digest"]
    snapshot = json.loads(org.ledger.blob(recorded["digest"]))
    assert snapshot["url"] == prometheus.url and snapshot["taken_at"].endswith("Z") and recorded["time"]


@pytest.mark.parametrize(("make_url", "expected"), [
    (lambda p: f"http://127.0.0.1:{free_port()}", "cannot connect after 2 tries"),
    (lambda p: p.url, "was refused (bad_data)"),
])
def test_collect_failure_names_the_source_and_writes_nothing(
    make_url, expected, prometheus: PrometheusServer, isolated_home: Path, tmp_path: Path
) -> None:
    slo = {**SLO, "objectives": [{**SLO["objectives"][0], "query": "sum(rate(x[5m]"}]} if "bad_data" in expected else SLO
    config = org_config(tmp_path / "org", make_url(prometheus), slo)
    built = build_org(isolated_home, config, clock=utc_now)
    built.close()
    before = row_count(built.ledger_path)
    ran = run_collect(built, config, "--service", "fast", "--source", "prometheus")
    assert ran.returncode == 2 and ran.stdout == ""
    assert ran.stderr.startswith("gooseterm: prometheus (http://127.0.0.1:") and expected in ran.stderr
    assert "Traceback" not in ran.stderr and row_count(built.ledger_path) == before


def test_slow_prometheus_fails_collect_with_nothing_written(isolated_home: Path, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts into its backlog, never answers
        config = org_config(tmp_path / "org", f"http://127.0.0.1:{silent.getsockname()[1]}", timeout="1s", retries=1)
        built = build_org(isolated_home, config, clock=utc_now)
        built.close()
        before = row_count(built.ledger_path)
        ran = run_collect(built, config, "--service", "fast", "--source", "prometheus", "--json")
    assert ran.returncode == 2 and ran.stdout == ""
    assert "gooseterm: prometheus (http://127.0.0.1:" in ran.stderr and "no answer within the timeout after 1 try" in ran.stderr
    assert row_count(built.ledger_path) == before
