"""The organisation config: the shipped example loads, and every mistake is reported where it is."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from gooseterm.orgconfig import (
    ConfigError,
    ConfigIssue,
    GateType,
    OrgConfig,
    bundled_config_dir,
    format_duration,
    format_issue,
    load_org,
    parse_duration,
    render_service_template,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config-broken"


@pytest.fixture
def org_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped example config."""
    return Path(shutil.copytree(bundled_config_dir(), tmp_path / "config"))


def write(root: Path, relative: str, text: str) -> None:
    (root / relative).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def problems(root: Path, **kwargs: object) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_org(root, **kwargs)
    return caught.value.issues


def line_of(file: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle`, so tests survive config edits."""
    lines = file.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def only(issues: list[ConfigIssue], file: str, field: str) -> ConfigIssue:
    matching = [i for i in issues if i.file.as_posix().endswith(file) and i.field == field]
    assert len(matching) == 1, f"expected one issue at {file} {field}, got:\n" + "\n".join(
        map(str, issues)
    )
    return matching[0]


SERVICE_A_UNKNOWN_DEP = """
    service:
      name: service-a
      owners: [alice]
      spec:
        api_version: v1
        compliance_mode: compliant
        dependencies:
          runtime:
            - service-b
            - service-x
    """


# The shipped example


def test_shipped_config_loads() -> None:
    org = load_org(bundled_config_dir())
    assert sorted(org.services) == ["service-a", "service-b", "service-c"]
    assert org.org.ledger_origin == "gooseterm.example/demo-org"
    assert org.org.kubernetes.service_label == "app"
    assert org.org.members("sre") == ["alice", "dave"]
    assert org.org.people["dave"].roles == ["admin"]
    assert org.local_evidence_dir() == bundled_config_dir() / "evidence"


def test_shipped_state_machine_follows_the_plan() -> None:
    org = load_org(bundled_config_dir())
    ready = org.states.transition("sandbox", "compliance_ready")
    assert ready is not None
    assert ready.gates == ["all_tests_passing", "sast_clean", "dependency_check"]
    compliant = org.states.transition("compliance_ready", "compliant")
    assert compliant is not None
    assert compliant.requirements == [
        "evidence_collection",
        "approval_check",
        "mesh_policy",  # advisory: recorded, never blocks, until a cluster is configured
        "dependency_compliance",
        "evidence_validation",
        "audit_trail",
    ]
    demotion = org.states.transition("compliant", "sandbox")
    assert demotion is not None and demotion.kind == "demotion" and not demotion.requirements
    assert org.states.transition("sandbox", "compliant") is None
    assert [t.target for t in org.states.transitions_from("sandbox")] == ["compliance_ready"]


def test_shipped_gates_and_rules_bind_validators_with_params() -> None:
    rules = load_org(bundled_config_dir()).rules
    assert rules.gates["approval_check"].type is GateType.MANUAL
    assert rules.gates["dependency_check"].checks[0].validator == "dependencies_compliant"
    evidence = rules.requirement("evidence_validation")
    assert evidence is not None
    assert [(c.validator, c.params) for c in evidence.checks] == [
        ("sast_results_clean", {}),
        ("test_coverage_threshold", {"min_line_rate": 0.8}),
        ("performance_baseline_met", {}),
    ]


def test_optional_dependency_is_written_as_a_mapping() -> None:
    service_a = load_org(bundled_config_dir()).services["service-a"]
    deps = service_a.spec.dependencies.by_kind()
    assert [(kind, ref.name, ref.required) for kind, _, ref in deps] == [
        ("runtime", "service-b", True),
        ("data", "service-c", False),
    ]


def test_most_specific_approval_policy_wins() -> None:
    approvals = load_org(bundled_config_dir()).approvals
    special = approvals.policy_for("service-a", "compliant")
    general = approvals.policy_for("service-b", "compliant")
    assert special is not None and general is not None
    assert special.groups_required == ["security", "compliance"]
    assert special.expires_after == timedelta(hours=24)
    assert general.groups_required == ["security"]
    assert general.expires_after == timedelta(hours=72)
    assert general.override is not None and general.override.roles == ["admin"]
    assert approvals.policy_for("service-b", "compliance_ready") is None


def test_shipped_runbooks_follow_the_plan() -> None:
    runbooks = load_org(bundled_config_dir()).runbooks.runbooks
    assert [s.action for s in runbooks["promotion_failure"].steps] == [
        "verify_dependencies",
        "check_evidence_chain",
        "validate_compliance_state",
    ]
    assert [s.action for s in runbooks["compliance_violation"].steps] == [
        "isolate_service",
        "collect_evidence",
        "trigger_investigation",
    ]
    assert runbooks["compliance_violation"].steps[1].automatic is True


def test_bundled_config_is_the_repository_config_dir() -> None:
    assert bundled_config_dir() == Path(__file__).resolve().parents[2] / "config"


# Each mistake, with its file, line and field


def test_unknown_dependency_names_file_line_and_field(org_dir: Path) -> None:
    write(org_dir, "services/service-a.yaml", SERVICE_A_UNKNOWN_DEP)
    field = "service.spec.dependencies.runtime[1]"
    issue = only(problems(org_dir), "services/service-a.yaml", field)
    assert (issue.line, issue.column) == (10, 11)
    assert issue.message == "unknown service 'service-x' (known: service-b, service-c)"


def test_issue_renders_as_file_line_column_field_message(org_dir: Path) -> None:
    write(org_dir, "services/service-a.yaml", SERVICE_A_UNKNOWN_DEP)
    issue = problems(org_dir)[0]
    assert format_issue(issue) == (
        f"{org_dir}/services/service-a.yaml:10:11: service.spec.dependencies.runtime[1]: "
        "unknown service 'service-x' (known: service-b, service-c)"
    )
    assert str(issue) == format_issue(issue)


def test_bad_duration(org_dir: Path) -> None:
    text = (org_dir / "approvals.yaml").read_text()
    text = text.replace("expires_after: 24h", "expires_after: 1 day")
    write(org_dir, "approvals.yaml", text)
    issue = only(problems(org_dir), "approvals.yaml", "policies[1].expires_after")
    assert issue.line == line_of(org_dir / "approvals.yaml", "1 day")
    assert "'1 day' is not a duration" in issue.message and "'72h'" in issue.message


def test_unknown_gate_in_a_transition(org_dir: Path) -> None:
    write(
        org_dir,
        "states.yaml",
        """
        initial: sandbox
        compliant: compliant
        states: {sandbox: {}, compliance_ready: {}, compliant: {}}
        transitions:
          - from: sandbox
            to: compliance_ready
            gates: [all_tests_passing, sats_clean]
          - {from: compliance_ready, to: compliant, rules: [audit_trial]}
          - {from: compliant, to: sandbox, kind: demotion}
        """,
    )
    issues = problems(org_dir)
    gate = only(issues, "states.yaml", "transitions[0].gates[1]")
    assert (gate.line, gate.column) == (7, 32)
    assert gate.message.startswith("unknown gate 'sats_clean' (defined in rules.yaml: ")
    rule = only(issues, "states.yaml", "transitions[1].rules[0]")
    assert rule.line == 8
    assert "unknown rule 'audit_trial'" in rule.message


def test_extra_field_lists_the_allowed_fields(org_dir: Path) -> None:
    write(
        org_dir,
        "services/service-c.yaml",
        """
        service:
          name: service-c
          owners: [sre]
          spec:
            api_version: v1
            compliance_mode: compliant
            dependencys:
              runtime: []
        """,
    )
    issue = only(problems(org_dir), "services/service-c.yaml", "service.spec.dependencys")
    assert issue.line == 7
    assert issue.message == (
        "unknown field 'dependencys' (allowed: api_version, compliance_mode, dependencies)"
    )


def test_unknown_top_level_key(org_dir: Path) -> None:
    text = (org_dir / "org.yaml").read_text() + "\nledger: gooseterm.example/x\n"
    write(org_dir, "org.yaml", text)
    issue = only(problems(org_dir), "org.yaml", "ledger")
    assert issue.line == line_of(org_dir / "org.yaml", "ledger: gooseterm.example/x")
    assert issue.message.startswith("unknown field 'ledger' (allowed: ")


def test_yaml_syntax_error_has_a_line(org_dir: Path) -> None:
    write(
        org_dir,
        "rules.yaml",
        """
        gates:
          sast_clean:
            type: blocking
           validator: sast_results_clean
        """,
    )
    issues = problems(org_dir)
    issue = next(i for i in issues if i.file.name == "rules.yaml")
    assert issue.line == 4
    assert issue.message.startswith("invalid YAML: ")


def test_duplicate_service_across_files(org_dir: Path) -> None:
    text = (org_dir / "services/service-b.yaml").read_text()
    write(org_dir, "services/service-b2.yaml", text)
    issue = only(problems(org_dir), "services/service-b2.yaml", "service.name")
    assert issue.line == line_of(org_dir / "services/service-b2.yaml", "name: service-b")
    assert issue.message == (
        "name 'service-b' does not match the file name 'service-b2.yaml', and "
        f"{org_dir / 'services/service-b.yaml'} also names 'service-b'; rename one so they agree"
    )


def test_file_name_must_match_the_service_name(org_dir: Path) -> None:
    (org_dir / "services/service-c.yaml").rename(org_dir / "services/identity.yaml")
    (issue,) = problems(org_dir)  # and no "unknown service 'service-c'" for its dependents
    assert issue.field == "service.name" and issue.file.name == "identity.yaml"
    assert issue.line == line_of(org_dir / "services/identity.yaml", "name: service-c")
    assert issue.message == (
        "name 'service-c' does not match the file name 'identity.yaml'; rename one so they agree"
    )


def test_duplicate_yaml_key_is_reported(org_dir: Path) -> None:
    write(
        org_dir,
        "services/service-c.yaml",
        """
        service:
          name: service-c
          owners: [sre]
          spec:
            api_version: v1
            compliance_mode: compliant
          owners: [alice]
        """,
    )
    issue = only(problems(org_dir), "services/service-c.yaml", "service.owners")
    assert issue.line == 7
    assert "duplicate key 'owners' (first at line 3)" in issue.message


def test_missing_field_points_at_the_mapping_that_lacks_it(org_dir: Path) -> None:
    write(
        org_dir,
        "services/service-c.yaml",
        """
        # no api_version
        service:
          name: service-c
          owners: [sre]
          spec:
            compliance_mode: compliant
        """,
    )
    issue = only(problems(org_dir), "services/service-c.yaml", "service.spec.api_version")
    assert issue.line == 5
    assert issue.message == "required field is missing"


def test_wrong_type_says_what_it_got(org_dir: Path) -> None:
    text = (org_dir / "approvals.yaml").read_text().replace("required: 2", "required: two", 1)
    write(org_dir, "approvals.yaml", text)
    issue = only(problems(org_dir), "approvals.yaml", "policies[0].required")
    assert issue.line == line_of(org_dir / "approvals.yaml", "required: two")
    assert issue.message.endswith("(got 'two')")


def test_missing_and_unknown_files(org_dir: Path) -> None:
    (org_dir / "runbooks.yaml").rename(org_dir / "runbook.yaml")
    issues = problems(org_dir)
    missing = next(i for i in issues if i.file.name == "runbooks.yaml")
    assert missing.line is None and missing.message.startswith("missing")
    unknown = next(i for i in issues if i.file.name == "runbook.yaml")
    assert unknown.message.endswith("did you mean runbooks.yaml?")


def test_unknown_owner_group_and_role(org_dir: Path) -> None:
    text = (org_dir / "org.yaml").read_text().replace("roles: [admin]", "roles: [root]")
    write(org_dir, "org.yaml", text)
    text = (org_dir / "services/service-b.yaml").read_text().replace("[sre, dave]", "[sre, davy]")
    write(org_dir, "services/service-b.yaml", text)
    issues = problems(org_dir)
    role = only(issues, "org.yaml", "people.dave.roles[0]")
    assert role.message == "unknown role 'root' (known: admin)"
    owner = only(issues, "services/service-b.yaml", "service.owners[1]")
    assert owner.line == line_of(org_dir / "services/service-b.yaml", "davy")
    assert "unknown owner 'davy'" in owner.message


def test_policy_that_can_never_be_met(org_dir: Path) -> None:
    text = (org_dir / "approvals.yaml").read_text().replace("required: 2", "required: 5", 1)
    write(org_dir, "approvals.yaml", text)
    issue = only(problems(org_dir), "approvals.yaml", "policies[0].required")
    assert issue.message.startswith("5 approvals required but only 4 people can approve")


def test_unreachable_state(org_dir: Path) -> None:
    text = (org_dir / "states.yaml").read_text().replace(
        "  compliant:\n    description:", "  retired: {}\n  compliant:\n    description:"
    )
    write(org_dir, "states.yaml", text)
    issue = only(problems(org_dir), "states.yaml", "states.retired")
    assert "cannot be reached from 'sandbox'" in issue.message


def test_unregistered_validator_and_action_are_reported_when_registries_are_given(
    org_dir: Path,
) -> None:
    org = load_org(org_dir)
    requirements = (*org.rules.gates.values(), *org.rules.rules.values())
    validators = {check.validator for r in requirements for check in r.checks}
    actions = {step.action for r in org.runbooks.runbooks.values() for step in r.steps}
    load_org(org_dir, validators=validators, actions=actions)
    issues = problems(
        org_dir,
        validators=validators - {"signatures_verified"},
        actions=actions - {"isolate_service"},
    )
    check = only(issues, "rules.yaml", "rules.audit_trail.checks[1]")
    assert check.line == line_of(org_dir / "rules.yaml", "- signatures_verified")
    assert check.message.startswith("unknown validator 'signatures_verified' (registered: ")
    step = only(issues, "runbooks.yaml", "runbooks.compliance_violation.steps[0].action")
    assert step.line == line_of(org_dir / "runbooks.yaml", "action: isolate_service")


def test_every_problem_is_reported_at_once(org_dir: Path) -> None:
    shutil.copytree(FIXTURES / "many-errors", org_dir, dirs_exist_ok=True)
    issues = problems(org_dir)
    expected = {
        ("services/service-a.yaml", 10, "service.spec.dependencies.runtime[0]"),
        ("services/service-b.yaml", 5, "service.colour"),
        ("services/service-d.yaml", 2, "service.name"),
        ("approvals.yaml", 5, "policies[0].expires_after"),
        ("states.yaml", 16, "transitions[1].gates[2]"),
        ("org.yaml", 13, "people.carol.groups[0]"),
        ("runbooks.yaml", 7, ""),
    }
    found = {(i.file.relative_to(org_dir).as_posix(), i.line, i.field) for i in issues}
    assert found == expected


def test_config_built_in_code_checks_references_too() -> None:
    org = load_org(bundled_config_dir())
    with pytest.raises(ValidationError, match="unknown service 'service-b'"):
        OrgConfig(
            org=org.org,
            services={name: org.services[name] for name in ("service-a", "service-c")},
            states=org.states,
            rules=org.rules,
            approvals=org.approvals,
            runbooks=org.runbooks,
        )


# Durations, names and the onboarding template


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", timedelta(hours=72)),
        ("30m", timedelta(minutes=30)),
        ("1d12h", timedelta(hours=36)),
        ("2w", timedelta(days=14)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_duration_parses_and_formats_back(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "72", "h", "3 days", "1h1d", "0h", "-1h", 72])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration|zero"):
        parse_duration(text)


def test_onboarding_template_renders_a_valid_service(org_dir: Path) -> None:
    text = render_service_template(org_dir, "service-d", ["alice", "sre"], "Payments: refunds")
    write(org_dir, "services/service-d.yaml", text)
    service = load_org(org_dir).services["service-d"]
    assert service.owners == ["alice", "sre"]
    assert service.description == "Payments: refunds"
    assert service.spec.compliance_mode == "compliant"


def test_onboarding_refuses_an_invalid_service_name(org_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        render_service_template(org_dir, "Service_D", ["alice"])
    (issue,) = caught.value.issues
    assert issue.field == "service.name" and "not a valid service name" in issue.message


def test_config_and_resolver_import_neither_textual_rich_nor_ledger() -> None:
    code = (
        "import sys, gooseterm.orgconfig, gooseterm.resolver; "
        "print(sorted(m for m in ('textual', 'rich', 'ledger') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
