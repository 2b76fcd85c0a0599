"""Deployment facts without a cluster: kubectl's rollout rule, imageID forms, Istio's mTLS precedence,
default-deny NetworkPolicies, and the `kubernetes` and `mesh` evidence parsers.

The rollout cases follow kubectl's DeploymentStatusViewer.Status
(kubernetes/kubectl pkg/polymorphichelpers/rollout_status.go) branch by branch; the real API
server tests (tests/integration/kubernetes) check the same against objects it stored.
"""

from __future__ import annotations

import json

import pytest

from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.evidence import EVIDENCE_KINDS, parse_evidence
from gooseterm.adapters.kubefacts import digest_of, effective_mtls, is_default_deny, rollout_status, selector_matches

D = "sha256:" + "ab" * 32


def deployment(generation=1, observed=1, replicas=3, status_replicas=3, updated=3, available=3, reason=None):
    conditions = [{"type": "Progressing", "status": "False" if reason else "True", "reason": reason or "NewReplicaSetAvailable"}]
    return {"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": replicas} if replicas is not None else {},
            "status": {"observedGeneration": observed, "replicas": status_replicas, "updatedReplicas": updated,
                       "availableReplicas": available, "conditions": conditions}}


@pytest.mark.parametrize(("obj", "state", "message"), [
    (deployment(), "complete", 'deployment "web" successfully rolled out'),
    (deployment(generation=2, observed=1), "waiting_for_observation", "Waiting for deployment spec update to be observed"),
    # The deadline only counts once the controller has seen the current generation.
    (deployment(generation=2, observed=1, reason="ProgressDeadlineExceeded"), "waiting_for_observation", "observed"),
    (deployment(updated=1, reason="ProgressDeadlineExceeded"), "failed", 'deployment "web" exceeded its progress deadline'),
    (deployment(updated=1), "progressing", "1 out of 3 new replicas have been updated"),
    (deployment(status_replicas=4), "progressing", "1 old replicas are pending termination"),
    (deployment(available=2), "progressing", "2 of 3 updated replicas are available"),
    (deployment(replicas=None, status_replicas=0, updated=0, available=0), "complete", "successfully rolled out"),
])
def test_rollout_status_follows_kubectl(obj: dict, state: str, message: str) -> None:
    rollout = rollout_status(obj)
    assert rollout.state == state and message in rollout.message
    assert rollout.done is (state == "complete")


@pytest.mark.parametrize(("image_id", "expected"), [
    (f"docker-pullable://nginx@{D}", D),
    (f"docker.io/library/nginx@{D}", D),
    (D, D),
    (f"docker://{D}", D),
    ("", None),
    ("nginx:1.25", None),
    ("docker.io/library/nginx@sha256:short", None),
])
def test_digest_from_image_id(image_id: str, expected: str | None) -> None:
    assert digest_of(image_id) == expected


def test_selectors_match_labels_and_expressions() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({"matchLabels": {"app": "web"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "api"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]},
                                                  {"key": "canary", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, labels)
    assert not selector_matches(None, labels)


def pa(name, namespace, mode, selector=None, created="2024-01-01T00:00:00Z", ports=None):
    spec = {"mtls": {"mode": mode}} if mode else {}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    if ports:
        spec["portLevelMtls"] = ports
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}, "spec": spec}


def test_mtls_workload_beats_namespace_beats_mesh() -> None:
    labels = {"app": "web"}
    mesh = [pa("mesh", "istio-system", "STRICT")]
    ns = [pa("ns", "shop", "PERMISSIVE")]
    workload = [pa("web", "shop", "DISABLE", {"app": "web"}, ports={"9000": {"mode": "STRICT"}})]
    got = effective_mtls(labels, "shop", ns + workload, mesh, "istio-system")
    assert (got.mode, got.scope, got.policy, got.port_modes) == ("DISABLE", "workload", "shop/web", {"9000": "STRICT"})
    got = effective_mtls(labels, "shop", ns, mesh, "istio-system")
    assert (got.mode, got.scope, got.policy) == ("PERMISSIVE", "namespace", "shop/ns")
    got = effective_mtls(labels, "shop", [], mesh, "istio-system")
    assert (got.mode, got.scope, got.policy) == ("STRICT", "mesh", "istio-system/mesh")
    got = effective_mtls(labels, "shop", [], [], "istio-system")
    assert (got.mode, got.scope, got.policy) == ("PERMISSIVE", "default", None)


def test_mtls_unset_inherits_and_the_oldest_policy_wins() -> None:
    labels = {"app": "web"}
    unset = [pa("web", "shop", None, {"app": "web"})]
    got = effective_mtls(labels, "shop", unset + [pa("ns", "shop", "STRICT")], [], "istio-system")
    assert (got.mode, got.scope) == ("STRICT", "namespace")
    two = [pa("newer", "shop", "DISABLE", created="2024-02-01T00:00:00Z"), pa("older", "shop", "STRICT")]
    assert effective_mtls(labels, "shop", two, [], "istio-system").policy == "shop/older"
    other = [pa("api", "shop", "DISABLE", {"app": "api"})]
    assert effective_mtls(labels, "shop", other, [], "istio-system").scope == "default"


@pytest.mark.parametrize(("spec", "ingress", "egress"), [
    ({"podSelector": {}, "policyTypes": ["Ingress"]}, True, False),
    ({"podSelector": {}}, True, False),
    ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, True, True),
    ({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}, False, False),
    ({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}, False, False),
    ({"podSelector": {}, "egress": [{"to": []}]}, True, False),
])
def test_default_deny_network_policies(spec: dict, ingress: bool, egress: bool) -> None:
    policy = {"spec": spec}
    assert (is_default_deny(policy, "Ingress"), is_default_deny(policy, "Egress")) == (ingress, egress)


def snapshot(**changes) -> dict:
    base = {
        "service": "web", "namespace": "shop", "label_selector": "app=web", "server": "https://127.0.0.1:6443",
        "context": "prod",
        "deployments": [{"name": "web", "generation": 2, "observed_generation": 2, "replicas": 1, "status_replicas": 1,
                         "updated_replicas": 1, "ready_replicas": 1, "available_replicas": 1,
                         "spec_images": ["web:1"], "rollout": {"state": "complete", "done": True, "message": "ok"}}],
        "pods": [{"name": "web-1", "phase": "Running", "node": None, "ready": True,
                  "containers": [{"name": "app", "image": "web:1", "image_id": f"web@{D}", "digest": D, "ready": True,
                                  "restart_count": 0, "state": "running"}]}],
        "running_images": [{"digest": D, "images": ["web:1"], "containers": ["web-1/app"]}],
        "pod_security": {"enforce": "restricted"},
        "network_policies": {"default_deny_ingress": True, "default_deny_egress": False, "policies": ["deny"]},
        "mtls": None, "authorization_policies": None, "rollout_complete": True, "images_pinned": True,
    }
    base.update(changes)
    return base


def test_kubernetes_evidence_parses_a_snapshot() -> None:
    facts = parse_evidence("kubernetes", json.dumps(snapshot()).encode(), "snap.json")
    assert facts.kind == "kubernetes" and facts.rollout_complete and facts.source == "snap.json"
    assert "kubernetes" in EVIDENCE_KINDS and "mesh" in EVIDENCE_KINDS


@pytest.mark.parametrize(("changes", "problem"), [
    ({"rollout_complete": False}, "rollout_complete is False but the deployments say True"),
    ({"images_pinned": False}, "images_pinned is False but the pods say True"),
    ({"running_images": [{"digest": "sha256:nope", "images": [], "containers": []}]}, "should match pattern"),
    ({"service": None}, "valid string"),
])
def test_kubernetes_evidence_refuses_inconsistent_snapshots(changes: dict, problem: str) -> None:
    with pytest.raises(EvidenceError, match="not a valid kubernetes snapshot") as caught:
        parse_evidence("kubernetes", json.dumps(snapshot(**changes)).encode(), "snap.json")
    assert problem in str(caught.value)


def test_a_snapshot_cannot_claim_a_rollout_its_counts_deny() -> None:
    bad = snapshot()
    bad["deployments"][0]["available_replicas"] = 0
    with pytest.raises(EvidenceError, match="rollout says complete but its counts say progressing"):
        parse_evidence("kubernetes", json.dumps(bad).encode(), "snap.json")


def report(**changes) -> dict:
    base = {"service": "web", "server": "https://127.0.0.1:6443", "context": None,
            "rendered_digest": D, "objects": ["AuthorizationPolicy shop/default-deny"], "drift": [], "clean": True}
    base.update(changes)
    return base


def test_mesh_evidence_parses_a_drift_report() -> None:
    drift = [{"change": "extra", "kind": "AuthorizationPolicy", "namespace": "shop", "name": "open", "service": None,
              "detail": "not rendered by gooseterm"}]
    facts = parse_evidence("mesh", json.dumps(report(drift=drift, clean=False)).encode(), "r.json")
    assert not facts.clean and facts.drift[0].change == "extra"


@pytest.mark.parametrize(("changes", "problem"), [
    ({"clean": False}, "clean is False but the report lists 0 differences"),
    ({"drift": [{"change": "renamed", "kind": "x", "namespace": "n", "name": "m", "service": None, "detail": ""}],
      "clean": False}, "drift.0.change"),
    ({"rendered_digest": "md5:abc"}, "rendered_digest"),
])
def test_mesh_evidence_refuses_inconsistent_reports(changes: dict, problem: str) -> None:
    with pytest.raises(EvidenceError, match="not a valid mesh report") as caught:
        parse_evidence("mesh", json.dumps(report(**changes)).encode(), "r.json")
    assert problem in str(caught.value)
