"""The performance gate's scoring (Keptn's rules) and its configuration, checked line by line."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from gooseterm.gates import Result
from gooseterm.orgconfig import ConfigError, bundled_config_dir, load_org
from gooseterm.orgconfig.sloconfig import Slo, parse_criterion
from gooseterm.performance import Baseline, evaluate_slo


def slo(**kw) -> Slo:
    objectives = kw.pop("objectives", [
        {"sli": "latency", "pass": ["<= 600", "<= +10%"], "warning": ["<= 800"], "weight": 2, "key_sli": True},
        {"sli": "errors", "pass": ["< 0.01"], "warning": ["< 0.02"]},
    ])
    return Slo.model_validate({"total_score": {"pass": "90%", "warning": "75%"}, "objectives": objectives, **kw})


def baseline(**values: float) -> Baseline:
    return Baseline(values, seq=7, digest="sha256:" + "0" * 64, promoted_seq=9)


def score(config: Slo, values: dict, base: Baseline | None = None, no_data: dict | None = None):
    return evaluate_slo(config, values, no_data or {}, base)


@pytest.mark.parametrize(("text", "value", "base", "holds"), [
    ("< 600", 599, None, True),
    ("< 600", 600, None, False),
    ("<= +10%", 440, 400, True),
    ("<= +10%", 441, 400, False),
    (">= -5%", 95, 100, True),
    (">= -5%", 94, 100, False),
    ("<= +50", 450, 400, True),
    ("<= +50", 451, 400, False),
    ("= 1", 1, None, True),
    ("<= +10%", 1, None, None),
])
def test_criteria_absolute_and_relative(text: str, value: float, base: float | None, holds: bool | None) -> None:
    assert parse_criterion(text).holds(value, base) is holds


@pytest.mark.parametrize(("text", "fragment"), [
    ("600", "not a criterion"), ("<10%", "give it a sign"), ("~ 5", "not a criterion"), (600, "has no operator"),
])
def test_bad_criteria_are_refused(text, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_criterion(text)


def test_all_objectives_passing_pass() -> None:
    result, reason, details = score(slo(), {"latency": 300, "errors": 0.001})
    assert result == Result.PASS and details["score"] == 100.0 and reason.startswith("score 100.0% (pass at 90%)")


def test_a_warning_scores_half_its_weight_and_a_low_total_fails() -> None:
    result, _, details = score(slo(), {"latency": 700, "errors": 0.001})
    assert details["objectives"][0]["score"] == 1.0 and (details["achieved"], details["maximum"]) == (2.0, 3)
    # 2 of 3 (66.7%) is below the warning threshold of 75%: the gate fails, though no key SLI failed.
    assert result == Result.FAIL and details["key_sli_failed"] == []


def test_total_between_thresholds_warns() -> None:
    config = slo(objectives=[{"sli": "a", "pass": ["< 1"], "warning": ["< 2"]}, {"sli": "b", "pass": ["< 1"]}])
    result, reason, details = score(config, {"a": 1.5, "b": 0.5})
    assert result == Result.WARN and details["score"] == 75.0 and "at least warning 75%" in reason


def test_a_failing_key_sli_fails_whatever_the_total() -> None:
    config = slo(objectives=[{"sli": "a", "pass": ["< 1"], "weight": 1, "key_sli": True}, {"sli": "b", "pass": ["< 1"], "weight": 20}],
                 total_score={"pass": "50%", "warning": "10%"})
    result, reason, details = score(config, {"a": 5, "b": 0})
    assert result == Result.FAIL and details["key_sli_failed"] == ["a"] and reason.startswith("key SLI a failed (score 95.2%)")


def test_alternative_groups_keptn_style() -> None:
    config = slo(objectives=[{"sli": "a", "pass": [{"criteria": ["< 100"]}, {"criteria": ["< 200", "<= +5%"]}]}])
    assert score(config, {"a": 150}, baseline(a=145))[0] == Result.PASS  # second group holds
    assert score(config, {"a": 150}, baseline(a=100))[0] == Result.FAIL  # neither holds


def test_relative_criteria_use_the_baseline_and_record_it() -> None:
    _, _, details = score(slo(), {"latency": 480, "errors": 0.001}, baseline(latency=400, errors=0.001))
    latency = details["objectives"][0]
    assert (latency["status"], latency["baseline"]) == ("warning", 400)
    assert latency["criteria"]["pass"][0][1] == {"criterion": "<= +10%", "threshold": pytest.approx(440.0), "met": False}
    assert details["baseline"] == {"seq": 7, "digest": "sha256:" + "0" * 64, "promoted_seq": 9}


def test_missing_baseline_follows_the_configured_rule() -> None:
    assert score(slo(), {"latency": 480, "errors": 0.001})[0] == Result.PASS  # Keptn: met when there is none
    result, _, details = score(slo(missing_baseline="fail"), {"latency": 480, "errors": 0.001})
    assert details["objectives"][0]["criteria"]["pass"][0][1]["note"] == "no compliant baseline yet"
    assert details["objectives"][0]["status"] == "warning" and result == Result.FAIL


@pytest.mark.parametrize(("policy", "status", "result"), [("fail", "fail", Result.FAIL), ("warn", "warning", Result.WARN),
                                                          ("ignore", "ignored", Result.PASS)])
def test_no_data_policy(policy: str, status: str, result: Result) -> None:
    config = slo(objectives=[{"sli": "latency", "pass": ["< 600"]}, {"sli": "errors", "pass": ["< 0.01"], "no_data": policy}])
    got, reason, details = score(config, {"latency": 100}, no_data={"errors": "prometheus (http://p): empty result"})
    assert got == result and details["objectives"][1]["status"] == status
    assert "no data (prometheus (http://p): empty result); no_data policy: " + policy in reason


def test_default_no_data_policy_is_fail_and_an_absent_metric_is_no_data() -> None:
    result, _, details = score(slo(), {"errors": 0.001})
    assert result == Result.FAIL and details["objectives"][0]["reason"].startswith("no data (not in the metrics evidence)")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_fail(value: float) -> None:
    result, _, details = score(slo(objectives=[{"sli": "errors", "pass": ["< 0.01"]}]), {"errors": value})
    assert result == Result.FAIL and details["objectives"][0]["status"] == "fail"
    assert details["objectives"][0]["value"] in ("NaN", "+Inf", "-Inf")


def test_objective_without_pass_criteria_is_informative() -> None:
    config = slo(objectives=[{"sli": "a", "pass": ["< 1"]}, {"sli": "throughput"}])
    result, _, details = score(config, {"a": 0, "throughput": 1234})
    assert result == Result.PASS and details["objectives"][1]["status"] == "info" and details["maximum"] == 1


def test_nothing_to_score_is_inconclusive() -> None:
    config = slo(objectives=[{"sli": "a", "pass": ["< 1"], "no_data": "ignore"}])
    assert score(config, {})[0] == Result.INCONCLUSIVE


# -- configuration --------------------------------------------------------------------------------


def test_the_example_org_ships_an_slo() -> None:
    org = load_org(bundled_config_dir())
    assert [o.sli for o in org.rules.slo.objectives] == ["http_request_duration_p99_ms", "error_rate"]
    assert org.rules.slo.objectives[0].key_sli and org.rules.slo.no_data == "fail"
    assert org.org.evidence_sources.configured()[0] == "files"


def broken(tmp_path: Path, file: str, old: str, new: str) -> ConfigError:
    root = tmp_path / "config"
    shutil.copytree(bundled_config_dir(), root)
    text = (root / file).read_text()
    assert old in text
    (root / file).write_text(text.replace(old, new))
    with pytest.raises(ConfigError) as error:
        load_org(root)
    return error.value


def line_of(tmp_path: Path, file: str, needle: str) -> int:
    return next(i for i, line in enumerate((tmp_path / "config" / file).read_text().splitlines(), 1) if needle in line)


def test_a_bad_criterion_is_reported_at_its_line(tmp_path: Path) -> None:
    error = broken(tmp_path, "rules.yaml", 'pass: ["< 0.01"]', 'pass: ["0.01"]')
    [issue] = error.issues
    assert issue.line == line_of(tmp_path, "rules.yaml", 'pass: ["0.01"]')
    assert issue.field.startswith("slo.objectives[1].pass") and "'0.01' is not a criterion" in issue.message


def test_warning_above_pass_is_refused(tmp_path: Path) -> None:
    error = broken(tmp_path, "rules.yaml", "total_score: {pass: 90%, warning: 75%}", "total_score: {pass: 70%, warning: 75%}")
    assert "warning (75%) must not be above pass (70%)" in str(error)


def test_a_literal_token_in_the_config_is_refused_at_its_line(tmp_path: Path) -> None:
    source = "  github:\n    repository: demo-org/${service}\n    token: ghp_0123456789abcdef\n"
    error = broken(tmp_path, "org.yaml", "  # Live sources for", source + "  # Live sources for")
    [issue] = error.issues
    assert issue.line == line_of(tmp_path, "org.yaml", "  github:")
    assert "'token' would put a secret in the config" in issue.message and "ghp_0123456789abcdef" not in str(error)


def test_token_env_must_name_a_variable_not_hold_a_token(tmp_path: Path) -> None:
    source = "  gitlab:\n    project: demo/${service}\n    token_env: glpat-abcdefgh12345\n"
    error = broken(tmp_path, "org.yaml", "  # Live sources for", source + "  # Live sources for")
    [issue] = error.issues
    assert issue.line == line_of(tmp_path, "org.yaml", "token_env: glpat")
    assert "is not an environment variable name" in issue.message and "glpat-abcdefgh12345" not in issue.message


@pytest.mark.parametrize(("setting", "fragment"), [
    ("url: http://admin:pw@127.0.0.1:9090", "the URL carries credentials"),
    ("url: ftp://x", "is not an http(s) URL"),
    ("url: http://127.0.0.1:9090\n    username: me", "basic auth needs both username and password_env"),
    ("url: http://127.0.0.1:9090\n    retries: 0", "greater than or equal to 1"),
    ("url: http://127.0.0.1:9090\n    timeout: soon", "is not a duration"),
])
def test_prometheus_settings_are_checked(tmp_path: Path, setting: str, fragment: str) -> None:
    error = broken(tmp_path, "org.yaml", "  # Live sources for", f"  prometheus:\n    {setting}\n  # Live sources for")
    assert fragment in str(error) and "org.yaml:" in str(error)


def test_github_repository_template_only_knows_service(tmp_path: Path) -> None:
    error = broken(tmp_path, "org.yaml", "  # Live sources for", "  github:\n    repository: acme/${team}\n  # Live sources for")
    assert "only ${service} is replaced" in str(error)
