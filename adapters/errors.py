"""The one error type the evidence parsers raise for bad input, and the redaction every error
quoting a server's words goes through."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "***"
INSECURE_HTTP_ENV = "GOOSETERM_ALLOW_INSECURE_HTTP"
"""Set to 1 to let every live source and the cluster client send credentials over plain http://."""


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret in it replaced by ***: a server may reflect the Authorization header
    or the token it was sent in its error body, and that body is quoted to the user."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class EvidenceError(Exception):
    """Evidence that cannot be read as claimed: what is wrong, where, and what to do about it."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        """What is wrong, in one sentence."""
        self.path = path
        """The evidence source (file name or label) as the caller gave it, if known."""
        self.line = line
        """1-based line in the evidence where the problem was found, if known."""
        self.field = field
        """The element, attribute or JSON path at fault, if known."""
        self.hint = hint
        """What the person feeding the evidence can do about it."""
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path or "<evidence>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.field:
            where = f"{where} ({self.field})"
        text = f"{where}: {self.problem}"
        return _one_line(f"{text}. {self.hint}" if self.hint else text)


def _one_line(text: str) -> str:
    """Control characters from the evidence (a newline in a metric name) escaped, as repr() does:
    an error stays one line, and no evidence can forge a second line of output."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


class SourceError(EvidenceError):
    """A live evidence source (Prometheus, GitHub, GitLab) failed: which one, where, and why.

    `transient` marks failures of the source itself (down, slow, 5xx, rate limited past the
    retries): the ones a circuit breaker counts. A bad query or a wrong token is the caller's to
    fix, and retrying it changes nothing.
    """

    def __init__(
        self,
        source: str,
        url: str | None,
        problem: str,
        *,
        reason: str,
        transient: bool = False,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.source = source
        """The source's name as configured (prometheus, github, gitlab)."""
        self.url = url
        """The URL asked, without query string or credentials."""
        self.reason = reason
        """A short machine-readable class: unreachable, timeout, server_error, rate_limited,
        unauthorized, forbidden, not_found, bad_query, no_data, bad_response, artifact, cut_off."""
        self.transient = transient
        """True when the source itself failed, so retrying later may succeed."""
        self.status = status
        """The HTTP status, when there was a response."""
        label = f"{source} ({url})" if url else source
        super().__init__(problem, path=label, hint=hint)
