"""Pydantic models of the organisation config, one root model per file.

Each model checks its own file; references between files (a dependency naming a service, a
transition naming a gate) are checked by OrgConfig, which holds them all.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
)

from gooseterm.orgconfig.fields import (
    Duration,
    Identifier,
    LabelKey,
    LedgerOrigin,
    PersonName,
    RegisteredName,
    ServiceName,
)
from gooseterm.orgconfig.sloconfig import Slo
from gooseterm.orgconfig.sourceconfig import LIVE_SOURCES, GitHubSource, GitLabSource, PrometheusSource
from gooseterm.orgconfig.meshconfig import Cluster, Mesh

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
StrictBool = Annotated[bool, Strict()]
Params = dict[Identifier, JsonValue]

DependencyKind = Literal["runtime", "data", "security"]
DEPENDENCY_KINDS: tuple[DependencyKind, ...] = ("runtime", "data", "security")


class ConfigModel(BaseModel):
    """Base of every config model: unknown keys are errors, loaded values are immutable."""

    # Unknown keys are typos until proven otherwise; config is read-only once loaded.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _keys_as_names(value: Any) -> Any:
    """Give each item of a name-keyed mapping its key as `name`, so items know who they are."""
    if not isinstance(value, dict):
        return value  # pydantic reports the wrong type
    named = {}
    for key, item in value.items():
        if item is None:
            item = {}
        if isinstance(item, dict):
            if "name" in item and item["name"] != key:
                raise ValueError(
                    f"'{key}' has name '{item['name']}': the key is the name, drop `name:`"
                )
            item = {**item, "name": key}
        named[key] = item
    return named


_NAMED = BeforeValidator(_keys_as_names)


# org.yaml


class Role(ConfigModel):
    """A power beyond approving, e.g. admin (break-glass override, key management)."""

    name: Identifier
    description: Text = ""


class Group(ConfigModel):
    """A group of approvers; policies can require one approval from each of several groups."""

    name: Identifier
    description: Text = ""


class Person(ConfigModel):
    """Someone who can approve (through their groups) or act (through their roles)."""

    name: PersonName
    display_name: Text = ""
    groups: list[Identifier] = []
    roles: list[Identifier] = []


class Kubernetes(ConfigModel):
    """How services are found in Kubernetes."""

    service_label: LabelKey = "app"
    cluster: Cluster | None = None
    """How to reach the cluster (kubeconfig, context); without it no command contacts one."""


class LocalFiles(ConfigModel):
    """A directory of evidence files; relative paths are relative to the config directory."""

    dir: Path


class EvidenceSources(ConfigModel):
    """Where evidence comes from besides CI pushing it."""

    local_files: LocalFiles | None = None
    prometheus: PrometheusSource | None = None
    github: GitHubSource | None = None
    gitlab: GitLabSource | None = None

    def configured(self) -> list[str]:
        """Names of the configured sources: files first, then the live ones."""
        live = [name for name in LIVE_SOURCES if getattr(self, name) is not None]
        return (["files"] if self.local_files is not None else []) + live


class Organisation(ConfigModel):
    """org.yaml: the organisation, its ledger origin, its people, groups and roles."""

    name: NonEmptyText
    ledger_origin: LedgerOrigin
    kubernetes: Kubernetes = Kubernetes()
    evidence_sources: EvidenceSources = EvidenceSources()
    mesh: Mesh = Mesh()
    roles: Annotated[dict[Identifier, Role], _NAMED] = {}
    groups: Annotated[dict[Identifier, Group], _NAMED]
    people: Annotated[dict[PersonName, Person], _NAMED]

    def members(self, group: str) -> list[str]:
        """Names of the people in `group`, sorted."""
        return sorted(p.name for p in self.people.values() if group in p.groups)


# services/<name>.yaml


class DependencyRef(ConfigModel):
    """One dependency: a service name, required unless `required: false`."""

    name: ServiceName
    required: StrictBool = True


def _name_as_ref(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


Dependency = Annotated[DependencyRef, BeforeValidator(_name_as_ref)]


class Dependencies(ConfigModel):
    """A service's dependencies by kind (plan 3.1)."""

    runtime: list[Dependency] = []
    data: list[Dependency] = []
    security: list[Dependency] = []

    def by_kind(self) -> list[tuple[DependencyKind, int, DependencyRef]]:
        """Every dependency with its kind and its index in that kind's list."""
        return [
            (kind, index, ref)
            for kind in DEPENDENCY_KINDS
            for index, ref in enumerate(getattr(self, kind))
        ]


_API_VERSION = re.compile(r"v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?")


def _api_version(value: str) -> str:
    if not _API_VERSION.fullmatch(value):
        raise ValueError(f"'{value}' is not an API version: write e.g. 'v1', 'v2beta1'")
    return value


class ServiceSpec(ConfigModel):
    """The versioned part of a service: its API version, mode and dependencies."""

    api_version: Annotated[str, AfterValidator(_api_version)]
    compliance_mode: Identifier = Field(
        description="The state the service is meant to reach; the ledger holds its actual state."
    )
    dependencies: Dependencies = Dependencies()


class Service(ConfigModel):
    """A service: its spec plus who owns it."""

    name: ServiceName
    description: Text = ""
    owners: Annotated[list[NonEmptyText], Field(min_length=1)]
    spec: ServiceSpec


class ServiceFile(ConfigModel):
    """services/<name>.yaml, in the form of the plan's service template (plan 3.1)."""

    service: Service


# states.yaml


class TransitionKind(StrEnum):
    """Promotions move towards compliance; a demotion follows a violation."""

    PROMOTION = "promotion"
    DEMOTION = "demotion"


class State(ConfigModel):
    """A compliance state."""

    name: Identifier
    description: Text = ""


class Transition(ConfigModel):
    """An allowed move between states and what it requires."""

    model_config = ConfigDict(populate_by_name=True)

    source: Identifier = Field(alias="from")
    target: Identifier = Field(alias="to")
    kind: TransitionKind = TransitionKind.PROMOTION
    gates: list[Identifier] = []
    rules: list[Identifier] = []

    @property
    def requirements(self) -> list[str]:
        """Gate and rule names, in the order they run."""
        return [*self.gates, *self.rules]


class StateMachine(ConfigModel):
    """states.yaml: the compliance state machine (plan 3.2)."""

    initial: Identifier
    compliant: Identifier
    states: Annotated[dict[Identifier, State], _NAMED]
    transitions: list[Transition]

    def transition(self, source: str, target: str) -> Transition | None:
        """The transition from `source` to `target`, or None if it is not allowed."""
        return next(
            (t for t in self.transitions if t.source == source and t.target == target), None
        )

    def transitions_from(self, source: str) -> list[Transition]:
        """The transitions allowed out of `source`."""
        return [t for t in self.transitions if t.source == source]


# rules.yaml


class GateType(StrEnum):
    """How a gate's result counts."""

    BLOCKING = "blocking"
    MANUAL = "manual"
    ADVISORY = "advisory"


class Check(ConfigModel):
    """A registered validator with its parameters."""

    validator: RegisteredName
    params: Params = {}


def _validator_as_check(value: Any) -> Any:
    return {"validator": value} if isinstance(value, str) else value


CheckItem = Annotated[Check, BeforeValidator(_validator_as_check)]


class Gate(ConfigModel):
    """A named requirement bound to one validator (plan 3.2 gates)."""

    name: Identifier
    type: GateType
    validator: RegisteredName
    params: Params = {}
    description: Text = ""

    @property
    def checks(self) -> list[Check]:
        """The gate as a one-check list, so gates and rules run the same way."""
        return [Check(validator=self.validator, params=self.params)]


class Rule(ConfigModel):
    """A named group of checks reported as one result (plan 3.4 policy engine)."""

    name: Identifier
    type: GateType
    checks: Annotated[list[CheckItem], Field(min_length=1)]
    description: Text = ""


class RuleBook(ConfigModel):
    """rules.yaml: gates and rules, and the performance gate's objectives."""

    gates: Annotated[dict[Identifier, Gate], _NAMED] = {}
    rules: Annotated[dict[Identifier, Rule], _NAMED] = {}
    slo: Slo | None = None
    """The service level objectives `performance_baseline_met` scores (sloconfig.py)."""

    def requirement(self, name: str) -> Gate | Rule | None:
        """The gate or rule called `name`."""
        return self.gates.get(name) or self.rules.get(name)


# approvals.yaml

PositiveInt = Annotated[int, Strict(), Field(ge=1)]


class Override(ConfigModel):
    """Break glass: who may promote without the quorum."""

    roles: Annotated[list[Identifier], Field(min_length=1)]
    reason_required: StrictBool = True


class ApprovalPolicy(ConfigModel):
    """How many approvals, from whom, valid for how long, for one target state (and service)."""

    target_state: Identifier
    service: ServiceName | None = None
    required: PositiveInt
    approver_groups: list[Identifier] | None = Field(
        default=None, description="Groups whose members may approve; None means every group."
    )
    groups_required: list[Identifier] = []
    allow_self_approval: StrictBool = False
    expires_after: Duration
    override: Override | None = None


class ApprovalPolicies(ConfigModel):
    """approvals.yaml: approval policies; the most specific one applies."""

    policies: list[ApprovalPolicy] = []

    def policy_for(self, service: str, target_state: str) -> ApprovalPolicy | None:
        """The policy for promoting `service` to `target_state`: per service, else per state."""
        general = None
        for policy in self.policies:
            if policy.target_state != target_state:
                continue
            if policy.service == service:
                return policy
            if policy.service is None:
                general = policy
        return general


# runbooks.yaml


class RunbookStep(ConfigModel):
    """One step: a registered action, run automatically or confirmed by a person."""

    title: NonEmptyText
    action: RegisteredName
    automatic: StrictBool
    description: Text = ""


class Runbook(ConfigModel):
    """A remediation procedure (plan 3.6)."""

    name: Identifier
    title: NonEmptyText
    description: Text = ""
    steps: Annotated[list[RunbookStep], Field(min_length=1)]


class Runbooks(ConfigModel):
    """runbooks.yaml."""

    runbooks: Annotated[dict[Identifier, Runbook], _NAMED] = {}
