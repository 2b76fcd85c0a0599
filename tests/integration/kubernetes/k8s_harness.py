"""A real Kubernetes API server for the tests: etcd and kube-apiserver on 127.0.0.1, nothing else.

scripts/ensure-deps.sh (run by `make test`) builds kube-apiserver from Debian's `kubernetes`
source package into ~/.cache/gooseterm/k8s/ (30-kubernetes.sh) and unpacks Debian's etcd-server
into ~/.cache/gooseterm/debs/ (20-servers.sh); tests/helpers/deps.py finds both. This module starts both on free loopback ports with a token file
(an admin token in system:masters, a restricted token for 403s), a client CA (for certificate
authentication) and RBAC, waits for /readyz, and registers Istio's security CRDs.

There is no kubelet and no controller manager: tests create namespaces, service accounts,
deployments and pods through the API and then write the status subresources themselves, as the
deployment controller and a kubelet would.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from helpers.deps import KUBE_APISERVER, SETUP_HINT, binary
from helpers.orgs import CONFIG, write_config

APISERVER = KUBE_APISERVER
CRDS = Path(__file__).resolve().parents[2] / "fixtures" / "kubernetes" / "istio-security-crds.yaml"
ADMIN_TOKEN = "gooseterm-test-admin"
RESTRICTED_TOKEN = "gooseterm-test-restricted"
RESTRICTED_USER = "restricted"
CERT_USER = "cert-admin"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
EXAMPLE_SERVICES = ("service-a", "service-b", "service-c")


class HarnessError(RuntimeError):
    """The API server could not be started; the message says why and where its log is."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: if pytest is killed, the kernel stops etcd and the API server too.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_client_ca(run: Path) -> None:
    """A client CA and a client certificate for CERT_USER in system:masters (kubeconfig cert tests)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "client-ca.key", "-out", "client-ca.crt",
             "-days", "2", "-subj", "/CN=gooseterm-test-client-ca", cwd=run)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
             "-subj", f"/O=system:masters/CN={CERT_USER}", cwd=run)
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "client-ca.crt", "-CAkey", "client-ca.key",
             "-CAcreateserial", "-out", "client.crt", "-days", "2", cwd=run)


@dataclass
class Cluster:
    """A running etcd + kube-apiserver pair and an admin HTTP client for setting up test objects."""

    run: Path
    server: str
    etcd_url: str
    procs: list[subprocess.Popen] = field(default_factory=list)
    started_in: float = 0.0
    """Seconds from launching etcd to /readyz answering ok and the CRDs being established."""
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server, verify=ssl.create_default_context(cafile=self.ca),
                                 trust_env=False, timeout=30,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    @property
    def ca(self) -> Path:
        """The serving certificate bundle kube-apiserver generated (its own CA included)."""
        return self.run / "certs" / "apiserver.crt"

    # kubeconfigs

    def kubeconfig(self, path: Path, *, token: str | None = ADMIN_TOKEN, user: dict | None = None,
                   cluster: dict | None = None, namespace: str = "default", context: str = "harness") -> Path:
        """Write a kubeconfig for this server; `user`/`cluster` replace the default entries."""
        document = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "harness", "cluster": cluster or {"server": self.server, "certificate-authority": str(self.ca)}}],
            "users": [{"name": "harness-user", "user": user if user is not None else {"token": token}}],
            "contexts": [{"name": context, "context": {"cluster": "harness", "user": "harness-user", "namespace": namespace}}],
        }
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def cert_user(self) -> dict:
        """A kubeconfig user with the client certificate and key inline (the *-data fields)."""
        def data(name: str) -> str:
            return base64.b64encode((self.run / name).read_bytes()).decode()

        return {"client-certificate-data": data("client.crt"), "client-key-data": data("client.key")}

    # the API, as the admin

    def call(self, method: str, path: str, body: Any = None, headers: dict | None = None, ok: tuple[int, ...] = ()) -> dict:
        """One request as the admin; any status >= 400 not in `ok` fails the test with the server's message."""
        response = self.http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400 and response.status_code not in ok:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:400]}")
        return response.json() if response.content else {}

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> dict:
        """A namespace (with e.g. Pod Security labels)."""
        return self.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name, "labels": labels or {}}})

    def create(self, path: str, obj: dict) -> dict:
        """POST an object to a collection path."""
        return self.call("POST", path, obj)

    def create_service_account(self, namespace: str, name: str) -> dict:
        """A service account (pods name theirs; the mesh principals come from them)."""
        return self.create(f"/api/v1/namespaces/{namespace}/serviceaccounts",
                           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})

    def create_deployment(self, namespace: str, name: str, labels: dict[str, str], image: str, replicas: int = 2,
                          progress_deadline: int = 600) -> dict:
        """A deployment whose pods carry `labels`; its status stays empty until set_deployment_status."""
        return self.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": progress_deadline,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
        })

    def set_deployment_status(self, namespace: str, name: str, *, observed_generation: int, replicas: int, updated: int,
                              ready: int, available: int, timed_out: bool = False) -> dict:
        """Write the status the deployment controller would (status subresource)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if timed_out:
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": f'ReplicaSet "{name}-5d8f" has timed out progressing.'}
        elif updated >= replicas and available >= updated:
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                           "message": f'ReplicaSet "{name}-5d8f" has successfully progressed.'}
        else:
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": f'ReplicaSet "{name}-5d8f" is progressing.'}
        available_cond = {"type": "Available", "status": "True" if available else "False",
                          "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                          "message": "Deployment has minimum availability."}
        conditions = [{**c, "lastUpdateTime": now, "lastTransitionTime": now} for c in (available_cond, progressing)]
        status = {"observedGeneration": observed_generation, "replicas": replicas, "updatedReplicas": updated,
                  "readyReplicas": ready, "availableReplicas": available,
                  "unavailableReplicas": max(replicas - available, 0), "conditions": conditions}
        return self.call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
                         {"status": status}, MERGE_PATCH)

    def create_pod(self, namespace: str, name: str, labels: dict[str, str], image: str, service_account: str) -> dict:
        """A pod (no kubelet will run it: set_pod_running reports it as one would)."""
        return self.create(f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"serviceAccountName": service_account, "automountServiceAccountToken": False,
                     "containers": [{"name": "app", "image": image}]},
        })

    def set_pod_running(self, namespace: str, name: str, image: str, image_id: str, ready: bool = True) -> dict:
        """Write the status a kubelet reports for a running pod (status subresource)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = {
            "phase": "Running", "podIP": "10.0.0.7", "startTime": now,
            "conditions": [{"type": t, "status": "True" if ready or t == "PodScheduled" else "False", "lastTransitionTime": now}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": "app", "image": image, "imageID": image_id, "ready": ready,
                                   "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}],
        }
        return self.call("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/status", {"status": status}, MERGE_PATCH)

    # etcd

    def etcd(self, method: str, body: dict) -> dict:
        """A call to etcd's v3 JSON gateway (e.g. kv/range, kv/compaction)."""
        response = httpx.post(f"{self.etcd_url}/v3/{method}", json=body, timeout=30, trust_env=False)
        response.raise_for_status()
        return response.json()

    def compact_etcd(self) -> int:
        """Write a marker key (a new revision) and compact etcd's history up to it, as the API server's
        compactor does every 5 minutes; returns that revision. Every continue token issued before
        it names a revision etcd no longer has, so continuing with it is 410 Gone."""
        key = base64.b64encode(b"/gooseterm-test/compaction-marker").decode()
        revision = int(self.etcd("kv/put", {"key": key, "value": key})["header"]["revision"])
        self.etcd("kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def stop(self) -> None:
        """Stop the API server, then etcd."""
        self.http.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait(what: str, check, timeout: float, log: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{what}: the process exited with {proc.returncode}; last lines of {log}:\n"
                               + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise HarnessError(f"{what}: not ready after {timeout:g} s; see {log}")


def start(run: Path) -> Cluster:
    """Start etcd and kube-apiserver under `run` (logs, certificates, data) and wait until both serve."""
    if not APISERVER.is_file():
        raise HarnessError(f"{APISERVER} is missing: {SETUP_HINT}, building it from Debian's kubernetes "
                           "source package once (see docs/PERFORMANCE.md for how long that takes)")
    try:
        etcd_bin = binary("etcd")
    except RuntimeError as e:
        raise HarnessError(str(e)) from None
    run.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=run)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=run)
    make_client_ca(run)
    (run / "tokens.csv").write_text(f'{ADMIN_TOKEN},gooseterm-admin,1000,"system:masters"\n'
                                    f"{RESTRICTED_TOKEN},{RESTRICTED_USER},1001\n")
    client_port, peer_port, api_port = free_port(), free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{client_port}"
    procs: list[subprocess.Popen] = []

    def launch(name: str, argv: list[str]) -> tuple[subprocess.Popen, Path]:
        log = run / f"{name}.log"
        with open(log, "wb") as out:
            # preexec_fn only sets the parent-death signal: no locks, so safe enough even with threads.
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=run,
                                    preexec_fn=_die_with_parent)  # noqa: PLW1509
        procs.append(proc)
        return proc, log

    try:
        etcd, etcd_log = launch("etcd", [
            etcd_bin, "--name", "gooseterm-test", "--data-dir", str(run / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"gooseterm-test=http://127.0.0.1:{peer_port}",
            "--listen-metrics-urls", "",
        ])
        _wait("etcd", lambda: httpx.get(f"{etcd_url}/health", timeout=2, trust_env=False).json().get("health") == "true",
              30, etcd_log, etcd)
        server = f"https://127.0.0.1:{api_port}"
        apiserver, api_log = launch("kube-apiserver", [
            str(APISERVER), f"--etcd-servers={etcd_url}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}", "--insecure-port=0", f"--cert-dir={run / 'certs'}",
            f"--token-auth-file={run / 'tokens.csv'}", f"--client-ca-file={run / 'client-ca.crt'}",
            "--authorization-mode=RBAC", f"--service-account-key-file={run / 'sa.pub'}",
            f"--service-account-signing-key-file={run / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/24",
            "--profiling=false",
        ])
        ca = run / "certs" / "apiserver.crt"
        # It writes its self-signed serving certificate (and the CA that signed it) first thing.
        _wait("kube-apiserver certificate", lambda: ca.exists() and b"END CERTIFICATE" in ca.read_bytes(), 60, api_log,
              apiserver)
        cluster = Cluster(run=run, server=server, etcd_url=etcd_url, procs=procs)
        _wait("kube-apiserver", lambda: cluster.http.get("/readyz").text == "ok", 90, api_log, apiserver)
        _register_crds(cluster, api_log, apiserver)
        _grant_restricted(cluster)
    except BaseException:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()
        raise
    cluster.started_in = time.monotonic() - began
    return cluster


def _register_crds(cluster: Cluster, log: Path, proc: subprocess.Popen) -> None:
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    crds = [d for d in yaml.safe_load_all(CRDS.read_text()) if d]
    for crd in crds:
        cluster.call("POST", path, crd)

    def established() -> bool:
        for crd in crds:
            got = cluster.call("GET", f"{path}/{crd['metadata']['name']}")
            conditions = {c["type"]: c["status"] for c in (got.get("status") or {}).get("conditions") or []}
            if conditions.get("Established") != "True":
                return False
        # Discovery can lag a moment behind Established: wait until the resources are served.
        return cluster.http.get("/apis/security.istio.io/v1beta1").status_code == 200

    _wait("Istio CRDs", established, 30, log, proc)


def _grant_restricted(cluster: Cluster) -> None:
    """The restricted user may list pods in namespace `rbac-pods-only`, and nothing else."""
    cluster.create_namespace("rbac-pods-only")
    cluster.create("/apis/rbac.authorization.k8s.io/v1/namespaces/rbac-pods-only/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
    cluster.create("/apis/rbac.authorization.k8s.io/v1/namespaces/rbac-pods-only/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "pod-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": RESTRICTED_USER}]})


def digest(seed: str) -> str:
    """A sha256 digest that stands for an image pushed as `seed`."""
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def mesh_org(root: Path, namespace: str, mesh: dict | None = None, kubernetes: dict | None = None) -> Path:
    """The example org (service-a -> service-b -> service-c, a -> c optional) placed in `namespace`."""
    services = {name: yaml.safe_load((CONFIG / "services" / f"{name}.yaml").read_text()) for name in EXAMPLE_SERVICES}
    config = write_config(root, services)
    org = yaml.safe_load((config / "org.yaml").read_text())
    org["evidence_sources"] = {"local_files": {"dir": str(CONFIG / "evidence")}}  # the example's files
    org["mesh"] = {"namespace": namespace, **(mesh or {})}
    org["kubernetes"] = {**org.get("kubernetes", {}), **(kubernetes or {})}
    (config / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False))
    return config


def deploy_example(cluster: Cluster, namespace: str, label: str = "app", *, rolled_out: bool = True) -> None:
    """The example services' namespace, service accounts, deployments and running pods."""
    cluster.create_namespace(namespace, {"pod-security.kubernetes.io/enforce": "restricted",
                                         "pod-security.kubernetes.io/enforce-version": "v1.20"})
    for n, service in enumerate(EXAMPLE_SERVICES):
        cluster.create_service_account(namespace, service)
        image = f"registry.example/{service}:1.{n}"
        cluster.create_deployment(namespace, service, {label: service}, image, replicas=1)
        cluster.set_deployment_status(namespace, service, observed_generation=1, replicas=1, updated=1,
                                      ready=1 if rolled_out else 0, available=1 if rolled_out else 0)
        cluster.create_pod(namespace, f"{service}-5d8f-x{n}", {label: service}, image, service)
        cluster.set_pod_running(namespace, f"{service}-5d8f-x{n}", image,
                                f"registry.example/{service}@{digest(service)}")
