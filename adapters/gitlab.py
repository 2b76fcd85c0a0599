"""GitLab CI: the pipeline of a commit or ref, its jobs, its test report and its job artifacts.

REST endpoints (API v4), as GitLab's API documentation describes them:
- GET /projects/:id/pipelines?sha&ref&order_by=id&sort=desc
- GET /projects/:id/pipelines/:pipeline_id/jobs
- GET /projects/:id/pipelines/:pipeline_id/test_report (built from the jobs' JUnit reports)
- GET /projects/:id/jobs/:job_id/artifacts (the job's artifacts archive, a zip)
Lists are paginated with `x-next-page`; rate limits answer 429 with retry-after / ratelimit-reset.
`:id` is the numeric id or the URL-encoded path (`group%2Fproject`).
"""

from __future__ import annotations

from fnmatch import fnmatch
from urllib.parse import quote

from gooseterm.adapters.archive import ArchiveLimits
from gooseterm.adapters.collected import Collected, Collection, from_archive, one_per_kind
from gooseterm.adapters.errors import SourceError
from gooseterm.adapters.http import SourceClient
from gooseterm.adapters.numbers import NumberError, json_count

FINISHED = ("success", "failed", "canceled")


class GitLabCI:
    """One project's CI API."""

    def __init__(self, client: SourceClient, project: str):
        self.http = client
        """The HTTP client (API URL, token, retries)."""
        self.project = project
        """Numeric id or group/project path."""

    def _path(self, tail: str) -> str:
        return f"projects/{quote(self.project, safe='')}/{tail}"

    def pipelines(self, *, commit: str | None = None, ref: str | None = None, max_pages: int = 3) -> list[dict]:
        """Pipelines, newest first, for a commit and/or ref."""
        params: dict = {"order_by": "id", "sort": "desc", "per_page": 50}
        if commit:
            params["sha"] = commit
        if ref:
            params["ref"] = ref
        found = list(self.http.paginate(self._path("pipelines"), params, max_pages=max_pages))
        if not all(isinstance(p, dict) for p in found):
            raise self.http.error(self.http.url(self._path("pipelines")), "a pipeline is not a JSON object", "bad_response")
        return found

    def latest_finished_pipeline(self, *, commit: str | None, ref: str | None) -> dict:
        """The newest finished pipeline matching; SourceError(not_found) when there is none."""
        found = self.pipelines(commit=commit, ref=ref)
        done = [p for p in found if p.get("status") in FINISHED and (not commit or p.get("sha") == commit)]
        if not done:
            what = " ".join(x for x in (f"commit {commit}" if commit else "", f"ref {ref}" if ref else "") if x)
            running = [p for p in found if p.get("status") not in FINISHED]
            raise SourceError("gitlab", self.http.url(self._path("pipelines")),
                              f"no finished pipeline in {self.project} for {what or 'any commit'}"
                              + (f" ({len(running)} still {running[0].get('status')})" if running else ""),
                              reason="not_found", hint="wait for the pipeline to finish, or check project/ref in the org config")
        url = self.http.url(self._path("pipelines"))
        return max(done, key=lambda p: _pipeline_id(p, url))

    def pipeline(self, pipeline_id: int) -> dict:
        """One pipeline by id (GET /projects/:id/pipelines/:pipeline_id), finished or not."""
        found = self.http.get_json(self._path(f"pipelines/{pipeline_id}"))
        if not isinstance(found, dict) or "id" not in found:
            raise self.http.error(self.http.url(self._path(f"pipelines/{pipeline_id}")), "the answer is not a pipeline", "bad_response")
        return found

    def jobs(self, pipeline_id: int) -> list[dict]:
        """The pipeline's jobs as the API lists them."""
        return list(self.http.paginate(self._path(f"pipelines/{pipeline_id}/jobs"), {"per_page": 100}))

    def test_report_bytes(self, pipeline_id: int) -> tuple[bytes, str] | None:
        """The pipeline's test report JSON as sent, or None when it holds no tests."""
        response = self.http.get(self._path(f"pipelines/{pipeline_id}/test_report"))
        report = self.http.json_of(response)
        if not isinstance(report, dict) or not isinstance(report.get("test_suites"), list):
            raise self.http.error(response.url, "the test report has no test_suites list", "bad_response")
        return (response.content, str(response.url)) if report["test_suites"] else None

    def collect(self, *, commit: str | None, ref: str | None, artifact_names: list[str], limits: ArchiveLimits,
                max_artifact_bytes: int, pipeline_id: int | None = None) -> Collection:
        """The evidence of a pipeline (`pipeline_id`, e.g. the current one from CI), else of the newest
        finished one: its test report and its finished jobs' report artifacts."""
        pipeline = self.pipeline(pipeline_id) if pipeline_id else self.latest_finished_pipeline(commit=commit, ref=ref)
        pid = _pipeline_id(pipeline, self.http.url(self._path("pipelines")))
        jobs = self.jobs(pid)
        out = Collection("gitlab", context={
            "project": self.project,
            "pipeline": {k: pipeline.get(k) for k in ("id", "status", "ref", "sha", "web_url", "updated_at")},
            "jobs": [{k: j.get(k) for k in ("id", "name", "stage", "status", "web_url")} for j in jobs]})
        report = self.test_report_bytes(pid)
        if report is not None:
            out.items.append(Collected("junit", *report))
        for job in jobs:
            if artifact_names and not any(fnmatch(str(job.get("name", "")), p) for p in artifact_names):
                continue
            if not any(a.get("file_type") == "archive" for a in job.get("artifacts") or []) or job.get("status") in ("running", "pending", "created"):
                continue
            url = self.http.url(self._path(f"jobs/{job['id']}/artifacts"))
            data, _ = self.http.download(url, max_bytes=max_artifact_bytes)
            for item in from_archive("gitlab", data, url, limits):
                if item.kind == "junit" and report is not None:
                    out.notes.append(f"{item.source}: JUnit read through the pipeline test report instead")
                    continue
                out.items.append(item)
        if not out.items:
            raise SourceError("gitlab", pipeline.get("web_url"), f"pipeline {pid} has no test report and no readable report artifacts",
                              reason="not_found", hint="add artifacts:reports:junit and artifacts:paths for SARIF and coverage")
        one_per_kind("gitlab", str(pipeline.get("web_url")), out.items)
        return out


def _pipeline_id(pipeline: dict, url: str) -> int:
    """A pipeline's `id` as GitLab sends it (a JSON integer); anything else is a bad response."""
    try:
        return json_count(pipeline.get("id"))
    except NumberError as exc:
        raise SourceError("gitlab", url, f"pipeline id: {exc}", reason="bad_response") from None
