"""Check the import-linter contracts in pyproject.toml against the package as it is installed.

The repository keeps the user's folders (ledger/, adapters/, exports/, config/) and setuptools'
package-dir installs them as gooseterm.ledger, .adapters, .exports and ._config. import-linter's
graph builder (grimp) walks the folder of the top-level package, where those subpackages are not,
so this script lays out the installed tree as symbolic links in a scratch folder (grimp follows
them), puts it first on the path and runs `lint-imports` from the running interpreter's venv.

Usage: python scripts/lint_imports.py [lint-imports options, e.g. --verbose]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stage_installed_tree(root: Path) -> None:
    """Link every entry of gooseterm/, then each package-dir folder under its installed name."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    package = root / "gooseterm"
    package.mkdir()
    for entry in (REPO / "gooseterm").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in pyproject["tool"]["setuptools"]["package-dir"].items():
        top, _, sub = name.partition(".")
        assert top == "gooseterm" and "." not in sub, f"package-dir maps {name}: only gooseterm.<name> is staged"
        (package / sub).symlink_to(REPO / folder, target_is_directory=True)


def main(argv: list[str]) -> int:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    with tempfile.TemporaryDirectory(prefix="gooseterm-contracts-") as scratch:
        stage_installed_tree(Path(scratch))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [scratch, os.environ.get("PYTHONPATH")]))}
        command = [str(lint_imports), str(REPO / "pyproject.toml"), "--no-cache", *argv]
        return subprocess.run(command, cwd=scratch, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
