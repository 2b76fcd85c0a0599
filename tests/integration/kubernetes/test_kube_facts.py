"""Deployment facts read from a real API server: rollouts as kubectl judges them, running digests,
Pod Security labels, default-deny NetworkPolicies and Istio's mTLS and authorization scopes; and
`gooseterm collect --source kubernetes` recording them in the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.orgs import build_org
from k8s_harness import Cluster, deploy_example, digest, mesh_org

from gooseterm.adapters.kubefacts import parse_kubernetes, snapshot, snapshot_bytes
from gooseterm.adapters.kubernetes import KubeClient, load_kubeconfig
from gooseterm import runbooks
from gooseterm.cli import main

pytestmark = pytest.mark.integration
NS = "facts"
ROOT = "facts-mesh-root"  # its own root namespace, so its mesh-wide policies stay out of other tests


@pytest.fixture(scope="module")
def facts_namespace(cluster: Cluster) -> str:
    """Services in every rollout state, pods reporting digests, and Istio policy at every scope."""
    cluster.create_namespace(NS, {"pod-security.kubernetes.io/enforce": "baseline",
                                  "pod-security.kubernetes.io/warn": "restricted", "team": "payments"})
    cluster.create_namespace(ROOT)
    for name in ("done", "rolling", "stuck", "behind", "mtls-off"):
        cluster.create_service_account(NS, name)
        cluster.create_deployment(NS, name, {"app": name}, f"registry.example/{name}:v2", replicas=2)
    cluster.set_deployment_status(NS, "done", observed_generation=1, replicas=2, updated=2, ready=2, available=2)
    cluster.set_deployment_status(NS, "rolling", observed_generation=1, replicas=3, updated=1, ready=2, available=2)
    cluster.set_deployment_status(NS, "stuck", observed_generation=1, replicas=2, updated=1, ready=1, available=1,
                                  timed_out=True)
    cluster.set_deployment_status(NS, "behind", observed_generation=1, replicas=2, updated=2, ready=2, available=2)
    cluster.set_deployment_status(NS, "mtls-off", observed_generation=1, replicas=2, updated=2, ready=2, available=2)
    # A new image for `behind`: the API server bumps its generation; no controller observes it.
    cluster.call("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/behind",
                 {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/behind:v3"}]}}}},
                 {"Content-Type": "application/strategic-merge-patch+json"})
    # Three runtimes' ways of writing imageID; the spec only ever names the tag.
    for pod, image_id in (("done-1", f"docker-pullable://registry.example/done@{digest('done-v2')}"),
                          ("done-2", f"registry.example/done@{digest('done-v2')}"),
                          ("rolling-1", f"registry.example/rolling@{digest('rolling-v1')}"),
                          ("rolling-2", digest("rolling-local-build"))):
        service = pod.rsplit("-", 1)[0]
        cluster.create_pod(NS, pod, {"app": service}, f"registry.example/{service}:v2", service)
        cluster.set_pod_running(NS, pod, f"registry.example/{service}:v2", image_id)
    cluster.create_pod(NS, "stuck-1", {"app": "stuck"}, "registry.example/stuck:v2", "stuck")  # never started
    cluster.create(f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies", {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-ingress"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    cluster.create(f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies", {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-web"},
        "spec": {"podSelector": {"matchLabels": {"app": "done"}}, "ingress": [{"from": [{"podSelector": {}}]}]}})
    istio = "/apis/security.istio.io/v1beta1/namespaces"
    cluster.create(f"{istio}/{ROOT}/peerauthentications", {
        "apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication", "metadata": {"name": "mesh"},
        "spec": {"mtls": {"mode": "PERMISSIVE"}}})
    cluster.create(f"{istio}/{NS}/peerauthentications", {
        "apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication", "metadata": {"name": "default"},
        "spec": {"mtls": {"mode": "STRICT"}}})
    cluster.create(f"{istio}/{NS}/peerauthentications", {
        "apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication", "metadata": {"name": "legacy-port"},
        "spec": {"selector": {"matchLabels": {"app": "mtls-off"}}, "mtls": {"mode": "DISABLE"},
                 "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}}}})
    cluster.create(f"{istio}/{NS}/authorizationpolicies", {
        "apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy", "metadata": {"name": "done-callers"},
        "spec": {"selector": {"matchLabels": {"app": "done"}},
                 "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/facts/sa/rolling"]}}]}]}})
    cluster.create(f"{istio}/{ROOT}/authorizationpolicies", {
        "apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy", "metadata": {"name": "mesh-deny-debug"},
        "spec": {"action": "DENY", "rules": [{"to": [{"operation": {"paths": ["/debug/*"]}}]}]}})
    return NS


@pytest.fixture
def client(kubeconfig: Path):
    with KubeClient(load_kubeconfig(kubeconfig)) as c:
        yield c


def facts_of(client: KubeClient, service: str):
    return snapshot(client, service, namespace=NS, label="app", root_namespace=ROOT)


@pytest.mark.parametrize(("service", "state", "message"), [
    ("done", "complete", 'deployment "done" successfully rolled out'),
    ("rolling", "progressing", '1 out of 2 new replicas have been updated'),
    ("stuck", "failed", 'deployment "stuck" exceeded its progress deadline'),
    ("behind", "waiting_for_observation", "generation 2, observed 1"),
])
def test_rollout_status_is_kubectls(client: KubeClient, facts_namespace: str, service: str, state: str, message: str) -> None:
    facts = facts_of(client, service)
    [deployment] = facts.deployments
    assert deployment.rollout.state == state and message in deployment.rollout.message
    assert facts.rollout_complete is (state == "complete")


def test_old_replicas_still_running_are_progressing(cluster: Cluster, client: KubeClient, facts_namespace: str) -> None:
    cluster.create_deployment(NS, "surge", {"app": "surge"}, "registry.example/surge:v2", replicas=2)
    cluster.set_deployment_status(NS, "surge", observed_generation=1, replicas=3, updated=2, ready=3, available=3)
    [deployment] = facts_of(client, "surge").deployments
    assert deployment.rollout.state == "progressing"
    assert "1 old replicas are pending termination" in deployment.rollout.message


def test_running_digests_come_from_image_id_not_the_tag(client: KubeClient, facts_namespace: str) -> None:
    done = facts_of(client, "done")
    assert [(i.digest, i.containers) for i in done.running_images] == [(digest("done-v2"), ["done-1/app", "done-2/app"])]
    assert done.deployments[0].spec_images == ["registry.example/done:v2"]
    assert done.images_pinned
    rolling = facts_of(client, "rolling")
    assert {i.digest for i in rolling.running_images} == {digest("rolling-v1"), digest("rolling-local-build")}
    stuck = facts_of(client, "stuck")
    assert stuck.running_images == [] and not stuck.images_pinned
    assert stuck.pods[0].containers[0].state == "waiting: NoStatus"


def test_namespace_security_facts(client: KubeClient, facts_namespace: str) -> None:
    facts = facts_of(client, "done")
    assert facts.pod_security == {"enforce": "baseline", "warn": "restricted"}
    assert facts.network_policies.default_deny_ingress and not facts.network_policies.default_deny_egress
    assert facts.network_policies.policies == ["allow-web", "deny-ingress"]


def test_mtls_scope_workload_over_namespace_over_mesh(cluster: Cluster, client: KubeClient, facts_namespace: str) -> None:
    done = facts_of(client, "done").mtls
    assert (done.mode, done.scope, done.policy) == ("STRICT", "namespace", f"{NS}/default")
    off = facts_of(client, "mtls-off").mtls
    assert (off.mode, off.scope, off.policy, off.port_modes) == ("DISABLE", "workload", f"{NS}/legacy-port", {"8080": "PERMISSIVE"})
    cluster.create_namespace("facts-bare")
    bare = snapshot(client, "nothing", namespace="facts-bare", label="app", root_namespace=ROOT).mtls
    assert (bare.mode, bare.scope, bare.policy) == ("PERMISSIVE", "mesh", f"{ROOT}/mesh")


def test_authorization_policies_that_apply(client: KubeClient, facts_namespace: str) -> None:
    done = facts_of(client, "done").authorization_policies
    assert [(p.namespace, p.name, p.action, p.scope, p.rules) for p in done] == [
        (NS, "done-callers", "ALLOW", "workload", 1), (ROOT, "mesh-deny-debug", "DENY", "mesh", 1)]
    assert [p.name for p in facts_of(client, "rolling").authorization_policies] == ["mesh-deny-debug"]


def test_the_snapshot_round_trips_through_its_evidence_parser(client: KubeClient, facts_namespace: str) -> None:
    facts = facts_of(client, "stuck")
    parsed = parse_kubernetes(snapshot_bytes(facts), "snap.json")
    assert parsed.model_dump(exclude={"source"}) == facts.model_dump(exclude={"source"})


def test_a_configured_label_names_the_workloads(cluster: Cluster, client: KubeClient) -> None:
    deploy_example(cluster, "facts-label-apps", label="app.kubernetes.io/name")
    facts = snapshot(client, "service-b", namespace="facts-label-apps", label="app.kubernetes.io/name", root_namespace=ROOT)
    assert facts.label_selector == "app.kubernetes.io/name=service-b"
    assert [d.name for d in facts.deployments] == ["service-b"] and facts.rollout_complete


def test_collect_kubernetes_records_rollout_and_image_facts(cluster: Cluster, kubeconfig: Path, tmp_path: Path) -> None:
    deploy_example(cluster, "collect-apps", rolled_out=False)
    config = mesh_org(tmp_path / "config", "collect-apps")
    org = build_org(tmp_path / "home", config)
    org.close()
    env = {"GOOSETERM_HOME": str(tmp_path / "home")}
    result = CliRunner().invoke(main, ["--config", str(config), "--as", "ci", "collect", "--service", "service-b",
                                       "--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--json"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    facts = out["facts"]
    assert facts["deployments"][0]["rollout"]["state"] == "progressing" and not facts["rollout_complete"]
    assert [i["digest"] for i in facts["running_images"]] == [digest("service-b")]
    [row] = out["recorded"]
    assert row["kind"] == "kubernetes" and row["source"].endswith("collect-apps app=service-b")
    text = CliRunner().invoke(main, ["--config", str(config), "--as", "ci", "collect", "--service", "service-a",
                                     "--source", "kubernetes", "--kubeconfig", str(kubeconfig)], env=env)
    assert text.exit_code == 0, text.output
    assert "deployment service-a: progressing - Waiting for deployment" in text.output
    assert f"image {digest('service-a')}" in text.output


def test_collect_kubernetes_without_a_cluster_says_how_to_configure_one(tmp_path: Path) -> None:
    config = mesh_org(tmp_path / "config", "nowhere")
    build_org(tmp_path / "home", config).close()
    result = CliRunner().invoke(main, ["--config", str(config), "--as", "ci", "collect", "--service", "service-a",
                                       "--source", "kubernetes"], env={"GOOSETERM_HOME": str(tmp_path / "home")})
    assert result.exit_code == 2
    assert "no cluster configured: pass --kubeconfig, set GOOSETERM_KUBECONFIG" in result.output


def test_the_collect_evidence_step_snapshots_the_cluster_with_the_files(cluster: Cluster, kubeconfig: Path,
                                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy_example(cluster, "runbook-apps")
    config = mesh_org(tmp_path / "config", "runbook-apps")
    org = build_org(tmp_path / "home", config)
    monkeypatch.setenv("GOOSETERM_KUBECONFIG", str(kubeconfig))
    orch = org.as_("dave")
    run = runbooks.start_run(orch, "compliance_violation", "service-c")
    runbooks.take_step(orch, run["id"], confirmed=True)  # isolate (rendered only)
    _, result = runbooks.take_step(orch, run["id"])
    assert result.result == "pass", result
    assert result.summary == "recorded 5 evidence items from files, kubernetes"
    kube = org.reader().context("service-c").evidence["kubernetes"]
    assert kube.collector == "files+kubernetes" and kube.facts["rollout_complete"]
    assert kube.facts["running_images"][0]["digest"] == digest("service-c")
    org.close()
