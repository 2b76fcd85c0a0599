"""Deployment facts from Kubernetes objects, and the `kubernetes` evidence kind that records them.

The facts are what a compliance reviewer asks of a running service: did the rollout finish (as
`kubectl rollout status` decides it), which image digests are actually running (from the pods'
`status.containerStatuses[].imageID`, never the spec's tag), which Pod Security level its
namespace enforces, whether a default-deny NetworkPolicy exists, which mTLS mode Istio applies
to it (workload, namespace or mesh-wide PeerAuthentication) and which AuthorizationPolicies
select it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.kubernetes import (
    AUTHORIZATION_POLICIES,
    DEPLOYMENTS,
    NAMESPACES,
    NETWORK_POLICIES,
    PEER_AUTHENTICATIONS,
    PODS,
    KubeClient,
    KubeError,
    KubeNotFound,
)
from gooseterm.adapters.numbers import NumberError, json_count

SNAPSHOT_VERSION = 1
POD_SECURITY_PREFIX = "pod-security.kubernetes.io/"
# kubectl's deploymentutil.TimedOutReason: the Progressing condition's reason once
# spec.progressDeadlineSeconds passed without progress.
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
RolloutState = Literal["complete", "progressing", "failed", "waiting_for_observation"]
MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE", "UNSET"]


class Rollout(BaseModel):
    """A deployment's rollout as `kubectl rollout status` reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: RolloutState
    done: bool
    message: str


def rollout_status(deployment: Mapping[str, Any]) -> Rollout:
    """kubectl's DeploymentStatusViewer.Status (kubectl pkg/polymorphichelpers/rollout_status.go).

    Until the controller has observed the current generation nothing else counts; then a
    Progressing condition with reason ProgressDeadlineExceeded is a failure; then too few updated
    replicas, old replicas still running, or updated replicas not yet available mean it is still
    rolling out.
    """
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    name = meta.get("name", "?")
    where = f"deployment {name}"
    generation = _count(meta, "generation", f"{where}: metadata")
    observed = _count(status, "observedGeneration", f"{where}: status")
    if generation > observed:
        return Rollout(state="waiting_for_observation", done=False,
                       message=f"Waiting for deployment spec update to be observed (generation {generation}, observed {observed})")
    progressing = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), None)
    if progressing is not None and progressing.get("reason") == TIMED_OUT_REASON:
        return Rollout(state="failed", done=False, message=f'deployment "{name}" exceeded its progress deadline')
    wanted = _count(spec, "replicas", f"{where}: spec") if spec.get("replicas") is not None else None
    updated = _count(status, "updatedReplicas", f"{where}: status")
    replicas = _count(status, "replicas", f"{where}: status")
    available = _count(status, "availableReplicas", f"{where}: status")
    if wanted is not None and updated < wanted:
        return Rollout(state="progressing", done=False, message=(
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {wanted} new replicas have been updated...'))
    if replicas > updated:
        return Rollout(state="progressing", done=False, message=(
            f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas are pending termination...'))
    if available < updated:
        return Rollout(state="progressing", done=False, message=(
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas are available...'))
    return Rollout(state="complete", done=True, message=f'deployment "{name}" successfully rolled out')


def _count(mapping: Mapping[str, Any], key: str, where: str) -> int:
    """A count the API server sends as a JSON integer (absent means 0); anything else is a KubeError."""
    value = mapping.get(key)
    if value is None:
        return 0
    try:
        return json_count(value)
    except NumberError as exc:
        raise KubeError(f"{where}.{key}: {exc}") from None


def digest_of(image_id: str) -> str | None:
    """The sha256 digest in a container status' imageID, whatever the runtime's prefix.

    Seen in the wild: `docker-pullable://nginx@sha256:...` (dockershim),
    `docker.io/library/nginx@sha256:...` (containerd, CRI-O) and a bare `sha256:...` (a local
    image ID, which has no repository).
    """
    if not image_id:
        return None
    tail = image_id.rsplit("@", 1)[-1]
    tail = tail.removeprefix("docker://")
    return tail if _DIGEST.fullmatch(tail) else None


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels.

    An absent selector selects nothing here; callers decide what "no selector" means.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _istio_selector(policy: Mapping[str, Any]) -> Mapping[str, Any] | None:
    # Istio's WorkloadSelector is {matchLabels: {...}}; an empty one selects like none at all.
    selector = (policy.get("spec") or {}).get("selector")
    if not selector or not selector.get("matchLabels"):
        return None
    return selector


def _age_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


class Mtls(BaseModel):
    """The mTLS mode Istio applies to a workload, and the PeerAuthentication it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: MtlsMode
    """STRICT, PERMISSIVE or DISABLE; UNSET only if nothing set it (Istio then uses PERMISSIVE)."""
    scope: Literal["workload", "namespace", "mesh", "default"]
    """Which level decided: a workload selector, the namespace, the root namespace, or none."""
    policy: str | None
    """namespace/name of the deciding PeerAuthentication."""
    port_modes: dict[str, MtlsMode] = {}
    """portLevelMtls of a workload policy: per-port modes that override `mode`."""


def effective_mtls(labels: Mapping[str, str], namespace: str, namespace_policies: Iterable[Mapping[str, Any]],
                   root_policies: Iterable[Mapping[str, Any]], root_namespace: str) -> Mtls:
    """Istio's PeerAuthentication precedence for one workload.

    Workload (a selector matching its labels, in its namespace) over namespace (no selector,
    in its namespace) over mesh (no selector, in the root namespace); a policy whose mode is
    UNSET inherits from the next level; among several at one level the oldest wins. Without
    any, Istio runs PERMISSIVE.
    """
    namespace_policies = sorted(namespace_policies, key=_age_key)
    root_policies = sorted(root_policies, key=_age_key)
    workload = [p for p in namespace_policies if selector_matches(_istio_selector(p), labels)]
    ns_wide = [p for p in namespace_policies if _istio_selector(p) is None]
    mesh = [p for p in root_policies if _istio_selector(p) is None]
    if namespace == root_namespace:
        mesh = []  # the namespace level already is the root namespace
    port_modes: dict[str, MtlsMode] = {}
    if workload:
        for port, setting in ((workload[0].get("spec") or {}).get("portLevelMtls") or {}).items():
            port_modes[str(port)] = (setting or {}).get("mode") or "UNSET"
    for scope, candidates in (("workload", workload), ("namespace", ns_wide), ("mesh", mesh)):
        if not candidates:
            continue
        policy = candidates[0]
        mode = ((policy.get("spec") or {}).get("mtls") or {}).get("mode") or "UNSET"
        if mode != "UNSET":
            meta = policy.get("metadata") or {}
            return Mtls(mode=mode, scope=scope, policy=f"{meta.get('namespace')}/{meta.get('name')}",
                        port_modes=port_modes)
    return Mtls(mode="PERMISSIVE", scope="default", policy=None, port_modes=port_modes)


def is_default_deny(policy: Mapping[str, Any], direction: Literal["Ingress", "Egress"] = "Ingress") -> bool:
    """A NetworkPolicy selecting every pod of its namespace and allowing no traffic in `direction`."""
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    types = spec.get("policyTypes")
    if types is None:  # the API's default: Ingress, plus Egress when egress rules are given
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    if direction not in types:
        return False
    return not spec.get(direction.lower())


# -- the snapshot: raw facts as recorded, and the parser that checks them ----------------------------


class FactsModel(BaseModel):
    # strict: a snapshot's counts are JSON integers as written, never "3" or 3.0 coerced.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ContainerFact(FactsModel):
    """One container of a pod as its status reports it."""

    name: str
    image: str
    """The image reference the kubelet resolved (may still be a tag)."""
    image_id: str
    """status.containerStatuses[].imageID, as reported."""
    digest: str | None
    """The sha256 digest running, from imageID; None when the container has not started."""
    ready: bool
    restart_count: int = Field(ge=0)
    state: str
    """running, waiting (with its reason) or terminated (with its reason)."""


class PodFact(FactsModel):
    """One pod of the service."""

    name: str
    phase: str
    node: str | None
    ready: bool
    containers: list[ContainerFact]


class DeploymentFact(FactsModel):
    """One deployment of the service, with kubectl's verdict on its rollout."""

    name: str
    generation: int = Field(ge=0)
    observed_generation: int = Field(ge=0)
    replicas: int | None = Field(ge=0)
    """spec.replicas (None if unset)."""
    status_replicas: int = Field(ge=0)
    updated_replicas: int = Field(ge=0)
    ready_replicas: int = Field(ge=0)
    available_replicas: int = Field(ge=0)
    spec_images: list[str]
    """The images the pod template asks for (tags): compare with what pods run."""
    rollout: Rollout

    @model_validator(mode="after")
    def _rollout_agrees(self) -> DeploymentFact:
        # The verdict is recomputed from the numbers: a snapshot cannot claim a rollout is
        # complete when its own counts say otherwise.
        expected = rollout_status(self.as_object())
        if (expected.state, expected.done) != (self.rollout.state, self.rollout.done):
            raise ValueError(f"deployment {self.name}: rollout says {self.rollout.state} but its counts "
                             f"say {expected.state}")
        return self

    def as_object(self) -> dict:
        """The fields kubectl's rule reads, in the API's shape."""
        conditions = [{"type": "Progressing", "reason": TIMED_OUT_REASON}] if self.rollout.state == "failed" else []
        return {
            "metadata": {"name": self.name, "generation": self.generation},
            "spec": {} if self.replicas is None else {"replicas": self.replicas},
            "status": {"observedGeneration": self.observed_generation, "replicas": self.status_replicas,
                       "updatedReplicas": self.updated_replicas, "availableReplicas": self.available_replicas,
                       "conditions": conditions},
        }


class RunningImage(FactsModel):
    """An image digest running in the service, with the containers that run it."""

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    images: list[str]
    containers: list[str]
    """pod/container names."""


class NetworkPolicyFacts(FactsModel):
    """The namespace's NetworkPolicies as far as default deny is concerned."""

    default_deny_ingress: bool
    default_deny_egress: bool
    policies: list[str]


class AuthorizationPolicyFact(FactsModel):
    """An Istio AuthorizationPolicy that applies to the service's workloads."""

    name: str
    namespace: str
    action: str
    scope: Literal["workload", "namespace", "mesh"]
    rules: int = Field(ge=0)
    """How many rules; an ALLOW policy with none allows nothing."""


class KubernetesFacts(FactsModel):
    """A snapshot of one service's deployment facts, as `collect --source kubernetes` records it."""

    kind: Literal["kubernetes"] = "kubernetes"
    version: Literal[1] = SNAPSHOT_VERSION
    source: str | None = None
    service: str
    namespace: str
    label_selector: str
    server: str
    context: str | None
    deployments: list[DeploymentFact]
    pods: list[PodFact]
    running_images: list[RunningImage]
    pod_security: dict[str, str]
    """The namespace's pod-security.kubernetes.io/* labels (enforce, audit, warn and versions)."""
    network_policies: NetworkPolicyFacts
    mtls: Mtls | None
    """None when Istio's security CRDs are not installed."""
    authorization_policies: list[AuthorizationPolicyFact] | None
    """None when Istio's security CRDs are not installed."""
    rollout_complete: bool
    """Every deployment rolled out, and there is at least one."""
    images_pinned: bool
    """Every container of every pod reports a digest."""

    @model_validator(mode="after")
    def _summaries_agree(self) -> KubernetesFacts:
        complete = bool(self.deployments) and all(d.rollout.done for d in self.deployments)
        if complete != self.rollout_complete:
            raise ValueError(f"rollout_complete is {self.rollout_complete} but the deployments say {complete}")
        pinned = bool(self.pods) and all(c.digest for p in self.pods for c in p.containers)
        if pinned != self.images_pinned:
            raise ValueError(f"images_pinned is {self.images_pinned} but the pods say {pinned}")
        return self


def parse_kubernetes(data: bytes, source: str | None = None) -> KubernetesFacts:
    """Check a deployment-facts snapshot (JSON) and return its facts."""
    document = load_json(data, source)
    if not isinstance(document, dict):
        raise EvidenceError("a kubernetes snapshot is a JSON object", path=source,
                            hint="Record it with `gooseterm collect --source kubernetes`")
    document = {**document, "source": source}
    try:
        return KubernetesFacts.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise EvidenceError(f"not a valid kubernetes snapshot: {error['msg']}", path=source, field=where or None,
                            hint="Record it with `gooseterm collect --source kubernetes`") from None


def _container_fact(status: Mapping[str, Any]) -> ContainerFact:
    state = status.get("state") or {}
    if "running" in state:
        described = "running"
    elif "waiting" in state:
        described = f"waiting: {(state['waiting'] or {}).get('reason') or 'unknown'}"
    elif "terminated" in state:
        described = f"terminated: {(state['terminated'] or {}).get('reason') or 'unknown'}"
    else:
        described = "unknown"
    image_id = status.get("imageID") or ""
    return ContainerFact(name=status.get("name", "?"), image=status.get("image", ""), image_id=image_id,
                         digest=digest_of(image_id), ready=bool(status.get("ready")),
                         restart_count=_count(status, "restartCount", f"container {status.get('name', '?')}: status"),
                         state=described)


def pod_fact(pod: Mapping[str, Any]) -> PodFact:
    """The facts of one pod: phase, readiness and every container's running digest."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    containers = []
    for container in spec.get("containers") or []:
        reported = statuses.get(container.get("name"))
        if reported is None:  # not started yet: no status, so no digest
            reported = {"name": container.get("name"), "image": container.get("image", ""), "state": {"waiting": {"reason": "NoStatus"}}}
        containers.append(_container_fact(reported))
    return PodFact(name=meta.get("name", "?"), phase=status.get("phase") or "Unknown", node=spec.get("nodeName"),
                   ready=ready, containers=containers)


def deployment_fact(deployment: Mapping[str, Any]) -> DeploymentFact:
    """The facts of one deployment with kubectl's rollout verdict."""
    meta, spec, status = deployment.get("metadata") or {}, deployment.get("spec") or {}, deployment.get("status") or {}
    template = (spec.get("template") or {}).get("spec") or {}
    where = f"deployment {meta.get('name', '?')}"
    return DeploymentFact(
        name=meta.get("name", "?"), generation=_count(meta, "generation", f"{where}: metadata"),
        observed_generation=_count(status, "observedGeneration", f"{where}: status"),
        replicas=_count(spec, "replicas", f"{where}: spec") if spec.get("replicas") is not None else None,
        status_replicas=_count(status, "replicas", f"{where}: status"),
        updated_replicas=_count(status, "updatedReplicas", f"{where}: status"),
        ready_replicas=_count(status, "readyReplicas", f"{where}: status"),
        available_replicas=_count(status, "availableReplicas", f"{where}: status"),
        spec_images=[c.get("image", "") for c in template.get("containers") or []],
        rollout=rollout_status(deployment),
    )


def running_images(pods: Iterable[PodFact]) -> list[RunningImage]:
    """Distinct running digests, each with the images and pod/containers that run it."""
    by_digest: dict[str, tuple[set[str], list[str]]] = {}
    for pod in pods:
        for container in pod.containers:
            if container.digest:
                images, where = by_digest.setdefault(container.digest, (set(), []))
                images.add(container.image)
                where.append(f"{pod.name}/{container.name}")
    return [RunningImage(digest=d, images=sorted(i), containers=sorted(w)) for d, (i, w) in sorted(by_digest.items())]


def authorization_facts(labels: Mapping[str, str], namespace_policies: Iterable[Mapping[str, Any]],
                        root_policies: Iterable[Mapping[str, Any]], namespace: str,
                        root_namespace: str) -> list[AuthorizationPolicyFact]:
    """The AuthorizationPolicies that apply to a workload: selected in its namespace, namespace-wide,
    or mesh-wide from the root namespace."""
    found = []
    candidates = [(p, False) for p in namespace_policies]
    if namespace != root_namespace:
        candidates += [(p, True) for p in root_policies]
    for policy, from_root in candidates:
        selector = _istio_selector(policy)
        if selector is None:
            scope = "mesh" if from_root else "namespace"
        elif not from_root and selector_matches(selector, labels):
            scope = "workload"
        else:
            continue
        meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
        found.append(AuthorizationPolicyFact(name=meta.get("name", "?"), namespace=meta.get("namespace", "?"),
                                             action=spec.get("action") or "ALLOW", scope=scope,
                                             rules=len(spec.get("rules") or [])))
    return sorted(found, key=lambda f: (f.namespace, f.name))


def _list_or_none(client: KubeClient, resource, namespace: str) -> list[dict] | None:
    try:
        return client.list(resource, namespace)
    except KubeNotFound:  # the CRD is not installed
        return None


def snapshot(client: KubeClient, service: str, *, namespace: str, label: str, root_namespace: str) -> KubernetesFacts:
    """Read one service's deployment facts from the cluster; its workloads carry `label=service`.

    The snapshot holds no time of its own: the ledger entry recording it says when, so two
    snapshots of an unchanged service are the same bytes (the same blob, and no new digest to void
    approvals bound to the evidence)."""
    selector = f"{label}={service}"
    deployments = [deployment_fact(d) for d in client.list(DEPLOYMENTS, namespace, label_selector=selector)]
    pod_objects = client.list(PODS, namespace, label_selector=selector)
    pods = [pod_fact(p) for p in pod_objects]
    ns = client.get(NAMESPACES, namespace)
    pod_security = {k.removeprefix(POD_SECURITY_PREFIX): v for k, v in sorted(((ns.get("metadata") or {}).get("labels") or {}).items())
                    if k.startswith(POD_SECURITY_PREFIX)}
    netpols = client.list(NETWORK_POLICIES, namespace)
    labels = dict((pod_objects[0].get("metadata") or {}).get("labels") or {}) if pod_objects else {label: service}
    peer_ns = _list_or_none(client, PEER_AUTHENTICATIONS, namespace)
    authz_ns = _list_or_none(client, AUTHORIZATION_POLICIES, namespace)
    mtls = authz = None
    if peer_ns is not None and authz_ns is not None:
        peer_root = client.list(PEER_AUTHENTICATIONS, root_namespace) if namespace != root_namespace else []
        authz_root = client.list(AUTHORIZATION_POLICIES, root_namespace) if namespace != root_namespace else []
        mtls = effective_mtls(labels, namespace, peer_ns, peer_root, root_namespace)
        authz = authorization_facts(labels, authz_ns, authz_root, namespace, root_namespace)
    return KubernetesFacts(
        service=service, namespace=namespace, label_selector=selector, server=client.connection.server,
        context=client.connection.context,
        deployments=sorted(deployments, key=lambda d: d.name), pods=sorted(pods, key=lambda p: p.name),
        running_images=running_images(pods), pod_security=pod_security,
        network_policies=NetworkPolicyFacts(
            default_deny_ingress=any(is_default_deny(p, "Ingress") for p in netpols),
            default_deny_egress=any(is_default_deny(p, "Egress") for p in netpols),
            policies=sorted((p.get("metadata") or {}).get("name", "?") for p in netpols)),
        mtls=mtls, authorization_policies=authz,
        rollout_complete=bool(deployments) and all(d.rollout.done for d in deployments),
        images_pinned=bool(pods) and all(c.digest for p in pods for c in p.containers),
    )


def snapshot_bytes(facts: KubernetesFacts) -> bytes:
    """The snapshot as recorded evidence: canonical JSON without the caller-given source."""
    return facts.model_dump_json(exclude={"source"}, indent=2).encode() + b"\n"
