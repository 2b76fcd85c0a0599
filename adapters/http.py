"""One HTTP client for every live evidence source: timeouts, retries with backoff, rate limits,
pagination, capped downloads, and credentials that never reach a log, an error or a repr.

Prometheus, GitHub and GitLab all speak JSON over HTTP and fail in the same few ways, so they share
this module rather than each carrying its own retry loop (see adapters/prometheus.py for why
Prometheus goes through here rather than prometheus-api-client); the retry policy itself
(adapters/retry.py) is shared with the Kubernetes client too.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import INSECURE_HTTP_ENV, EvidenceError, SourceError, redact_secrets
from gooseterm.adapters.numbers import NumberError, whole_number
from gooseterm.adapters.retry import RetryPolicy, is_rate_limited

# httpx logs every request's URL at INFO; a signed download link carries its secret in the query.
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "gooseterm-evidence-collector"
MAX_ERROR_DETAIL = 200
MAX_REDIRECTS = 5
INSECURE_HTTP_HINT = ("use an https:// URL, or, for a server on a network you trust, opt in with "
                      f"allow_insecure_http: true on this source in org.yaml (or {INSECURE_HTTP_ENV}=1)")


def redact_url(url: str | httpx.URL) -> str:
    """The URL without user info and query string: signed download links carry their secret there."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class Credentials:
    """A secret sent as a request header; `repr` and `str` never show it."""

    header: str
    """The header carrying it: Authorization, or a vendor's own such as PRIVATE-TOKEN."""
    value: str = field(repr=False)
    """The header's value (the secret)."""
    secret: str = field(default="", repr=False)
    """The token or password inside the value, redacted from anything a server answers."""

    @classmethod
    def bearer(cls, token: str) -> "Credentials":
        """`Authorization: Bearer TOKEN` (GitHub, Prometheus behind a proxy, GitLab OAuth)."""
        return cls("Authorization", f"Bearer {token}", token)

    @classmethod
    def basic(cls, username: str, password: str) -> "Credentials":
        """HTTP basic auth (RFC 7617), as Prometheus' own web config supports it."""
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        return cls("Authorization", f"Basic {pair}", password)

    @classmethod
    def header_token(cls, header: str, token: str) -> "Credentials":
        """A token in a header of its own, e.g. GitLab's PRIVATE-TOKEN or JOB-TOKEN."""
        return cls(header, token, token)

    def redact(self, text: str) -> str:
        """`text` with the header value, and the token or password in it, replaced by ***."""
        parts = [self.value, self.secret, self.value.split(" ", 1)[-1]]
        return redact_secrets(text, parts)

    def __repr__(self) -> str:
        return f"Credentials({self.header}: ***)"

    __str__ = __repr__


def _tries(n: int) -> str:
    return f"{n} try" if n == 1 else f"{n} tries"


def error_detail(response: httpx.Response, credentials: Credentials | None = None) -> str:
    """What the server said about an error, in one short line (JSON message/error, else text), with
    the credentials sent redacted first: a server may echo them back."""
    try:
        body = response.json()
    except ValueError:
        body = None
    text = None
    if isinstance(body, dict):
        text = next((body[key] for key in ("error", "message", "error_description") if isinstance(body.get(key), str)), None)
    if text is None:
        text = response.text.strip().splitlines()[0] if response.text.strip() else response.reason_phrase
    if credentials is not None:
        text = credentials.redact(text)
    return text[:MAX_ERROR_DETAIL]


_STATUS_REASONS = {401: "unauthorized", 403: "forbidden", 404: "not_found", 410: "not_found"}
_STATUS_HINTS = {
    401: "the token was refused: check that the environment variable named in the org config holds a valid token",
    403: "the token lacks a permission or scope this call needs",
    404: "check the repository, project or id in the org config (a private one also answers 404 to a token that cannot see it)",
    410: "it is gone (expired or deleted)",
}


class SourceClient:
    """HTTP GETs against one source, with its credentials, timeout and retry policy."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self.source = source
        """The source's name, for errors."""
        self.base_url = base_url.rstrip("/")
        """Where relative paths are resolved."""
        self.credentials = credentials
        self.allow_insecure_http = allow_insecure_http
        """Send the credentials over plain http:// too (an explicit opt-in, for a trusted private network)."""
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT, **(headers or {})},
            transport=transport, follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"SourceClient({self.source}, {self.base_url}, credentials={self.credentials!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> "SourceClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """`text` from the server with this source's credentials replaced by *** (a server may echo them)."""
        return self.credentials.redact(text) if self.credentials is not None else text

    def url(self, path: str) -> str:
        """An absolute URL for a path (absolute URLs pass through)."""
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def error(self, url: str | httpx.URL, problem: str, reason: str, **kw: Any) -> SourceError:
        """A SourceError naming this source and the (redacted) URL."""
        return SourceError(self.source, redact_url(url), problem, reason=reason, **kw)

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        accept: str = "application/json",
        passthrough: tuple[int, ...] = (),
        authenticated: bool = True,
        stream: bool = False,
    ) -> httpx.Response:
        """GET with retries; statuses in `passthrough` (and 2xx/3xx) are returned, others raise SourceError.

        With `stream`, a returned response's body is not read yet: the caller reads and closes it.
        """
        url = self.url(path)
        headers = {"Accept": accept}
        if authenticated and self.credentials is not None:
            if urlsplit(url).scheme != "https" and not self.allow_insecure_http:
                raise self.error(url, "refusing to send the token over plain http://, where anyone on the path can read it",
                                 "insecure_http", hint=INSECURE_HTTP_HINT)
            headers[self.credentials.header] = self.credentials.value
        attempt = 0
        while True:
            attempt += 1
            try:
                # params=None, not {}: httpx replaces a URL's own query with an empty mapping.
                request = self._client.build_request("GET", url, params=params or None, headers=headers)
                response = self._client.send(request, stream=stream)
            except httpx.TimeoutException:
                wait = self.retry.wait(attempt)
                if wait is None:
                    raise self.error(url, f"no answer within the timeout after {_tries(attempt)}", "timeout",
                                     transient=True, hint="the server is slow or overloaded; raise timeout in the org config or try later") from None
                self.sleep(wait)
                continue
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt)
                if wait is None:
                    raise self.error(url, f"cannot connect after {_tries(attempt)} ({type(exc).__name__}: {exc})", "unreachable",
                                     transient=True, hint="is the server running and the URL in the org config right?") from None
                self.sleep(wait)
                continue
            status = response.status_code
            if status < 400 or status in passthrough:
                return response
            if stream:
                self._read_error_body(response)
            if not RetryPolicy.transient(response):
                raise self.error(url, f"HTTP {status}: {error_detail(response, self.credentials)}", _STATUS_REASONS.get(status, "bad_request"),
                                 status=status, hint=_STATUS_HINTS.get(status))
            asked = RetryPolicy.asked_wait(response, self.clock())
            wait = self.retry.wait(attempt, asked)
            if wait is not None:
                self.sleep(wait)
                continue
            when = f"; the server asks to wait {asked:.0f}s" if asked is not None else ""
            if is_rate_limited(response):
                raise self.error(url, f"rate limited (HTTP {status}) after {_tries(attempt)}{when}", "rate_limited",
                                 transient=True, status=status, hint="wait for the limit to reset, or use a token with a higher limit")
            raise self.error(url, f"server error HTTP {status} after {_tries(attempt)}{when}: {error_detail(response, self.credentials)}",
                             "server_error", transient=True, status=status)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON document; a body that is not JSON is a bad_response error."""
        response = self.get(path, params)
        return self.json_of(response)

    def json_of(self, response: httpx.Response) -> Any:
        """The JSON body of a response, or a SourceError saying it was not JSON."""
        try:
            return load_json(response.content, None)
        except EvidenceError as exc:
            raise self.error(response.url, f"the answer is not JSON (HTTP {response.status_code}, "
                             f"content-type {response.headers.get('content-type', 'none')}): {exc.problem}",
                             "bad_response") from None

    def paginate(self, path: str, params: dict[str, Any] | None = None, *, items: str | None = None,
                 max_pages: int = 50) -> Iterator[Any]:
        """Every item over all pages: GitHub's `Link: rel="next"`, else GitLab's `x-next-page`.

        `items` names the list inside an object page (GitHub's `workflow_runs`, `jobs`...); without
        it a page is the list itself (GitLab).
        """
        url: str | None = self.url(path)
        query = dict(params or {})
        for _ in range(max_pages):
            response = self.get(url, query)
            page = self.json_of(response)
            chunk = page.get(items) if items and isinstance(page, dict) else page
            if not isinstance(chunk, list):
                raise self.error(response.url, f"expected a list{f' under {items!r}' if items else ''} in the answer", "bad_response")
            yield from chunk
            nxt = response.links.get("next", {}).get("url")
            if nxt:
                url, query = nxt, {}  # the Link URL carries every parameter
                continue
            next_page = response.headers.get("x-next-page", "").strip()
            if next_page:
                try:
                    query = {**query, "page": whole_number(next_page)}
                except NumberError as exc:
                    raise self.error(response.url, f"header x-next-page: {exc}", "bad_response") from None
                continue
            return
        raise self.error(self.url(path), f"more than {max_pages} pages; narrow the query", "bad_response")

    def download(self, path: str, *, max_bytes: int) -> tuple[bytes, str]:
        """Download a file, following redirects by hand, refusing more than `max_bytes`.

        Returns the bytes and the (redacted) URL they finally came from. Credentials go only to the
        source's own origin: a redirect to storage elsewhere (GitHub's signed artifact links) is
        followed without them, as the link itself is the authorisation.
        """
        url = self.url(path)
        origin = urlsplit(self.base_url)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            same_origin = urlsplit(url)[:2] == origin
            response = self.get(url, accept="*/*", authenticated=same_origin, stream=True,
                                passthrough=(400, 401, 403, 404, 410))
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise self.error(url, f"redirect (HTTP {response.status_code}) without a Location", "bad_response")
                    url = str(response.url.join(location))
                    continue
                if response.status_code >= 400:
                    self._read_error_body(response)
                    if same_origin:
                        status = response.status_code
                        raise self.error(url, f"HTTP {status}: {error_detail(response, self.credentials)}",
                                         _STATUS_REASONS.get(status, "bad_request"), status=status, hint=_STATUS_HINTS.get(status))
                    raise self.error(url, f"the download link was refused by the storage server (HTTP {response.status_code}); "
                                     "signed links expire after a minute", "artifact", status=response.status_code,
                                     hint="run collect again to get a fresh link")
                return self._read_capped(response, max_bytes), redact_url(url)
            finally:
                response.close()
        raise self.error(path, f"more than {MAX_REDIRECTS} redirects", "bad_response")

    def _read_capped(self, response: httpx.Response, max_bytes: int) -> bytes:
        """The body, refused as soon as it passes `max_bytes` (declared length checked first)."""
        declared = response.headers.get("content-length", "")
        too_big = f"larger than the limit of {max_bytes} bytes"
        try:
            length = whole_number(declared) if declared else None
        except NumberError as exc:
            raise self.error(response.url, f"header content-length: {exc}", "bad_response") from None
        if length is not None and length > max_bytes:
            raise self.error(response.url, f"the download is {declared} bytes, {too_big}", "artifact",
                             hint="raise max_artifact_bytes in the org config, or upload smaller artifacts")
        chunks, size = [], 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise self.error(response.url, f"the download is {too_big}", "artifact",
                                     hint="raise max_artifact_bytes in the org config, or upload smaller artifacts")
                chunks.append(chunk)
        except httpx.TransportError as exc:
            raise self.error(response.url, f"the download broke off ({type(exc).__name__})", "unreachable", transient=True) from None
        return b"".join(chunks)

    @staticmethod
    def _read_error_body(response: httpx.Response) -> None:
        # Error bodies are short JSON; reading one lets error_detail() quote it.
        try:
            response.read()
        except httpx.HTTPError:
            pass
