"""The GitLab CI client against a local server replaying the examples of GitLab's API documentation.

The bodies are the documentation's example responses (tests/fixtures/gitlab/PROVENANCE.md); a test
changes only what its scenario needs (a pipeline's status). Job artifacts are zips of the example
org's real tool outputs. Pagination is GitLab's `x-next-page`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ci_server import Answer, CIServer, Seen, as_json, fixture, zip_of

from gooseterm.adapters.errors import EvidenceError, SourceError
from gooseterm.collect import Request, collect
from gooseterm.gates import VALIDATORS, Result
from helpers.orgs import EVIDENCE, GOOSETERM, TestOrg, build_org, row_count, service_yaml, utc_now, write_config

pytestmark = pytest.mark.integration

TOKEN = "glpat-test0123456789TOKENVALUE"
PROJECT = "/api/v4/projects/foo%2Fservice-c"
PIPELINE = 48
COMMIT = "eb94b618fb5865b26e80fdd8ae531b7a63ad851a"  # sha of the example's pipeline 48
REPORTS = {name: (EVIDENCE / "service-c" / name).read_bytes() for name in ("junit.xml", "coverage.xml", "bandit.sarif")}


def pipelines_page(seen: Seen) -> Answer:
    """Page 1: pipeline 47 with x-next-page 2; page 2: pipeline 48, finished (the example says pending)."""
    first, second = fixture("gitlab", "pipelines.json")
    if seen.query.get("page") != ["2"]:
        return as_json([first], **{"x-page": "1", "x-next-page": "2", "x-total-pages": "2"})
    second["status"] = "success"
    return as_json([second], **{"x-page": "2", "x-next-page": "", "x-total-pages": "2"})


def script(server: CIServer, artifact: bytes | None = None) -> None:
    """Routes for pipeline 48: its jobs (7 has an artifacts archive), test report and artifact."""
    server.route(f"{PROJECT}/pipelines", pipelines_page)
    server.route(f"{PROJECT}/pipelines/{PIPELINE}/jobs", as_json(fixture("gitlab", "jobs.json"), **{"x-next-page": ""}))
    server.route(f"{PROJECT}/pipelines/{PIPELINE}/test_report", as_json(fixture("gitlab", "test_report.json")))
    data = artifact if artifact is not None else zip_of(
        {"reports/bandit.sarif": REPORTS["bandit.sarif"], "reports/coverage.xml": REPORTS["coverage.xml"],
         "reports/junit.xml": REPORTS["junit.xml"]})
    server.route(f"{PROJECT}/jobs/7/artifacts", Answer(200, data, {"Content-Type": "application/zip"}))


@pytest.fixture
def server() -> Iterator[CIServer]:
    running = CIServer()
    try:
        yield running
    finally:
        running.stop()


def gitlab_config(root: Path, api_url: str, **extra: object) -> Path:
    config = write_config(root, {"service-c": service_yaml("service-c")})
    org = yaml.safe_load((config / "org.yaml").read_text())
    org.pop("mesh", None)  # the example's mesh section names the example services
    org.setdefault("evidence_sources", {})["gitlab"] = {
        "api_url": f"{api_url}/api/v4", "project": "foo/${service}", "ref": "new-pipeline", "token_env": "GITLAB_TOKEN",
        "timeout": "2s", "retries": 2, "allow_insecure_http": True, **extra}  # the test server is on 127.0.0.1
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    return config


@pytest.fixture
def org(server: CIServer, isolated_home: Path, tmp_path: Path) -> Iterator[TestOrg]:
    built = build_org(isolated_home, gitlab_config(tmp_path / "org", server.url), clock=utc_now)
    built.onboard("service-c")
    try:
        yield built
    finally:
        built.close()


def pull(org: TestOrg, env: dict | None = None):
    return collect(org.as_("ci"), Request("service-c", ["gitlab"], commit=COMMIT), None,
                   env={"GITLAB_TOKEN": TOKEN} if env is None else env)


def refused(org: TestOrg, match: str, env: dict | None = None) -> SourceError | EvidenceError:
    size = org.size()
    with pytest.raises((SourceError, EvidenceError), match=match) as error:
        pull(org, env)
    assert org.size() == size and TOKEN not in str(error.value)
    return error.value


def test_collect_reads_the_test_report_and_the_job_artifacts(org: TestOrg, server: CIServer) -> None:
    script(server)
    report = pull(org)
    kinds = {r["kind"]: r["source"] for r in report.recorded}
    assert kinds == {
        "junit": f"{server.url}{PROJECT}/pipelines/{PIPELINE}/test_report",
        "sarif": f"{server.url}{PROJECT}/jobs/7/artifacts#reports/bandit.sarif",
        "coverage": f"{server.url}{PROJECT}/jobs/7/artifacts#reports/coverage.xml",
    }
    assert report.sources[0]["notes"] == [f"{server.url}{PROJECT}/jobs/7/artifacts#reports/junit.xml: JUnit read through the pipeline test report instead"]
    assert report.sources[0]["context"]["pipeline"]["id"] == PIPELINE
    assert {j["name"] for j in report.sources[0]["context"]["jobs"]} == {"rspec:other", "teaspoon"}
    ctx = org.reader().context("service-c")
    junit = ctx.evidence["junit"].facts
    assert (junit["tests"], junit["passed"], junit["suites"]) == (1, 1, 1)
    assert VALIDATORS["all_tests_passing"](ctx, {}).result == Result.PASS
    assert VALIDATORS["sast_results_clean"](ctx, {}).result == Result.PASS
    assert all(s.headers.get("private-token") == TOKEN and "authorization" not in s.headers for s in server.seen)


def test_pipelines_are_followed_over_x_next_page(org: TestOrg, server: CIServer) -> None:
    script(server)
    pull(org)
    calls = server.requests_to(f"{PROJECT}/pipelines")
    assert [c.query.get("page") for c in calls] == [None, ["2"]]
    assert calls[0].query["sha"] == [COMMIT] and calls[0].query["ref"] == ["new-pipeline"]


def test_a_failing_test_in_the_report_fails_the_gate(org: TestOrg, server: CIServer) -> None:
    script(server)
    failing = fixture("gitlab", "test_report.json")
    case = failing["test_suites"][0]["test_cases"][0]
    case.update(status="failed", stack_trace="AssertionError: expected an MR\n  at spec:12")
    server.route(f"{PROJECT}/pipelines/{PIPELINE}/test_report", as_json(failing))
    pull(org)
    outcome = VALIDATORS["all_tests_passing"](org.reader().context("service-c"), {})
    assert outcome.result == Result.FAIL
    assert "vulnerability_management_spec::Security Reports can create an auto-remediation MR" in outcome.reason


def test_missing_token_names_the_variable(org: TestOrg, server: CIServer) -> None:
    script(server)
    assert refused(org, "the environment variable GITLAB_TOKEN", env={}).reason == "unauthorized"
    assert server.seen == []


@pytest.mark.parametrize(("status", "message", "reason"), [
    (401, "401 Unauthorized", "unauthorized"),
    (403, "403 Forbidden", "forbidden"),
    (404, "404 Project Not Found", "not_found"),
])
def test_refusals_are_named_with_gitlab_message(org: TestOrg, server: CIServer, status: int, message: str, reason: str) -> None:
    server.route(f"{PROJECT}/pipelines", as_json({"message": message}, status))
    error = refused(org, rf"gitlab \(http://127\.0\.0\.1:\d+{PROJECT}/pipelines\): HTTP {status}: {message}")
    assert error.reason == reason and not error.transient


def test_429_with_retry_after_then_success(org: TestOrg, server: CIServer) -> None:
    script(server)
    server.route(f"{PROJECT}/pipelines/{PIPELINE}/test_report",
                 as_json({"message": "Retry later"}, 429, **{"Retry-After": "1", "RateLimit-Reset": "0"}),
                 as_json(fixture("gitlab", "test_report.json")))
    assert len(pull(org).recorded) == 3


def test_5xx_is_retried_and_then_reported(org: TestOrg, server: CIServer) -> None:
    script(server)
    server.route(f"{PROJECT}/pipelines/{PIPELINE}/jobs", as_json({"message": "500 Internal Server Error"}, 500))
    error = refused(org, "server error HTTP 500 after 2 tries: 500 Internal Server Error")
    assert error.transient and len(server.requests_to(f"{PROJECT}/pipelines/{PIPELINE}/jobs")) == 2


def test_expired_job_artifacts_are_404(org: TestOrg, server: CIServer) -> None:
    script(server)
    server.route(f"{PROJECT}/jobs/7/artifacts", as_json({"message": "404 Not found"}, 404))
    assert refused(org, r"jobs/7/artifacts\): HTTP 404: 404 Not found").reason == "not_found"


def test_no_finished_pipeline_for_the_commit(org: TestOrg, server: CIServer) -> None:
    server.route(f"{PROJECT}/pipelines", as_json(fixture("gitlab", "pipelines.json")))  # both pending
    refused(org, f"no finished pipeline in foo/service-c for commit {COMMIT} ref new-pipeline")


@pytest.mark.parametrize(("artifact", "match"), ids=["corrupt", "dot-dot", "symlink-out"], argvalues=[
    (zip_of({"coverage.xml": REPORTS["coverage.xml"]})[:-30], "not a readable zip archive"),
    (zip_of({"/etc/passwd": b"root:x:0:0"}), "'/etc/passwd' points outside the archive"),
    (zip_of({"bandit.sarif": REPORTS["bandit.sarif"]}, links={"coverage.xml": "/etc/passwd"}), "is a symlink to '/etc/passwd'"),
])
def test_bad_artifacts_are_refused_whole(org: TestOrg, server: CIServer, artifact: bytes, match: str) -> None:
    script(server, artifact)
    refused(org, match)


def test_oversize_artifact_is_refused(server: CIServer, isolated_home: Path, tmp_path: Path) -> None:
    built = build_org(isolated_home, gitlab_config(tmp_path / "org", server.url, max_artifact_bytes=512), clock=utc_now)
    try:
        script(server)
        assert refused(built, "larger than the limit of 512 bytes").reason == "artifact"
    finally:
        built.close()


def test_collect_command_end_to_end(org: TestOrg, server: CIServer) -> None:
    script(server)
    env = {**os.environ, "GOOSETERM_HOME": str(org.home), "GITLAB_TOKEN": TOKEN}
    args = [str(GOOSETERM), "--config", str(org.config), "--as", "ci", "collect", "--service", "service-c",
            "--source", "gitlab", "--commit", COMMIT, "--json"]
    ran = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(ran.stdout)["recorded"]
    assert sorted(r["kind"] for r in rows) == ["coverage", "junit", "sarif"]
    entry = org.ledger.entry(rows[0]["seq"])
    assert entry.predicate["collector"] == "gitlab" and entry.predicate["source"].startswith(server.url)
    before = row_count(org.ledger_path)
    server.route(f"{PROJECT}/pipelines", as_json({"message": "401 Unauthorized"}, 401))
    bad = subprocess.run(args, capture_output=True, text=True, timeout=60, env={**env, "GITLAB_TOKEN": "wrong"})
    assert bad.returncode == 2 and "HTTP 401: 401 Unauthorized" in bad.stderr and "wrong" not in bad.stderr
    assert row_count(org.ledger_path) == before


def test_the_current_pipeline_is_read_by_id(org: TestOrg, server: CIServer) -> None:
    script(server)
    server.route(f"{PROJECT}/pipelines/287", as_json(fixture("gitlab", "pipeline.json")))
    server.route(f"{PROJECT}/pipelines/287/jobs", *server.routes[f"{PROJECT}/pipelines/{PIPELINE}/jobs"])
    server.route(f"{PROJECT}/pipelines/287/test_report", *server.routes[f"{PROJECT}/pipelines/{PIPELINE}/test_report"])
    report = collect(org.as_("ci"), Request("service-c", ["gitlab"], run=287), None, env={"GITLAB_TOKEN": TOKEN})
    assert report.sources[0]["context"]["pipeline"]["id"] == 287 and len(report.recorded) == 3
    assert server.requests_to(f"{PROJECT}/pipelines") == []
