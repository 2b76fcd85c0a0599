"""JUnit XML test reports (pytest, jest, mocha, Surefire, bazel, xunit, ...) into test facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from xml.etree.ElementTree import Element

from pydantic import BaseModel, ConfigDict

from gooseterm.adapters.documents import load_xml
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.numbers import NumberError, decimal, whole_number

MAX_LISTED_FAILURES = 20
"""How many failing cases JUnitFacts.failures lists (the counts always cover all of them)."""

MAX_MESSAGE_CHARS = 300
"""Longest failure message kept per listed case (the first line of it)."""

Outcome = Literal["passed", "skipped", "failure", "error"]

# Worst outcome wins when a case carries several results or appears several times.
_SEVERITY: dict[str, int] = {"passed": 0, "skipped": 1, "failure": 2, "error": 3}
_RESULT_ELEMENTS = frozenset({"skipped", "failure", "error"})
# Surefire's rerun records on a case that passed in the end: the test is flaky, and it passed.
_FLAKY_ELEMENTS = frozenset({"flakyFailure", "flakyError"})
# Cases that did not run but carry no <skipped/>: tst writes status='disabled', googletest 'notrun'.
_NOT_RUN_STATUSES = frozenset({"disabled", "notrun", "skipped"})


class FailedCase(BaseModel):
    """One failing test case, for people to read; the counts are in JUnitFacts."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    id: str
    """`classname::name`, or just the name when the report gives no class."""
    outcome: Literal["failure", "error"]
    """`failure`: an assertion failed; `error`: the test could not run to its end."""
    message: str
    """First line of the failure message, cut at MAX_MESSAGE_CHARS."""


class JUnitFacts(BaseModel):
    """What a JUnit report says, counted over unique test cases."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    kind: Literal["junit"] = "junit"
    """Evidence kind, for dispatch and storage."""
    source: str | None
    """Where the report came from, as the caller named it."""
    tests: int
    """Unique test cases, keyed by (classname, name); zero is a valid parse, the gate decides."""
    passed: int
    """Cases whose worst outcome is a pass (flaky ones included)."""
    failed: int
    """Cases whose worst outcome is a <failure>."""
    errors: int
    """Cases whose worst outcome is an <error>."""
    skipped: int
    """Cases skipped or not run (pytest reports xfail as skipped)."""
    flaky: int
    """Passed cases that failed first (Surefire flakyFailure/flakyError); counted in passed too."""
    suites: int
    """<testsuite> elements, nested ones included."""
    duration_seconds: float
    """The report's own total time, else the sum of its top-level suites' or cases' times."""
    failures: list[FailedCase]
    """The first MAX_LISTED_FAILURES failing cases, in report order."""
    duplicates: int
    """<testcase> entries merged into an earlier one with the same (classname, name)."""
    notes: list[str]
    """Things a reviewer should know about how the counts were made."""


@dataclass
class _Case:
    outcome: Outcome
    detail: Element | None
    flaky: bool
    case_id: str


def parse_junit(data: bytes, source: str | None = None) -> JUnitFacts:
    """Parse a JUnit XML report, recomputing every count from its <testcase> elements.

    GitLab's pipeline test report (JSON, built from JUnit reports) is read too (adapters/testreport.py).
    """
    from gooseterm.adapters.testreport import is_gitlab_test_report, parse_gitlab_test_report

    if is_gitlab_test_report(data):
        return parse_gitlab_test_report(data, source)
    root = load_xml(data, source)
    if root.tag not in ("testsuites", "testsuite"):
        raise EvidenceError(
            f"root element is <{root.tag}>, not <testsuites> or <testsuite>: this is not a JUnit XML report",
            path=source,
            field=f"<{root.tag}>",
            hint="Record the test runner's JUnit XML output (pytest --junitxml, jest-junit, Surefire TEST-*.xml)",
        )
    cases: dict[tuple[str | None, str | int], _Case] = {}
    entries = 0
    for position, element in enumerate(root.iter("testcase")):
        entries += 1
        case = _read_case(element, position)
        name = element.get("name")
        # Unnamed cases cannot be reruns of one another: each is its own case.
        key = (element.get("classname") or "", name) if name is not None else (None, position)
        earlier = cases.get(key)
        if earlier is None:
            cases[key] = case
        else:
            earlier.flaky = earlier.flaky or case.flaky
            if _SEVERITY[case.outcome] > _SEVERITY[earlier.outcome]:
                earlier.outcome, earlier.detail = case.outcome, case.detail

    counts = {outcome: 0 for outcome in _SEVERITY}
    for case in cases.values():
        counts[case.outcome] += 1
    failing = [case for case in cases.values() if case.outcome in ("failure", "error")]
    return JUnitFacts(
        source=source,
        tests=len(cases),
        passed=counts["passed"],
        failed=counts["failure"],
        errors=counts["error"],
        skipped=counts["skipped"],
        flaky=sum(1 for case in cases.values() if case.flaky and case.outcome == "passed"),
        suites=sum(1 for _ in root.iter("testsuite")),
        duration_seconds=round(_duration(root), 6),
        failures=[
            FailedCase(id=case.case_id, outcome=case.outcome, message=_message(case.detail))
            for case in failing[:MAX_LISTED_FAILURES]
        ],
        duplicates=entries - len(cases),
        notes=_notes(root, entries, len(cases)),
    )


def _read_case(element: Element, position: int) -> _Case:
    outcome, detail = "passed", None
    for child in element:
        if child.tag in _RESULT_ELEMENTS and _SEVERITY[child.tag] > _SEVERITY[outcome]:
            outcome, detail = child.tag, child
    if outcome == "passed" and element.get("status") in _NOT_RUN_STATUSES:
        outcome = "skipped"
    flaky = outcome == "passed" and any(child.tag in _FLAKY_ELEMENTS for child in element)
    name = element.get("name") or f"<unnamed testcase #{position + 1}>"
    classname = element.get("classname")
    return _Case(outcome, detail, flaky, f"{classname}::{name}" if classname else name)


def _message(detail: Element | None) -> str:
    text = "" if detail is None else (detail.get("message") or detail.text or "")
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first_line[:MAX_MESSAGE_CHARS] or "(no message)"


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = decimal(value)
    except NumberError:
        return None
    return seconds if seconds >= 0 else None


def _top_level(root: Element) -> list[Element]:
    return [root] if root.tag == "testsuite" else root.findall("testsuite")


def _duration(root: Element) -> float:
    declared = _seconds(root.get("time"))
    if declared is not None:
        return declared
    total = 0.0
    for suite in _top_level(root):
        seconds = _seconds(suite.get("time"))
        if seconds is None:
            seconds = sum(_seconds(case.get("time")) or 0.0 for case in suite.iter("testcase"))
        total += seconds
    return total


def _declared_tests(root: Element) -> int | None:
    holders = [root] if root.get("tests") is not None else _top_level(root)
    declared = [value for value in (_count(suite.get("tests")) for suite in holders) if value is not None]
    return sum(declared) if declared else None


def _count(value: str | None) -> int | None:
    # Only compared with the entries, which decide every count: an unreadable one is ignored.
    try:
        return whole_number(value) if value is not None else None
    except NumberError:
        return None


def _notes(root: Element, entries: int, unique: int) -> list[str]:
    notes = []
    declared = _declared_tests(root)
    if declared is not None and declared != entries:
        notes.append(
            f"the report declares tests={declared} but holds {entries} <testcase> entries; "
            "all counts here are recomputed from the entries"
        )
    if entries != unique:
        notes.append(
            f"merged {entries - unique} repeated <testcase> entries with the same classname and "
            "name (reruns, or distinct tests that share a name); the worst outcome of each was kept"
        )
    unreadable = sum(
        1 for element in root.iter() if element.get("time") is not None and _seconds(element.get("time")) is None
    )
    if unreadable:
        notes.append(f"ignored {unreadable} time attributes that are not a non-negative number")
    return notes
