"""Checking an organisation config: a summary when it is valid, every problem when it is not.

`gooseterm config check` and the dashboard call the same functions. `check_with_file` answers
"would the config still load with this file added?" without touching the real directory, so
onboarding never leaves a half-written config behind.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .workspace import load_checked_org
from .orgconfig import ConfigError, ConfigIssue, OrgConfig, TransitionKind
from .resolver import CycleError, DependencyGraph


@dataclass(frozen=True)
class ConfigCheck:
    """The result of loading one config directory: the config, or every problem found."""

    path: Path
    org: OrgConfig | None
    issues: list[ConfigIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when the config loaded without a problem."""
        return self.org is not None

    def to_json(self) -> dict:
        """JSON form for --json: validity, every issue, and the summary of a valid config."""
        return {
            "config": str(self.path),
            "valid": self.valid,
            "issues": [issue_json(i) for i in self.issues],
            "summary": summary(self.org) if self.org is not None else None,
        }


def check_config(path: Path) -> ConfigCheck:
    """Load `path` with gooseterm's registered validators; never raises ConfigError."""
    try:
        return ConfigCheck(Path(path), load_checked_org(path))
    except ConfigError as exc:
        return ConfigCheck(Path(path), None, list(exc.issues))


def issue_json(issue: ConfigIssue) -> dict:
    """One issue as {file, line, column, field, message}."""
    return {"file": str(issue.file), "line": issue.line, "column": issue.column, "field": issue.field, "message": issue.message}


def summary(org: OrgConfig) -> dict:
    """Counts and names of what a config defines."""
    edges = [(s.name, kind, ref) for s in org.services.values() for kind, _, ref in s.spec.dependencies.by_kind()]
    transitions = org.states.transitions
    return {
        "organisation": org.org.name,
        "ledger_origin": org.org.ledger_origin,
        "services": sorted(org.services),
        "dependencies": {"total": len(edges), "required": sum(1 for *_, ref in edges if ref.required)},
        "states": list(org.states.states),
        "initial": org.states.initial,
        "compliant": org.states.compliant,
        "promotions": sum(1 for t in transitions if t.kind == TransitionKind.PROMOTION),
        "demotions": sum(1 for t in transitions if t.kind == TransitionKind.DEMOTION),
        "gates": sorted(org.rules.gates),
        "rules": sorted(org.rules.rules),
        "approval_policies": len(org.approvals.policies),
        "runbooks": sorted(org.runbooks.runbooks),
        "people": len(org.org.people),
        "groups": sorted(org.org.groups),
        "cycles": [list(c) for c in _cycles(org)],
    }


def _cycles(org: OrgConfig) -> list[tuple[str, ...]]:
    """Dependency cycles: the config loads with them, but no plan can order those services."""
    try:
        DependencyGraph.from_services(org.services.values()).waves()
    except CycleError as exc:
        return exc.cycles
    return []


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def summary_text(org: OrgConfig, path: Path) -> str:
    """The summary as one paragraph."""
    s = summary(org)
    deps = s["dependencies"]
    loops = "; ".join(" -> ".join([*c, c[0]]) for c in s["cycles"])
    warning = f" Warning: dependencies loop ({loops}); plans refuse these services until a cycle is broken (`gooseterm graph`)." if loops else ""
    return (
        f"{path}: {s['organisation']} (ledger origin {s['ledger_origin']}) is valid. "
        f"{_count(len(s['services']), 'service')} ({', '.join(s['services']) or 'none'}) with "
        f"{_count(deps['total'], 'dependency', 'dependencies')} ({deps['required']} required, "
        f"{deps['total'] - deps['required']} optional); "
        f"{_count(len(s['states']), 'state')} ({', '.join(s['states'])}; services start in {s['initial']}, "
        f"dependencies must be {s['compliant']}) joined by {_count(s['promotions'], 'promotion')} and "
        f"{_count(s['demotions'], 'demotion')}; {_count(len(s['gates']), 'gate')} and "
        f"{_count(len(s['rules']), 'rule')}; {_count(s['approval_policies'], 'approval policy', 'approval policies')}; "
        f"{_count(len(s['runbooks']), 'runbook')}; {_count(s['people'], 'person', 'people')} in "
        f"{_count(len(s['groups']), 'group')}.{warning}"
    )


def check_with_file(config_dir: Path, relative: str, text: str) -> OrgConfig:
    """Load the config as it would be with `text` written at `relative` (e.g. services/x.yaml).

    The YAML files are copied to a temporary directory (evidence and other folders are not
    read by the loader, so they stay put); problems are reported against the real paths.
    Returns the config it would be, rooted at `config_dir`; raises ConfigError listing every
    problem of the config with the new file.
    """
    root = Path(config_dir)
    with tempfile.TemporaryDirectory(prefix="gooseterm-config-") as tmp:
        scratch = Path(tmp) / "config"
        scratch.mkdir()
        if root.is_dir():
            for item in root.iterdir():
                if item.is_file():
                    shutil.copy2(item, scratch / item.name)
                elif item.is_dir() and item.name == "services":
                    shutil.copytree(item, scratch / item.name)
        target = scratch / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        try:
            org = load_checked_org(scratch)
        except ConfigError as exc:
            raise ConfigError(_moved(i, scratch, root) for i in exc.issues) from None
    return org.model_copy(update={"root": root})


def _moved(issue: ConfigIssue, scratch: Path, root: Path) -> ConfigIssue:
    try:
        file = root / issue.file.relative_to(scratch)
    except ValueError:
        file = issue.file
    return ConfigIssue(file, issue.line, issue.column, issue.field, issue.message)

