"""Mesh policy from the dependency graph without a cluster: rendering, the mesh settings' validation,
drift between rendered and found objects, and the mesh_policy_enforced gate."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers.orgs import CONFIG, build_org

from gooseterm.adapters.meshreport import MeshFacts
from gooseterm import mesh
from gooseterm.cli import main
from gooseterm.gates import Result, mesh_policy_enforced
from gooseterm.orgconfig import ConfigError, bundled_config_dir, load_org
from gooseterm.resolver import DependencyGraph

ORG = load_org(bundled_config_dir())
GRAPH = DependencyGraph.from_services(ORG.services.values())


def by_name(manifests: list[dict]) -> dict[str, dict]:
    return {f"{m['kind']}/{m['metadata']['name']}": m for m in manifests}


def test_each_service_allows_exactly_its_dependents() -> None:
    rendered = by_name(mesh.render(ORG, GRAPH))
    c = rendered["AuthorizationPolicy/service-c-allow-dependents"]["spec"]
    assert c["selector"] == {"matchLabels": {"app": "service-c"}} and c["action"] == "ALLOW"
    # service-a (optional data dependency) and service-b (security) both call service-c.
    assert [r["from"][0]["source"]["principals"] for r in c["rules"]] == [
        ["cluster.local/ns/shop/sa/service-a"], ["cluster.local/ns/shop/sa/service-b"]]
    assert c["rules"][0]["to"] == [{"operation": {"methods": ["GET", "POST"], "paths": ["/api/*", "/oauth/token"]}}]
    b = rendered["AuthorizationPolicy/service-b-allow-dependents"]["spec"]
    assert [r["from"][0]["source"]["principals"] for r in b["rules"]] == [["cluster.local/ns/shop/sa/service-a"]]
    a = rendered["AuthorizationPolicy/service-a-allow-dependents"]["spec"]
    assert [r["from"][0]["source"]["principals"] for r in a["rules"]] == [
        ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]]


def test_each_namespace_gets_a_default_deny_and_strict_mtls() -> None:
    rendered = by_name(mesh.render(ORG, GRAPH))
    assert rendered["AuthorizationPolicy/default-deny"]["spec"] == {}
    assert rendered["PeerAuthentication/default"]["spec"] == {"mtls": {"mode": "STRICT"}}
    assert {m["metadata"]["namespace"] for m in rendered.values()} == {"shop"}


def test_the_service_account_names_the_principal() -> None:
    assert ORG.org.mesh.workload("service-c").principal == "cluster.local/ns/shop/sa/identity"


def test_rendering_is_deterministic_and_round_trips_as_yaml() -> None:
    first = mesh.to_yaml(mesh.render(ORG, GRAPH))
    again = load_org(bundled_config_dir())
    assert mesh.to_yaml(mesh.render(again, DependencyGraph.from_services(reversed(list(again.services.values()))))) == first
    assert list(yaml.safe_load_all(first)) == mesh.render(ORG, GRAPH)


def test_render_out_writes_one_file_per_service_and_one_per_namespace(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["mesh", "render", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.yaml"))
    assert files == ["shop/_namespace.yaml", "shop/service-a.yaml", "shop/service-b.yaml", "shop/service-c.yaml"]
    docs = list(yaml.safe_load_all((tmp_path / "out" / "shop" / "_namespace.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["AuthorizationPolicy", "PeerAuthentication"]


def test_the_isolation_policy_denies_everything_to_the_service() -> None:
    policy = mesh.isolation_policy(ORG, "service-b")
    assert policy["metadata"]["name"] == "service-b-isolate"
    assert policy["spec"] == {"action": "DENY", "selector": {"matchLabels": {"app": "service-b"}}, "rules": [{}]}


def org_with(tmp_path: Path, mesh_section: dict) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    org = yaml.safe_load((config / "org.yaml").read_text())
    org["mesh"] = mesh_section
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    return config


@pytest.mark.parametrize(("section", "field", "problem"), [
    ({"methods": ["get"]}, "mesh.methods[0]", "not an HTTP method"),
    ({"paths": ["api/*"]}, "mesh.paths[0]", "not a path Istio can match"),
    ({"namespace": "Shop_1"}, "mesh.namespace", "not a Kubernetes namespace"),
    ({"services": {"service-b": {"service_account": "Orders!"}}}, "mesh.services.service-b.service_account",
     "not a service account name"),
    ({"services": {"service-z": {}}}, "mesh.services.service-z", "unknown service 'service-z'"),
    ({"services": {"service-a": {"principals": ["service-b"]}}}, "mesh.services.service-a.principals[0]",
     "not a principal"),
    ({"methods": []}, "mesh.methods", "at least 1 item"),
    ({"mtls": "STRICT"}, "mesh.mtls", "unknown field 'mtls'"),
])
def test_bad_mesh_settings_are_reported_with_file_line_and_field(tmp_path: Path, section: dict, field: str,
                                                                 problem: str) -> None:
    config = org_with(tmp_path, section)
    with pytest.raises(ConfigError) as caught:
        load_org(config)
    [issue] = caught.value.issues
    assert issue.file == config / "org.yaml" and issue.line is not None
    assert issue.field == field and problem in issue.message


def test_a_bad_cluster_setting_is_reported_with_its_line(tmp_path: Path) -> None:
    config = org_with(tmp_path, {})
    org = yaml.safe_load((config / "org.yaml").read_text())
    org["kubernetes"]["cluster"] = {"timeout": "soon"}
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    with pytest.raises(ConfigError) as caught:
        load_org(config)
    [issue] = caught.value.issues
    assert issue.field == "kubernetes.cluster.timeout" and "not a duration" in issue.message and issue.line


def cluster_with(manifests: list[dict], root: list[dict] | None = None) -> mesh.ClusterPolicies:
    authz, peer = {"istio-system": list(root or [])}, {"istio-system": []}
    for m in copy.deepcopy(manifests):
        table = authz if m["kind"] == "AuthorizationPolicy" else peer
        table.setdefault(m["metadata"]["namespace"], []).append(m)
    return mesh.ClusterPolicies(authz, peer)


def test_the_rendered_policy_found_as_rendered_is_clean() -> None:
    rendered = mesh.render(ORG, GRAPH)
    assert mesh.drift(ORG, GRAPH, cluster_with(rendered), rendered) == []


def test_drift_names_missing_extra_and_changed_rules() -> None:
    rendered = mesh.render(ORG, GRAPH)
    found = copy.deepcopy(rendered)
    policies = by_name(found)
    c = policies["AuthorizationPolicy/service-c-allow-dependents"]["spec"]
    c["rules"][1]["to"][0]["operation"]["methods"].append("DELETE")              # widened
    c["rules"].pop(0)                                                             # a caller dropped
    c["rules"].append({"from": [{"source": {"principals": ["cluster.local/ns/x/sa/y"]}}],
                       "to": [{"operation": {"methods": ["GET"], "paths": ["/"]}}]})  # a stranger let in
    found.remove(policies["PeerAuthentication/default"])
    found.append({"apiVersion": mesh.ISTIO_SECURITY, "kind": "AuthorizationPolicy",
                  "metadata": {"name": "allow-all", "namespace": "shop"}, "spec": {"rules": [{}]}})
    details = [(d.change, d.name, d.service, d.detail) for d in mesh.drift(ORG, GRAPH, cluster_with(found), rendered)]
    assert ("extra", "allow-all", None, "not rendered by gooseterm: ALLOW policy with 1 rules for the whole namespace") in details
    assert ("missing", "default", None, "rendered but not in the cluster") in details
    changed = [d for c_, n, s, d in details if n == "service-c-allow-dependents"]
    assert changed == [
        "caller service-a (cluster.local/ns/shop/sa/service-a) is not allowed in the cluster",
        ('caller service-b (cluster.local/ns/shop/sa/service-b): methods rendered ["GET", "POST"], '
        'cluster has ["GET", "POST", "DELETE"]'),
        'principal cluster.local/ns/x/sa/y is allowed but not rendered (methods ["GET"], paths ["/"])',
    ]
    mtls = [d for c_, n, s, d in details if c_ == "changed" and n in ("service-a", "service-b", "service-c")]
    assert len(mtls) == 3 and all("effective mTLS is not STRICT: mode PERMISSIVE decided by default" in d for d in mtls)


def test_a_mesh_wide_allow_in_the_root_namespace_is_drift() -> None:
    rendered = mesh.render(ORG, GRAPH)
    root = [{"kind": "AuthorizationPolicy", "metadata": {"name": "open", "namespace": "istio-system"}, "spec": {}},
            {"kind": "AuthorizationPolicy", "metadata": {"name": "deny-debug", "namespace": "istio-system"},
             "spec": {"action": "DENY", "rules": [{}]}}]
    drift = mesh.drift(ORG, GRAPH, cluster_with(rendered, root), rendered)
    assert [(d.namespace, d.name) for d in drift] == [("istio-system", "open")]


def record_mesh(tmp_path: Path, facts: MeshFacts):
    org = build_org(tmp_path / "home")
    org.as_("ci").add_evidence("service-b", "mesh", facts.model_dump_json().encode(), "mesh.json", "mesh")
    return org, org.reader().context("service-b")


def report(service: str, drift: list | None = None, digest: str | None = None) -> MeshFacts:
    own = mesh.service_manifests(ORG, GRAPH, service)
    return MeshFacts(service=service, server="https://127.0.0.1:6443", context=None,
                     rendered_digest=digest or mesh.manifests_digest(own), objects=[mesh.describe(m) for m in own],
                     drift=drift or [], clean=not drift)


def test_the_gate_passes_on_a_clean_check_of_the_current_graph(tmp_path: Path) -> None:
    org, ctx = record_mesh(tmp_path, report("service-b"))
    outcome = mesh_policy_enforced(ctx, {})
    assert outcome.result == Result.PASS and "3 objects" in outcome.reason
    org.close()


def test_the_gate_fails_on_drift_naming_it(tmp_path: Path) -> None:
    drift = [{"change": "missing", "kind": "PeerAuthentication", "namespace": "shop", "name": "default", "service": None,
              "detail": "rendered but not in the cluster"}]
    org, ctx = record_mesh(tmp_path, report("service-b", drift))
    outcome = mesh_policy_enforced(ctx, {})
    assert outcome.result == Result.FAIL
    assert outcome.reason == "1 differences from the rendered policy: missing PeerAuthentication shop/default: rendered but not in the cluster"
    org.close()


def test_the_gate_fails_when_the_graph_changed_since_the_check(tmp_path: Path) -> None:
    org, ctx = record_mesh(tmp_path, report("service-b", digest="sha256:" + "0" * 64))
    assert "changed since the last mesh check" in mesh_policy_enforced(ctx, {}).reason
    org.close()


def test_the_gate_fails_without_evidence_or_when_it_is_too_old(tmp_path: Path) -> None:
    org, ctx = record_mesh(tmp_path, report("service-b"))
    assert mesh_policy_enforced(ctx, {"max_age": "1h"}).result == Result.PASS
    org.clock.advance(timedelta(hours=2))
    ctx = org.reader().context("service-b")
    outcome = mesh_policy_enforced(ctx, {"max_age": "1h"})
    assert outcome.result == Result.FAIL and "is older than 1h" in outcome.reason
    ctx.evidence.pop("mesh")
    assert mesh_policy_enforced(ctx, {}).reason == "no mesh evidence recorded (gooseterm mesh check --service service-b)"
    org.close()


def test_render_json_lists_the_manifests() -> None:
    result = CliRunner().invoke(main, ["mesh", "render", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == mesh.render(ORG, GRAPH)
