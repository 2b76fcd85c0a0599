"""`gooseterm export`: the audit bundle of a period, written to a folder or a zip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gooseterm.exports.bundle import ExportError, Selection, build_bundle, write_bundle

from ..errors import GoosetermError
from ..orgconfig import OrgConfig
from ..workspace import Workspace


@dataclass(frozen=True)
class Exported:
    """The bundle written: where, how many files and bytes."""

    out: Path
    files: int
    bytes: int

    def to_json(self) -> dict:
        """JSON form for --json."""
        return {"out": str(self.out), "files": self.files, "bytes": self.bytes}


def trust_policy(org: OrgConfig) -> dict:
    """The trust policy in force, as the bundle records it: approval policies, who holds which
    groups and roles, and the states."""
    return {
        "approvals": [p.model_dump(mode="json") for p in org.approvals.policies],
        "people": {n: {"groups": list(p.groups), "roles": list(p.roles)} for n, p in sorted(org.org.people.items())},
        "states": org.states.model_dump(mode="json", by_alias=True),
    }


def export_bundle(workspace: Workspace, out: Path, selection: Selection, audit_tree: bool = False,
                  progress: Callable[[str, int, int], None] | None = None) -> Exported:
    """Build the bundle of `selection` (with the audit-tree folders when asked) and write it to `out`."""
    if selection.since and selection.until and selection.since > selection.until:
        raise GoosetermError("--since is after --until")
    if selection.service is not None:
        workspace.orchestrator().require_service(selection.service)
    with workspace.open_ledger(write=True) as ledger:
        files = build_bundle(ledger, selection, trust_policy(workspace.org()), audit_tree=audit_tree, progress=progress)
    try:
        write_bundle(files, out)
    except ExportError as exc:
        raise GoosetermError(str(exc)) from None
    return Exported(out, len(files), sum(len(b) for b in files.values()))
