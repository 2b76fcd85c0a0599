"""org.yaml's live evidence sources (`evidence_sources.prometheus`, `.github`, `.gitlab`).

Secrets never live in the config: a source names the environment variable that holds its token
(`token_env: GITHUB_TOKEN`), and a value that looks like a token rather than a variable name is
refused. Strings may use `${service}`, replaced by the service being collected, so one entry
serves every service (`repository: acme/${service}`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from string import Template
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from gooseterm.orgconfig.fields import Duration

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_URL = re.compile(r"https?://[^\s/@]+(:\d+)?(/[^\s]*)?")
_SECRET_KEYS = ("token", "password", "secret", "private_token", "api_key")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            f"'{value[:4]}...' is not an environment variable name: give the NAME of the variable that holds "
            "the secret (e.g. GITHUB_TOKEN), never the secret itself"
        )
    return value


def _url(value: str) -> str:
    if "@" in value.split("//", 1)[-1].split("/", 1)[0]:
        raise ValueError("the URL carries credentials (user:password@); put them in environment variables instead")
    if not _URL.fullmatch(value):
        raise ValueError(f"'{value}' is not an http(s) URL, e.g. 'http://127.0.0.1:9090'")
    return value.rstrip("/")


def _template(value: str) -> str:
    try:
        Template(value).substitute(service="x")
    except (KeyError, ValueError) as exc:
        raise ValueError(f"bad placeholder {exc} in '{value}': only ${{service}} is replaced") from None
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
"""The name of an environment variable holding a secret."""
Url = Annotated[str, AfterValidator(_url)]
"""An http(s) URL without credentials in it."""
Templated = Annotated[str, Field(min_length=1), AfterValidator(_template)]
"""A string in which ${service} stands for the service being collected."""
Retries = Annotated[int, Strict(), Field(ge=1, le=10)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]


class SourceModel(BaseModel):
    """Base of the source models: unknown keys are errors, and a literal secret is refused by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in value:
                if key in _SECRET_KEYS:
                    raise ValueError(f"'{key}' would put a secret in the config: set '{key.split('_')[-1]}_env' "
                                     "(or token_env / password_env) to the name of an environment variable instead")
        return value


class CircuitBreaker(SourceModel):
    """When to stop asking a failing source, and for how long."""

    failures: PositiveInt = 3
    """Consecutive failed collections that cut the source off."""
    cooldown: Duration = timedelta(minutes=5)
    """How long it stays cut off before one trial collection is let through."""


class LiveSource(SourceModel):
    """What every live source has: a timeout, retries and a circuit breaker."""

    timeout: Duration = timedelta(seconds=10)
    """Longest wait for one HTTP answer."""
    retries: Retries = 3
    """Tries per request (the first included), with exponential backoff between them."""
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    allow_insecure_http: Annotated[bool, Strict()] = False
    """Send the token over a plain http:// URL too; without it gooseterm refuses (GOOSETERM_ALLOW_INSECURE_HTTP=1
    opts in for every source)."""


class PrometheusSource(LiveSource):
    """A Prometheus server; the performance gate's objectives (rules.yaml `slo`) say what to ask it."""

    url: Url
    bearer_token_env: EnvName | None = None
    """Environment variable with a bearer token (Prometheus behind an authenticating proxy)."""
    username: str | None = None
    """Basic auth user (Prometheus' web config `basic_auth_users`); needs password_env."""
    password_env: EnvName | None = None
    """Environment variable with the basic auth password."""

    @model_validator(mode="after")
    def _one_auth(self) -> "PrometheusSource":
        if (self.username is None) != (self.password_env is None):
            raise ValueError("basic auth needs both username and password_env")
        if self.username is not None and self.bearer_token_env is not None:
            raise ValueError("choose basic auth (username, password_env) or bearer_token_env, not both")
        return self


class CISource(LiveSource):
    """What GitHub and GitLab share: a token by variable name and limits on artifacts."""

    token_env: EnvName
    artifacts: list[str] = []
    """Artifact (GitHub) or job (GitLab) names to read, as glob patterns; empty means all."""
    max_artifact_bytes: PositiveInt = 64 * 1024 * 1024
    """Largest artifact download accepted."""


class GitHubSource(CISource):
    """GitHub Actions of one repository per service."""

    api_url: Url = "https://api.github.com"
    repository: Templated
    """owner/name, e.g. 'acme/${service}'."""
    workflow: Templated | None = None
    """Workflow file name or id (e.g. 'ci.yml'); without it, runs of every workflow."""
    branch: Templated | None = None
    """Branch whose newest completed run is read, unless `collect --commit` names a commit."""
    token_env: EnvName = "GITHUB_TOKEN"


class GitLabSource(CISource):
    """GitLab CI of one project per service."""

    api_url: Url = "https://gitlab.com/api/v4"
    project: Templated
    """Numeric id or group/project path, e.g. 'acme/${service}'."""
    ref: Templated | None = None
    """Branch or tag whose newest finished pipeline is read, unless `collect --commit` names a commit."""
    token_env: EnvName = "GITLAB_TOKEN"
    token_header: Literal["PRIVATE-TOKEN", "JOB-TOKEN", "Authorization"] = "PRIVATE-TOKEN"
    """How the token is sent: a personal/project token, CI's job token, or an OAuth bearer token."""


def expand(value: str | None, service: str) -> str | None:
    """A templated setting with ${service} replaced."""
    return None if value is None else Template(value).substitute(service=service)


LIVE_SOURCES = ("prometheus", "github", "gitlab")
"""The live sources, in the order `collect` runs them."""
