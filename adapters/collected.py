"""What a live source hands back: evidence bytes with the kind they are and the URL they came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from gooseterm.adapters.archive import ArchiveLimits, evidence_members, unpack_zip
from gooseterm.adapters.errors import SourceError


@dataclass(frozen=True)
class Collected:
    """One evidence file from a source: its kind, raw bytes and where exactly it came from."""

    kind: str
    data: bytes
    source: str
    """The URL it was fetched from; for a file inside an archive, `URL#path/in/archive`."""


@dataclass
class Collection:
    """Everything one source produced for one service, plus what it saw on the way."""

    source: str
    """The source's name: prometheus, github, gitlab."""
    items: list[Collected] = field(default_factory=list)
    context: dict = field(default_factory=dict)
    """What was looked at (run or pipeline, commit, jobs), for the command's report."""
    notes: list[str] = field(default_factory=list)
    """Things a person should know (skipped expired artifacts, ignored files)."""


def from_archive(source: str, data: bytes, url: str, limits: ArchiveLimits) -> list[Collected]:
    """The evidence files of a zip artifact, each named `url#path`; errors name the source and URL."""
    members = unpack_zip(data, f"{source} ({url})", limits)
    return [Collected(m.kind, m.data, f"{url}#{m.path}") for m in evidence_members(members)]


def one_per_kind(source: str, url: str, items: list[Collected]) -> None:
    """Refuse two files of one kind: the gate would read only the last one recorded, and a failing
    report could hide behind a passing one."""
    by_kind: dict[str, list[str]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item.source)
    doubled = {k: v for k, v in by_kind.items() if len(v) > 1}
    if doubled:
        kind, where = next(iter(doubled.items()))
        raise SourceError(source, url, f"{len(where)} {kind} files found ({', '.join(w.rsplit('#', 1)[-1] for w in where)}); "
                          "a gate reads one per kind", reason="ambiguous",
                          hint="merge them into one report in CI, or name the artifacts to read in the org config (artifacts:)")
