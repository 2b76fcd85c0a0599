"""Where the evidence parser tests find their input: shared samples, vendored copies, tool output."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_SAMPLES = REPO.parent / "shared" / "samples"
"""The shared samples folder beside the repository (absent on some machines)."""
VENDORED_SAMPLES = REPO / "tests" / "fixtures" / "samples"
"""Copies of the shared samples that specific assertions rely on (see its PROVENANCE.md)."""
TOOL_FIXTURES = REPO / "tests" / "fixtures" / "evidence"
"""Evidence written by pytest, coverage.py, ruff and bandit (see its PROVENANCE.md)."""


def vendored(relative: str) -> bytes:
    """The bytes of a vendored sample, by its path under the samples folder."""
    return (VENDORED_SAMPLES / relative).read_bytes()


def shared_sample_params(folder: str, suffixes: tuple[str, ...]) -> list:
    """One pytest param per shared sample under folder (id: its relative path), or one skip."""
    root = SHARED_SAMPLES / folder
    if not root.is_dir():
        reason = f"shared samples not found at {root}; the vendored copies still run"
        return [pytest.param(None, id=f"{folder}-absent", marks=pytest.mark.skip(reason=reason))]
    files = sorted(path for path in root.rglob("*") if path.is_file() and path.name.endswith(suffixes))
    return [pytest.param(path, id=path.relative_to(SHARED_SAMPLES).as_posix()) for path in files]


def sample_key(path: Path) -> str:
    """A shared sample's path relative to the samples folder, e.g. 'junit/jest/jest-junit.xml'."""
    return path.relative_to(SHARED_SAMPLES).as_posix()
