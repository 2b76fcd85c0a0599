"""The GitHub Actions client against a local server replaying GitHub's published examples.

The bodies are the examples of GitHub's OpenAPI description (npm @octokit/openapi, see
tests/fixtures/github/PROVENANCE.md); a test changes only what the scenario needs (a run's status,
download URLs pointing at the local server). Artifacts are zips of the example org's real tool
outputs. The signed download link lives on a second server (another origin), as GitHub's do.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ci_server import Answer, CIServer, Seen, as_json, fixture, zip_of

from gooseterm.adapters.errors import EvidenceError, SourceError
from gooseterm.breaker import SourceHealth
from gooseterm.collect import Request, collect
from gooseterm.gates import VALIDATORS, Result
from gooseterm.promotions import Orchestrator
from helpers.orgs import EVIDENCE, GOOSETERM, TestOrg, build_org, row_count, service_yaml, utc_now, write_config

pytestmark = pytest.mark.integration

TOKEN = "ghp_test0123456789abcdefTOKENVALUE"
REPO = "/repos/octo-org/service-c"
RUN = 30433642
COMMIT = "acb5820ced9479c074f688cc328bf03f341a511d"  # head_sha of the example run
REPORTS = {name: (EVIDENCE / "service-c" / name).read_bytes() for name in ("junit.xml", "coverage.xml", "bandit.sarif")}


@pytest.fixture
def servers() -> Iterator[tuple[CIServer, CIServer]]:
    """The API server and a storage server on another port (another origin) for signed links."""
    api, storage = CIServer(), CIServer()
    try:
        yield api, storage
    finally:
        api.stop()
        storage.stop()


def run_page(seen: Seen) -> Answer:
    """Page 1: the example verbatim (a queued run) with a Link to page 2, which holds it completed."""
    body = fixture("github", "workflow-runs.json")
    if seen.query.get("page") != ["2"]:
        link = f'<{API_URL[0]}{REPO}/actions/workflows/build.yml/runs?per_page=100&page=2>; rel="next"'
        return as_json(body, Link=link)
    body["workflow_runs"][0].update(status="completed", conclusion="success")
    return as_json(body)


API_URL: list[str] = [""]


def script(api: CIServer, storage: CIServer, artifacts: dict[int, bytes] | None = None, listed: list[dict] | None = None) -> None:
    """Routes for a run of COMMIT with two artifacts (11: JUnit + coverage, 13: SARIF)."""
    API_URL[0] = api.url
    artifacts = artifacts if artifacts is not None else {
        11: zip_of({"reports/junit.xml": REPORTS["junit.xml"], "reports/coverage.xml": REPORTS["coverage.xml"]}),
        13: zip_of({"bandit.sarif": REPORTS["bandit.sarif"], "README.txt": b"not evidence"}),
    }
    api.route(f"{REPO}/actions/workflows/build.yml/runs", run_page)
    api.route(f"{REPO}/actions/runs/{RUN}/jobs", as_json(fixture("github", "jobs.json")))
    listing = fixture("github", "artifacts.json")
    for item in listing["artifacts"]:
        item["archive_download_url"] = f"{api.url}{REPO}/actions/artifacts/{item['id']}/zip"
    if listed is not None:
        listing["artifacts"] = listed
    api.route(f"{REPO}/actions/runs/{RUN}/artifacts", as_json(listing))
    for artifact_id, data in artifacts.items():
        api.route(f"{REPO}/actions/artifacts/{artifact_id}/zip",
                  Answer(302, headers={"Location": f"{storage.url}/blob/{artifact_id}?sig=SIGNATURE-SECRET&se=soon"}))
        storage.route(f"/blob/{artifact_id}", Answer(200, data, {"Content-Type": "application/zip"}))
    api.route(f"{REPO}/actions/runs/{RUN}/approvals", as_json(fixture("github", "approvals.json")))


def github_config(root: Path, api_url: str, **extra: object) -> Path:
    config = write_config(root, {"service-c": service_yaml("service-c")})
    org = yaml.safe_load((config / "org.yaml").read_text())
    org.pop("mesh", None)  # the example's mesh section names the example services
    org.setdefault("evidence_sources", {})["github"] = {"api_url": api_url, "repository": "octo-org/${service}", "workflow": "build.yml",
                                         "branch": "master", "token_env": "GITHUB_TOKEN", "timeout": "2s",
                                         "allow_insecure_http": True, **extra}  # the test server is on 127.0.0.1
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    return config


@pytest.fixture
def org(servers, isolated_home: Path, tmp_path: Path) -> Iterator[TestOrg]:
    api, _ = servers
    built = build_org(isolated_home, github_config(tmp_path / "org", api.url), clock=utc_now)
    built.onboard("service-c")
    try:
        yield built
    finally:
        built.close()


def pull(org: TestOrg, env: dict | None = None, health: SourceHealth | None = None, commit: str | None = COMMIT):
    return collect(org.as_("ci"), Request("service-c", ["github"], commit=commit), health,
                   env={"GITHUB_TOKEN": TOKEN} if env is None else env)


def test_collect_pulls_junit_sarif_coverage_and_approvals_from_a_run(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    report = pull(org)
    kinds = {r["kind"]: r for r in report.recorded}
    assert set(kinds) == {"junit", "coverage", "sarif", "environment_approvals"}
    assert kinds["junit"]["source"] == f"{api.url}{REPO}/actions/artifacts/11/zip#reports/junit.xml"
    assert kinds["environment_approvals"]["source"] == f"{api.url}{REPO}/actions/runs/{RUN}/approvals"
    assert all(r["collector"] == "github" for r in report.recorded)
    context = report.sources[0]["context"]
    assert context["run"]["id"] == RUN and context["jobs"][0]["name"] == "build"
    ctx = org.reader().context("service-c")
    assert VALIDATORS["all_tests_passing"](ctx, {}).result == Result.PASS
    assert VALIDATORS["sast_results_clean"](ctx, {}).result == Result.PASS
    assert VALIDATORS["test_coverage_threshold"](ctx, {"min_line_rate": 0.8}).result == Result.PASS
    approvals = ctx.evidence["environment_approvals"].facts
    assert approvals["approved"] == ["staging"] and approvals["reviews"][0]["user"] == "octocat"
    # The token went to the API only; the signed link was fetched without it.
    assert all(s.headers.get("authorization") == f"Bearer {TOKEN}" for s in api.seen)
    assert all("authorization" not in s.headers for s in storage.seen)
    assert api.requests_to(f"{REPO}/actions/workflows/build.yml/runs")[0].query["head_sha"] == [COMMIT]


def test_runs_are_followed_over_link_pagination(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    pull(org)
    pages = [s.query.get("page") for s in api.requests_to(f"{REPO}/actions/workflows/build.yml/runs")]
    assert pages == [None, ["2"]]


def test_every_fact_in_the_ledger_says_where_it_came_from(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    report = pull(org)
    for row in report.recorded:
        entry = org.ledger.entry(row["seq"])
        assert entry.predicate["source"] == row["source"] and entry.predicate["collector"] == "github"
        assert entry.predicate["digest"] == row["digest"] and org.ledger.blob(row["digest"])
        assert TOKEN not in entry.leaf.decode() and "SIGNATURE-SECRET" not in entry.leaf.decode()


def refused(org: TestOrg, *, env: dict | None = None, match: str = "", health: SourceHealth | None = None) -> SourceError | EvidenceError:
    """Collect, expecting an error; the ledger must be unchanged."""
    size = org.size()
    with pytest.raises((SourceError, EvidenceError), match=match) as error:
        pull(org, env, health)
    assert org.size() == size
    assert TOKEN not in str(error.value) and "SIGNATURE-SECRET" not in str(error.value)
    return error.value


def test_missing_token_names_the_variable(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    error = refused(org, env={}, match="the environment variable GITHUB_TOKEN")
    assert error.reason == "unauthorized" and api.seen == []


def test_wrong_token_is_401_with_github_message(org: TestOrg, servers) -> None:
    api, _ = servers
    API_URL[0] = api.url
    api.route(f"{REPO}/actions/workflows/build.yml/runs",
              as_json({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401))
    error = refused(org, match=r"github \(http://127\.0\.0\.1:\d+/repos/octo-org/service-c/actions/workflows/build.yml/runs\): HTTP 401: Bad credentials")
    assert error.reason == "unauthorized" and not error.transient


def test_forbidden_and_not_found_are_named(org: TestOrg, servers) -> None:
    api, _ = servers
    api.route(f"{REPO}/actions/workflows/build.yml/runs",
              as_json({"message": "Resource not accessible by integration"}, 403),
              as_json({"message": "Not Found"}, 404))
    assert refused(org, match="HTTP 403: Resource not accessible by integration").reason == "forbidden"
    assert refused(org, match="HTTP 404: Not Found").reason == "not_found"


def test_429_with_retry_after_is_waited_out(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    api.route(f"{REPO}/actions/runs/{RUN}/jobs", as_json({"message": "slow down"}, 429, **{"Retry-After": "1"}),
              as_json(fixture("github", "jobs.json")))
    started = time.monotonic()
    assert len(pull(org).recorded) == 4
    assert time.monotonic() - started >= 1.0
    assert len(api.requests_to(f"{REPO}/actions/runs/{RUN}/jobs")) == 2


def test_primary_rate_limit_waits_for_x_ratelimit_reset(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    reset = str(int(time.time()) + 1)
    api.route(f"{REPO}/actions/runs/{RUN}/artifacts",
              as_json({"message": "API rate limit exceeded"}, 403, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}),
              *api.routes[f"{REPO}/actions/runs/{RUN}/artifacts"])
    assert len(pull(org).recorded) == 4


def test_a_rate_limit_longer_than_we_wait_fails_at_once(org: TestOrg, servers) -> None:
    api, _ = servers
    api.route(f"{REPO}/actions/workflows/build.yml/runs", as_json({"message": "secondary rate limit"}, 429, **{"Retry-After": "3600"}))
    error = refused(org, match="rate limited .* the server asks to wait 3600s")
    assert error.reason == "rate_limited" and len(api.seen) == 1


def test_server_errors_are_retried_then_reported(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    api.route(f"{REPO}/actions/runs/{RUN}/jobs", as_json({"message": "Server Error"}, 502), as_json(fixture("github", "jobs.json")))
    assert len(pull(org).recorded) == 4
    api.route(f"{REPO}/actions/runs/{RUN}/jobs", as_json({"message": "Server Error"}, 500))
    error = refused(org, match="server error HTTP 500 after 3 tries")
    assert error.transient


def test_expired_download_link_is_refused_by_storage(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    storage.route("/blob/11", Answer(403, b"<Error><Code>AuthenticationFailed</Code></Error>", {"Content-Type": "application/xml"}))
    error = refused(org, match=r"github \(http://127\.0\.0\.1:\d+/blob/11\): the download link was refused by the storage server \(HTTP 403\)")
    assert error.reason == "artifact"


def test_expired_artifacts_are_skipped_and_a_run_with_none_left_fails(org: TestOrg, servers) -> None:
    api, storage = servers
    listing = fixture("github", "artifacts.json")["artifacts"]
    for item in listing:
        item["expired"] = True
    script(api, storage, listed=listing)
    error = refused(org, match=r"run 30433642 \(Build\) has no readable report artifacts: artifact 'Rails' expired")
    assert error.reason == "not_found"


def test_gone_artifact_is_410(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    api.route(f"{REPO}/actions/artifacts/11/zip", as_json({"message": "Artifact has expired"}, 410))
    assert refused(org, match="HTTP 410: Artifact has expired").reason == "not_found"


@pytest.mark.parametrize(("artifact", "match"), ids=["corrupt", "dot-dot", "symlink-out", "two-junit"], argvalues=[
    (b"PK\x03\x04 this is not really a zip", "not a readable zip archive"),
    (zip_of({"../../etc/cron.d/evil": b"x", "junit.xml": REPORTS["junit.xml"]}), r"'\.\./\.\./etc/cron\.d/evil' points outside the archive"),
    (zip_of({"junit.xml": REPORTS["junit.xml"]}, links={"coverage.xml": "../../../etc/passwd"}), "is a symlink to '../../../etc/passwd', outside the archive"),
    (zip_of({"junit.xml": REPORTS["junit.xml"], "more/junit.xml": REPORTS["junit.xml"]}), "2 junit files found"),
])
def test_bad_artifacts_are_refused_whole(org: TestOrg, servers, artifact: bytes, match: str) -> None:
    api, storage = servers
    script(api, storage, artifacts={11: artifact, 13: zip_of({"bandit.sarif": REPORTS["bandit.sarif"]})})
    error = refused(org, match=match)
    assert str(error).startswith(f"github ({api.url}{REPO}/actions/artifacts/11/zip)") or "junit files found" in str(error)


def test_oversize_artifact_is_refused_before_reading(servers, isolated_home: Path, tmp_path: Path) -> None:
    api, storage = servers
    built = build_org(isolated_home, github_config(tmp_path / "org", api.url, max_artifact_bytes=1000), clock=utc_now)
    try:
        script(api, storage, artifacts={11: zip_of({"junit.xml": b"<testsuite>" + b" " * 5000 + b"</testsuite>"}, ) + b"\0" * 4000})
        error = refused(built, match=r"the download is \d+ bytes, larger than the limit of 1000 bytes")
        assert error.reason == "artifact"
    finally:
        built.close()


def test_a_source_that_keeps_failing_is_cut_off(org: TestOrg, servers, tmp_path: Path) -> None:
    api, storage = servers
    health = SourceHealth(tmp_path / "sources")
    script(api, storage)
    pull(org, health=health)  # a good fact first
    api.route(f"{REPO}/actions/workflows/build.yml/runs", as_json({"message": "Server Error"}, 503))
    for _ in range(3):
        refused(org, match="server error HTTP 503", health=health)
    seen = len(api.seen)
    error = refused(org, match="cut off for", health=health)
    assert error.reason == "cut_off" and len(api.seen) == seen  # no traffic while cut off
    orch = Orchestrator(org.ledger, org.org, None, health)
    outcome = VALIDATORS["all_tests_passing"](orch.context("service-c"), {})
    assert outcome.result == Result.INCONCLUSIVE
    assert outcome.reason.startswith("source github is cut off since") and "the last good junit fact is" in outcome.reason


def test_collect_command_end_to_end(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    env = {**os.environ, "GOOSETERM_HOME": str(org.home), "GITHUB_TOKEN": TOKEN}
    args = [str(GOOSETERM), "--config", str(org.config), "--as", "ci", "collect", "--service", "service-c",
            "--source", "github", "--commit", COMMIT, "--json"]
    ran = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert sorted(r["kind"] for r in out["recorded"]) == ["coverage", "environment_approvals", "junit", "sarif"]
    before = row_count(org.ledger_path)
    bad = subprocess.run(args, capture_output=True, text=True, timeout=60, env={**env, "GITHUB_TOKEN": ""})
    assert bad.returncode == 2 and bad.stderr.startswith("gooseterm: github: the environment variable GITHUB_TOKEN")
    assert row_count(org.ledger_path) == before


def test_the_current_run_is_read_by_id_while_it_is_still_queued(org: TestOrg, servers) -> None:
    api, storage = servers
    script(api, storage)
    api.route(f"{REPO}/actions/runs/{RUN}", as_json(fixture("github", "workflow-run.json")))  # status: queued
    report = collect(org.as_("ci"), Request("service-c", ["github"], run=RUN), None, env={"GITHUB_TOKEN": TOKEN})
    assert report.sources[0]["context"]["run"]["status"] == "queued" and len(report.recorded) == 4
    assert api.requests_to(f"{REPO}/actions/workflows/build.yml/runs") == []
