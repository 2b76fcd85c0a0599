"""Service-mesh policy from the dependency graph (plan 3.3), and drift between it and the cluster.

For every namespace holding services: an AuthorizationPolicy that allows nothing (default
deny) and a PeerAuthentication with mTLS STRICT. For every service: an ALLOW policy selecting its
workloads, with one rule per service that depends on it (the caller's service-account
principal, and the methods and paths org.yaml allows). `check` compares a cluster with that and
names every missing, extra and changed object; the per-service result is `mesh` evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gooseterm.adapters.kubefacts import effective_mtls
from gooseterm.adapters.kubernetes import AUTHORIZATION_POLICIES, PEER_AUTHENTICATIONS, KubeClient, KubeNotFound, resource_of
from gooseterm.adapters.meshreport import Drift, MeshFacts

from .errors import GoosetermError
from .orgconfig import OrgConfig
from .resolver import DependencyGraph

ISTIO_SECURITY = "security.istio.io/v1beta1"
MANAGED_BY = ("app.kubernetes.io/managed-by", "gooseterm")
SERVICE_LABEL = "gooseterm.dev/service"
DEFAULT_DENY = "default-deny"
PEER_AUTHENTICATION = "default"


def allow_name(service: str) -> str:
    """The name of a service's ALLOW policy."""
    return f"{service}-allow-dependents"


def isolation_name(service: str) -> str:
    """The name of the DENY-all policy a runbook's isolate_service step applies."""
    return f"{service}-isolate"


def _metadata(name: str, namespace: str, service: str | None = None) -> dict:
    labels = {MANAGED_BY[0]: MANAGED_BY[1]}
    if service:
        labels[SERVICE_LABEL] = service
    return {"name": name, "namespace": namespace, "labels": labels}


def _policy(kind: str, name: str, namespace: str, spec: dict, service: str | None = None) -> dict:
    return {"apiVersion": ISTIO_SECURITY, "kind": kind, "metadata": _metadata(name, namespace, service), "spec": spec}


def namespace_policies(namespace: str) -> list[dict]:
    """A namespace's default deny (an ALLOW policy with no rules matches nothing) and mTLS STRICT."""
    return [
        _policy("AuthorizationPolicy", DEFAULT_DENY, namespace, {}),
        _policy("PeerAuthentication", PEER_AUTHENTICATION, namespace, {"mtls": {"mode": "STRICT"}}),
    ]


def service_policy(org: OrgConfig, graph: DependencyGraph, service: str) -> dict:
    """The ALLOW policy of one service: exactly its dependents (and configured extra principals)."""
    mesh = org.org.mesh
    own = mesh.workload(service)
    operation = {"methods": list(own.methods), "paths": list(own.paths)}
    principals = [mesh.workload(caller).principal for caller in graph.dependents(service)]
    principals += [p for p in own.extra_principals if p not in principals]
    rules = [{"from": [{"source": {"principals": [p]}}], "to": [{"operation": dict(operation)}]} for p in principals]
    spec = {"action": "ALLOW", "selector": {"matchLabels": {org.org.kubernetes.service_label: service}}, "rules": rules}
    return _policy("AuthorizationPolicy", allow_name(service), own.namespace, spec, service)


def isolation_policy(org: OrgConfig, service: str) -> dict:
    """A DENY policy matching every request to the service's workloads (a rule `{}` matches all)."""
    own = org.org.mesh.workload(service)
    spec = {"action": "DENY", "selector": {"matchLabels": {org.org.kubernetes.service_label: service}}, "rules": [{}]}
    return _policy("AuthorizationPolicy", isolation_name(service), own.namespace, spec, service)


def render(org: OrgConfig, graph: DependencyGraph, services: Iterable[str] | None = None) -> list[dict]:
    """Every manifest, in a fixed order: per namespace its two policies, then each service's."""
    names = sorted(services) if services is not None else graph.services
    by_namespace: dict[str, list[str]] = {}
    for service in names:
        by_namespace.setdefault(org.org.mesh.workload(service).namespace, []).append(service)
    out = []
    for namespace in sorted(by_namespace):
        out += namespace_policies(namespace)
        out += [service_policy(org, graph, s) for s in by_namespace[namespace]]
    return out


def service_manifests(org: OrgConfig, graph: DependencyGraph, service: str) -> list[dict]:
    """What one service's policy consists of: its namespace's two policies and its own."""
    return [*namespace_policies(org.org.mesh.workload(service).namespace), service_policy(org, graph, service)]


def manifests_digest(manifests: Iterable[Mapping[str, Any]]) -> str:
    """sha256 over the canonical JSON of the manifests: what a drift report was compared with."""
    canonical = json.dumps(list(manifests), sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def to_yaml(manifests: Iterable[Mapping[str, Any]]) -> str:
    """Manifests as a multi-document YAML stream, keys sorted: the same graph gives the same bytes."""
    return "".join("---\n" + yaml.safe_dump(dict(m), sort_keys=True, default_flow_style=False) for m in manifests)


def write(manifests: list[dict], out: Path) -> list[Path]:
    """Write `out/<namespace>/_namespace.yaml` (default deny, mTLS) and `out/<namespace>/<service>.yaml`
    (no service is called `_namespace`: names are DNS labels)."""
    files: dict[Path, list[dict]] = {}
    for manifest in manifests:
        meta = manifest["metadata"]
        service = meta["labels"].get(SERVICE_LABEL)
        files.setdefault(out / meta["namespace"] / f"{service or '_namespace'}.yaml", []).append(manifest)
    for path, items in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        header = "# Rendered by `gooseterm mesh render` from the dependency graph; edit org.yaml, not this file.\n"
        path.write_text(header + to_yaml(items), encoding="utf-8")
    return sorted(files)


def describe(manifest: Mapping[str, Any]) -> str:
    """`Kind namespace/name`."""
    meta = manifest.get("metadata") or {}
    return f"{manifest.get('kind')} {meta.get('namespace')}/{meta.get('name')}"


# -- drift ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterPolicies:
    """The Istio security objects in the namespaces the rendered policy covers, and the root namespace."""

    authorization: dict[str, list[dict]]
    peer: dict[str, list[dict]]

    @classmethod
    def read(cls, client: KubeClient, namespaces: Iterable[str]) -> ClusterPolicies:
        """List them from the cluster; a clear error when Istio's CRDs are not installed."""
        authorization, peer = {}, {}
        try:
            for namespace in sorted(set(namespaces)):
                authorization[namespace] = client.list(AUTHORIZATION_POLICIES, namespace)
                peer[namespace] = client.list(PEER_AUTHENTICATIONS, namespace)
        except KubeNotFound:
            raise GoosetermError(
                f"the cluster has no {ISTIO_SECURITY} AuthorizationPolicy/PeerAuthentication resources: "
                "install Istio (or its CRDs) first") from None
        return cls(authorization, peer)

    def find(self, kind: str, namespace: str, name: str) -> dict | None:
        """The cluster's object of that kind, namespace and name."""
        table = self.authorization if kind == "AuthorizationPolicy" else self.peer
        return next((o for o in table.get(namespace, []) if o["metadata"]["name"] == name), None)


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _generic_diff(expected: Any, found: Any, path: str = "spec") -> list[str]:
    if isinstance(expected, dict) and isinstance(found, dict):
        out = []
        for key in sorted(set(expected) | set(found)):
            here = f"{path}.{key}"
            if key not in found:
                out.append(f"{here} is missing (rendered {_show(expected[key])})")
            elif key not in expected:
                out.append(f"{here} is not rendered (cluster has {_show(found[key])})")
            else:
                out += _generic_diff(expected[key], found[key], here)
        return out
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [d for i, (e, f) in enumerate(zip(expected, found)) for d in _generic_diff(e, f, f"{path}[{i}]")]
    return [] if expected == found else [f"{path}: rendered {_show(expected)}, cluster has {_show(found)}"]


def _allowed(rules: Any) -> dict[str, tuple[list, list]] | None:
    """principal -> (methods, paths) for rules of the rendered shape; None for any other shape."""
    if not isinstance(rules, list):
        return None
    allowed: dict[str, tuple[list, list]] = {}
    for rule in rules:
        if not isinstance(rule, dict) or set(rule) != {"from", "to"}:
            return None
        sources, targets = rule["from"], rule["to"]
        if not (isinstance(sources, list) and isinstance(targets, list) and len(targets) == 1):
            return None
        operation = (targets[0] or {}).get("operation") if isinstance(targets[0], dict) else None
        if not isinstance(operation, dict) or set(operation) - {"methods", "paths"} or set(targets[0]) != {"operation"}:
            return None
        for source in sources:
            if not isinstance(source, dict) or set(source) != {"source"} or set(source["source"] or {}) != {"principals"}:
                return None
            for principal in source["source"]["principals"] or []:
                if principal in allowed:
                    return None
                allowed[principal] = (operation.get("methods") or [], operation.get("paths") or [])
    return allowed


def _policy_diff(expected: dict, found: dict, names: Mapping[str, str]) -> list[str]:
    """What differs between a rendered ALLOW policy and the cluster's, caller by caller."""
    spec, have = expected["spec"], found.get("spec") or {}
    out = []
    for key in ("action", "selector"):
        if have.get(key, "ALLOW" if key == "action" else None) != spec[key]:
            out.append(f"{key}: rendered {_show(spec[key])}, cluster has {_show(have.get(key))}")
    for key in sorted(set(have) - {"action", "selector", "rules"}):
        out.append(f"spec.{key} is not rendered (cluster has {_show(have[key])})")
    want, got = _allowed(spec["rules"]), _allowed(have.get("rules", []))
    if got is None:
        return out + _generic_diff(spec["rules"], have.get("rules"), "spec.rules")
    assert want is not None

    def who(principal: str) -> str:
        return f"caller {names[principal]} ({principal})" if principal in names else f"principal {principal}"

    for principal in sorted(set(want) | set(got)):
        if principal not in got:
            out.append(f"{who(principal)} is not allowed in the cluster")
        elif principal not in want:
            methods, paths = got[principal]
            out.append(f"{who(principal)} is allowed but not rendered (methods {_show(methods)}, paths {_show(paths)})")
        else:
            for label, index in (("methods", 0), ("paths", 1)):
                if sorted(want[principal][index]) != sorted(got[principal][index]):
                    out.append(f"{who(principal)}: {label} rendered {_show(want[principal][index])}, "
                               f"cluster has {_show(got[principal][index])}")
    return out


def _selected_service(obj: Mapping[str, Any], label: str, services: Iterable[str]) -> str | None:
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    value = selector.get(label)
    return value if value in set(services) else None


def drift(org: OrgConfig, graph: DependencyGraph, cluster: ClusterPolicies, manifests: list[dict]) -> list[Drift]:
    """Every difference between the rendered manifests and the cluster, in a stable order."""
    mesh, label = org.org.mesh, org.org.kubernetes.service_label
    services = graph.services
    names = {mesh.workload(s).principal: s for s in services}
    found: list[Drift] = []
    rendered_names: set[tuple[str, str, str]] = set()
    for manifest in manifests:
        kind, meta = manifest["kind"], manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        service = meta["labels"].get(SERVICE_LABEL)
        rendered_names.add((kind, namespace, name))
        have = cluster.find(kind, namespace, name)
        if have is None:
            found.append(Drift(change="missing", kind=kind, namespace=namespace, name=name, service=service,
                               detail="rendered but not in the cluster"))
            continue
        if service is not None:
            details = _policy_diff(manifest, have, names)
        else:
            details = _generic_diff(manifest["spec"], have.get("spec") or {})
        found += [Drift(change="changed", kind=kind, namespace=namespace, name=name, service=service, detail=d)
                  for d in details]
    namespaces = sorted({m["metadata"]["namespace"] for m in manifests})
    for namespace in namespaces:
        for kind, table in (("AuthorizationPolicy", cluster.authorization), ("PeerAuthentication", cluster.peer)):
            for obj in table.get(namespace, []):
                name = obj["metadata"]["name"]
                if (kind, namespace, name) in rendered_names:
                    continue
                spec = obj.get("spec") or {}
                what = (f"{spec.get('action', 'ALLOW')} policy with {len(spec.get('rules') or [])} rules"
                        if kind == "AuthorizationPolicy" else f"mTLS mode {(spec.get('mtls') or {}).get('mode', 'UNSET')}")
                service = _selected_service(obj, label, services)
                scope = f"selecting {service}" if service else ("for the whole namespace" if not spec.get("selector") else
                                                                f"selecting {_show(spec['selector'])}")
                found.append(Drift(change="extra", kind=kind, namespace=namespace, name=name, service=service,
                                   detail=f"not rendered by gooseterm: {what} {scope}"))
    root = mesh.root_namespace
    if root not in namespaces:
        for obj in cluster.authorization.get(root, []):
            spec = obj.get("spec") or {}
            if not spec.get("selector") and spec.get("action", "ALLOW") in ("ALLOW", "CUSTOM"):
                found.append(Drift(change="extra", kind="AuthorizationPolicy", namespace=root,
                                   name=obj["metadata"]["name"], service=None,
                                   detail=f"mesh-wide {spec.get('action', 'ALLOW')} policy in the root namespace "
                                          "applies to every service"))
    for service in services:
        namespace = mesh.workload(service).namespace
        mtls = effective_mtls({label: service}, namespace, cluster.peer.get(namespace, []),
                              cluster.peer.get(root, []), root)
        weak_ports = sorted(p for p, m in mtls.port_modes.items() if m not in ("STRICT", "UNSET"))
        if mtls.mode != "STRICT" or weak_ports:
            why = f"mode {mtls.mode} decided by {mtls.scope} policy {mtls.policy or '(none: Istio default)'}"
            if weak_ports:
                why += f"; ports {', '.join(weak_ports)} are not STRICT"
            found.append(Drift(change="changed", kind="mTLS", namespace=namespace, name=service, service=service,
                               detail=f"effective mTLS is not STRICT: {why}"))
    return sorted(found, key=lambda d: (d.namespace, d.kind, d.name, d.change, d.detail))


def check(client: KubeClient, org: OrgConfig, graph: DependencyGraph,
          services: Iterable[str] | None = None) -> list[MeshFacts]:
    """One drift report per service (all of them by default), compared with the live cluster."""
    names = sorted(services) if services is not None else graph.services
    manifests = render(org, graph)
    root = org.org.mesh.root_namespace
    namespaces = {m["metadata"]["namespace"] for m in manifests} | {root}
    cluster = ClusterPolicies.read(client, namespaces)
    everything = drift(org, graph, cluster, manifests)
    reports = []
    for service in names:
        namespace = org.org.mesh.workload(service).namespace
        own = service_manifests(org, graph, service)
        mine = [d for d in everything
                if d.service == service or (d.service is None and d.namespace in (namespace, root))]
        reports.append(MeshFacts(service=service, server=client.connection.server, context=client.connection.context,
                                 rendered_digest=manifests_digest(own),
                                 objects=[describe(m) for m in own], drift=mine, clean=not mine))
    return reports


def apply(client: KubeClient, manifests: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Server-side apply each manifest; returns (object, created|configured|unchanged)."""
    results = []
    for manifest in manifests:
        meta = manifest["metadata"]
        before = client.find(resource_of(manifest), meta["name"], meta["namespace"])
        after = client.apply(manifest)
        if before is None:
            outcome = "created"
        elif before["metadata"].get("resourceVersion") == after["metadata"].get("resourceVersion"):
            outcome = "unchanged"
        else:
            outcome = "configured"
        results.append((describe(manifest), outcome))
    return results
