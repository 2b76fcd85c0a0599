"""The Kubernetes client against a real kube-apiserver: credentials, paging, and every refusal."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from k8s_harness import ADMIN_TOKEN, RESTRICTED_TOKEN, Cluster

from gooseterm.adapters.kubernetes import (
    CONFIG_MAPS,
    DEPLOYMENTS,
    NAMESPACES,
    PODS,
    KubeClient,
    KubeConfigError,
    KubeExpired,
    KubeForbidden,
    KubeNotFound,
    KubeTimeout,
    KubeUnauthorized,
    KubeUnavailable,
    Page,
    Resource,
    in_cluster,
    load_kubeconfig,
)
from gooseterm.adapters.retry import RetryPolicy

pytestmark = pytest.mark.integration


def client_for(path: Path, **kwargs) -> KubeClient:
    return KubeClient(load_kubeconfig(path), **kwargs)


def test_bearer_token_from_kubeconfig_lists_namespaces(kubeconfig: Path) -> None:
    with client_for(kubeconfig) as client:
        names = {ns["metadata"]["name"] for ns in client.list(NAMESPACES)}
        assert {"default", "kube-system", "rbac-pods-only"} <= names
        assert client.connection.context == "harness" and client.connection.namespace == "default"


def test_client_certificate_data_authenticates_and_leaves_no_key_on_disk(cluster: Cluster, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = cluster.kubeconfig(tmp_path / "kubeconfig", user=cluster.cert_user())
    connection = load_kubeconfig(path)
    assert list(scratch.iterdir()) == []  # the 0600 files lived only while the TLS context read them
    with KubeClient(connection) as client:
        assert client.get(NAMESPACES, "default")["metadata"]["name"] == "default"


def test_certificate_files_relative_to_the_kubeconfig(cluster: Cluster, tmp_path: Path) -> None:
    for name in ("client.crt", "client.key"):
        (tmp_path / name).write_bytes((cluster.run / name).read_bytes())
    (tmp_path / "ca.crt").write_bytes(cluster.ca.read_bytes())
    path = cluster.kubeconfig(tmp_path / "kubeconfig", user={"client-certificate": "client.crt", "client-key": "client.key"},
                              cluster={"server": cluster.server, "certificate-authority": "ca.crt"})
    with client_for(path) as client:
        assert client.list(NAMESPACES, limit=1)


def test_ca_data_inline_is_trusted(cluster: Cluster, tmp_path: Path) -> None:
    import base64

    ca = base64.b64encode(cluster.ca.read_bytes()).decode()
    path = cluster.kubeconfig(tmp_path / "kubeconfig", cluster={"server": cluster.server, "certificate-authority-data": ca})
    with client_for(path) as client:
        assert client.get(NAMESPACES, "default")


def test_a_server_certificate_not_signed_by_the_ca_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    path = cluster.kubeconfig(tmp_path / "kubeconfig",
                              cluster={"server": cluster.server, "certificate-authority": str(cluster.run / "client-ca.crt")})
    with client_for(path, retry=RetryPolicy(attempts=1)) as client, pytest.raises(KubeUnavailable, match="TLS certificate not trusted"):
        client.list(NAMESPACES)


def test_in_cluster_service_account(cluster: Cluster, tmp_path: Path) -> None:
    mounted = tmp_path / "serviceaccount"
    mounted.mkdir()
    (mounted / "token").write_text(ADMIN_TOKEN + "\n")
    (mounted / "ca.crt").write_bytes(cluster.ca.read_bytes())
    (mounted / "namespace").write_text("rbac-pods-only")
    host, port = cluster.server.removeprefix("https://").rsplit(":", 1)
    connection = in_cluster(mounted, {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port})
    assert connection.namespace == "rbac-pods-only"
    with KubeClient(connection) as client:
        assert client.list(PODS, connection.namespace) == []
    with pytest.raises(KubeConfigError, match="KUBERNETES_SERVICE_HOST: not set"):
        in_cluster(mounted, {})


def test_a_wrong_token_is_401_and_says_whose(cluster: Cluster, tmp_path: Path) -> None:
    path = cluster.kubeconfig(tmp_path / "kubeconfig", token="not-a-token")
    with client_for(path) as client, pytest.raises(KubeUnauthorized) as caught:
        client.list(NAMESPACES)
    assert caught.value.status == 401
    assert "401 Unauthorized" in str(caught.value) and "harness-user" in str(caught.value)


def test_a_restricted_token_is_403_with_the_servers_reason(cluster: Cluster, tmp_path: Path) -> None:
    path = cluster.kubeconfig(tmp_path / "kubeconfig", token=RESTRICTED_TOKEN)
    with client_for(path) as client:
        assert client.list(PODS, "rbac-pods-only") == []  # what its Role grants
        with pytest.raises(KubeForbidden) as caught:
            client.list(DEPLOYMENTS, "rbac-pods-only")
    message = str(caught.value)
    assert caught.value.status == 403
    assert 'User "restricted" cannot list resource "deployments"' in message and "RBAC" in message


def test_a_missing_object_or_resource_type_is_404(kubeconfig: Path) -> None:
    with client_for(kubeconfig) as client:
        with pytest.raises(KubeNotFound, match='namespaces "no-such-namespace" not found'):
            client.get(NAMESPACES, "no-such-namespace")
        assert client.find(NAMESPACES, "no-such-namespace") is None
        widgets = Resource("example.com/v1", "widgets", "Widget")
        with pytest.raises(KubeNotFound):
            client.list(widgets, "default")


@pytest.fixture
def many_configmaps(cluster: Cluster) -> Iterator[str]:
    """Seven labelled ConfigMaps (and one unlabelled) in a namespace of their own."""
    namespace = "paging"
    if cluster.http.get(f"/api/v1/namespaces/{namespace}").status_code == 404:
        cluster.create_namespace(namespace)
        for n in range(7):
            cluster.create(f"/api/v1/namespaces/{namespace}/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{n}", "labels": {"set": "paged"}},
                "data": {"n": str(n)}})
        cluster.create(f"/api/v1/namespaces/{namespace}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unlabelled"}})
    yield namespace


def test_lists_page_with_limit_and_continue_and_select_by_label(kubeconfig: Path, many_configmaps: str) -> None:
    with client_for(kubeconfig) as client:
        first = client.list_page(CONFIG_MAPS, many_configmaps, label_selector="set=paged", limit=3)
        assert len(first.items) == 3 and first.continue_token
        second = client.list_page(CONFIG_MAPS, many_configmaps, label_selector="set=paged", limit=3,
                                  continue_token=first.continue_token)
        assert len(second.items) == 3 and second.continue_token
        everything = client.list(CONFIG_MAPS, many_configmaps, label_selector="set=paged", limit=3)
    assert sorted(c["metadata"]["name"] for c in everything) == [f"cm-{n}" for n in range(7)]


def test_a_stale_continue_token_is_410_gone(cluster: Cluster, kubeconfig: Path, many_configmaps: str) -> None:
    with client_for(kubeconfig) as client:
        first = client.list_page(CONFIG_MAPS, many_configmaps, limit=2)
        cluster.compact_etcd()  # what the API server's own compactor does every 5 minutes
        with pytest.raises(KubeExpired) as caught:
            client.list_page(CONFIG_MAPS, many_configmaps, limit=2, continue_token=first.continue_token)
    assert caught.value.status == 410
    assert "410 Gone (Expired)" in str(caught.value) and "continue parameter is too old" in str(caught.value)


class CompactingClient(KubeClient):
    """A client whose first page of each of the next `compactions` lists is followed by an etcd
    compaction, as if the API server's compactor ran in between."""

    def __init__(self, *args, cluster: Cluster, compactions: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cluster, self.compactions, self.pages, self.expired = cluster, compactions, 0, 0

    def list_page(self, *args, **kwargs) -> Page:
        try:
            page = super().list_page(*args, **kwargs)
        except KubeExpired:
            self.expired += 1
            raise
        self.pages += 1
        if page.continue_token and not kwargs.get("continue_token") and self.compactions:
            self.compactions -= 1
            self.cluster.compact_etcd()
        return page


def test_a_list_that_expires_mid_way_starts_over_once(cluster: Cluster, kubeconfig: Path, many_configmaps: str) -> None:
    with CompactingClient(load_kubeconfig(kubeconfig), cluster=cluster, compactions=1) as client:
        items = client.list(CONFIG_MAPS, many_configmaps, label_selector="set=paged", limit=3)
    assert len(items) == 7
    assert (client.pages, client.expired) == (1 + 3, 1)  # page 1, a 410, then three pages from the start


def test_a_list_that_expires_twice_is_an_error(cluster: Cluster, kubeconfig: Path, many_configmaps: str) -> None:
    client = CompactingClient(load_kubeconfig(kubeconfig), cluster=cluster, compactions=2)
    with client, pytest.raises(KubeExpired, match="expired twice while paging"):
        client.list(CONFIG_MAPS, many_configmaps, label_selector="set=paged", limit=3)
    assert client.expired == 2


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A local socket that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_times_out_after_the_retries(cluster: Cluster, tmp_path: Path, silent_server: int) -> None:
    path = cluster.kubeconfig(tmp_path / "kubeconfig",
                              cluster={"server": f"https://127.0.0.1:{silent_server}", "insecure-skip-tls-verify": True})
    began = time.monotonic()
    with client_for(path, timeout=0.3, retry=RetryPolicy(attempts=2, backoff=0.05)) as client, pytest.raises(KubeTimeout) as caught:
        client.list(NAMESPACES)
    assert time.monotonic() - began < 5
    assert "no answer within 0.3 s (2 attempts)" in str(caught.value)


def test_a_closed_port_is_unavailable(cluster: Cluster, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = cluster.kubeconfig(tmp_path / "kubeconfig", cluster={"server": f"https://127.0.0.1:{port}"})
    with client_for(path, retry=RetryPolicy(attempts=2, backoff=0.01)) as client, pytest.raises(KubeUnavailable, match="cannot connect"):
        client.list(NAMESPACES)


@pytest.mark.parametrize(("text", "field"), [
    ("clusters: [\n  {name: a, cluster: {server: https://x}\n", "line 3"),
    ("apiVersion: v1\nkind: Config\ncurrent-context: nope\ncontexts: []\n", "contexts"),
    (("kind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: a, user: u}}]\n"
     "clusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\n"
     "users: [{name: u, user: {client-certificate-data: 'bm90IGEgY2VydA==', client-key-data: '!!not base64!!'}}]\n"),
     "users[0].user.client-key-data"),
    (("kind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: a, user: u}}]\n"
     "clusters: [{name: a, cluster: {certificate-authority: /nope}}]\nusers: [{name: u, user: {token: t}}]\n"),
     "clusters[0].cluster.server"),
    (("kind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: a, user: u}}]\n"
     "clusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\n"
     "users: [{name: u, user: {exec: {command: aws}}}]\n"), "users[0].user.exec"),
    (("kind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: a, user: ghost}}]\n"
     "clusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\n"), "contexts[0].context.user"),
    ("kind: Config\nclusters: {a: b}\n", "clusters"),
    ("- just\n- a list\n", "not a kubeconfig"),
])
def test_a_malformed_kubeconfig_names_the_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(KubeConfigError) as caught:
        load_kubeconfig(path)
    assert str(caught.value).startswith(str(path)) and field in str(caught.value)


def test_kubeconfig_lists_merge_first_definition_wins(cluster: Cluster, tmp_path: Path) -> None:
    real = cluster.kubeconfig(tmp_path / "real")
    shadow = tmp_path / "shadow"
    shadow.write_text(yaml.safe_dump({"kind": "Config", "contexts": [{"name": "other", "context": {"cluster": "harness"}}]}))
    connection = load_kubeconfig(f"{shadow}:{real}")
    assert connection.context == "harness" and connection.server == cluster.server
    assert load_kubeconfig(f"{shadow}:{real}", context="other").user is None
