"""The domain never imports Textual or Rich (DESIGN.md's arrows; harlequin's import hygiene):
each headless module is imported alone in a fresh interpreter, which must not load either."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADLESS_PACKAGES = {"ledger": "gooseterm.ledger", "adapters": "gooseterm.adapters", "exports": "gooseterm.exports",
                     "gooseterm": "gooseterm"}  # folder -> import name (pyproject's package-dir)


def headless_modules() -> list[str]:
    """Every module of ledger, adapters, exports and gooseterm, except the dashboard (gooseterm.tui)."""
    names = []
    for folder, package in HEADLESS_PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = (package, *path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[:2] == ("gooseterm", "tui"):
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.parametrize("module", headless_modules())
def test_headless_module_loads_neither_textual_nor_rich(module: str) -> None:
    probe = (
        "import importlib, sys\n"
        # httpx imports its own command line (built on rich) whenever rich is installed; that
        # is httpx's optional extra, not ours, so it is switched off as if rich were absent.
        "sys.modules['httpx._main'] = None\n"
        f"importlib.import_module({module!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()}"


def test_the_list_covers_the_cli_and_the_domain() -> None:
    modules = headless_modules()
    assert {"gooseterm.ledger.verifier", "gooseterm.dashboard", "gooseterm.cli", "gooseterm.promotions"} <= set(modules)
    assert not any(m.startswith("gooseterm.tui") for m in modules)
