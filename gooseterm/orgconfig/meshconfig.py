"""org.yaml's cluster connection (`kubernetes.cluster`) and service-mesh settings (`mesh`).

The mesh section places each service's workloads (namespace, service account) and says which
HTTP methods and paths its callers may use; `gooseterm mesh render` turns that and the
dependency graph into Istio policy (plan 3.3).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

from gooseterm.orgconfig.fields import Duration, ServiceName

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_METHOD = re.compile(r"[A-Z]+")
# Istio string matches: exact, prefix ("/api/*"), suffix ("*.json") or presence ("*").
_PATH = re.compile(r"\*|\*?/[^*\s]*|/[^*\s]*\*")
_PRINCIPAL = re.compile(r"[^\s/]+/ns/[a-z0-9*][a-z0-9-]*/sa/[a-z0-9*][a-z0-9.-]*")


def _namespace(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"'{value}' is not a Kubernetes namespace: use 1-63 lowercase letters, digits and '-', "
                         "starting and ending with a letter or digit")
    return value


def _service_account(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"'{value}' is not a service account name: use lowercase letters, digits, '-' and '.' "
                         "(a DNS subdomain)")
    return value


def _trust_domain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"'{value}' is not a trust domain: write a DNS name such as 'cluster.local'")
    return value


def _method(value: str) -> str:
    if not _METHOD.fullmatch(value):
        raise ValueError(f"'{value}' is not an HTTP method: write it in capitals, e.g. GET or POST")
    return value


def _path(value: str) -> str:
    if not _PATH.fullmatch(value):
        raise ValueError(f"'{value}' is not a path Istio can match: write '/exact', '/prefix/*', '*suffix' or '*'")
    return value


def _principal(value: str) -> str:
    if not _PRINCIPAL.fullmatch(value):
        raise ValueError(f"'{value}' is not a principal: write <trust domain>/ns/<namespace>/sa/<service account>, "
                         "e.g. cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account")
    return value


def _expand_user(value: Any) -> Any:
    return Path(value).expanduser() if isinstance(value, str) else value


Namespace = Annotated[str, AfterValidator(_namespace)]
"""A Kubernetes namespace name (a DNS label)."""
ServiceAccountName = Annotated[str, AfterValidator(_service_account)]
"""A Kubernetes service account name (a DNS subdomain)."""
TrustDomain = Annotated[str, AfterValidator(_trust_domain)]
"""The mesh's SPIFFE trust domain, e.g. cluster.local."""
HttpMethod = Annotated[str, AfterValidator(_method)]
"""An HTTP method as Istio matches it (case-sensitive, so capitals)."""
MeshPath = Annotated[str, AfterValidator(_path)]
"""A request path as Istio matches it: exact, prefix, suffix or presence."""
Principal = Annotated[str, AfterValidator(_principal)]
"""A mesh identity, <trust domain>/ns/<namespace>/sa/<service account>."""
Methods = Annotated[list[HttpMethod], Field(min_length=1)]
Paths = Annotated[list[MeshPath], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cluster(_Model):
    """How to reach the cluster; without this section gooseterm never contacts one.

    GOOSETERM_KUBECONFIG and GOOSETERM_KUBE_CONTEXT (and the commands' --kubeconfig and
    --context) override `kubeconfig` and `context`.
    """

    kubeconfig: Annotated[Path | None, BeforeValidator(_expand_user)] = None
    """A kubeconfig file; default $KUBECONFIG, else ~/.kube/config."""
    context: str | None = None
    """The kubeconfig context; default its current-context."""
    in_cluster: Annotated[bool, Strict()] = False
    """Use the pod's service account instead of a kubeconfig (gooseterm running in the cluster)."""
    timeout: Duration = timedelta(seconds=10)
    """How long one request may take before it is retried (twice) and then fails."""


class MeshService(_Model):
    """Where one service's workloads run, and what its callers may do (defaults from `mesh`)."""

    name: ServiceName
    namespace: Namespace | None = None
    service_account: ServiceAccountName | None = None
    """Default: the service's name."""
    methods: Methods | None = None
    paths: Paths | None = None
    principals: list[Principal] = []
    """Callers outside the dependency graph allowed too, e.g. an ingress gateway's identity."""


class Workload(NamedTuple):
    """A service's workloads as the mesh sees them."""

    service: str
    namespace: str
    service_account: str
    principal: str
    methods: tuple[str, ...]
    paths: tuple[str, ...]
    extra_principals: tuple[str, ...]


class Mesh(_Model):
    """Plan 3.3: Istio policy generated from the dependency graph (mTLS STRICT, default deny)."""

    namespace: Namespace = "default"
    """The namespace of every service not placed elsewhere under `services`."""
    root_namespace: Namespace = "istio-system"
    """Istio's root namespace, whose policies apply mesh-wide."""
    trust_domain: TrustDomain = "cluster.local"
    methods: Methods = ["GET", "POST"]
    """What a dependent may call on a service, unless the service says otherwise."""
    paths: Paths = ["/api/*"]
    services: Annotated[dict[ServiceName, MeshService], BeforeValidator(lambda v: _keys_as_names(v))] = {}

    def workload(self, service: str) -> Workload:
        """Where `service` runs and what callers may do to it."""
        own = self.services.get(service) or MeshService(name=service)
        namespace = own.namespace or self.namespace
        account = own.service_account or service
        return Workload(
            service=service, namespace=namespace, service_account=account,
            principal=f"{self.trust_domain}/ns/{namespace}/sa/{account}",
            methods=tuple(own.methods or self.methods), paths=tuple(own.paths or self.paths),
            extra_principals=tuple(sorted(set(own.principals))),
        )


def _keys_as_names(value: Any) -> Any:
    # The same convention as the rest of the config: the mapping key is the item's name.
    from gooseterm.orgconfig.models import _keys_as_names as keys_as_names

    return keys_as_names(value)
