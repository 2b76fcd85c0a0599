"""Messages up: what a worker finished, in the past tense. Small dataclasses (toolong's style)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from gooseterm.ledger.verifier import Report

from ..dashboard import EntryDetail, EntryFilter, GateEvidence, Page, Snapshot
from ..records import PromotionRecord


@dataclass
class SnapshotLoaded(Message):
    """The projections were read."""

    snapshot: Snapshot


@dataclass
class SnapshotFailed(Message):
    """The ledger or the org config could not be read."""

    error: str
    missing: bool = False
    """There is no ledger at all (`error` is its path): the dashboard offers the demo and init."""


@dataclass
class MetricsLoaded(Message):
    """The plan's success metrics were computed (None: gooseterm.metrics is not available)."""

    metrics: list | None
    error: str | None = None


@dataclass
class VerificationProgressed(Message):
    """Rows checked so far; a newer one replaces an older one still in the queue."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, VerificationProgressed)


@dataclass
class VerificationFinished(Message):
    """The ledger was verified (or could not be: `error`, which says so)."""

    report: Report | None
    seconds: float
    error: str | None = None
    note: str | None = None
    """Why the outcome was not recorded for `gooseterm exporter`, if it was not."""


@dataclass
class EntriesLoaded(Message):
    """A page of entries was read for the ledger screen."""

    filter: EntryFilter
    page: Page
    more: bool
    """This page continues the one shown (older entries), rather than replacing it."""


@dataclass
class EntryLoaded(Message):
    """One entry's detail was read."""

    detail: EntryDetail


@dataclass
class EvidenceLoaded(Message):
    """The evidence behind a promotion's gates was read."""

    promotion: PromotionRecord
    gates: list[GateEvidence]


@dataclass
class BlobLoaded(Message):
    """A blob's bytes were read as text."""

    digest: str
    text: str


@dataclass
class ActionRecorded(Message):
    """A writing action finished and its entries are in the ledger."""

    title: str
    cli: str
    summary: str
    failed: bool = False
    """It was recorded but did not succeed (a runbook step that failed, a blocked promotion)."""


class ApprovalRecorded(ActionRecorded):
    """An approval was signed and appended."""


class RejectionRecorded(ActionRecorded):
    """A rejection was signed and appended."""


class OverrideRecorded(ActionRecorded):
    """A break-glass override was recorded and the service promoted."""


class DemotionRecorded(ActionRecorded):
    """A service was demoted."""


class PromotionRequested(ActionRecorded):
    """A promotion was requested and its gates ran."""


@dataclass
class RunbookStarted(ActionRecorded):
    """A runbook run was started."""

    run_id: str = ""


class RunbookStepTaken(ActionRecorded):
    """A runbook step ran and was recorded."""


@dataclass
class ActionRefused(Message):
    """A writing action was refused (read-only, a rule, a wrong passphrase); nothing was written,
    except what the domain records on refusing (an expiry)."""

    title: str
    cli: str
    reason: str
