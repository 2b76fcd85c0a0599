"""The pieces under the live sources: safe zip unpacking, the HTTP client's retries, rate limits,
pagination, capped downloads and redaction, the circuit breaker, and the CI report parsers."""

from __future__ import annotations

import email.utils
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from gooseterm.adapters.archive import ArchiveLimits, evidence_members, unpack_zip
from gooseterm.adapters.errors import EvidenceError, SourceError
from gooseterm.adapters.evidence import parse_evidence
from gooseterm.adapters.http import Credentials, RetryPolicy, SourceClient, redact_url
from gooseterm.adapters.metrics import parse_metrics, snapshot_document
from gooseterm.breaker import SourceHealth, age_text
from gooseterm.orgconfig.sourceconfig import CircuitBreaker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# -- archives -------------------------------------------------------------------------------------


def test_reports_are_found_by_name_anywhere_in_the_archive() -> None:
    members = unpack_zip(zip_bytes({"out/junit.xml": b"<x/>", "sub/dir/coverage.xml": b"<c/>", "notes.txt": b"n", "dir/": b""}), "a.zip")
    assert [(m.path, m.kind) for m in evidence_members(members)] == [("sub/dir/coverage.xml", "coverage"), ("out/junit.xml", "junit")]


@pytest.mark.parametrize("name", ["../x.xml", "a/../../x.xml", "/abs/junit.xml", "C:/junit.xml", "a\\..\\b.xml"])
def test_names_that_leave_the_archive_are_refused(name: str) -> None:
    with pytest.raises(EvidenceError, match="points outside the archive|backslash"):
        unpack_zip(zip_bytes({name: b"x"}), "a.zip")


def test_a_name_that_only_looks_like_dots_is_fine() -> None:
    assert unpack_zip(zip_bytes({"a/..b/junit.xml": b"x"}), "a.zip")[0].path == "a/..b/junit.xml"


def test_a_symlink_inside_is_skipped_and_one_out_refused() -> None:
    def with_link(target: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("reports/junit.xml", b"<x/>")
            info = zipfile.ZipInfo("reports/latest.xml")
            info.create_system, info.external_attr = 3, 0o120777 << 16
            archive.writestr(info, target)
        return buffer.getvalue()

    assert [m.path for m in unpack_zip(with_link("junit.xml"), "a.zip")] == ["reports/junit.xml"]
    with pytest.raises(EvidenceError, match="symlink to '../../x', outside the archive"):
        unpack_zip(with_link("../../x"), "a.zip")


def test_a_zip_bomb_is_refused_by_its_ratio() -> None:
    bomb = zip_bytes({"junit.xml": b"\0" * (8 * 1024 * 1024)})
    assert len(bomb) < 20_000
    with pytest.raises(EvidenceError, match="inflates \\d+-fold, a zip bomb"):
        unpack_zip(bomb, "bomb.zip")


def test_a_lying_header_is_caught_while_inflating() -> None:
    data = bytearray(zip_bytes({"junit.xml": b"a" * 5000}, zipfile.ZIP_STORED))
    # Shrink the declared size in both headers: the entry still holds 5000 bytes.
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(header) + offset
        data[at:at + 4] = (100).to_bytes(4, "little")
    with pytest.raises(EvidenceError):
        unpack_zip(bytes(data), "liar.zip", ArchiveLimits(max_file_bytes=1000))


def test_limits_on_count_size_and_duplicates() -> None:
    with pytest.raises(EvidenceError, match="has 3 entries, more than 2"):
        unpack_zip(zip_bytes({"a": b"", "b": b"", "c": b""}), "z", ArchiveLimits(max_members=2))
    with pytest.raises(EvidenceError, match="inflates to 300 bytes, more than 200"):
        unpack_zip(zip_bytes({"a": b"x" * 150, "b": b"y" * 150}), "z", ArchiveLimits(max_total_bytes=200))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("junit.xml", b"1")
        archive.writestr("junit.xml", b"2")
    with pytest.raises(EvidenceError, match="holds 'junit.xml' twice"):
        unpack_zip(buffer.getvalue(), "z")


def test_truncated_and_damaged_archives_are_refused() -> None:
    good = zip_bytes({"junit.xml": b"<testsuite/>" * 100})
    with pytest.raises(EvidenceError, match="not a readable zip archive"):
        unpack_zip(good[: len(good) // 2], "cut.zip")
    damaged = bytearray(good)
    start = damaged.find(b"junit.xml") + len("junit.xml") + 5
    damaged[start:start + 10] = b"\xff" * 10
    with pytest.raises(EvidenceError, match="corrupt|not a readable"):
        unpack_zip(bytes(damaged), "bad.zip")


# -- the HTTP client --------------------------------------------------------------------------------


class Script:
    """A MockTransport answering from a list, recording requests."""

    def __init__(self, *answers: httpx.Response | Exception):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script, sleeps: list, **kw) -> SourceClient:
    return SourceClient("github", "https://api.example", transport=httpx.MockTransport(script), sleep=sleeps.append,
                        clock=lambda: 1_000_000.0, retry=kw.pop("retry", RetryPolicy(attempts=3, backoff=0.1)), **kw)


def test_transient_failures_are_retried_with_backoff() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(503, json={"message": "busy"}), httpx.Response(200, json={"ok": 1}))
    sleeps: list[float] = []
    assert client(script, sleeps).get_json("x") == {"ok": 1}
    assert len(sleeps) == 2 and all(0 <= s <= 0.2 for s in sleeps)


def test_retry_after_as_seconds_and_as_http_date_and_rate_limit_reset() -> None:
    later = email.utils.format_datetime(__import__("datetime").datetime.fromtimestamp(1_000_007, tz=__import__("datetime").UTC), usegmt=True)
    script = Script(httpx.Response(429, headers={"retry-after": "3"}), httpx.Response(429, headers={"retry-after": later}),
                    httpx.Response(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000005"}),
                    httpx.Response(200, json=[]))
    sleeps: list[float] = []
    assert client(script, sleeps, retry=RetryPolicy(attempts=4)).get_json("x") == []
    assert sleeps == [3.0, 7.0, 5.0]


def test_a_403_without_rate_limit_headers_is_forbidden_not_retried() -> None:
    script = Script(httpx.Response(403, json={"message": "Must have admin rights"}))
    with pytest.raises(SourceError, match="HTTP 403: Must have admin rights") as error:
        client(script, []).get("x")
    assert error.value.reason == "forbidden" and len(script.requests) == 1


def test_credentials_never_show_in_repr_or_errors() -> None:
    creds = Credentials.bearer("s3cr3t-token")
    script = Script(httpx.Response(401, json={"message": "Bad credentials"}))
    c = client(script, [], credentials=creds)
    with pytest.raises(SourceError) as error:
        c.get("https://api.example/x?access_token=leak")
    assert "s3cr3t" not in repr(creds) + str(creds) + repr(c) + str(error.value)
    assert "leak" not in str(error.value) and script.requests[0].headers["authorization"] == "Bearer s3cr3t-token"
    assert redact_url("https://u:p@h:8/p?sig=1#f") == "https://h:8/p"


def test_link_and_x_next_page_pagination() -> None:
    script = Script(
        httpx.Response(200, json={"jobs": [1, 2]}, headers={"link": '<https://api.example/x?page=2&per_page=2>; rel="next"'}),
        httpx.Response(200, json={"jobs": [3]}),
    )
    assert list(client(script, []).paginate("x", {"per_page": 2}, items="jobs")) == [1, 2, 3]
    assert str(script.requests[1].url) == "https://api.example/x?page=2&per_page=2"
    script = Script(httpx.Response(200, json=[1], headers={"x-next-page": "2"}), httpx.Response(200, json=[2], headers={"x-next-page": ""}))
    assert list(client(script, []).paginate("x")) == [1, 2]
    assert script.requests[1].url.params["page"] == "2"


def test_pagination_is_bounded() -> None:
    script = Script(httpx.Response(200, json=[1], headers={"x-next-page": "2"}))
    with pytest.raises(SourceError, match="more than 3 pages"):
        list(client(script, []).paginate("x", max_pages=3))


def test_download_follows_a_redirect_without_credentials_to_another_origin() -> None:
    script = Script(httpx.Response(302, headers={"location": "https://storage.example/blob?sig=abc"}), httpx.Response(200, content=b"PK.."))
    data, url = client(script, [], credentials=Credentials.bearer("tok")).download("a/zip", max_bytes=100)
    assert data == b"PK.." and url == "https://storage.example/blob"
    assert "authorization" in script.requests[0].headers and "authorization" not in script.requests[1].headers


def test_download_is_capped_even_without_a_declared_length() -> None:
    def chunks():
        yield b"x" * 60
        yield b"x" * 60

    script = Script(httpx.Response(200, content=chunks()))
    with pytest.raises(SourceError, match="larger than the limit of 100 bytes") as error:
        client(script, []).download("a", max_bytes=100)
    assert error.value.reason == "artifact"


# -- the circuit breaker -----------------------------------------------------------------------------


def test_breaker_opens_after_the_threshold_and_lets_a_trial_through_after_the_cooldown(tmp_path: Path) -> None:
    now = [0.0]
    health = SourceHealth(tmp_path, clock=lambda: now[0])
    settings = CircuitBreaker(failures=2, cooldown="10m")
    error = SourceError("gitlab", "http://g", "down", reason="unreachable", transient=True)
    health.failed("gitlab", error, settings)
    assert health.cut_off("gitlab") is None
    health.allow("gitlab", settings)
    health.failed("gitlab", error, settings)
    assert "source gitlab is cut off since 1970-01-01T00:00:00Z after 2 failed collections in a row (last: unreachable: down)" == health.cut_off("gitlab")
    now[0] = 300
    with pytest.raises(SourceError, match="cut off for 5m more") as refused:
        health.allow("gitlab", settings)
    assert refused.value.reason == "cut_off"
    now[0] = 601
    health.allow("gitlab", settings)  # half open: one trial
    health.failed("gitlab", error, settings)
    assert health.state("gitlab")["opened_at"] == 601  # the failed trial opens it again
    health.succeeded("gitlab")
    assert health.cut_off("gitlab") is None and health.state("gitlab")["failures"] == 0


def test_a_damaged_state_file_forgets_the_breakers(tmp_path: Path) -> None:
    (tmp_path / "breakers.json").write_text("{not json")
    assert SourceHealth(tmp_path).cut_off("prometheus") is None


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (125, "2m"), (3 * 3600 + 720, "3h12m"), (2 * 86400 + 4 * 3600, "2d4h")])
def test_ages_read_like_a_person_writes_them(seconds: int, text: str) -> None:
    assert age_text(seconds) == text


# -- parsers of what CI sends -------------------------------------------------------------------------


def test_gitlab_test_report_is_read_as_junit_facts() -> None:
    facts = parse_evidence("junit", (FIXTURES / "gitlab" / "test_report.json").read_bytes(), "test_report")
    assert (facts.kind, facts.tests, facts.passed, facts.failed, facts.suites, facts.duration_seconds) == ("junit", 1, 1, 0, 1, 5.0)


def test_gitlab_test_report_counts_are_recomputed_from_the_cases() -> None:
    report = json.loads((FIXTURES / "gitlab" / "test_report.json").read_text())
    report["test_suites"][0]["test_cases"].append({"status": "error", "name": "boom", "classname": "c", "stack_trace": "\n  Boom!\n"})
    facts = parse_evidence("junit", json.dumps(report).encode(), "r")
    assert (facts.tests, facts.errors) == (2, 1) and facts.failures[0].id == "c::boom" and facts.failures[0].message == "Boom!"
    assert any("declares total_count=1 but lists 2" in n for n in facts.notes)
    with pytest.raises(EvidenceError, match="no `test_suites` list"):
        parse_evidence("junit", b'{"total_count": 0}', "r")


def test_environment_approvals_from_github() -> None:
    facts = parse_evidence("environment_approvals", (FIXTURES / "github" / "approvals.json").read_bytes(), "approvals")
    assert facts.approved == ["staging"] and facts.rejected == [] and facts.reviews[0].comment == "Ship it!"
    rejected = json.loads((FIXTURES / "github" / "approvals.json").read_text())
    rejected.append({**rejected[0], "state": "rejected", "comment": "no"})
    facts = parse_evidence("environment_approvals", json.dumps(rejected).encode(), "a")
    assert facts.approved == [] and facts.rejected == ["staging"]
    with pytest.raises(EvidenceError, match="state of approved, rejected or pending"):
        parse_evidence("environment_approvals", b'[{"state": "maybe"}]', "a")


def test_metrics_snapshot_round_trip() -> None:
    document = snapshot_document("prometheus", "http://p:9090", "2026-01-01T00:00:00.000Z", {
        "latency": {"query": "q1", "value": "412.5"}, "errors": {"query": "q2", "value": "NaN"},
        "gone": {"query": "q3", "value": None, "no_data": "prometheus (http://p:9090): empty"}})
    facts = parse_metrics(json.dumps(document).encode(), "snap")
    assert facts.values["latency"] == 412.5 and facts.non_finite == ["errors"] and facts.no_data == {"gone": "prometheus (http://p:9090): empty"}
    assert facts.queries == {"latency": "q1", "errors": "q2", "gone": "q3"} and facts.url == "http://p:9090"
    with pytest.raises(EvidenceError, match="needs a `metrics` object"):
        parse_metrics(b'{"format": "gooseterm.metrics-snapshot/v1"}', "s")
