"""A small Kubernetes API client over httpx: kubeconfig or in-cluster credentials, paged lists,
server-side apply, timeouts and retries, and errors that say what the server refused and why.

Only what gooseterm reads and writes is here (get, list, apply, create, replace); the
facts it reads from the objects are in adapters/kubefacts.py.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import yaml

from gooseterm.adapters.documents import YamlTooLarge, load_json, safe_load_bounded
from gooseterm.adapters.errors import INSECURE_HTTP_ENV, EvidenceError, redact_secrets
from gooseterm.adapters.retry import RetryPolicy

if TYPE_CHECKING:
    import httpx

# In-cluster credentials, as the kubelet mounts them into every pod that automounts them.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_TIMEOUT = 10.0
# The policy every HTTP source shares (adapters/retry.py), starting sooner: an API server answers
# in milliseconds, and 429 from its priority-and-fairness queues names its own wait.
DEFAULT_RETRY = RetryPolicy(attempts=3, backoff=0.2)
FIELD_MANAGER = "gooseterm"


class KubeError(Exception):
    """A Kubernetes request or config that failed: what, where, and what to do about it."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        self.status = status
        """The HTTP status, when the server answered."""
        self.url = url
        """The request URL (without credentials), when a request was made."""
        super().__init__(message)


class KubeConfigError(KubeError):
    """A kubeconfig (or in-cluster credential set) that cannot be used, naming the file and field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        super().__init__(f"{source}: {field}: {problem}" if field else f"{source}: {problem}")


class KubeUnauthorized(KubeError):
    """401: the server does not accept the credentials."""


class KubeForbidden(KubeError):
    """403: the credentials are valid but not allowed to do this (RBAC)."""


class KubeNotFound(KubeError):
    """404: no such object, or no such resource type (a CRD that is not installed)."""


class KubeConflict(KubeError):
    """409: the object exists already, or changed since it was read."""


class KubeExpired(KubeError):
    """410: a list's continue token (or resourceVersion) is older than etcd's history."""


class KubeTimeout(KubeError):
    """The server did not answer within the timeout, on every attempt."""


class KubeUnavailable(KubeError):
    """No connection could be made, or the server kept failing (5xx, 429)."""


# -- where to connect, with what credentials ----------------------------------------------------


@dataclass
class Connection:
    """An API server and the credentials to reach it, resolved from a kubeconfig or a pod."""

    server: str
    """Base URL, e.g. https://127.0.0.1:6443."""
    source: str
    """Where this came from, for messages: the kubeconfig file and context, or in-cluster."""
    context: str | None = None
    """The kubeconfig context name (None in-cluster)."""
    namespace: str = "default"
    """The context's namespace (in-cluster: the pod's namespace)."""
    user: str | None = None
    """The kubeconfig user entry's name, for messages."""
    verify: ssl.SSLContext | bool = True
    """TLS verification: a context holding the CA and client certificate, or False if skipped."""
    token: str | None = None
    """A bearer token given inline."""
    token_file: Path | None = None
    """A bearer token read from a file on each request (projected tokens rotate)."""
    basic_auth: tuple[str, str] | None = None
    """username and password, if the kubeconfig uses basic authentication."""

    def bearer(self) -> str | None:
        """The bearer token to send now, if any."""
        if self.token_file is not None:
            try:
                return self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise KubeConfigError(self.source, "tokenFile", f"cannot read {self.token_file}: {exc.strerror}") from None
        return self.token


def in_cluster(root: Path = SERVICE_ACCOUNT_DIR, env: Mapping[str, str] | None = None) -> Connection:
    """The connection a pod has: KUBERNETES_SERVICE_HOST/PORT and the mounted service account."""
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
    source = f"in-cluster service account ({root})"
    if not host:
        raise KubeConfigError(source, "KUBERNETES_SERVICE_HOST", "not set: this is not running in a pod")
    token = root / "token"
    if not token.is_file():
        raise KubeConfigError(source, "token", f"{token} is missing: the pod does not mount a service account token")
    ca = root / "ca.crt"
    if not ca.is_file():
        raise KubeConfigError(source, "ca.crt", f"{ca} is missing")
    namespace_file = root / "namespace"
    namespace = namespace_file.read_text(encoding="utf-8").strip() if namespace_file.is_file() else "default"
    host = f"[{host}]" if ":" in host else host  # an IPv6 service address
    context = _tls_context(source, "ca.crt", cafile=str(ca))
    return Connection(server=f"https://{host}:{port}", source=source, namespace=namespace, verify=context, token_file=token)


def load_kubeconfig(paths: str | Path | list[Path], context: str | None = None) -> Connection:
    """The connection of a kubeconfig context (the current one by default).

    `paths` may be a KUBECONFIG-style list (colon-separated); as kubectl does, the first file to
    define a cluster, user or context name wins, as does the first current-context. Relative
    file paths inside a kubeconfig are relative to that file's folder.
    """
    if isinstance(paths, (str, Path)):
        files = [Path(p).expanduser() for p in str(paths).split(os.pathsep) if p]
    else:
        files = [Path(p).expanduser() for p in paths]
    if not files:
        raise KubeConfigError("kubeconfig", "", "no file given")
    merged: dict[str, dict[str, tuple[Path, int, dict]]] = {"clusters": {}, "users": {}, "contexts": {}}
    current: str | None = None
    for file in files:
        document = _read_kubeconfig(file)
        if current is None and document.get("current-context"):
            current = document["current-context"]
            if not isinstance(current, str):
                raise KubeConfigError(str(file), "current-context", "must be a string")
        for section, table in merged.items():
            entries = document.get(section) or []
            if not isinstance(entries, list):
                raise KubeConfigError(str(file), section, f"must be a list, not {type(entries).__name__}")
            for index, entry in enumerate(entries):
                where = f"{section}[{index}]"
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
                    raise KubeConfigError(str(file), f"{where}.name", "every entry needs a name")
                item = entry.get(section[:-1])
                if not isinstance(item, dict):
                    raise KubeConfigError(str(file), f"{where}.{section[:-1]}", "missing or not a mapping")
                table.setdefault(entry["name"], (file, index, item))
    name = context or current
    if not name:
        raise KubeConfigError(_names(files), "current-context", "not set: pass a context name")
    if name not in merged["contexts"]:
        known = ", ".join(sorted(merged["contexts"])) or "none"
        raise KubeConfigError(_names(files), "contexts", f"no context named {name!r} (known: {known})")
    ctx_file, ctx_index, ctx = merged["contexts"][name]
    ctx_where = f"contexts[{ctx_index}].context"
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if not isinstance(cluster_name, str) or cluster_name not in merged["clusters"]:
        raise KubeConfigError(str(ctx_file), f"{ctx_where}.cluster", f"names no cluster in the kubeconfig ({cluster_name!r})")
    namespace = ctx.get("namespace") or "default"
    if not isinstance(namespace, str):
        raise KubeConfigError(str(ctx_file), f"{ctx_where}.namespace", "must be a string")
    cluster_file, cluster_index, cluster = merged["clusters"][cluster_name]
    source = f"kubeconfig {_names(files)} (context {name})"
    user: dict = {}
    user_file, user_where = cluster_file, ""
    if user_name:
        if not isinstance(user_name, str) or user_name not in merged["users"]:
            raise KubeConfigError(str(ctx_file), f"{ctx_where}.user", f"names no user in the kubeconfig ({user_name!r})")
        user_file, user_index, user = merged["users"][user_name]
        user_where = f"users[{user_index}].user"
    cluster_where = f"clusters[{cluster_index}].cluster"
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeConfigError(str(cluster_file), f"{cluster_where}.server", f"must be an http(s) URL, got {server!r}")
    for unsupported in ("exec", "auth-provider"):
        if unsupported in user:
            raise KubeConfigError(
                str(user_file), f"{user_where}.{unsupported}",
                "credential plugins are not supported: give a token, tokenFile or client certificate",
            )
    ssl_context = _cluster_tls(cluster_file, cluster_where, cluster, user_file, user_where, user)
    token = user.get("token")
    if token is not None and not isinstance(token, str):
        raise KubeConfigError(str(user_file), f"{user_where}.token", "must be a string")
    token_file = _path(user_file, user_where, "tokenFile", user.get("tokenFile"))
    basic = None
    if user.get("username") is not None or user.get("password") is not None:
        if not isinstance(user.get("username"), str) or not isinstance(user.get("password"), str):
            raise KubeConfigError(str(user_file), f"{user_where}.username", "username and password go together, as strings")
        basic = (user["username"], user["password"])
    return Connection(
        server=server.rstrip("/"), source=source, context=name, namespace=namespace,
        user=user_name if isinstance(user_name, str) else None, verify=ssl_context,
        token=token, token_file=token_file, basic_auth=basic,
    )


def _names(files: list[Path]) -> str:
    return os.pathsep.join(str(f) for f in files)


def _read_kubeconfig(file: Path) -> dict:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KubeConfigError(str(file), "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeConfigError(str(file), "", f"cannot read: {exc}") from None
    try:
        document = safe_load_bounded(text)
    except YamlTooLarge as exc:
        raise KubeConfigError(str(file), "", str(exc)) from None
    except RecursionError:
        raise KubeConfigError(str(file), "", "nested too deeply to read") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else ""
        raise KubeConfigError(str(file), line, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise KubeConfigError(str(file), "", f"not valid YAML: {exc}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise KubeConfigError(str(file), "", "not a kubeconfig: the document is not a mapping")
    kind = document.get("kind", "Config")
    if kind != "Config":
        raise KubeConfigError(str(file), "kind", f"expected Config, got {kind!r}")
    return document


def _path(file: Path, where: str, key: str, value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise KubeConfigError(str(file), f"{where}.{key}", "must be a file path")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = file.parent / path
    if not path.is_file():
        raise KubeConfigError(str(file), f"{where}.{key}", f"{path} does not exist")
    return path


def _data(file: Path, where: str, key: str, value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise KubeConfigError(str(file), f"{where}.{key}", "must be base64 text")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KubeConfigError(str(file), f"{where}.{key}", "not valid base64") from None


def _pem_or_file(file: Path, where: str, key: str, item: dict) -> tuple[bytes | None, Path | None]:
    data = _data(file, where, f"{key}-data", item.get(f"{key}-data"))
    path = _path(file, where, key, item.get(key))
    if data is not None and path is not None:
        raise KubeConfigError(str(file), f"{where}.{key}", f"give {key} or {key}-data, not both")
    return data, path


def _cluster_tls(cluster_file: Path, cluster_where: str, cluster: dict, user_file: Path, user_where: str,
                 user: dict) -> ssl.SSLContext | bool:
    source = str(cluster_file)
    insecure = cluster.get("insecure-skip-tls-verify", False)
    if not isinstance(insecure, bool):
        raise KubeConfigError(source, f"{cluster_where}.insecure-skip-tls-verify", "must be true or false")
    ca_data, ca_file = _pem_or_file(cluster_file, cluster_where, "certificate-authority", cluster)
    cert_data, cert_file = _pem_or_file(user_file, user_where, "client-certificate", user)
    key_data, key_file = _pem_or_file(user_file, user_where, "client-key", user)
    has_cert, has_key = cert_data is not None or cert_file is not None, key_data is not None or key_file is not None
    if has_cert != has_key:
        missing = "client-key" if has_cert else "client-certificate"
        raise KubeConfigError(str(user_file), f"{user_where}.{missing}", "a client certificate needs both certificate and key")
    if insecure and not has_cert:
        return False
    if cluster.get("server", "").startswith("http://") and not has_cert:
        return True
    with tempfile.TemporaryDirectory(prefix="gooseterm-kube-") as scratch:
        # ssl loads certificates and keys only from files: the *-data fields go to 0600 files in
        # a 0700 folder that exists only while they are read into the TLS context.
        def materialise(data: bytes | None, path: Path | None, name: str) -> str | None:
            if data is None:
                return str(path) if path is not None else None
            target = Path(scratch) / name
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            return str(target)

        context = _tls_context(
            source, f"{cluster_where}.certificate-authority",
            cafile=materialise(ca_data, ca_file, "ca.crt"), insecure=insecure,
        )
        if has_cert:
            try:
                context.load_cert_chain(materialise(cert_data, cert_file, "client.crt"),
                                        materialise(key_data, key_file, "client.key"))
            except ssl.SSLError as exc:
                raise KubeConfigError(str(user_file), f"{user_where}.client-certificate",
                                      f"the certificate and key cannot be used together: {exc.reason or exc}") from None
    return context


def _tls_context(source: str, field_name: str, *, cafile: str | None, insecure: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cafile is not None:
        try:
            context.load_verify_locations(cafile=cafile)
        except ssl.SSLError as exc:
            raise KubeConfigError(source, field_name, f"not a PEM certificate: {exc.reason or exc}") from None
    return context


# -- resources ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A resource type: its group/version, plural and kind, and whether it lives in namespaces."""

    group_version: str
    plural: str
    kind: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The URL path of the collection, or of one object (and its subresource)."""
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


NAMESPACES = Resource("v1", "namespaces", "Namespace", namespaced=False)
PODS = Resource("v1", "pods", "Pod")
SERVICE_ACCOUNTS = Resource("v1", "serviceaccounts", "ServiceAccount")
CONFIG_MAPS = Resource("v1", "configmaps", "ConfigMap")
DEPLOYMENTS = Resource("apps/v1", "deployments", "Deployment")
NETWORK_POLICIES = Resource("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy")
AUTHORIZATION_POLICIES = Resource("security.istio.io/v1beta1", "authorizationpolicies", "AuthorizationPolicy")
PEER_AUTHENTICATIONS = Resource("security.istio.io/v1beta1", "peerauthentications", "PeerAuthentication")
KNOWN: dict[tuple[str, str], Resource] = {
    (r.group_version, r.kind): r
    for r in (NAMESPACES, PODS, SERVICE_ACCOUNTS, CONFIG_MAPS, DEPLOYMENTS, NETWORK_POLICIES,
              AUTHORIZATION_POLICIES, PEER_AUTHENTICATIONS)
}


def resource_of(obj: Mapping[str, Any]) -> Resource:
    """The resource type of a manifest, from its apiVersion and kind."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in KNOWN:
        raise KubeError(f"gooseterm does not handle {key[1]} in {key[0]}")
    return KNOWN[key]  # type: ignore[index]


@dataclass
class Page:
    """One page of a list: its items, the token for the next page, and the list's resourceVersion."""

    items: list[dict]
    continue_token: str | None
    resource_version: str | None


# -- the client -------------------------------------------------------------------------------------


@dataclass
class KubeClient:
    """Requests to one API server with one set of credentials; close it (or use `with`) when done."""

    connection: Connection
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = DEFAULT_RETRY
    """What is tried again, how often and after how long (429 and 5xx answers, timeouts, refused
    connections); 410 is not transient: a stale continue token never becomes fresh again."""
    transport: httpx.BaseTransport | None = None
    """A seam for tests; None uses the network."""
    sleep: Callable[[float], None] = time.sleep
    """How to wait between tries (a seam for tests)."""
    clock: Callable[[], float] = time.time
    """The time now, to read a Retry-After given as an HTTP date."""
    allow_insecure_http: bool = False
    """Send a token or password to an http:// server too (an explicit opt-in); refused otherwise."""
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Imported here, not at the top: importing httpx loads rich (httpx._main), and the headless
        # modules that import this one (the evidence parsers, the CLI) must not load it.
        import httpx

        conn = self.connection
        credentials = conn.token is not None or conn.token_file is not None or conn.basic_auth is not None
        if conn.server.startswith("http://") and credentials and not self.allow_insecure_http:
            raise KubeConfigError(conn.source, "server", f"refusing to send credentials to {conn.server} over plain http://, "
                                  f"where anyone on the path can read them; use https://, or set {INSECURE_HTTP_ENV}=1 "
                                  "for a cluster on a network you trust")

        auth = httpx.BasicAuth(*self.connection.basic_auth) if self.connection.basic_auth else None
        self._http = httpx.Client(
            base_url=self.connection.server, verify=self.connection.verify, auth=auth,
            timeout=httpx.Timeout(self.timeout), transport=self.transport, trust_env=False,
            headers={"Accept": "application/json", "User-Agent": "gooseterm"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # reading

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict:
        """One object; KubeNotFound when there is none."""
        return self.request_json("GET", resource.path(namespace, name))

    def find(self, resource: Resource, name: str, namespace: str | None = None) -> dict | None:
        """One object, or None when it (or its resource type) does not exist."""
        try:
            return self.get(resource, name, namespace)
        except KubeNotFound:
            return None

    def list_page(self, resource: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                  limit: int | None = None, continue_token: str | None = None) -> Page:
        """One page of a list (`limit` items at most, from `continue_token` on)."""
        params: dict[str, str | int] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if limit:
            params["limit"] = limit
        if continue_token:
            params["continue"] = continue_token
        body = self.request_json("GET", resource.path(namespace), params=params)
        meta = body.get("metadata") or {}
        return Page(body.get("items") or [], meta.get("continue") or None, meta.get("resourceVersion"))

    def iter_list(self, resource: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                  limit: int = 500) -> Iterator[dict]:
        """Every item, page by page; a stale continue token (410) propagates as KubeExpired."""
        token = None
        while True:
            page = self.list_page(resource, namespace, label_selector=label_selector, limit=limit, continue_token=token)
            yield from page.items
            token = page.continue_token
            if not token:
                return

    def list(self, resource: Resource, namespace: str | None = None, *, label_selector: str | None = None,
             limit: int = 500) -> list[dict]:
        """Every item of a consistent list, read `limit` at a time.

        All pages of one list come from one etcd revision. If etcd compacts that revision away
        mid-list, the server answers 410 Gone; as kubectl and client-go's pager do, the list
        starts over once from a fresh revision, and a second expiry is an error.
        """
        for attempt in (1, 2):
            try:
                return list(self.iter_list(resource, namespace, label_selector=label_selector, limit=limit))
            except KubeExpired as exc:
                if attempt == 2:
                    raise KubeExpired(
                        f"listing {resource.plural} expired twice while paging ({exc}); etcd is compacting "
                        f"faster than {limit} items per page can be read: retry, or list with a larger limit",
                        status=410, url=exc.url,
                    ) from None
        raise AssertionError("unreachable")

    # writing

    def apply(self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, force: bool = True) -> dict:
        """Server-side apply: the server merges `obj` into what exists (or creates it)."""
        resource, namespace, name = _identity(obj)
        body = yaml.safe_dump(dict(obj), sort_keys=True).encode()
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        return self.request_json("PATCH", resource.path(namespace, name), params=params, content=body,
                            headers={"Content-Type": "application/apply-patch+yaml"})

    def create(self, obj: Mapping[str, Any]) -> dict:
        """Create an object; KubeConflict when it exists."""
        resource, namespace, _ = _identity(obj)
        return self.request_json("POST", resource.path(namespace), json=dict(obj), retry=False)

    def replace(self, obj: Mapping[str, Any]) -> dict:
        """Replace an object's whole content (its resourceVersion, if given, must be current)."""
        resource, namespace, name = _identity(obj)
        return self.request_json("PUT", resource.path(namespace, name), json=dict(obj))

    # the wire

    def request_json(self, method: str, path: str, **kwargs: Any) -> dict:
        """request(), its body read as strict JSON; a body that is no JSON object is a KubeError."""
        response = self.request(method, path, **kwargs)
        where = f"{method} {response.url}"
        try:
            body = load_json(response.content, where)
        except EvidenceError as exc:
            raise KubeError(f"{where}: the answer is not JSON ({exc.problem})", status=response.status_code,
                            url=str(response.url)) from None
        if not isinstance(body, dict):
            raise KubeError(f"{where}: the answer is not a JSON object", status=response.status_code, url=str(response.url))
        return body

    def request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx.Response:
        """Send one request with the bearer token, retrying connection failures, timeouts, 429 and 5xx."""
        import httpx

        headers = dict(kwargs.pop("headers", None) or {})
        token = self.connection.bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.connection.server}{path}"
        # A write that is not idempotent (create) may have happened although no answer came: never again.
        policy = self.retry if retry else replace(self.retry, attempts=1)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TimeoutException:
                wait = policy.wait(attempt)
                if wait is None:
                    raise KubeTimeout(
                        f"{method} {url}: no answer within {self.timeout:g} s ({_attempts(attempt)}); is the API "
                        f"server overloaded, or is {self.connection.server} not an API server?", url=url,
                    ) from None
            except httpx.TransportError as exc:
                wait = policy.wait(attempt)
                if wait is None:
                    raise KubeUnavailable(f"{method} {url}: cannot connect ({_transport_reason(exc)}); "
                                          f"check the server in {self.connection.source}", url=url) from None
            else:
                if response.status_code < 400:
                    return response
                transient = RetryPolicy.transient(response)
                wait = policy.wait(attempt, RetryPolicy.asked_wait(response, self.clock())) if transient else None
                if wait is None:
                    raise self._error(method, url, response, token, attempt)
            self.sleep(wait)

    def _error(self, method: str, url: str, response: httpx.Response, token: str | None, attempts: int) -> KubeError:
        status = response.status_code
        # The server's words are quoted: redact what was sent, in case it echoes the credentials.
        secrets = [token or "", *(self.connection.basic_auth or ())[1:]]
        reason, message = (redact_secrets(text, secrets) for text in _status_body(response))
        where = f"{method} {url}"
        conn = self.connection
        if status == 401:
            who = f"user {conn.user!r} of " if conn.user else ""
            return KubeUnauthorized(
                f"{where}: 401 Unauthorized: the API server does not accept the credentials of {who}{conn.source}; "
                "the token or certificate is wrong, expired or for another cluster", status=status, url=url)
        if status == 403:
            return KubeForbidden(f"{where}: 403 Forbidden: {message or 'not allowed'}; ask for an RBAC role "
                                 "that grants it", status=status, url=url)
        if status == 404:
            return KubeNotFound(f"{where}: 404 Not Found: {message or 'no such object or resource type'}",
                                status=status, url=url)
        if status == 409:
            return KubeConflict(f"{where}: 409 Conflict: {message}", status=status, url=url)
        if status == 410:
            return KubeExpired(f"{where}: 410 Gone ({reason or 'Expired'}): {message or 'the continue token expired'}",
                               status=status, url=url)
        if RetryPolicy.transient(response):
            return KubeUnavailable(f"{where}: {status} after {_attempts(attempts)}: {message}", status=status, url=url)
        return KubeError(f"{where}: {status} {reason}: {message}".rstrip(": "), status=status, url=url)


def _identity(obj: Mapping[str, Any]) -> tuple[Resource, str | None, str]:
    resource = resource_of(obj)
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise KubeError(f"{obj.get('kind')} has no metadata.name")
    namespace = meta.get("namespace")
    if resource.namespaced and not namespace:
        raise KubeError(f"{obj.get('kind')} {name} has no metadata.namespace")
    return resource, namespace, name


def _status_body(response: httpx.Response) -> tuple[str, str]:
    """The reason and message of a metav1.Status error body (or the start of whatever came back)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase, response.text[:200].strip()
    if isinstance(body, dict):
        return str(body.get("reason") or response.reason_phrase), str(body.get("message") or "")
    return response.reason_phrase, ""


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"TLS certificate not trusted: {text}; check certificate-authority in the kubeconfig"
    return text
