"""The CI pipeline templates (config/ci/) have the plan's stages in order, each gate calling gooseterm."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

CI = Path(__file__).resolve().parents[2] / "config" / "ci"
STAGES = ["spec_validation", "dependency_check", "build", "test", "compliance_scan", "evidence_collection",
          "promotion_gate", "deployment"]
# The gooseterm command each gate stage must run; build is the project's own and has none.
GATES = {
    "spec_validation": ["gooseterm config check"],
    "dependency_check": ["gooseterm plan"],
    "test": ["gooseterm evidence add --service \"$SERVICE\" --kind junit"],
    "compliance_scan": ["gooseterm evidence add --service \"$SERVICE\" --kind sarif"],
    "evidence_collection": ["gooseterm collect --service \"$SERVICE\""],
    "promotion_gate": ["gooseterm promote \"$SERVICE\" --to compliance_ready", "gooseterm promote \"$SERVICE\" --to compliant"],
    "deployment": ["gooseterm status \"$SERVICE\""],
}


def github() -> dict:
    return yaml.safe_load((CI / "github-actions.yml").read_text())


def gitlab() -> dict:
    return yaml.safe_load((CI / "gitlab-ci.yml").read_text())


def github_commands(job: dict) -> list[str]:
    return [line for step in job["steps"] if "run" in step for line in step["run"].splitlines()]


def gooseterm_lines(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if re.match(r"\s*gooseterm ", line)]


def test_github_jobs_are_the_plan_stages_in_order_each_needing_the_one_before() -> None:
    jobs = github()["jobs"]
    assert list(jobs) == STAGES
    assert "needs" not in jobs[STAGES[0]]
    for before, stage in zip(STAGES, STAGES[1:]):
        assert jobs[stage]["needs"] == before, stage


def test_gitlab_stages_are_the_plan_stages_in_order_and_needs_chain_them() -> None:
    pipeline = gitlab()
    assert pipeline["stages"] == STAGES
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "stage" in job}
    assert [jobs[name]["stage"] for name in jobs] == STAGES and list(jobs) == STAGES
    assert jobs[STAGES[0]]["needs"] == []
    for before, stage in zip(STAGES, STAGES[1:]):
        assert jobs[stage]["needs"] == [before], stage


@pytest.mark.parametrize("stage", list(GATES))
def test_each_gate_stage_calls_the_right_gooseterm_command_with_json(stage: str) -> None:
    for commands in (github_commands(github()["jobs"][stage]), gitlab()[stage]["script"]):
        calls = gooseterm_lines(commands)
        for expected in GATES[stage]:
            assert any(c.startswith(expected) for c in calls), (stage, expected, calls)
        assert calls and all(c.split(">")[0].rstrip().endswith("--json") for c in calls), calls


def test_build_stage_is_the_projects_own() -> None:
    assert gooseterm_lines(github_commands(github()["jobs"]["build"])) == []
    assert gooseterm_lines(gitlab()["build"]["script"]) == []


def test_collect_reads_the_current_run_and_prometheus() -> None:
    [gh] = gooseterm_lines(github_commands(github()["jobs"]["evidence_collection"]))
    [gl] = gooseterm_lines(gitlab()["evidence_collection"]["script"])
    assert "--source github --source prometheus --run \"$GITHUB_RUN_ID\"" in gh
    assert "--source gitlab --source prometheus --run \"$CI_PIPELINE_ID\"" in gl
    assert github()["jobs"]["evidence_collection"]["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"


def test_deployment_is_behind_an_environment() -> None:
    assert github()["jobs"]["deployment"]["environment"] == "production"
    assert gitlab()["deployment"]["environment"] == "production"


def test_the_commands_the_templates_call_exist() -> None:
    from click.testing import CliRunner

    from gooseterm.cli import main

    seen = set()
    for lines in [github_commands(j) for j in github()["jobs"].values()] + [gitlab()[s]["script"] for s in STAGES]:
        for call in gooseterm_lines(lines):
            words = call.split()
            seen.add(tuple(w for w in words[1:3] if not w.startswith(("-", '"'))))
    for command in seen:
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
