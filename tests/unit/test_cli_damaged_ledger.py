"""A ledger damaged after creation: commands fail with one line and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gooseterm.cli import main
from gooseterm.errors import EXIT_USAGE


def test_a_damaged_page_gives_a_one_line_error(isolated_home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--name", "alice"]).exit_code == 0
    for n in range(300):
        assert runner.invoke(main, ["append", "--kind", "annotation", "--payload", "-"], input=f'{{"n": {n}, "pad": "{"x" * 300}"}}').exit_code == 0
    ledger = isolated_home / "ledger.db"
    data = bytearray(ledger.read_bytes())
    page = 4096
    for offset in range(len(data) // 2 // page * page, len(data) // 2 // page * page + 2 * page):
        data[offset] = 0xA5  # two whole pages in the middle of the file become garbage
    ledger.write_bytes(bytes(data))
    result = runner.invoke(main, ["log", "--limit", "300"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Traceback" not in result.output
    assert "cannot be read" in result.output or "damaged" in result.output or "malformed" in result.output
