"""The mesh commands against a real API server: `mesh render` applied makes `mesh check` clean, a hand
edit shows as drift, the result is evidence for the mesh_policy_enforced gate, and a runbook's
isolate_service step applies its DENY policy only when told to and confirmed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers.orgs import build_org
from k8s_harness import Cluster, deploy_example, mesh_org

from gooseterm.adapters.kubernetes import AUTHORIZATION_POLICIES, KubeClient, load_kubeconfig
from gooseterm import runbooks
from gooseterm.cli import main
from gooseterm.gates import Result, mesh_policy_enforced

pytestmark = pytest.mark.integration
ISTIO = "/apis/security.istio.io/v1beta1/namespaces"


@pytest.fixture
def shop(cluster: Cluster, kubeconfig: Path, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The example services deployed in a namespace of this test's own, an org placing them there,
    and a ledger (the CLI signs as ci or dave)."""
    namespace = "mesh-" + request.node.name.removeprefix("test_").replace("_", "-")[:40].rstrip("-")
    deploy_example(cluster, namespace)
    config = mesh_org(tmp_path / "config", namespace)
    org = build_org(tmp_path / "home", config)
    monkeypatch.setenv("GOOSETERM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GOOSETERM_CONFIG", str(config))
    monkeypatch.setenv("GOOSETERM_KUBECONFIG", str(kubeconfig))
    yield namespace, org
    org.close()


def gooseterm(*args: str):
    return CliRunner().invoke(main, list(args))


def _client() -> KubeClient:
    """An admin client for the kubeconfig the commands use."""
    return KubeClient(load_kubeconfig(os.environ["GOOSETERM_KUBECONFIG"]))


def test_applied_render_checks_clean_and_passes_the_gate(shop, tmp_path: Path) -> None:
    namespace, org = shop
    out = tmp_path / "rendered"
    assert gooseterm("mesh", "render", "--out", str(out)).exit_code == 0
    applied = gooseterm("mesh", "apply", "--yes", "--json")
    assert applied.exit_code == 0, applied.output
    assert [r["result"] for r in json.loads(applied.stdout)] == ["created"] * 5
    again = gooseterm("mesh", "apply", "--yes", "--json")
    assert [r["result"] for r in json.loads(again.stdout)] == ["unchanged"] * 5
    check = gooseterm("--as", "ci", "mesh", "check")
    assert check.exit_code == 0, check.output
    assert check.output.splitlines()[:3] == ["service-a: clean", "service-b: clean", "service-c: clean"]
    outcome = mesh_policy_enforced(org.reader().context("service-b"), {})
    assert outcome.result == Result.PASS, outcome.reason
    # What was applied is what `render --out` wrote.
    with _client() as client:
        live = client.get(AUTHORIZATION_POLICIES, "service-c-allow-dependents", namespace)
    written = [d for d in yaml.safe_load_all((out / namespace / "service-c.yaml").read_text()) if d]
    assert live["spec"] == written[0]["spec"]


def test_a_hand_edit_shows_as_drift_and_fails_the_gate(shop, cluster: Cluster) -> None:
    namespace, org = shop
    assert gooseterm("mesh", "apply", "--yes").exit_code == 0
    # Someone widens service-c's policy by hand, drops mTLS for service-a, and opens the namespace.
    path = f"{ISTIO}/{namespace}/authorizationpolicies/service-c-allow-dependents"
    policy = cluster.call("GET", path)
    policy["spec"]["rules"][1]["to"][0]["operation"]["methods"].append("DELETE")
    cluster.call("PUT", path, policy)
    cluster.create(f"{ISTIO}/{namespace}/peerauthentications", {
        "apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication", "metadata": {"name": "a-legacy"},
        "spec": {"selector": {"matchLabels": {"app": "service-a"}}, "mtls": {"mode": "PERMISSIVE"}}})
    cluster.call("DELETE", f"{ISTIO}/{namespace}/authorizationpolicies/default-deny")
    check = gooseterm("--as", "ci", "mesh", "check", "--json")
    assert check.exit_code == 1, check.output
    reports = {r["service"]: r for r in json.loads(check.stdout)}
    c = [(d["change"], d["name"], d["detail"]) for d in reports["service-c"]["drift"]]
    assert ("changed", "service-c-allow-dependents",
            (f'caller service-b (cluster.local/ns/{namespace}/sa/service-b): methods rendered ["GET", "POST"], '
            'cluster has ["GET", "POST", "DELETE"]')) in c
    assert ("missing", "default-deny", "rendered but not in the cluster") in c
    a = [(d["change"], d["kind"], d["name"]) for d in reports["service-a"]["drift"]]
    assert ("extra", "PeerAuthentication", "a-legacy") in a and ("changed", "mTLS", "service-a") in a
    assert reports["service-b"]["recorded"]["seq"] > 0
    outcome = mesh_policy_enforced(org.reader().context("service-c"), {})
    assert outcome.result == Result.FAIL and "differences from the rendered policy" in outcome.reason
    # The text form names each difference; --no-record checks without a ledger write.
    size = org.size()
    text = gooseterm("mesh", "check", "--service", "service-c", "--no-record")
    assert text.exit_code == 1 and "service-c: 2 differences" in text.output and org.size() == size


def test_check_without_istio_policy_reports_everything_missing(shop) -> None:
    check = gooseterm("mesh", "check", "--no-record", "--service", "service-b")
    assert check.exit_code == 1
    assert "service-b: 4 differences" in check.output
    assert "effective mTLS is not STRICT: mode PERMISSIVE decided by default policy (none: Istio default)" in check.output


def test_apply_asks_first_and_applies_nothing_unconfirmed(shop) -> None:
    namespace, _ = shop
    refused = gooseterm("mesh", "apply")  # no terminal: refused, nothing applied
    assert refused.exit_code == 1 and "pass --yes to confirm" in refused.output
    with _client() as client:
        assert client.list(AUTHORIZATION_POLICIES, namespace) == []


def test_isolate_service_applies_its_deny_policy_only_with_apply(shop) -> None:
    namespace, org = shop
    run = runbooks.start_run(org.as_("dave"), "compliance_violation", "service-b")
    refused = gooseterm("--as", "dave", "runbook", "step", run["id"], "--confirm", "--apply")
    assert refused.exit_code == 1 and "pass --yes to confirm" in refused.stderr
    assert "apply AuthorizationPolicy" in refused.stderr and "action: DENY" in refused.stderr
    with _client() as client:
        assert client.find(AUTHORIZATION_POLICIES, "service-b-isolate", namespace) is None
    done = gooseterm("--as", "dave", "runbook", "step", run["id"], "--confirm", "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.output
    step = json.loads(done.stdout)
    assert step["result"] == "pass" and "service-b-isolate applied (created)" in step["summary"]
    assert any(d.startswith("applied AuthorizationPolicy") for d in step["details"])
    with _client() as client:
        policy = client.get(AUTHORIZATION_POLICIES, "service-b-isolate", namespace)
    assert policy["spec"] == {"action": "DENY", "selector": {"matchLabels": {"app": "service-b"}}, "rules": [{}]}
    # The next step collects evidence and changes no cluster: --apply is refused for it.
    nothing = gooseterm("--as", "dave", "runbook", "step", run["id"], "--apply", "--yes")
    assert nothing.exit_code == 1 and "changes no cluster" in nothing.output


def test_isolate_without_apply_only_renders(shop) -> None:
    namespace, org = shop
    orch = org.as_("dave")
    run = runbooks.start_run(orch, "compliance_violation", "service-a")
    _, result = runbooks.take_step(orch, run["id"], confirmed=True)
    assert result.result == "pass" and result.summary.endswith("isolation policy rendered, not applied")
    with _client() as client:
        assert client.find(AUTHORIZATION_POLICIES, "service-a-isolate", namespace) is None
