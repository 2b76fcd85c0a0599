"""Fuzz every evidence parser (JUnit, SARIF, coverage in its three formats, metrics, GitLab's test
report, Kubernetes snapshots and objects, kubeconfig): only EvidenceError (or KubeError for API
objects and kubeconfigs), one line, bounded time and memory; numbers are ASCII or refused."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from gooseterm.adapters.coverage import parse_coverage
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.evidence import EVIDENCE_KINDS, parse_evidence
from gooseterm.adapters.junit import parse_junit
from gooseterm.adapters.kubefacts import deployment_fact, parse_kubernetes, pod_fact
from gooseterm.adapters.kubernetes import KubeConfigError, KubeError, load_kubeconfig
from gooseterm.adapters.metrics import parse_metrics
from gooseterm.adapters.sarif import parse_sarif
from gooseterm.adapters.testreport import parse_gitlab_test_report

from .fuzzing import FUZZ, JSON_NUMBERS, JSON_VALUES, NUMBER_TEXT, bounded, json_bytes

ASCII_DIGITS = frozenset("0123456789")


def _junit(tests: str, time: str, case_time: str) -> bytes:
    return (f"<testsuites><testsuite name=\"s\" tests={quoteattr(tests)} time={quoteattr(time)}>"
            f"<testcase classname=\"c\" name=\"t\" time={quoteattr(case_time)}/></testsuite></testsuites>").encode()


@FUZZ
@given(NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT)
@example("²", "1", "1")  # str.isdigit() is true for superscripts, which int() then refuses: a traceback
@example("9" * 4301, "1", "1")  # past Python's 4300-digit limit: a bare ValueError
@example("1", "nan", "inf")
def test_junit_numbers(tests: str, time: str, case_time: str) -> None:
    facts = bounded(parse_junit, _junit(tests, time, case_time), "j.xml", allowed=(EvidenceError,))
    if not isinstance(facts, EvidenceError):
        assert facts.tests == 1  # counts come from the entries, never from a mis-read attribute
        assert math.isfinite(facts.duration_seconds) and facts.duration_seconds >= 0
        if any(not t.isascii() or "_" in t or t != t.strip() for t in (time, case_time)):
            assert any("ignored" in note for note in facts.notes), f"{time!r} or {case_time!r} was read"


def _cobertura(valid: str, covered: str, hits: str, taken: str) -> bytes:
    return (f"<coverage lines-valid={quoteattr(valid)} lines-covered={quoteattr(covered)}><packages><package><classes>"
            f"<class filename=\"a.py\"><lines><line number=\"1\" hits={quoteattr(hits)} "
            f"condition-coverage={quoteattr(f'50% ({taken}/2)')}/></lines></class></classes></package></packages></coverage>").encode()


@FUZZ
@given(NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT)
@example("1", "1", "²", "1")  # isdigit() then int(): a traceback
@example("٣", "١", "1", "1")  # Arabic-Indic digits: int() read them as 3 and 1
@example("1", "1", "1", "9" * 4301)
def test_cobertura_numbers(valid: str, covered: str, hits: str, taken: str) -> None:
    facts = bounded(parse_coverage, _cobertura(valid, covered, hits, taken), "c.xml", allowed=(EvidenceError,))
    if not isinstance(facts, EvidenceError):
        assert {valid, covered, hits} <= {t for t in (valid, covered, hits) if t and set(t) <= ASCII_DIGITS}
        assert facts.lines_valid == int(valid) and facts.lines_covered == int(covered)


@FUZZ
@given(NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT)
@example("1", "²", "1")
@example("1", "1", "1_0")  # int() took the underscore
def test_lcov_numbers(line: str, hits: str, found: str) -> None:
    data = f"SF:a.c\nDA:{line},{hits}\nLF:{found}\nend_of_record\n".encode()
    facts = bounded(parse_coverage, data, "lcov.info", "lcov", allowed=(EvidenceError,))
    if not isinstance(facts, EvidenceError):
        assert all(t and set(t) <= ASCII_DIGITS for t in (line, hits, found))
        assert facts.lines_valid == int(found)


@FUZZ
@given(st.dictionaries(st.sampled_from(["num_statements", "covered_lines", "num_branches", "covered_branches"]),
                       JSON_NUMBERS, min_size=1), JSON_VALUES)
@example({"num_statements": True, "covered_lines": 1}, None)  # a bool is not a count
def test_coveragepy_json(totals: dict, files: object) -> None:
    data = json_bytes({"totals": {"num_statements": 1, **totals}, "files": files})
    facts = bounded(parse_coverage, data, "coverage.json", allowed=(EvidenceError,))
    if not isinstance(facts, EvidenceError):
        assert isinstance(facts.lines_valid, int) and not isinstance(facts.lines_valid, bool)


@FUZZ
@given(JSON_VALUES, st.sampled_from(["error", "warning", "note", "none", 5, None]), JSON_NUMBERS)
def test_sarif(properties: object, level: object, line: object) -> None:
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [{"id": "r", "properties": properties}]}},
                                          "invocations": [{"executionSuccessful": True}],
                                          "results": [{"ruleId": "r", "ruleIndex": line, "level": level, "message": {"text": "m"},
                                                       "locations": [{"physicalLocation": {"region": {"startLine": line}}}]}]}]}
    bounded(parse_sarif, json_bytes(log), "s.sarif", allowed=(EvidenceError,))


@FUZZ
@given(st.dictionaries(st.text(max_size=6), JSON_NUMBERS, max_size=4))
@example({"rate": "١.٥"})  # float('١.٥') == 1.5: a Prometheus string of other-script digits was read
@example({"rate": 10**30})  # a JSON integer past MAX_DIGITS
@example({"\n": False})  # the metric's name put a newline into the error: two lines of output
def test_metrics(values: dict) -> None:
    facts = bounded(parse_metrics, json_bytes(values), "m.json", allowed=(EvidenceError,))
    if not isinstance(facts, EvidenceError):
        for name, raw in values.items():
            if isinstance(raw, str):
                assert raw.isascii(), f"{raw!r} was read as {facts.values[name]}"


@FUZZ
@given(JSON_VALUES, JSON_NUMBERS, JSON_NUMBERS)
def test_gitlab_test_report(cases: object, count: object, total: object) -> None:
    report = {"total_count": total, "total_time": total, "test_suites": [
        {"name": "s", "success_count": count, "failed_count": 0, "test_cases": cases if isinstance(cases, list) else None},
        {"name": "t", "skipped_count": count}]}
    bounded(parse_gitlab_test_report, json_bytes(report), "report.json", allowed=(EvidenceError,))


@FUZZ
@given(st.sampled_from(EVIDENCE_KINDS), JSON_VALUES)
@example("metrics", {"x": "9" * 5000})
def test_every_kind_on_arbitrary_json(kind: str, document: object) -> None:
    bounded(parse_evidence, kind, json_bytes(document), "e.json", allowed=(EvidenceError,))


@FUZZ
@given(st.binary(max_size=300))
@example(b"[" + b"1" * 5000 + b"]")  # json.loads raised a bare ValueError past 4300 digits
@example(b"[1e400]")  # read as Inf
def test_kubernetes_snapshot_bytes(data: bytes) -> None:
    bounded(parse_kubernetes, data, "k.json", allowed=(EvidenceError,))


def _deployment(numbers: dict) -> dict:
    return {"metadata": {"name": "d", "generation": numbers.get("generation", 1)},
            "spec": {"replicas": numbers.get("replicas", 1), "template": {"spec": {"containers": [{"image": "i"}]}}},
            "status": {"observedGeneration": numbers.get("observedGeneration", 1), "replicas": numbers.get("status", 1),
                       "updatedReplicas": 1, "availableReplicas": numbers.get("available", 1), "readyReplicas": 1}}


@FUZZ
@given(st.dictionaries(st.sampled_from(["generation", "replicas", "observedGeneration", "status", "available"]),
                       JSON_NUMBERS, max_size=3), JSON_NUMBERS)
@example({"generation": "2"}, 0)  # int("2") read a string where the API sends an integer
@example({"replicas": 1.9}, 0)  # int(1.9) == 1 silently
@example({"status": "abc"}, 0)  # a traceback
def test_kubernetes_objects(numbers: dict, restarts: object) -> None:
    fact = bounded(deployment_fact, _deployment(numbers), allowed=(KubeError,))
    if not isinstance(fact, KubeError):
        assert all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers.values())
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]},
           "status": {"containerStatuses": [{"name": "c", "image": "i", "imageID": "", "restartCount": restarts, "state": {}}]}}
    bounded(pod_fact, pod, allowed=(KubeError,))


@FUZZ
@given(JSON_VALUES, st.one_of(st.text(max_size=20), NUMBER_TEXT))
def test_kubeconfig(user: object, server: str) -> None:
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
              "clusters": [{"name": "k", "cluster": {"server": server}}], "users": [{"name": "u", "user": user}]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config"
        path.write_text(yaml.safe_dump(config))
        bounded(load_kubeconfig, path, allowed=(KubeConfigError,))
