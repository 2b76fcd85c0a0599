"""The red-team suite's tools: run the installed command as an attacker would, and check the result.

Every test here drives `gooseterm` as a separate process (the command a user or an attacker runs),
found beside the running interpreter, so the suite tests the installed program and never skips
because a hard-coded path is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "gooseterm"


@dataclass(frozen=True)
class Run:
    """One finished run of the command."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr together."""
        return self.out + self.err


def gooseterm(*args: str | os.PathLike, env: dict | None = None, cwd: Path | None = None, timeout: float = 120,
              input: str | None = None) -> Run:
    """Run the installed gooseterm; fail the test on a Python traceback, which a user must never see."""
    assert BIN.exists(), f"the installed command is missing at {BIN}; install the package into this venv"
    merged = {**os.environ, **(env or {})}
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=merged, cwd=cwd,
                          timeout=timeout, input=input)
    run = Run(tuple(map(str, args)), proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback (most recent call last)" not in run.text, f"traceback from {' '.join(run.args)}:\n{run.text}"
    return run


@pytest.fixture
def cli():
    """The `gooseterm` runner."""
    return gooseterm
