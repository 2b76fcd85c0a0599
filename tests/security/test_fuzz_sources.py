"""Fuzz the live sources' readers with a mock transport: Prometheus API answers, GitHub and GitLab
JSON, and the headers that carry numbers (retry-after, x-ratelimit-reset, content-length,
x-next-page). Only SourceError, one line, bounded time and memory, and never a wait longer than
the retry policy allows."""

from __future__ import annotations

import json

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from gooseterm.adapters.errors import SourceError
from gooseterm.adapters.github import GitHubActions
from gooseterm.adapters.gitlab import GitLabCI
from gooseterm.adapters.http import RetryPolicy, SourceClient
from gooseterm.adapters.prometheus import PrometheusClient

from .fuzzing import FUZZ, JSON_NUMBERS, JSON_VALUES, NUMBER_TEXT, bounded

POLICY = RetryPolicy(attempts=2, backoff=0.0, max_backoff=0.0, max_wait=30.0)


def _client(source: str, answer, waits: list[float]) -> SourceClient:
    return SourceClient(source, "http://source.test/api/", retry=POLICY, sleep=waits.append, clock=lambda: 1_000_000.0,
                        transport=httpx.MockTransport(answer))


@FUZZ
@given(JSON_VALUES, JSON_NUMBERS, JSON_NUMBERS)
@example(None, {}, "1")  # a sample's time that is no number: float({}) raised TypeError
@example(None, 1.5, "١.٥")  # other-script digits were read as 1.5
def test_prometheus_answers(data: object, when: object, value: object) -> None:
    bodies = [{"status": "success", "data": data},
              {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [when, value]}]}},
              {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[when, value]]}]}}]
    for body in bodies:
        waits: list[float] = []
        client = PrometheusClient(_client("prometheus", lambda request: httpx.Response(200, json=body), waits))
        result = bounded(client.query, "up", allowed=(SourceError,))
        if not isinstance(result, SourceError):
            for series in result.series:
                for sample in series.samples:
                    assert isinstance(sample.raw, str) and sample.raw.isascii() or sample.raw.lower() in ("nan", "+inf", "-inf")


@FUZZ
@given(st.binary(max_size=200))
@example(b'{"status": "success", "data": {"resultType": "scalar", "result": [1, "' + b"9" * 5000 + b'"]}}')
@example(b'{"status": "success", "data": ' + b"1" * 5000 + b"}")  # response.json() raised a bare ValueError
@example(b'{"status": NaN}')  # httpx's json() accepts NaN
def test_prometheus_raw_bodies(body: bytes) -> None:
    client = PrometheusClient(_client("prometheus", lambda request: httpx.Response(200, content=body), []))
    bounded(client.query, "up", allowed=(SourceError,))


@FUZZ
@given(st.sampled_from(["retry-after", "x-ratelimit-reset", "ratelimit-reset"]), NUMBER_TEXT, st.sampled_from([429, 503]))
@example("retry-after", "9" * 4301, 429)
@example("retry-after", "٣٠٠", 429)  # str.isdigit() took it: 300 s from other-script digits
@example("x-ratelimit-reset", "1_999_999", 429)
def test_retry_headers_never_make_us_wait_past_the_policy(header: str, value: str, status: int) -> None:
    waits: list[float] = []
    client = _client("github", lambda request: httpx.Response(status, headers=[(header.encode(), value.encode())], json={}), waits)
    bounded(client.get_json, "x", allowed=(SourceError,))
    assert all(0 <= w <= POLICY.max_wait for w in waits), waits
    field = value.strip(" \t")  # HTTP trims optional whitespace around a field value (RFC 9110 5.5)
    if not (field.isascii() and field.isdigit()):
        assert waits == [0.0], f"{value!r} was read as a wait"


@FUZZ
@given(NUMBER_TEXT, NUMBER_TEXT)
@example("²", "1")  # isdigit() then int(): a traceback
@example("1", "٢")  # sent on as page=٢
def test_download_length_and_next_page(length: str, next_page: str) -> None:
    client = _client("gitlab", lambda request: httpx.Response(200, headers=[(b"content-length", length.encode())], content=b"x"), [])
    bounded(client.download, "http://source.test/api/a.zip", max_bytes=10, allowed=(SourceError,))
    pages: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        pages.append(request.url.params.get("page", ""))
        return httpx.Response(200, headers=[(b"x-next-page", next_page.encode())] if len(pages) < 3 else [], json=[1])

    client = _client("gitlab", answer, [])
    bounded(lambda: list(client.paginate("items")), allowed=(SourceError,))
    assert all(p == "" or (p.isascii() and p.isdigit()) for p in pages), pages


@FUZZ
@given(JSON_VALUES, JSON_NUMBERS)
@example(None, "12")  # int("12") read a string id
@example(None, 1.5)  # int(1.5) == 1 silently
@example(None, [])  # int([]) raised TypeError
def test_github_runs(extra: object, run_id: object) -> None:
    run = {"id": run_id, "status": "completed", "conclusion": "success", "head_sha": "a", "updated_at": "x", "extra": extra}
    bodies = [{"workflow_runs": [run]}, {"workflow_runs": [extra]}, {"workflow_runs": extra}]
    for body in bodies:
        actions = GitHubActions(_client("github", lambda request: httpx.Response(200, json=body), []), "o/r")
        found = bounded(actions.latest_completed_run, workflow="ci.yml", commit=None, branch="main", allowed=(SourceError,))
        if not isinstance(found, SourceError):
            assert isinstance(found.id, int) and not isinstance(found.id, bool) and found.id == run_id


@FUZZ
@given(JSON_VALUES, JSON_NUMBERS)
@example(None, "7")
@example(None, True)  # a bool is an int to Python
def test_gitlab_pipelines(extra: object, pipeline_id: object) -> None:
    pipeline = {"id": pipeline_id, "status": "success", "sha": "a", "ref": "main", "extra": extra}
    for body in ([pipeline], [extra], extra):
        ci = GitLabCI(_client("gitlab", lambda request: httpx.Response(200, content=json.dumps(body).encode()), []), "g/p")
        found = bounded(ci.latest_finished_pipeline, commit=None, ref="main", allowed=(SourceError,))
        if not isinstance(found, SourceError):
            assert found["id"] == pipeline_id and type(pipeline_id) is int
