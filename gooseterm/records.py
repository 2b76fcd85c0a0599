"""The typed records the faces read, parsed once from the projections' JSON.

The projections table stores JSON (its bytes are what `verify` replays and compares), and the
Orchestrator's commands work on that JSON inside their transactions. What leaves the domain for
the CLI and the dashboard is these frozen records: attributes, not string keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from .gates import GateRecord, Result
from .projections import RUN_COMPLETE
from .statuses import PromotionStatus


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval or rejection of a promotion, as recorded."""

    person: str
    decision: str
    """`approve` or `reject`."""
    groups: tuple[str, ...]
    seq: int
    time: str
    keyid: str
    evidence_digest: str | None = None
    policy_digest: str | None = None
    reason: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> ApprovalRecord:
        """Parse one entry of a promotion projection's `approvals`."""
        return cls(data["person"], data["decision"], tuple(data["groups"]), data["seq"], data["time"], data["keyid"],
                   data.get("evidence_digest"), data.get("policy_digest"), data.get("reason"))


@dataclass(frozen=True)
class PromotionRecord:
    """A promotion as its projection holds it: the request, the gates of its last run, its
    decisions and where it stands."""

    id: str
    service: str
    from_state: str
    to_state: str
    status: PromotionStatus
    requested_by: str
    requested_seq: int
    requested_time: str
    evidence_digest: str
    policy: dict | None
    """The approval policy snapshot taken at request time (None: no manual gate)."""
    approvals: tuple[ApprovalRecord, ...]
    gates: tuple[GateRecord, ...]
    reasons: tuple[str, ...]
    updated_seq: int

    @classmethod
    def from_json(cls, data: dict) -> PromotionRecord:
        """Parse a promotion projection."""
        return cls(data["id"], data["service"], data["from"], data["to"], PromotionStatus(data["status"]), data["requested_by"],
                   data["requested_seq"], data["requested_time"], data["evidence_digest"], data["policy"],
                   tuple(map(ApprovalRecord.from_json, data["approvals"])), tuple(map(GateRecord.from_json, data["gates"])),
                   tuple(data["reasons"]), data["updated_seq"])

    @property
    def transition(self) -> str:
        """`from -> to`."""
        return f"{self.from_state} -> {self.to_state}"


@dataclass(frozen=True)
class ServiceRecord:
    """A service as its projection holds it: its state since which seq, when it was onboarded,
    and the demoted dependencies that put it at risk (dependency -> why)."""

    name: str
    state: str
    since_seq: int | None
    onboarded_seq: int | None
    at_risk: dict[str, str]
    onboarded_time: str | None = None
    spec_digest: str | None = None

    @classmethod
    def from_json(cls, data: dict) -> ServiceRecord:
        """Parse a service projection (or the Orchestrator's fresh record of a service never recorded)."""
        return cls(data["name"], data["state"], data["since_seq"], data["onboarded_seq"], dict(data.get("at_risk", {})),
                   data.get("onboarded_time"), data.get("spec_digest"))


@dataclass(frozen=True)
class RunStepRecord:
    """One step of a runbook run as recorded: what ran, who confirmed it and what it found."""

    index: int
    title: str
    action: str
    automatic: bool
    confirmed_by: str | None
    result: Result
    summary: str
    details: tuple[str, ...]
    evidence: tuple[str, ...]
    seq: int | None

    @classmethod
    def from_json(cls, data: dict) -> RunStepRecord:
        """Parse one entry of a runbook run projection's `steps`."""
        return cls(data["index"], data["title"], data["action"], data["automatic"], data.get("confirmed_by"),
                   Result(data["result"]), data["summary"], tuple(data.get("details", ())), tuple(data.get("evidence", ())),
                   data.get("seq"))


@dataclass(frozen=True)
class RunRecord:
    """A runbook run: which runbook, for which service, started by whom, and the steps taken."""

    id: str
    runbook: str
    title: str
    service: str
    started_by: str
    started_seq: int
    steps_total: int
    steps: tuple[RunStepRecord, ...]
    status: str
    """`open`, or `complete` once every step is recorded."""

    @classmethod
    def from_json(cls, data: dict) -> RunRecord:
        """Parse a runbook run projection."""
        return cls(data["id"], data["runbook"], data["title"], data["service"], data["started_by"], data["started_seq"],
                   data["steps_total"], tuple(map(RunStepRecord.from_json, data["steps"])), data["status"])

    @property
    def complete(self) -> bool:
        """True once every step is recorded."""
        return self.status == RUN_COMPLETE
