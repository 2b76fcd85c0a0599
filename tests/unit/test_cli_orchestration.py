"""The orchestration CLI's contract (README.md): --help everywhere, --json that parses, exit codes
0/1/2/3, and one-line `gooseterm: ...` errors without a traceback.

Commands run in-process through click's CliRunner against a ledger built by tests/helpers/orgs.py
under the test's GOOSETERM_HOME, signing with `--as NAME`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from gooseterm.cli import main
from helpers.orgs import CLEAN, CONFIG, EVIDENCE, REPO, SAMPLES, TOOL_EVIDENCE, build_org, clone_home, row_count, utc_now

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<testsuite name="lol" tests="1"><testcase classname="x" name="&lol5;"/></testsuite>
"""


def gt(*args: str, code: int | None = 0, stdin: str | bytes | None = None) -> Result:
    """Run `gooseterm ARGS`; check the exit code and that nothing escaped as a traceback."""
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"gooseterm {' '.join(args)} crashed") from result.exception
    if code is not None:
        assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def one_line_error(result: Result, *fragments: str) -> str:
    """The error is one `gooseterm: ...` line naming every fragment, with no traceback."""
    err = result.stderr.strip()
    assert err.startswith("gooseterm: "), err
    assert "\n" not in err and "Traceback" not in err, err
    for f in fragments:
        assert f in err, f"{f!r} not in {err!r}"
    return err


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    o = build_org(tmp_path_factory.mktemp("cli-org"), clock=utc_now)  # the CLI writes real times
    o.onboard("service-c", "service-b", "service-a")
    o.close()
    return o.home


@pytest.fixture
def home(built_home: Path, isolated_home: Path) -> Path:
    """The example org onboarded under GOOSETERM_HOME, with keys for alice, bob, carol, dave and ci."""
    return clone_home(built_home, isolated_home)


def add_evidence(service: str, like: str | None = None) -> None:
    for kind, name in (("junit", "junit.xml"), ("sarif", "bandit.sarif"), ("coverage", "coverage.xml"), ("metrics", "metrics.json")):
        gt("--as", "ci", "evidence", "add", "--service", service, "--kind", kind, str(EVIDENCE / (like or service) / name))


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if cmd.hidden:
            continue
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, (*prefix, name))


# -- help and the documented command set -----------------------------------------------------


@pytest.mark.parametrize("command", [" ".join(c) for c in all_commands()])
def test_every_command_has_help(command: str) -> None:
    result = gt(*command.split(), "--help")
    assert result.stdout.startswith("Usage: ")
    summary = result.stdout.split("\n\n")[1].strip()
    assert summary and not summary.startswith("Options:"), f"{command} has no description"


def test_top_level_help_lists_the_exit_codes() -> None:
    out = gt("--help").stdout
    for code in ("0  done", "1  blocked or refused", "2  usage", "3  conflict", "4  the ledger stayed locked"):
        assert code in out


def test_every_command_in_the_readme_exists() -> None:
    readme = (REPO / "README.md").read_text()
    documented = set()
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.splitlines():
            m = re.match(r"\s*gooseterm ((?:[a-z]+)(?: [a-z]+)?)", line)
            if m:
                documented.add(m.group(1))
    assert "approve" in documented and "prove inclusion" in documented
    known = {" ".join(c) for c in all_commands()}
    missing = set()
    for doc in documented:
        words = doc.split()
        if words[0] not in known and doc not in known:
            missing.add(doc)
        elif len(words) == 2 and isinstance(main.commands.get(words[0]), click.Group) and doc not in known:
            missing.add(doc)
    assert not missing, f"README documents commands the CLI lacks: {sorted(missing)}"


# -- --json output parses ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["services", "--json"],
    ["plan", "--to", "compliant", "--json"],
    ["status", "--json"],
    ["status", "service-b", "--json"],
    ["log", "--json", "--limit", "5"],
    ["keys", "list", "--json"],
    ["checkpoint", "--json"],
    ["verify", "--json"],
    ["promote", "--all", "--to", "compliant", "--dry-run", "--json"],
], ids=lambda a: " ".join(a[:2]))
def test_json_output_parses(home: Path, args: list[str]) -> None:
    result = gt("--as", "dave", *args, code=None)
    assert result.exit_code in (0, 1)
    json.loads(result.stdout)


def test_services_json_lists_states_and_dependencies(home: Path) -> None:
    rows = {r["service"]: r for r in json.loads(gt("services", "--json").stdout)}
    assert rows["service-a"]["dependencies"] == ["service-b", "service-c"]
    assert rows["service-a"]["required"] == ["service-b"]
    assert rows["service-c"]["dependents"] == ["service-a", "service-b"]
    assert all(r["state"] == "sandbox" and r["onboarded"] for r in rows.values())


def test_plan_json_has_the_waves(home: Path) -> None:
    plan = json.loads(gt("plan", "--to", "compliant", "--json").stdout)
    assert plan["target"] == "compliant"
    assert [[i["service"] for i in w] for w in plan["waves"]] == [["service-c"], ["service-b"], ["service-a"]]


# -- exit codes -----------------------------------------------------------------------------


def test_promotion_exit_codes_done_blocked_conflict(home: Path) -> None:
    add_evidence(CLEAN)
    done = json.loads(gt("--as", "alice", "promote", CLEAN, "--to", "compliance_ready", "--json", code=0).stdout)
    assert done[0]["status"] == "promoted" and done[0]["state"] == "compliance_ready"
    waiting = json.loads(gt("--as", "alice", "promote", CLEAN, "--to", "compliant", "--json", code=0).stdout)
    assert waiting[0]["status"] == "awaiting_approval"
    before = row_count(home / "ledger.db")
    conflict = gt("--as", "bob", "promote", CLEAN, "--to", "compliant", code=3)
    one_line_error(conflict, f"already has open promotion {waiting[0]['promotion']}")
    assert row_count(home / "ledger.db") == before
    blocked = gt("--as", "alice", "promote", "service-a", "--to", "compliance_ready", "--json", code=1)
    out = json.loads(blocked.stdout)[0]
    assert out["status"] == "blocked"
    assert {g["gate"] for g in out["gates"] if g["result"] == "fail"} == {"all_tests_passing", "sast_clean", "dependency_check"}


def test_approval_through_the_cli_is_signed_with_the_approvers_key(home: Path) -> None:
    add_evidence(CLEAN)
    gt("--as", "alice", "promote", CLEAN, "--to", "compliance_ready")
    pid = json.loads(gt("--as", "alice", "promote", CLEAN, "--to", "compliant", "--json").stdout)[0]["promotion"]
    self_approval = gt("--as", "alice", "approve", pid, code=1)
    one_line_error(self_approval, "alice requested this promotion")
    first = json.loads(gt("--as", "bob", "approve", pid, "--json").stdout)
    assert first["status"] == "awaiting_approval" and first["reasons"] == ["1 of 2 approvals"]
    second = gt("--as", "carol", "approve", pid)
    assert f"{CLEAN}: promoted ({pid}), now compliant" in second.stdout
    grants = json.loads(gt("log", "--kind", "approval.granted", "--json").stdout)
    bob_key = gt("keys", "export", "bob").stdout.strip()
    keyid = json.loads(gt("keys", "list", "--json").stdout)
    bob_keyid = next(k["keyid"] for k in keyid["trusted"] if k["vkey"] == bob_key)
    assert [g["predicate"]["person"] for g in grants] == ["carol", "bob"]  # newest first
    assert grants[1]["signers"] == [bob_keyid]
    gt("verify", code=0)


def test_reject_and_override_through_the_cli(home: Path) -> None:
    add_evidence(CLEAN)
    gt("--as", "alice", "promote", CLEAN, "--to", "compliance_ready")
    pid = json.loads(gt("--as", "alice", "promote", CLEAN, "--to", "compliant", "--json").stdout)[0]["promotion"]
    one_line_error(gt("--as", "carol", "override", pid, "--reason", "urgent", code=1), "carol may not override")
    out = json.loads(gt("--as", "dave", "override", pid, "--reason", "audit deadline, INC-7", "--json").stdout)
    assert out["status"] == "promoted" and out["state"] == "compliant"
    one_line_error(gt("--as", "bob", "reject", pid, "--reason", "too late", code=1), "is promoted, not awaiting approval")


def test_status_text_explains_blockers_and_pending_approvals(home: Path) -> None:
    add_evidence(CLEAN)
    add_evidence("service-a")
    gt("--as", "alice", "promote", CLEAN, "--to", "compliance_ready")
    pid = json.loads(gt("--as", "alice", "promote", CLEAN, "--to", "compliant", "--json").stdout)[0]["promotion"]
    gt("--as", "alice", "promote", "service-a", "--to", "compliance_ready", code=1)
    out = gt("status").stdout
    assert re.search(rf"awaiting approval: {pid} -> compliant: 0 of 2 approvals; needs one from security", out)
    assert "blocker: service-a-" in out and "all_tests_passing: fail" in out
    assert "next: gooseterm onboard" not in out


# -- one-line errors, exit 2 -------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--as", "alice", "promote", "service-x", "--to", "compliance_ready"],
    ["status", "service-x"],
    ["--as", "dave", "demote", "service-x", "--reason", "r"],
    ["--as", "ci", "evidence", "add", "--service", "service-x", "--kind", "junit", str(EVIDENCE / "service-c" / "junit.xml")],
    ["plan", "service-x", "--to", "compliant"],
], ids=lambda a: a[2] if a[0] == "--as" else a[0])
def test_unknown_service_is_a_one_line_usage_error(home: Path, args: list[str]) -> None:
    before = row_count(home / "ledger.db")
    one_line_error(gt(*args, code=2), "unknown service 'service-x'", "service-a, service-b, service-c")
    assert row_count(home / "ledger.db") == before


def test_plan_to_an_unknown_state_is_a_usage_error(home: Path) -> None:
    one_line_error(gt("plan", "--to", "production", code=2), "unknown state 'production'")


def test_promote_to_an_unknown_state_is_a_usage_error(home: Path) -> None:
    one_line_error(gt("--as", "alice", "promote", CLEAN, "--to", "production", code=2), "unknown state 'production'")


@pytest.mark.parametrize("command", ["approve", "reject", "override"])
def test_unknown_promotion_id_is_a_one_line_usage_error(home: Path, command: str) -> None:
    args = ["--as", "bob", command, "service-c-999"] + ([] if command == "approve" else ["--reason", "r"])
    one_line_error(gt(*args, code=2), "no promotion 'service-c-999'")


@pytest.mark.parametrize("args", [
    ["status"], ["services"], ["plan", "--to", "compliant"], ["log"],
    ["--as", "bob", "approve", "service-c-1"], ["--as", "alice", "promote", CLEAN, "--to", "compliance_ready"],
], ids=lambda a: a[2] if a[0] == "--as" else a[0])
def test_missing_ledger_is_a_one_line_usage_error(isolated_home: Path, args: list[str]) -> None:
    one_line_error(gt(*args, code=2), "no ledger at", "gooseterm init")


def test_a_ledger_flag_pointing_nowhere_is_a_usage_error(home: Path, tmp_path: Path) -> None:
    one_line_error(gt("--ledger", str(tmp_path / "nope.db"), "status", code=2), f"no ledger at {tmp_path / 'nope.db'}")


def test_unknown_signing_key_is_a_usage_error(home: Path) -> None:
    one_line_error(gt("--as", "mallory", "promote", CLEAN, "--to", "compliance_ready", code=2), "no key named 'mallory'")


def test_promote_needs_exactly_one_of_service_or_all(home: Path) -> None:
    one_line_error(gt("--as", "alice", "promote", "--to", "compliant", code=2), "name one SERVICE or pass --all")
    one_line_error(gt("--as", "alice", "promote", CLEAN, "--all", "--to", "compliant", code=2), "name one SERVICE or pass --all")


def test_empty_reasons_are_usage_errors(home: Path) -> None:
    one_line_error(gt("--as", "bob", "reject", "service-c-1", "--reason", "", code=2))
    one_line_error(gt("--as", "dave", "demote", CLEAN, "--reason", " ", code=2), "demotion needs a reason")


# -- evidence parse ----------------------------------------------------------------------------

PARSE_CASES = {
    "junit": (EVIDENCE / "service-a" / "junit.xml", {"tests": 5, "passed": 3, "failed": 1, "errors": 1, "skipped": 0}),
    "sarif": (EVIDENCE / "service-a" / "bandit.sarif",
              {"results": 1, "by_level": {"error": 1, "warning": 0, "note": 0, "none": 0}, "suppressed": 0, "execution_successful": True}),
    "coverage": (EVIDENCE / "service-a" / "coverage.xml", {"line_rate": 0.7, "branch_rate": 0.5, "format": "cobertura"}),
    "metrics": (EVIDENCE / "service-a" / "metrics.json", {"values": {"error_rate": 0.004, "http_request_duration_p99_ms": 480.0}, "non_finite": []}),
    "spec": (CONFIG / "services" / "service-a.yaml", {"service_name": "service-a"}),
}


@pytest.mark.parametrize("kind", list(PARSE_CASES))
def test_evidence_parse_prints_the_documented_fields(isolated_home: Path, kind: str) -> None:
    path, expected = PARSE_CASES[kind]
    facts = json.loads(gt("evidence", "parse", "--kind", kind, str(path), "--json").stdout)
    assert facts["kind"] == kind
    assert {k: facts[k] for k in expected} == expected
    text = gt("evidence", "parse", "--kind", kind, str(path)).stdout
    for k, v in expected.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{k}: "))
        if isinstance(v, dict):
            assert all(repr(key) in line for key in v)
        else:
            assert line == f"{k}: {v}"
    assert not (isolated_home / "ledger.db").exists()  # no ledger needed, none created


def test_evidence_parse_reads_coveragepy_json_and_says_so(isolated_home: Path) -> None:
    facts = json.loads(gt("evidence", "parse", "--kind", "coverage", str(TOOL_EVIDENCE / "service-a" / "coverage.json"), "--json").stdout)
    assert facts["format"] == "coveragepy-json" and facts["line_rate"] == 0.7


def test_evidence_parse_reports_a_crashed_scan(isolated_home: Path) -> None:
    path = SAMPLES / "sarif" / "ExceptionalConditions" / "Catastrophic execution error.sarif"
    facts = json.loads(gt("evidence", "parse", "--kind", "sarif", str(path), "--json").stdout)
    assert facts["execution_successful"] is False and facts["results"] == 0


def test_evidence_parse_from_stdin(isolated_home: Path) -> None:
    data = (EVIDENCE / "service-c" / "junit.xml").read_bytes()
    facts = json.loads(gt("evidence", "parse", "--kind", "junit", "-", "--json", stdin=data).stdout)
    assert facts["tests"] == 2


@pytest.mark.parametrize("kind", ["junit", "coverage"])
def test_hostile_xml_is_refused_with_a_clear_message(tmp_path: Path, kind: str) -> None:
    bomb = tmp_path / "lol.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    err = one_line_error(gt("evidence", "parse", "--kind", kind, str(bomb), code=2), str(bomb), "DOCTYPE")
    assert "entit" in err  # says why a DTD is refused


def test_hostile_xml_is_not_recorded_as_evidence(home: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "lol.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    before = row_count(home / "ledger.db")
    one_line_error(gt("--as", "ci", "evidence", "add", "--service", CLEAN, "--kind", "junit", str(bomb), code=2), "DOCTYPE")
    assert row_count(home / "ledger.db") == before


def test_evidence_of_the_wrong_kind_is_a_usage_error(isolated_home: Path) -> None:
    one_line_error(gt("evidence", "parse", "--kind", "sarif", str(EVIDENCE / "service-a" / "junit.xml"), code=2), "junit.xml")


def test_unreadable_evidence_file_is_a_usage_error(isolated_home: Path, tmp_path: Path) -> None:
    one_line_error(gt("evidence", "parse", "--kind", "junit", str(tmp_path / "missing.xml"), code=2), "cannot read", "missing.xml")


def test_evidence_add_prints_the_digest_and_a_demotion(home: Path) -> None:
    add_evidence(CLEAN)
    out = json.loads(gt("--as", "ci", "evidence", "add", "--service", CLEAN, "--kind", "junit",
                        str(EVIDENCE / "service-b" / "junit.xml"), "--json").stdout)
    assert out["digest"].startswith("sha256:") and out["facts"]["tests"] == 5 and out["demotion"] is None


# -- demo and append -----------------------------------------------------------------------------


def test_demo_twice_refuses_unless_if_missing(isolated_home: Path) -> None:
    first = json.loads(gt("demo", "--json").stdout)
    assert first["identity"] == "carol" and first["service_a_status"] == "blocked"
    size = row_count(isolated_home / "ledger.db")
    one_line_error(gt("demo", code=2), "already exists")
    again = json.loads(gt("demo", "--if-missing", "--json").stdout)
    assert again["created"] is False
    assert row_count(isolated_home / "ledger.db") == size
    # the README walk-through: carol's approval completes service-b's quorum
    out = json.loads(gt("approve", first["service_b_promotion"], "--json").stdout)
    assert out["status"] == "promoted" and out["state"] == "compliant"
    gt("verify", code=0)


@pytest.mark.parametrize("kind", ["promotion.promoted", "approval.granted", "gate.result", "service.demoted",
                                  "ledger.key_added", "cycle_break.reviewed", "runbook.step"])
def test_append_refuses_guarded_kinds(home: Path, kind: str) -> None:
    before = row_count(home / "ledger.db")
    err = one_line_error(gt("--as", "dave", "append", "--kind", kind, "--payload", "-", stdin='{"x": 1}', code=2), repr(kind))
    assert "not by `append`" in err
    assert row_count(home / "ledger.db") == before
