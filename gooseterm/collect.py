"""`gooseterm collect`: pull a service's evidence from its configured sources into the ledger.

Every source is asked first; only when all have answered is anything written, in one ledger
transaction, so a source that is down, slow, refuses the token or sends a broken artifact leaves
the ledger exactly as it was. Each fact is recorded with the URL it came from, the writer time and
its blob digest; the collector (files, prometheus, github, gitlab) says which adapter brought it.
The live sources go through their circuit breakers (breaker.py).

The HTTP adapters are imported when a live source is used, not with this module: httpx pulls in
its command-line extras (rich among them), which the headless domain does not load at import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gooseterm.adapters.collected import Collected, Collection
from gooseterm.adapters.errors import SourceError

from .breaker import SourceHealth
from .errors import GoosetermError
from .orgconfig.sourceconfig import LIVE_SOURCES, GitHubSource, GitLabSource, PrometheusSource, expand
from .promotions import CommandResult
from .settings import insecure_http_allowed

SOURCES = ("files", *LIVE_SOURCES)
"""Every source `collect --source` accepts."""

Progress = Callable[[str], None]


@dataclass
class Request:
    """What to collect: the service, the sources (None: every configured one) and which commit."""

    service: str
    sources: list[str] | None = None
    commit: str | None = None
    """A commit SHA: read the CI run or pipeline of this commit rather than the newest on the branch."""
    ref: str | None = None
    """A branch or tag overriding the configured one."""
    run: int | None = None
    """A GitHub run or GitLab pipeline id (the current one, from CI): read it even while it runs."""


@dataclass
class Report:
    """What `collect` did, for --json and the text output."""

    service: str
    sources: list[dict] = field(default_factory=list)
    recorded: list[dict] = field(default_factory=list)
    demotion: CommandResult | None = None
    """The demotion a violating fact caused, if any."""

    def to_json(self) -> dict:
        """JSON form."""
        return {**self.__dict__, "demotion": self.demotion.to_json() if self.demotion else None}


def _env_secret(source: str, name: str | None, what: str, env: Mapping[str, str]) -> str | None:
    if name is None:
        return None
    value = env.get(name, "")
    if not value:
        raise SourceError(source, None, f"the environment variable {name} ({what}) is not set or empty", reason="unauthorized",
                          hint=f"export {name}=... (the org config names the variable, never the secret)")
    return value


def _client(name: str, settings, base_url: str, credentials, env: Mapping[str, str], headers: dict | None = None):
    from gooseterm.adapters.http import RetryPolicy, SourceClient

    return SourceClient(name, base_url, credentials=credentials, timeout=settings.timeout.total_seconds(),
                        retry=RetryPolicy(attempts=settings.retries), headers=headers,
                        allow_insecure_http=settings.allow_insecure_http or insecure_http_allowed(env))


def prometheus_snapshot(org, service: str, settings: PrometheusSource, env: Mapping[str, str],
                        now: datetime | None = None) -> Collection:
    """Run every SLO objective's query and return the metrics snapshot as one evidence item."""
    from gooseterm.adapters.http import Credentials
    from gooseterm.adapters.metrics import snapshot_document
    from gooseterm.adapters.prometheus import PrometheusClient, reduce, utc_stamp

    slo = org.rules.slo
    objectives = [o for o in (slo.objectives if slo else []) if o.query]
    if not objectives:
        raise GoosetermError("no SLO objective has a query (rules.yaml slo.objectives[].query); nothing to ask Prometheus")
    credentials = None
    if settings.bearer_token_env:
        credentials = Credentials.bearer(_env_secret("prometheus", settings.bearer_token_env, "bearer token", env))
    elif settings.username:
        credentials = Credentials.basic(settings.username, _env_secret("prometheus", settings.password_env, "password", env))
    now = now or datetime.now(UTC)
    client = PrometheusClient(_client("prometheus", settings, settings.url, credentials, env))
    metrics, notes = {}, []
    try:
        for o in objectives:
            query = expand(o.query, service)
            entry: dict = {"query": query}
            if o.window is None:
                result = client.query(query, at=now)
            else:
                step = max(1.0, o.window.total_seconds() / 60)
                result = client.query_range(query, now - o.window, now, step)
                entry.update(window=f"{int(o.window.total_seconds())}s", aggregate=o.aggregate, step=f"{step:g}s")
            try:
                value = reduce(result, o.aggregate)
            except SourceError as exc:
                if exc.reason != "no_data":
                    raise
                entry.update(value=None, no_data=f"{exc.path}: {exc.problem}")
                notes.append(f"{o.sli}: no data: {exc.problem}")
            else:
                entry.update(value=_prometheus_text(value), series=len(result.series))
            if result.warnings:
                entry["warnings"] = result.warnings
            metrics[o.sli] = entry
    finally:
        client.close()
    document = snapshot_document("prometheus", settings.url, utc_stamp(now), metrics)
    data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    url = f"{settings.url}/api/v1/query"
    return Collection("prometheus", [Collected("metrics", data, url)], {"url": settings.url, "objectives": len(objectives)}, notes)


def _prometheus_text(value: float) -> str:
    """A float the way Prometheus writes sample values (repr keeps every digit; NaN, +Inf, -Inf)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def github_collection(service: str, settings: GitHubSource, env: Mapping[str, str], commit: str | None,
                      ref: str | None, run: int | None = None) -> Collection:
    """The evidence of the service's newest completed GitHub Actions run."""
    from gooseterm.adapters.archive import ArchiveLimits
    from gooseterm.adapters.github import ACCEPT, HEADERS, GitHubActions
    from gooseterm.adapters.http import Credentials

    token = _env_secret("github", settings.token_env, "GitHub token", env)
    client = _client("github", settings, settings.api_url, Credentials.bearer(token), env, {**HEADERS, "Accept": ACCEPT})
    with client:
        return GitHubActions(client, expand(settings.repository, service)).collect(
            workflow=expand(settings.workflow, service), commit=commit, branch=ref or expand(settings.branch, service),
            artifact_names=settings.artifacts, limits=ArchiveLimits(), max_artifact_bytes=settings.max_artifact_bytes,
            run_id=run)


def gitlab_collection(service: str, settings: GitLabSource, env: Mapping[str, str], commit: str | None,
                      ref: str | None, run: int | None = None) -> Collection:
    """The evidence of the service's newest finished GitLab pipeline."""
    from gooseterm.adapters.archive import ArchiveLimits
    from gooseterm.adapters.gitlab import GitLabCI
    from gooseterm.adapters.http import Credentials

    token = _env_secret("gitlab", settings.token_env, "GitLab token", env)
    credentials = (Credentials.bearer(token) if settings.token_header == "Authorization"
                   else Credentials.header_token(settings.token_header, token))
    client = _client("gitlab", settings, settings.api_url, credentials, env)
    with client:
        return GitLabCI(client, expand(settings.project, service)).collect(
            commit=commit, ref=ref or expand(settings.ref, service), artifact_names=settings.artifacts,
            limits=ArchiveLimits(), max_artifact_bytes=settings.max_artifact_bytes, pipeline_id=run)


def files_collection(org, service: str) -> Collection:
    """The files in the local evidence folder of the service."""
    from gooseterm.adapters.files import find_evidence

    root = org.local_evidence_dir()
    found = find_evidence(root, service)
    if not found:
        raise GoosetermError(f"no evidence files for {service} in {root / service}")
    return Collection("files", [Collected(f.kind, f.data, str(f.path)) for f in found], {"folder": str(root / service)})


def collect(orch, request: Request, health: SourceHealth | None = None, *, env: Mapping[str, str] = os.environ,
            progress: Progress = lambda line: None, now: datetime | None = None) -> Report:
    """Ask every requested source, then record everything in one transaction (or nothing)."""
    orch.require_service(request.service)
    sources_cfg = orch.org.org.evidence_sources
    configured = sources_cfg.configured()
    wanted = request.sources or configured
    for name in wanted:
        if name not in SOURCES:
            raise GoosetermError(f"unknown source {name!r}; use one of {', '.join(SOURCES)}")
        if name not in configured:
            where = "local_files" if name == "files" else name
            raise GoosetermError(f"no {name} source is configured (org.yaml: evidence_sources.{where})")
    if not wanted:
        raise GoosetermError("no evidence source is configured (org.yaml: evidence_sources)")
    collections: list[Collection] = []
    for name in wanted:
        progress(f"{name}: asking for {request.service}'s evidence")
        if name == "files":
            collections.append(files_collection(orch.org, request.service))
        else:
            settings = getattr(sources_cfg, name)
            if health is not None:
                health.allow(name, settings.circuit_breaker)
            try:
                collections.append(_live(orch.org, name, request, settings, env, now))
            except SourceError as exc:
                if health is not None and exc.transient:
                    health.failed(name, exc, settings.circuit_breaker)
                raise
            if health is not None:
                health.succeeded(name)
        got = collections[-1]
        progress(f"{name}: {len(got.items)} evidence file{'s' if len(got.items) != 1 else ''}"
                 + "".join(f"\n  note: {n}" for n in got.notes))
    items = [(c.kind, c.data, c.source, col.source) for col in collections for c in col.items]
    progress(f"recording {len(items)} facts in one transaction")
    records, demotion = orch.add_evidence_many(request.service, items, "collect")
    report = Report(request.service, [{"source": c.source, "context": c.context, "notes": c.notes, "files": len(c.items)}
                                      for c in collections])
    report.recorded = [{"kind": r.kind, "collector": r.collector, "source": r.source, "digest": r.digest, "seq": r.seq,
                        "time": r.time} for r in records]
    report.demotion = demotion
    return report


def _live(org, name: str, request: Request, settings, env, now) -> Collection:
    if name == "prometheus":
        return prometheus_snapshot(org, request.service, settings, env, now)
    if name == "github":
        return github_collection(request.service, settings, env, request.commit, request.ref, request.run)
    return gitlab_collection(request.service, settings, env, request.commit, request.ref, request.run)

