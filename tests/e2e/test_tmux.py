"""The real `gooseterm` in a real terminal (tmux): a new user finds why service-a is blocked,
follows its runbook, approves service-b with carol's key through the dialog, and verifies the
ledger, with the keyboard alone. The ledger is then checked with `gooseterm status --json`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOOSETERM = Path(sys.executable).parent / "gooseterm"  # the command installed beside the running interpreter
WIDTH, HEIGHT = 140, 45

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/test.sh installs it in CI)")


class Terminal:
    """One tmux session on a private server socket, so it never touches the user's own tmux."""

    def __init__(self, socket: str, session: str):
        self.socket = socket
        self.session = session

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        """What the terminal shows now."""
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        """Type keys (tmux key names such as Enter, or literal text)."""
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            time.sleep(0.15)

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        """Poll until every text is on the screen; fail with the screen as it was."""
        end = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < end:
            shown = self.screen()
            if all(t in shown for t in texts):
                return shown
            time.sleep(0.2)
        missing = [t for t in texts if t not in shown]
        raise AssertionError(f"waited {timeout:.0f} s for {missing} on the screen:\n{shown}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", self.session], capture_output=True).returncode == 0


@pytest.fixture
def home(isolated_home: Path) -> Path:
    """The demo, made the way the README says (`gooseterm demo`)."""
    subprocess.run([str(GOOSETERM), "demo"], check=True, capture_output=True, env=os.environ.copy())
    return isolated_home


@pytest.fixture
def terminal(home: Path) -> Iterator[Terminal]:
    term = Terminal(f"gooseterm-e2e-{os.getpid()}", "dash")
    command = f"env GOOSETERM_HOME={home} TERM=xterm-256color {GOOSETERM}"
    subprocess.run(["tmux", "-L", term.socket, "new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", term.session,
                    command], check=True)
    yield term
    subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True)


def status(home: Path) -> dict[str, dict]:
    out = subprocess.run([str(GOOSETERM), "status", "--json"], check=True, capture_output=True, text=True,
                         env={**os.environ, "GOOSETERM_HOME": str(home)}).stdout
    return {s["service"]: s for s in json.loads(out)}


def test_a_new_user_unblocks_approves_and_verifies_with_the_keyboard(terminal: Terminal, home: Path) -> None:
    pending = status(home)["service-b"]["pending_approvals"][0]["id"]

    # Overview opens on service-a, and says why it is blocked.
    screen = terminal.wait_for("Compliance state", "service-a", "Why it is blocked")
    assert "all_tests_passing" in screen and "sast_clean" in screen and "dependency_check" in screen

    # Its runbook: o starts promotion_failure; s runs the first (automatic) step.
    terminal.keys("o")
    terminal.wait_for("Handle Promotion Failure: service-a", "next  1. Verify dependencies")
    terminal.keys("s")
    terminal.wait_for("1. Verify dependencies   automatic, seq", "next  2. Check the evidence chain")

    # Approvals: carol may approve service-b; the dialog names the key, Enter signs.
    terminal.keys("4")
    terminal.wait_for("Awaiting approval", pending, "may approve")
    terminal.keys("a")
    terminal.wait_for(f"Approve {pending}", "signing key", "carol+", "evidence digest")
    terminal.keys("Enter")
    terminal.wait_for("service-b is now compliant")

    # Ledger: v verifies every entry in a worker and reports each fault class.
    terminal.keys("5")
    terminal.wait_for("Entries, newest first")
    terminal.keys("v")
    terminal.wait_for("VALID", "leaf_modified", timeout=60)

    # The activity log says what the dashboard did, as commands.
    terminal.keys("7")
    terminal.wait_for(f"gooseterm approve {pending}", "gooseterm verify", "gooseterm runbook step")

    terminal.keys("q")
    end = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < end:
        time.sleep(0.2)
    assert not terminal.alive(), "q leaves the dashboard"

    after = status(home)
    assert after["service-b"]["state"] == "compliant"
    assert after["service-a"]["state"] == "sandbox"
    verified = subprocess.run([str(GOOSETERM), "verify", "--json"], capture_output=True, text=True,
                              env={**os.environ, "GOOSETERM_HOME": str(home)})
    assert verified.returncode == 0 and json.loads(verified.stdout)["valid"]
