"""DESIGN.md's arrows, as the import-linter contracts in pyproject.toml, hold for the code as installed.

scripts/lint_imports.py runs `lint-imports` from this interpreter's venv over the installed layout
(gooseterm.ledger, .adapters and .exports live in the repository's own folders); the static graph
counts imports inside functions too. tests/unit/test_layering.py is the run-time half: what a
module really loads, deferred imports and third-party packages' own imports included.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "lint_imports.py")], cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # Every contract declared was checked (a misspelt table would drop one without a word).
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(declared)} kept, 0 broken." in result.stdout, result.stdout
