"""`gooseterm config check`: a summary of a valid config, every problem of a broken one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.orgs import service_yaml, write_config

from gooseterm.cli import main
from gooseterm.configcheck import check_config, check_with_file, summary
from gooseterm.orgconfig import ConfigError, bundled_config_dir, load_org

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "config-broken" / "many-errors"
# The problems of the many-errors overlay (see its README): file, line and field of each.
MANY_ERRORS = {
    ("services/service-a.yaml", 10, "service.spec.dependencies.runtime[0]"),
    ("services/service-b.yaml", 5, "service.colour"),
    ("services/service-d.yaml", 2, "service.name"),
    ("approvals.yaml", 5, "policies[0].expires_after"),
    ("states.yaml", 16, "transitions[1].gates[2]"),
    ("org.yaml", 13, "people.carol.groups[0]"),
    ("runbooks.yaml", 7, ""),
}


@pytest.fixture
def org_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped example config."""
    return Path(shutil.copytree(bundled_config_dir(), tmp_path / "config"))


@pytest.fixture
def broken_dir(org_dir: Path) -> Path:
    shutil.copytree(BROKEN, org_dir, dirs_exist_ok=True)
    return org_dir


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_valid_config_prints_a_one_paragraph_summary(org_dir: Path) -> None:
    result = run("config", "check", str(org_dir))
    assert result.exit_code == 0, result.output
    text = result.output.strip()
    assert "\n" not in text
    assert text.startswith(f"{org_dir}: Demo Org (ledger origin gooseterm.example/demo-org) is valid.")
    for part in ("3 services (service-a, service-b, service-c)", "3 dependencies (2 required, 1 optional)",
                 "3 states (sandbox, compliance_ready, compliant", "2 promotions and 1 demotion",
                 "6 gates and 3 rules", "2 approval policies", "2 runbooks", "4 people in 3 groups"):
        assert part in text


def test_default_directory_is_the_configured_one(org_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert f"{bundled_config_dir()}: Demo Org" in run("config", "check").output
    monkeypatch.setenv("GOOSETERM_CONFIG", str(org_dir))
    assert run("config", "check").output.startswith(f"{org_dir}: Demo Org")
    assert run("--config", str(BROKEN), "config", "check").exit_code == 2


def test_valid_config_as_json(org_dir: Path) -> None:
    result = run("config", "check", str(org_dir), "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0
    assert data["valid"] is True and data["issues"] == []
    assert data["summary"]["services"] == ["service-a", "service-b", "service-c"]
    assert data["summary"]["approval_policies"] == 2 and data["summary"]["cycles"] == []


def test_broken_config_lists_every_issue_with_its_line_and_exits_2(broken_dir: Path) -> None:
    result = run("config", "check", str(broken_dir))
    assert result.exit_code == 2
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(MANY_ERRORS)
    for relative, line, field in MANY_ERRORS:
        prefix = f"{broken_dir / relative}:{line}:"
        (match,) = [text for text in lines if text.startswith(prefix)]
        location, _, rest = match.partition(": ")
        assert location.count(":") == 2 and location.rsplit(":", 1)[1].isdigit()  # file:line:column
        assert rest.startswith(f"{field}: ") if field else rest
    assert "unknown service 'service-x'" in result.stdout
    assert result.stderr.strip() == f"gooseterm: 7 problems in the organisation config at {broken_dir}"


def test_broken_config_as_json(broken_dir: Path) -> None:
    result = run("config", "check", str(broken_dir), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and data["valid"] is False and data["summary"] is None
    assert {(Path(i["file"]).relative_to(broken_dir).as_posix(), i["line"], i["field"]) for i in data["issues"]} == MANY_ERRORS
    assert all(set(i) == {"file", "line", "column", "field", "message"} and i["message"] for i in data["issues"])


def test_a_directory_that_does_not_exist_is_an_issue(tmp_path: Path) -> None:
    result = run("config", "check", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stdout.strip() == f"{tmp_path / 'nowhere'}: not a directory"


def test_unregistered_validator_is_reported(org_dir: Path) -> None:
    rules = org_dir / "rules.yaml"
    text = rules.read_text()
    line = text[: text.index("validator: sast_results_clean")].count("\n") + 1
    rules.write_text(text.replace("validator: sast_results_clean", "validator: sast_is_clean", 1))
    result = run("config", "check", str(org_dir))
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{rules}:{line}:5: gates.sast_clean.validator: unknown validator 'sast_is_clean'")


def test_dependency_cycle_loads_but_is_warned_about(tmp_path: Path) -> None:
    root = write_config(tmp_path / "cyclic", {"a": service_yaml("a", ["b"]), "b": service_yaml("b", ["a"]), "c": service_yaml("c")})
    result = run("config", "check", str(root))
    assert result.exit_code == 0
    assert "Warning: dependencies loop (a -> b -> a)" in result.output
    assert summary(load_org(root))["cycles"] == [["a", "b"]]


def test_check_config_never_raises(broken_dir: Path) -> None:
    result = check_config(broken_dir)
    assert not result.valid and result.org is None and len(result.issues) == 7


def test_check_with_file_reports_against_the_real_paths_and_writes_nothing(org_dir: Path) -> None:
    text = (org_dir / "services" / "service-c.yaml").read_text().replace("service-c", "service-d").replace("[sre, alice]", "[nobody]")
    with pytest.raises(ConfigError) as caught:
        check_with_file(org_dir, "services/service-d.yaml", text)
    (issue,) = caught.value.issues
    assert issue.file == org_dir / "services" / "service-d.yaml" and issue.field == "service.owners[0]"
    assert not (org_dir / "services" / "service-d.yaml").exists()


def test_check_with_file_returns_the_config_rooted_at_the_real_directory(org_dir: Path) -> None:
    text = (org_dir / "services" / "service-c.yaml").read_text().replace("service-c", "service-d")
    org = check_with_file(org_dir, "services/service-d.yaml", text)
    assert sorted(org.services) == ["service-a", "service-b", "service-c", "service-d"]
    assert org.root == org_dir and org.local_evidence_dir() == org_dir / "evidence"
