"""One real API server for every Kubernetes test in this folder (see k8s_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from k8s_harness import Cluster, start


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """etcd + kube-apiserver on 127.0.0.1, started once per session and stopped at its end."""
    running = start(tmp_path_factory.mktemp("k8s"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    """An admin kubeconfig (bearer token, the server's CA) for this test."""
    return cluster.kubeconfig(tmp_path / "kubeconfig")
