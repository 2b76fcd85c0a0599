"""Config problems: where each one is (file, line, column, field) and what to do about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one config file; line and column are 1-based, None when unknown."""

    file: Path
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        return format_issue(self)


def format_issue(issue: ConfigIssue) -> str:
    """Render an issue as `file:line:column: field: message`, the form editors jump to."""
    where = str(issue.file)
    if issue.line is not None:
        where += f":{issue.line}"
        if issue.column is not None:
            where += f":{issue.column}"
    field = f" {issue.field}:" if issue.field else ""
    return f"{where}:{field} {issue.message}"


class ConfigError(Exception):
    """The organisation config is invalid; `issues` lists every problem found, in file order."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = sorted(issues, key=_sort_key)
        count = len(self.issues)
        header = f"{count} problem{'s' if count != 1 else ''} in the organisation config:"
        super().__init__("\n".join([header, *(f"  {format_issue(i)}" for i in self.issues)]))


def _sort_key(issue: ConfigIssue) -> tuple[str, int, int, str, str]:
    # None sorts first: file-level problems come before the lines of that file.
    return (str(issue.file), issue.line or 0, issue.column or 0, issue.field, issue.message)


Loc = tuple[str | int, ...]


def format_field(loc: Loc) -> str:
    """Render a field path as `service.spec.dependencies.runtime[0]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
