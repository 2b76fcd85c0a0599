"""Which cluster gooseterm talks to: org.yaml's `kubernetes.cluster`, overridden by the environment
(GOOSETERM_KUBECONFIG, GOOSETERM_KUBE_CONTEXT) and by the commands' --kubeconfig and --context.

Without any of them no cluster is configured, and nothing contacts one: the example org and the
demo run offline.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from gooseterm.adapters import kubefacts
from gooseterm.adapters.kubefacts import KubernetesFacts
from gooseterm.adapters.kubernetes import KubeClient, KubeError, in_cluster, load_kubeconfig

from .errors import GoosetermError
from .orgconfig import OrgConfig
from .settings import insecure_http_allowed


class ClusterSettings(BaseSettings):
    """The environment's say: GOOSETERM_KUBECONFIG and GOOSETERM_KUBE_CONTEXT."""

    model_config = SettingsConfigDict(env_prefix="GOOSETERM_", extra="ignore")

    kubeconfig: Path | None = None
    kube_context: str | None = None


class ClusterNotConfigured(GoosetermError):
    """No kubeconfig flag, no GOOSETERM_KUBECONFIG and no kubernetes.cluster in org.yaml."""


def configured(org: OrgConfig, kubeconfig: Path | None = None) -> bool:
    """Whether a cluster is configured at all (so a runbook step should read it)."""
    return kubeconfig is not None or ClusterSettings().kubeconfig is not None or org.org.kubernetes.cluster is not None


def connect(org: OrgConfig, kubeconfig: Path | None = None, context: str | None = None) -> KubeClient:
    """A client for the configured cluster; ClusterNotConfigured or GoosetermError when there is none."""
    env = ClusterSettings()
    cluster = org.org.kubernetes.cluster
    kubeconfig = kubeconfig or env.kubeconfig
    context = context or env.kube_context or (cluster.context if cluster else None)
    timeout = cluster.timeout.total_seconds() if cluster else 10.0
    try:
        if kubeconfig is not None:
            connection = load_kubeconfig(kubeconfig, context)
        elif cluster is None:
            raise ClusterNotConfigured(
                "no cluster configured: pass --kubeconfig, set GOOSETERM_KUBECONFIG, or add kubernetes.cluster to org.yaml"
            )
        elif cluster.in_cluster:
            connection = in_cluster()
        else:
            path = cluster.kubeconfig or os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser()
            if isinstance(path, Path) and not path.is_absolute() and org.root is not None:
                path = org.root / path  # relative to the config folder, like evidence_sources
            connection = load_kubeconfig(path, context)
        return KubeClient(connection, timeout=timeout, allow_insecure_http=insecure_http_allowed())
    except KubeError as exc:
        raise GoosetermError(str(exc)) from None


@contextmanager
def cluster_errors() -> Iterator[None]:
    """Turn the Kubernetes client's errors into GoosetermError (one line, exit 2) for the CLI."""
    try:
        yield
    except KubeError as exc:
        raise GoosetermError(str(exc)) from None


def snapshot(client: KubeClient, org: OrgConfig, service: str) -> KubernetesFacts:
    """One service's deployment facts, read where org.yaml places its workloads."""
    workload = org.org.mesh.workload(service)
    return kubefacts.snapshot(client, service, namespace=workload.namespace, label=org.org.kubernetes.service_label,
                              root_namespace=org.org.mesh.root_namespace)


def snapshot_evidence(client: KubeClient, org: OrgConfig, service: str) -> tuple[str, bytes, str]:
    """The snapshot as an evidence item (kind, bytes, source) for Orchestrator.add_evidence_many."""
    facts = snapshot(client, org, service)
    source = f"kubernetes {client.connection.server} {facts.namespace} {facts.label_selector}"
    return "kubernetes", kubefacts.snapshot_bytes(facts), source
