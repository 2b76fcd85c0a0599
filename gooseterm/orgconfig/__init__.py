"""The organisation config: services, states, gates and rules, approvals and runbooks.

`load_org(path)` reads a config directory and returns an OrgConfig, or raises ConfigError
listing every problem with its file and line.
"""

from gooseterm.orgconfig.config import OrgConfig
from gooseterm.orgconfig.fields import format_duration, parse_duration
from gooseterm.orgconfig.issues import ConfigError, ConfigIssue, format_issue
from gooseterm.orgconfig.loader import (
    bundled_config_dir,
    load_org,
    render_service_template,
)
from gooseterm.orgconfig.models import (
    DEPENDENCY_KINDS,
    ApprovalPolicies,
    ApprovalPolicy,
    Check,
    DependencyKind,
    DependencyRef,
    Gate,
    GateType,
    Organisation,
    Override,
    Person,
    Rule,
    RuleBook,
    Runbook,
    Runbooks,
    RunbookStep,
    Service,
    ServiceSpec,
    StateMachine,
    Transition,
    TransitionKind,
)

__all__ = [
    "DEPENDENCY_KINDS",
    "ApprovalPolicies",
    "ApprovalPolicy",
    "Check",
    "ConfigError",
    "ConfigIssue",
    "DependencyKind",
    "DependencyRef",
    "Gate",
    "GateType",
    "OrgConfig",
    "Organisation",
    "Override",
    "Person",
    "Rule",
    "RuleBook",
    "Runbook",
    "RunbookStep",
    "Runbooks",
    "Service",
    "ServiceSpec",
    "StateMachine",
    "Transition",
    "TransitionKind",
    "bundled_config_dir",
    "format_duration",
    "format_issue",
    "load_org",
    "parse_duration",
    "render_service_template",
]
