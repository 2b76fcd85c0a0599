"""The whole organisation config, and the checks that span its files."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from pydantic import model_validator

from gooseterm.orgconfig.issues import Loc, format_field
from gooseterm.orgconfig.models import (
    ApprovalPolicies,
    ApprovalPolicy,
    ConfigModel,
    Organisation,
    RuleBook,
    Runbooks,
    Service,
    StateMachine,
)

ORG_FILE = "org.yaml"
STATES_FILE = "states.yaml"
RULES_FILE = "rules.yaml"
APPROVALS_FILE = "approvals.yaml"
RUNBOOKS_FILE = "runbooks.yaml"


def service_file(name: str) -> str:
    """The path of a service's file, relative to the config directory."""
    return f"services/{name}.yaml"


class OrgConfig(ConfigModel):
    """Everything in a config directory, with every name it mentions resolved."""

    org: Organisation
    services: dict[str, Service]
    states: StateMachine
    rules: RuleBook
    approvals: ApprovalPolicies
    runbooks: Runbooks
    root: Path | None = None
    """The directory the config was loaded from; relative paths in it are relative to this."""

    @model_validator(mode="after")
    def _references_resolve(self) -> OrgConfig:
        problems = reference_problems(
            org=self.org,
            services=self.services,
            states=self.states,
            rules=self.rules,
            approvals=self.approvals,
            runbooks=self.runbooks,
        )
        if problems:
            raise ValueError(
                "; ".join(f"{p.file}: {format_field(p.loc)}: {p.message}" for p in problems)
            )
        return self

    def local_evidence_dir(self) -> Path | None:
        """The local evidence directory, resolved against the config directory."""
        local = self.org.evidence_sources.local_files
        if local is None:
            return None
        return local.dir if self.root is None else self.root / local.dir


class ReferenceProblem(NamedTuple):
    """A name that does not resolve: in which file (relative path), at which field, and why."""

    file: str
    loc: Loc
    message: str


def reference_problems(
    *,
    org: Organisation | None,
    services: Mapping[str, Service],
    states: StateMachine | None,
    rules: RuleBook | None,
    approvals: ApprovalPolicies | None,
    runbooks: Runbooks | None,
    known_services: Collection[str] | None = None,
    validators: Collection[str] | None = None,
    actions: Collection[str] | None = None,
) -> list[ReferenceProblem]:
    """Every reference across the config files that does not resolve.

    A section that is None (its file failed to load) is skipped, as are checks that need it.
    `known_services` adds names of service files that failed to load, so their dependents do
    not report them as unknown. `validators` and `actions`, when given, are the names
    registered in code.
    """
    known = set(services) | set(known_services or ())
    found: list[ReferenceProblem] = []
    if org is not None:
        found += _org_problems(org)
        found += _mesh_problems(org, known)
    for key, service in services.items():
        found += _service_problems(key, service, known, org, states)
    if states is not None:
        found += _state_problems(states, rules)
    if rules is not None:
        found += _rule_problems(rules, validators)
    if approvals is not None:
        found += _approval_problems(approvals, known, org, states)
    if runbooks is not None and actions is not None:
        found += [
            ReferenceProblem(
                RUNBOOKS_FILE,
                ("runbooks", name, "steps", index, "action"),
                _unknown("action", step.action, actions, "registered"),
            )
            for name, runbook in runbooks.runbooks.items()
            for index, step in enumerate(runbook.steps)
            if step.action not in actions
        ]
    return found


def _unknown(what: str, name: str, known: Collection[str], adjective: str = "known") -> str:
    """'unknown service 'x' (known: a, b)', shortened to close matches when the list is long."""
    if not known:
        return f"unknown {what} '{name}' (none are {adjective})"
    if len(known) <= 12:
        return f"unknown {what} '{name}' ({adjective}: {', '.join(sorted(known))})"
    close = difflib.get_close_matches(name, sorted(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {what} '{name}' ({len(known)} are {adjective}{hint})"


def _org_problems(org: Organisation) -> Iterator[ReferenceProblem]:
    for person in org.people.values():
        for index, group in enumerate(person.groups):
            if group not in org.groups:
                yield ReferenceProblem(
                    ORG_FILE,
                    ("people", person.name, "groups", index),
                    _unknown("group", group, org.groups),
                )
        for index, role in enumerate(person.roles):
            if role not in org.roles:
                yield ReferenceProblem(
                    ORG_FILE,
                    ("people", person.name, "roles", index),
                    _unknown("role", role, org.roles),
                )


def _mesh_problems(org: Organisation, known: set[str]) -> Iterator[ReferenceProblem]:
    for name in org.mesh.services:
        if name not in known:
            yield ReferenceProblem(ORG_FILE, ("mesh", "services", name), _unknown("service", name, known))


def _service_problems(
    key: str,
    service: Service,
    known: set[str],
    org: Organisation | None,
    states: StateMachine | None,
) -> Iterator[ReferenceProblem]:
    file = service_file(key)
    if service.name != key:
        yield ReferenceProblem(
            file, ("service", "name"), f"name '{service.name}' differs from its key '{key}'"
        )
    first_listed: dict[str, Loc] = {}
    for kind, index, ref in service.spec.dependencies.by_kind():
        loc: Loc = ("service", "spec", "dependencies", kind, index)
        if ref.name == service.name:
            yield ReferenceProblem(file, loc, "a service cannot depend on itself")
        elif ref.name not in known:
            yield ReferenceProblem(file, loc, _unknown("service", ref.name, known - {key}))
        elif ref.name in first_listed:
            yield ReferenceProblem(
                file,
                loc,
                f"'{ref.name}' is already listed at {format_field(first_listed[ref.name])}; "
                "list each dependency once, under one kind",
            )
        first_listed.setdefault(ref.name, loc)
    if org is not None:
        for index, owner in enumerate(service.owners):
            if owner not in org.people and owner not in org.groups:
                yield ReferenceProblem(
                    file,
                    ("service", "owners", index),
                    _unknown("owner", owner, [*org.people, *org.groups], "people or groups"),
                )
    if states is not None and service.spec.compliance_mode not in states.states:
        yield ReferenceProblem(
            file,
            ("service", "spec", "compliance_mode"),
            _unknown("state", service.spec.compliance_mode, states.states),
        )


def _state_problems(states: StateMachine, rules: RuleBook | None) -> Iterator[ReferenceProblem]:
    for field in ("initial", "compliant"):
        name = getattr(states, field)
        if name not in states.states:
            yield ReferenceProblem(STATES_FILE, (field,), _unknown("state", name, states.states))
    seen: dict[tuple[str, str], int] = {}
    for index, transition in enumerate(states.transitions):
        for field, name in (("from", transition.source), ("to", transition.target)):
            if name not in states.states:
                yield ReferenceProblem(
                    STATES_FILE,
                    ("transitions", index, field),
                    _unknown("state", name, states.states),
                )
        pair = (transition.source, transition.target)
        if transition.source == transition.target:
            yield ReferenceProblem(
                STATES_FILE, ("transitions", index), "a transition must change the state"
            )
        elif pair in seen:
            yield ReferenceProblem(
                STATES_FILE,
                ("transitions", index),
                f"{pair[0]} -> {pair[1]} is already defined at transitions[{seen[pair]}]",
            )
        seen.setdefault(pair, index)
        if rules is not None:
            for field, names, table in (
                ("gates", transition.gates, rules.gates),
                ("rules", transition.rules, rules.rules),
            ):
                for position, name in enumerate(names):
                    if name not in table:
                        yield ReferenceProblem(
                            STATES_FILE,
                            ("transitions", index, field, position),
                            _unknown(field[:-1], name, table, "defined in rules.yaml"),
                        )
    reachable = {states.initial}
    frontier = [states.initial]
    while frontier:
        here = frontier.pop()
        for transition in states.transitions_from(here):
            if transition.target not in reachable:
                reachable.add(transition.target)
                frontier.append(transition.target)
    for name in states.states:
        if name not in reachable:
            yield ReferenceProblem(
                STATES_FILE,
                ("states", name),
                f"state '{name}' cannot be reached from '{states.initial}'; add a transition "
                "to it or remove it",
            )


def _rule_problems(
    rules: RuleBook, validators: Collection[str] | None
) -> Iterator[ReferenceProblem]:
    for name in rules.rules:
        if name in rules.gates:
            yield ReferenceProblem(
                RULES_FILE,
                ("rules", name),
                f"'{name}' is both a gate and a rule; rename one so results name one thing",
            )
    if validators is None:
        return
    for name, gate in rules.gates.items():
        if gate.validator not in validators:
            yield ReferenceProblem(
                RULES_FILE,
                ("gates", name, "validator"),
                _unknown("validator", gate.validator, validators, "registered"),
            )
    for name, rule in rules.rules.items():
        for index, check in enumerate(rule.checks):
            if check.validator not in validators:
                yield ReferenceProblem(
                    RULES_FILE,
                    ("rules", name, "checks", index),
                    _unknown("validator", check.validator, validators, "registered"),
                )


def _approval_problems(
    approvals: ApprovalPolicies,
    known: set[str],
    org: Organisation | None,
    states: StateMachine | None,
) -> Iterator[ReferenceProblem]:
    seen: dict[tuple[str | None, str], int] = {}
    for index, policy in enumerate(approvals.policies):
        here: Loc = ("policies", index)
        if states is not None and policy.target_state not in states.states:
            yield ReferenceProblem(
                APPROVALS_FILE,
                here + ("target_state",),
                _unknown("state", policy.target_state, states.states),
            )
        if policy.service is not None and policy.service not in known:
            yield ReferenceProblem(
                APPROVALS_FILE, here + ("service",), _unknown("service", policy.service, known)
            )
        key = (policy.service, policy.target_state)
        if key in seen:
            yield ReferenceProblem(
                APPROVALS_FILE,
                here,
                f"policies[{seen[key]}] already covers this service and target state",
            )
        seen.setdefault(key, index)
        if org is not None:
            yield from _approval_people_problems(policy, here, org)


def _approval_people_problems(
    policy: ApprovalPolicy, here: Loc, org: Organisation
) -> Iterator[ReferenceProblem]:
    for field in ("approver_groups", "groups_required"):
        for position, group in enumerate(getattr(policy, field) or ()):
            if group not in org.groups:
                yield ReferenceProblem(
                    APPROVALS_FILE, here + (field, position), _unknown("group", group, org.groups)
                )
    if policy.override is not None:
        for position, role in enumerate(policy.override.roles):
            if role not in org.roles:
                yield ReferenceProblem(
                    APPROVALS_FILE,
                    here + ("override", "roles", position),
                    _unknown("role", role, org.roles),
                )
    approver_groups = policy.approver_groups or list(org.groups)
    for position, group in enumerate(policy.groups_required):
        if group not in org.groups:
            continue
        if group not in approver_groups:
            yield ReferenceProblem(
                APPROVALS_FILE,
                here + ("groups_required", position),
                f"group '{group}' is required but not among approver_groups",
            )
        elif not org.members(group):
            yield ReferenceProblem(
                APPROVALS_FILE,
                here + ("groups_required", position),
                f"group '{group}' has no members, so this policy can never be met",
            )
    eligible = {p.name for p in org.people.values() if set(p.groups) & set(approver_groups)}
    if policy.required > len(eligible):
        yield ReferenceProblem(
            APPROVALS_FILE,
            here + ("required",),
            f"{policy.required} approvals required but only {len(eligible)} people can approve "
            f"(members of {', '.join(sorted(approver_groups))}), so this policy can never be met",
        )
