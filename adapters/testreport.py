"""GitLab's pipeline test report (GET /projects/:id/pipelines/:pipeline_id/test_report) into test facts.

GitLab builds this JSON from the JUnit reports its jobs upload (`artifacts:reports:junit`), so it
is recorded as `junit` evidence and read into the same JUnitFacts. Counts are recomputed from the
test cases when the report lists them, as for JUnit XML; the report's own totals are used only
when it lists none (a summary).
"""

from __future__ import annotations

from typing import Any

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.numbers import NumberError, json_count
from gooseterm.adapters.junit import MAX_LISTED_FAILURES, MAX_MESSAGE_CHARS, FailedCase, JUnitFacts

_OUTCOMES = {"success": "passed", "failed": "failure", "error": "error", "skipped": "skipped"}


def is_gitlab_test_report(data: bytes) -> bool:
    """True when the bytes look like JSON rather than XML (the caller then parses them here)."""
    return data.lstrip()[:1] == b"{"


def parse_gitlab_test_report(data: bytes, source: str | None = None) -> JUnitFacts:
    """Parse GitLab's pipeline test report JSON into JUnitFacts."""
    report = load_json(data, source)
    if not isinstance(report, dict) or not isinstance(report.get("test_suites"), list):
        raise EvidenceError("not a GitLab pipeline test report (no `test_suites` list)", path=source,
                            hint="Record GitLab's /pipelines/:id/test_report answer, or a JUnit XML report")
    counts = {"passed": 0, "failure": 0, "error": 0, "skipped": 0}
    failures: list[FailedCase] = []
    listed = 0
    notes: list[str] = []
    for s_index, suite in enumerate(report["test_suites"]):
        if not isinstance(suite, dict):
            raise EvidenceError("a test suite is not an object", path=source, field=f"test_suites[{s_index}]")
        if suite.get("suite_error"):
            counts["error"] += 1
            notes.append(f"suite {suite.get('name')!r} could not be parsed by GitLab: {str(suite['suite_error'])[:MAX_MESSAGE_CHARS]}")
        cases = suite.get("test_cases")
        if not isinstance(cases, list):
            for outcome, key in (("passed", "success_count"), ("failure", "failed_count"), ("error", "error_count"), ("skipped", "skipped_count")):
                counts[outcome] += _count(suite.get(key), source, f"test_suites[{s_index}].{key}")
            continue
        for c_index, case in enumerate(cases):
            listed += 1
            outcome = _OUTCOMES.get(case.get("status") if isinstance(case, dict) else None)
            if outcome is None:
                raise EvidenceError(f"test case status {case.get('status') if isinstance(case, dict) else case!r} is unknown",
                                    path=source, field=f"test_suites[{s_index}].test_cases[{c_index}].status")
            counts[outcome] += 1
            if outcome in ("failure", "error") and len(failures) < MAX_LISTED_FAILURES:
                name = str(case.get("name") or f"<unnamed case #{c_index + 1}>")
                classname = case.get("classname")
                text = str(case.get("stack_trace") or case.get("system_output") or "")
                first = next((line.strip() for line in text.splitlines() if line.strip()), "")
                failures.append(FailedCase(id=f"{classname}::{name}" if classname else name, outcome=outcome,
                                           message=first[:MAX_MESSAGE_CHARS] or "(no message)"))
    declared = report.get("total_count")
    tests = sum(counts.values())
    if isinstance(declared, int) and listed and declared != listed:
        notes.append(f"the report declares total_count={declared} but lists {listed} test cases; counts are recomputed from the cases")
    notes.append("read from GitLab's pipeline test report (built from the jobs' JUnit reports)")
    time = report.get("total_time")
    return JUnitFacts(
        source=source, tests=tests, passed=counts["passed"], failed=counts["failure"], errors=counts["error"],
        skipped=counts["skipped"], flaky=0, suites=len(report["test_suites"]),
        duration_seconds=float(time) if isinstance(time, (int, float)) and not isinstance(time, bool) and time >= 0 else 0.0,
        failures=failures, duplicates=0, notes=notes,
    )


def _count(value: Any, source: str | None, field: str) -> int:
    if value is None:
        return 0
    try:
        return json_count(value)
    except NumberError as exc:
        raise EvidenceError(f"not a count: {exc}", path=source, field=field) from None
