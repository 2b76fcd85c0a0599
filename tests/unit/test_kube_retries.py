"""The Kubernetes client's retry policy, on a scripted transport: what is retried, how often, and what not.

Everything else about the client runs against a real API server (tests/integration/kubernetes);
a real server cannot be made to answer 503 or 429 on demand, so these answers are scripted.
"""

from __future__ import annotations

import httpx
import pytest

from gooseterm.adapters.kubernetes import CONFIG_MAPS, Connection, KubeClient, KubeConflict, KubeUnavailable
from gooseterm.adapters.retry import RetryPolicy


def scripted(*answers: tuple[int, dict, dict]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body, headers = queue.pop(0)
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handle), seen


def client(transport: httpx.MockTransport, sleeps: list[float] | None = None, **kwargs) -> KubeClient:
    connection = Connection(server="https://k8s.invalid", source="test", token="t0ken")
    waits = [] if sleeps is None else sleeps
    return KubeClient(connection, transport=transport, sleep=waits.append, clock=lambda: 1_000_000.0, **kwargs)


def test_a_503_is_retried_after_a_jittered_backoff_and_the_token_sent_every_time() -> None:
    transport, seen = scripted((503, {"message": "etcd leader changed"}, {}), (200, {"items": [], "metadata": {}}, {}))
    sleeps: list[float] = []
    assert client(transport, sleeps, retry=RetryPolicy(attempts=3, backoff=0.2)).list(CONFIG_MAPS, "default") == []
    assert len(seen) == 2 and all(r.headers["Authorization"] == "Bearer t0ken" for r in seen)
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.2


def test_retries_run_out_with_the_servers_last_message() -> None:
    transport, seen = scripted(*[(503, {"message": "etcd leader changed"}, {})] * 3)
    with pytest.raises(KubeUnavailable, match="503 after 3 attempts: etcd leader changed"):
        client(transport, retry=RetryPolicy(attempts=3)).list(CONFIG_MAPS, "default")
    assert len(seen) == 3


def test_429_waits_for_retry_after() -> None:
    transport, seen = scripted((429, {"message": "slow down"}, {"Retry-After": "2"}), (200, {"items": [{"a": 1}]}, {}))
    sleeps: list[float] = []
    assert client(transport, sleeps).list(CONFIG_MAPS, "default") == [{"a": 1}]
    assert len(seen) == 2 and sleeps == [2.0]


def test_a_retry_after_longer_than_the_policy_waits_fails_at_once() -> None:
    transport, seen = scripted((429, {"message": "slow down"}, {"Retry-After": "3600"}))
    sleeps: list[float] = []
    with pytest.raises(KubeUnavailable, match="429 after 1 attempt: slow down"):
        client(transport, sleeps, retry=RetryPolicy(max_wait=60)).list(CONFIG_MAPS, "default")
    assert len(seen) == 1 and sleeps == []


def test_create_is_not_retried_since_it_may_have_happened() -> None:
    transport, seen = scripted((503, {"message": "timeout"}, {}), (409, {"message": "exists"}, {}))
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}
    with pytest.raises(KubeUnavailable):
        client(transport).create(obj)
    assert len(seen) == 1


def test_a_409_is_a_conflict_not_retried() -> None:
    transport, seen = scripted((409, {"reason": "AlreadyExists", "message": 'configmaps "x" already exists'}, {}))
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}
    with pytest.raises(KubeConflict, match='configmaps "x" already exists'):
        client(transport).replace(obj)
    assert len(seen) == 1
