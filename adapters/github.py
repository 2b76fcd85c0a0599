"""GitHub Actions: the workflow run of a commit or branch, its jobs, artifacts and environment reviews.

REST endpoints (API version 2022-11-28), as described in GitHub's OpenAPI description:
- GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs (or /actions/runs) ?head_sha&branch
- GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs
- GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts
- GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip: 302 to a signed link valid for a
  minute, followed without our token (adapters/http.py), 410 once the artifact expired
- GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals: the environment reviews
Lists are paginated by `Link` headers; rate limits answer 403/429 with x-ratelimit-* or retry-after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatch

from gooseterm.adapters.archive import ArchiveLimits
from gooseterm.adapters.collected import Collected, Collection, from_archive, one_per_kind
from gooseterm.adapters.errors import SourceError
from gooseterm.adapters.http import SourceClient
from gooseterm.adapters.numbers import NumberError, json_count

API_VERSION = "2022-11-28"
HEADERS = {"X-GitHub-Api-Version": API_VERSION}
ACCEPT = "application/vnd.github+json"


@dataclass(frozen=True)
class WorkflowRun:
    """The fields of a workflow run gooseterm reads."""

    id: int
    name: str
    head_sha: str
    head_branch: str | None
    status: str
    conclusion: str | None
    html_url: str
    updated_at: str

    @classmethod
    def from_api(cls, run: object, url: str) -> "WorkflowRun":
        """From the API's workflow-run object, as read from `url`."""
        if not isinstance(run, dict):
            raise SourceError("github", url, "a workflow run is not a JSON object", reason="bad_response")
        return cls(_api_id(run, "workflow run", url), str(run.get("name") or ""), str(run.get("head_sha") or ""), run.get("head_branch"),
                   str(run.get("status") or ""), run.get("conclusion"), str(run.get("html_url") or ""),
                   str(run.get("updated_at") or ""))


class GitHubActions:
    """One repository's Actions API."""

    def __init__(self, client: SourceClient, repository: str):
        if repository.count("/") != 1:
            raise ValueError(f"repository {repository!r} is not owner/name")
        self.http = client
        """The HTTP client (API URL, token, retries)."""
        self.repository = repository
        """owner/name."""

    def _path(self, tail: str) -> str:
        return f"repos/{self.repository}/{tail}"

    def runs(self, *, workflow: str | None = None, commit: str | None = None, branch: str | None = None,
             max_pages: int = 5) -> list[WorkflowRun]:
        """Workflow runs, newest first, for a workflow (file name or id) and/or commit and branch."""
        params = {"per_page": 100, "exclude_pull_requests": "true"}
        if commit:
            params["head_sha"] = commit
        if branch:
            params["branch"] = branch
        path = self._path(f"actions/workflows/{workflow}/runs" if workflow else "actions/runs")
        items = self.http.paginate(path, params, items="workflow_runs", max_pages=max_pages)
        return [WorkflowRun.from_api(r, self.http.url(path)) for r in items]

    def latest_completed_run(self, *, workflow: str | None, commit: str | None, branch: str | None) -> WorkflowRun:
        """The newest completed run matching; SourceError(not_found) when there is none."""
        runs = self.runs(workflow=workflow, commit=commit, branch=branch)
        done = [r for r in runs if r.status == "completed" and (not commit or r.head_sha == commit)]
        if not done:
            what = " ".join(x for x in (f"workflow {workflow}" if workflow else "", f"commit {commit}" if commit else "",
                                        f"branch {branch}" if branch else "") if x)
            pending = [r for r in runs if r.status != "completed"]
            raise SourceError("github", self.http.url(self._path("actions/runs")),
                              f"no completed workflow run in {self.repository} for {what or 'any commit'}"
                              + (f" ({len(pending)} still {pending[0].status})" if pending else ""),
                              reason="not_found", hint="wait for the run to finish, or check workflow/branch in the org config")
        return max(done, key=lambda r: (r.updated_at, r.id))

    def run(self, run_id: int) -> WorkflowRun:
        """One workflow run by id (GET .../actions/runs/{run_id}), finished or not."""
        path = self._path(f"actions/runs/{run_id}")
        return WorkflowRun.from_api(self.http.get_json(path), self.http.url(path))

    def jobs(self, run_id: int) -> list[dict]:
        """The run's jobs: name, status, conclusion, url."""
        items = self.http.paginate(self._path(f"actions/runs/{run_id}/jobs"), {"per_page": 100}, items="jobs")
        return [{"id": j.get("id"), "name": j.get("name"), "status": j.get("status"), "conclusion": j.get("conclusion"),
                 "url": j.get("html_url")} for j in items]

    def artifacts(self, run_id: int) -> list[dict]:
        """The run's artifacts as the API lists them."""
        return list(self.http.paginate(self._path(f"actions/runs/{run_id}/artifacts"), {"per_page": 100}, items="artifacts"))

    def approvals_bytes(self, run_id: int) -> tuple[bytes, str]:
        """The run's environment review history, as the raw JSON the API sent, and its URL."""
        response = self.http.get(self._path(f"actions/runs/{run_id}/approvals"), accept=ACCEPT)
        document = self.http.json_of(response)
        if not isinstance(document, list):
            raise self.http.error(response.url, "environment approvals are not a JSON array", "bad_response")
        return response.content, str(response.url)

    def collect(self, *, workflow: str | None, commit: str | None, branch: str | None, artifact_names: list[str],
                limits: ArchiveLimits, max_artifact_bytes: int, run_id: int | None = None) -> Collection:
        """The evidence of a run (`run_id`, e.g. the current one from CI, whose finished jobs' artifacts are
        already there), else of the newest completed one: its artifacts' reports and environment reviews."""
        run = self.run(run_id) if run_id else self.latest_completed_run(workflow=workflow, commit=commit, branch=branch)
        out = Collection("github", context={"repository": self.repository, "run": run.__dict__, "jobs": self.jobs(run.id)})
        for artifact in self.artifacts(run.id):
            name = str(artifact.get("name", ""))
            if artifact_names and not any(fnmatch(name, p) for p in artifact_names):
                continue
            if artifact.get("expired"):
                out.notes.append(f"artifact {name!r} expired at {artifact.get('expires_at')}; skipped")
                continue
            url = artifact.get("archive_download_url") or self.http.url(
                self._path(f"actions/artifacts/{_api_id(artifact, 'artifact', self.http.url(self._path('actions/artifacts')))}/zip"))
            data, _ = self.http.download(url, max_bytes=max_artifact_bytes)
            out.items += from_archive("github", data, url, limits)
        if not out.items:
            raise SourceError("github", run.html_url or None, f"run {run.id} ({run.name}) has no readable report artifacts"
                              + (f": {'; '.join(out.notes)}" if out.notes else ""), reason="not_found",
                              hint="upload the JUnit, SARIF and coverage files with actions/upload-artifact")
        one_per_kind("github", run.html_url, out.items)
        raw, url = self.approvals_bytes(run.id)
        if json.loads(raw):
            out.items.append(Collected("environment_approvals", raw, url))
        return out


def _api_id(obj: dict, what: str, url: str) -> int:
    """The object's numeric `id` as GitHub sends it (a JSON integer); anything else is a bad response."""
    try:
        return json_count(obj.get("id"))
    except NumberError as exc:
        raise SourceError("github", url, f"{what} id: {exc}", reason="bad_response") from None
