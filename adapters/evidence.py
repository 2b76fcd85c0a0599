"""One entry point for every evidence kind: pick the parser, enforce the size limit."""

from __future__ import annotations

from collections.abc import Callable

from gooseterm.adapters.approvals import EnvironmentApprovalsFacts, parse_environment_approvals
from gooseterm.adapters.coverage import CoverageFacts, parse_coverage
from gooseterm.adapters.documents import MAX_EVIDENCE_BYTES, check_size
from gooseterm.adapters.errors import EvidenceError
from gooseterm.adapters.junit import JUnitFacts, parse_junit
from gooseterm.adapters.kinds import EVIDENCE_KINDS
from gooseterm.adapters.kubefacts import KubernetesFacts, parse_kubernetes
from gooseterm.adapters.meshreport import MeshFacts, parse_mesh
from gooseterm.adapters.metrics import MetricsFacts, parse_metrics
from gooseterm.adapters.sarif import SarifFacts, parse_sarif
from gooseterm.adapters.spec import SpecFacts, parse_spec

__all__ = ["EVIDENCE_KINDS", "MAX_EVIDENCE_BYTES", "EvidenceFacts", "parse_evidence"]

EvidenceFacts = JUnitFacts | SarifFacts | CoverageFacts | MetricsFacts | SpecFacts | EnvironmentApprovalsFacts | KubernetesFacts | MeshFacts
"""The facts of any evidence kind; each has a `kind` field naming it."""

_PARSERS: dict[str, Callable[[bytes, str | None], EvidenceFacts]] = {
    "junit": parse_junit,
    "sarif": parse_sarif,
    "coverage": parse_coverage,
    "metrics": parse_metrics,
    "spec": parse_spec,
    "kubernetes": parse_kubernetes,
    "mesh": parse_mesh,
    "environment_approvals": parse_environment_approvals,
}


def parse_evidence(kind: str, data: bytes, source: str | None) -> EvidenceFacts:
    """Parse evidence of the given kind into its facts, or raise EvidenceError."""
    parser = _PARSERS.get(kind)
    if parser is None:
        raise EvidenceError(
            f"unknown evidence kind {kind!r}",
            path=source,
            hint=f"Use one of: {', '.join(EVIDENCE_KINDS)}",
        )
    check_size(data, source)
    return parser(data, source)
