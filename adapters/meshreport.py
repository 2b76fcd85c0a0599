"""The `mesh` evidence kind: a drift report comparing a cluster's Istio policy with the rendered one.

`gooseterm mesh check` writes one report per service: the objects compared, every difference
(missing, extra or changed, with what differs), and whether the service's policy is clean. The
`mesh_policy_enforced` gate reads it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import EvidenceError

REPORT_VERSION = 1
_HINT = "Record it with `gooseterm mesh check`"


class Drift(BaseModel):
    """One difference between the cluster and the rendered policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change: Literal["missing", "extra", "changed"]
    """missing: rendered but not in the cluster; extra: in the cluster, not rendered; changed: both, differing."""
    kind: str
    namespace: str
    name: str
    service: str | None
    """The service the object is about; None for namespace-wide objects."""
    detail: str
    """What differs, e.g. `caller service-a: methods ["GET"] -> ["GET", "DELETE"]`."""


class MeshFacts(BaseModel):
    """A mesh drift report for one service; the ledger entry recording it says when it was made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["mesh"] = "mesh"
    version: Literal[1] = REPORT_VERSION
    source: str | None = None
    service: str
    server: str
    context: str | None
    rendered_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    """Digest of the rendered manifests this service's policy was compared with."""
    objects: list[str]
    """The rendered objects compared, as `Kind namespace/name`."""
    drift: list[Drift]
    clean: bool
    """No drift."""

    @model_validator(mode="after")
    def _clean_means_no_drift(self) -> MeshFacts:
        if self.clean != (not self.drift):
            raise ValueError(f"clean is {self.clean} but the report lists {len(self.drift)} differences")
        return self


def parse_mesh(data: bytes, source: str | None = None) -> MeshFacts:
    """Check a mesh drift report (JSON) and return its facts."""
    document = load_json(data, source)
    if not isinstance(document, dict):
        raise EvidenceError("a mesh report is a JSON object", path=source, hint=_HINT)
    try:
        return MeshFacts.model_validate({**document, "source": source})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise EvidenceError(f"not a valid mesh report: {error['msg'].removeprefix('Value error, ')}", path=source,
                            field=where or None, hint=_HINT) from None


def report_bytes(facts: MeshFacts) -> bytes:
    """The report as recorded evidence: canonical JSON without the caller-given source."""
    return facts.model_dump_json(exclude={"source"}, indent=2).encode() + b"\n"
