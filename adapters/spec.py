"""Service specs (YAML or JSON) into spec facts: a mapping that names its service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gooseterm.adapters.documents import load_yaml
from gooseterm.adapters.errors import EvidenceError

_HINT = "A service spec is a mapping with at least `service: {name: <service>}`"


class SpecFacts(BaseModel):
    """A service spec as written, with the service name pulled out."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    kind: Literal["spec"] = "spec"
    """Evidence kind, for dispatch and storage."""
    source: str | None
    """Where the spec came from, as the caller named it."""
    service_name: str
    """The spec's service.name."""
    spec: dict[str, Any]
    """The whole document, as loaded by yaml.safe_load."""


def parse_spec(data: bytes, source: str | None = None) -> SpecFacts:
    """Parse a YAML or JSON service spec and check it names its service."""
    document = load_yaml(data, source)
    if not isinstance(document, dict) or not all(isinstance(key, str) for key in document):
        raise EvidenceError("the spec is not a mapping with string keys", path=source, hint=_HINT)
    service = document.get("service")
    name = service.get("name") if isinstance(service, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise EvidenceError("the spec does not give service.name", path=source, field="service.name", hint=_HINT)
    return SpecFacts(source=source, service_name=name, spec=document)
