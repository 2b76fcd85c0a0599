"""The dashboard app: modes, live refresh, the write path and the activity log.

State flows down (the app's `snapshot` reactive, watched by every screen); results flow up as
messages posted by thread workers. Every read and write runs in a worker, so the UI never waits
on SQLite, a signature or a passphrase's key derivation.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from textual import on, work
from textual.app import App, SystemCommand
from textual.reactive import reactive, var
from textual.screen import Screen

from gooseterm.ledger.store import LedgerNotFound

from .. import dashboard
from ..dashboard import Snapshot
from ..error_family import EXPECTED_ERRORS
from ..promotions import Orchestrator
from ..records import PromotionRecord
from ..runbooks import PROMOTION_FAILURE, start_run
from ..workspace import Workspace, no_passphrase
from .actions import MODES, Action, bindings
from .commands import DashboardCommands
from .messages import (
    ActionRecorded,
    ActionRefused,
    ApprovalRecorded,
    DemotionRecorded,
    MetricsLoaded,
    OverrideRecorded,
    PromotionRequested,
    RejectionRecorded,
    RunbookStarted,
    RunbookStepTaken,
    SnapshotFailed,
    SnapshotLoaded,
)
from .session import Session

REFRESH_DEFAULT = 5.0
REFRESH_MIN, REFRESH_MAX = 1.0, 3600.0


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def clamp_refresh(seconds: float) -> float:
    """Live-refresh period, kept within 1 s .. 1 h."""
    return min(max(float(seconds), REFRESH_MIN), REFRESH_MAX)


def cli(*words: str) -> str:
    """The equivalent `gooseterm ...` command line, quoted for a POSIX shell."""
    return " ".join(["gooseterm", *(shlex.quote(w) for w in words)])


def ago(seconds: float) -> str:
    """`just now`, `12 s ago`, `3 min ago`, `2 h ago`."""
    if seconds < 2:
        return "just now"
    if seconds < 90:
        return f"{int(seconds)} s ago"
    if seconds < 5400:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


@dataclass(frozen=True)
class ActivityLine:
    """One thing the dashboard did, with the command that does the same from a shell."""

    time: datetime
    what: str
    outcome: str
    cli: str
    ok: bool = True


class GoosetermApp(App):
    """The gooseterm dashboard."""

    CSS_PATH = "gooseterm.tcss"
    TITLE = "gooseterm"
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {DashboardCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True)
    """The latest projections read from the ledger; screens watch it."""
    metrics: var[list | None] = var(None)
    """The plan's success metrics (gooseterm.metrics), once computed."""
    metrics_error: var[str | None] = var(None)
    """Why there are no metrics, if there are none."""
    paused: reactive[bool] = reactive(False)
    """Live refresh is paused (space)."""
    activity: var[tuple[ActivityLine, ...]] = var(())
    """What the dashboard did, oldest first."""

    def __init__(self, session: Session, read_only: bool = False, refresh: float = REFRESH_DEFAULT):
        super().__init__()
        self.session = session
        self.read_only = read_only
        """No action that writes to the ledger runs (--read-only)."""
        self.refresh_seconds = clamp_refresh(refresh)
        self.clock = session.clock
        self._goto: dict[str, str] = {}
        self._problem: str | None = None
        self._metrics_size: int | None = None
        from .screens import modes

        for name, screen in modes().items():
            self.add_mode(name, screen)

    # -- start and refresh ---------------------------------------------------------------------

    def on_mount(self) -> None:
        self.switch_mode(MODES[0])
        self.load_snapshot()
        self.set_interval(self.refresh_seconds, self._tick, name="live refresh")
        self.set_interval(1.0, self._show_age, name="data age")
        self._show_age()

    def _tick(self) -> None:
        if not self.paused:
            self.load_snapshot()

    @work(thread=True, exclusive=True, group="snapshot", exit_on_error=False)
    def load_snapshot(self) -> None:
        """Read the projections (a worker); posts SnapshotLoaded or SnapshotFailed."""
        try:
            snap = self.session.snapshot()
        except LedgerNotFound:
            self.post_message(SnapshotFailed(str(self.session.settings.ledger_path), missing=True))
        except EXPECTED_ERRORS as exc:
            self.post_message(SnapshotFailed(str(exc)))
        else:
            self.post_message(SnapshotLoaded(snap))

    @work(thread=True, exclusive=True, group="metrics", exit_on_error=False)
    def load_metrics(self) -> None:
        """Compute the success metrics (a worker): read by kind, after the first frame is up."""
        try:
            from .. import (
                metrics,  # a colleague's module; the panel says so while it is missing
            )
        except ImportError:
            self.post_message(MetricsLoaded(None, "success metrics need gooseterm.metrics (not installed yet)"))
            return
        try:
            with self.session.reading() as orch:
                found = metrics.compute(orch.ledger, orch.org.states.initial, orch.org.states.compliant)
        except EXPECTED_ERRORS as exc:
            self.post_message(MetricsLoaded(None, f"metrics could not be computed: {exc}"))
        else:
            self.post_message(MetricsLoaded(found))

    def on_snapshot_loaded(self, message: SnapshotLoaded) -> None:
        from .screens.problem import ProblemScreen

        if isinstance(self.screen, ProblemScreen):
            self.pop_screen()
        self._problem = None
        self.snapshot = message.snapshot
        self._show_age()
        if message.snapshot.size != self._metrics_size:
            self._metrics_size = message.snapshot.size
            self.load_metrics()

    def on_snapshot_failed(self, message: SnapshotFailed) -> None:
        from .screens.problem import ProblemScreen

        if self.snapshot is not None and not message.missing:  # keep showing what was read; say why it is stale
            self.notify(f"could not read the ledger: {message.error}", severity="warning")
            return
        self._problem = "no ledger yet" if message.missing else "cannot read the ledger"
        self._show_age()
        if isinstance(self.screen, ProblemScreen):
            self.screen.show(message.error, message.missing)
        else:
            self.push_screen(ProblemScreen(message.error, message.missing))

    def on_metrics_loaded(self, message: MetricsLoaded) -> None:
        self.metrics_error = message.error
        self.metrics = message.metrics

    def _show_age(self) -> None:
        parts = []
        snap = self.snapshot
        if self._problem is not None:
            parts.append(self._problem)
        elif snap is not None:
            who = snap.identity.name or "no identity"
            age = ago((self.clock() - snap.read_at).total_seconds())
            parts += [who, f"{snap.size:,} entries", f"read {age}"]
        else:
            parts.append("reading the ledger…")
        if self.paused:
            parts.append("paused")
        if self.read_only:
            parts.append("read-only")
        self.sub_title = " · ".join(parts)

    def watch_paused(self) -> None:
        self._show_age()

    def action_toggle_pause(self) -> None:
        """Pause or resume live refresh."""
        self.paused = not self.paused
        self.notify("live refresh paused (space resumes)" if self.paused else "live refresh resumed", timeout=3)

    def action_refresh_now(self) -> None:
        """Read the ledger again now."""
        self.load_snapshot()
        self.log_activity("refresh", "read the ledger's projections", cli("status"))

    # -- navigation ------------------------------------------------------------------------------

    def goto(self, mode: str, key: str | None = None) -> None:
        """Switch to a mode and put its cursor on `key` (a service, promotion or run) as soon as
        that row is there (a run just started appears with the next snapshot)."""
        if key is not None:
            self._goto[mode] = key
        self.switch_mode(mode)

    def goto_key(self, mode: str) -> str | None:
        """The row a mode was asked to show, until it has shown it."""
        return self._goto.get(mode)

    def goto_done(self, mode: str) -> None:
        """The mode has put its cursor on the row it was asked for."""
        self._goto.pop(mode, None)

    def action_help(self) -> None:
        """Show every key, per screen."""
        from .screens.help import HelpScreen

        scope = getattr(self.screen, "MODE", "") or getattr(self.screen, "SCOPE", "")
        self.push_screen(HelpScreen(scope))

    def action_screenshot(self) -> None:
        """Save an SVG of the screen in the home folder."""
        folder = self.session.settings.home_dir
        name = f"gooseterm-{self.clock().strftime('%Y%m%dT%H%M%S')}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(name, str(folder))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error")
            return
        self.log_activity("screenshot", f"saved {path}", "")
        self.notify(f"screenshot saved to {path}", title="Screenshot")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, with the screenshot going to the gooseterm home folder."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
        yield SystemCommand("Screenshot", "Save an SVG screenshot in the gooseterm home folder", self.action_screenshot)

    # -- the activity log --------------------------------------------------------------------------

    def log_activity(self, what: str, outcome: str, command: str, ok: bool = True) -> None:
        """Add a line to the activity log."""
        self.activity = (*self.activity, ActivityLine(self.clock(), what, outcome, command, ok))

    # -- writing -----------------------------------------------------------------------------------

    def refuse_read_only(self, action: Action) -> None:
        """Explain that a writing action is off in read-only mode."""
        reason = (f"read-only dashboard: {action.description.lower()} writes to the ledger, so it is off; "
                  "start gooseterm without --read-only to do it")
        self.post_message(ActionRefused(action.description.lower(), "", reason))

    def write(self, title: str, command: str, run: Callable[[Orchestrator], ActionRecorded], passphrase: str | None = None) -> None:
        """Run a writing domain call in a worker; it posts what it recorded or why it was refused."""
        if self.read_only:
            self.post_message(ActionRefused(title, command, "read-only dashboard: nothing is written; start gooseterm without --read-only"))
            return
        me = self.snapshot.identity if self.snapshot else None
        if passphrase is None and me is not None and me.sealed:
            from .dialogs.confirm import ConfirmDialog

            def unsealed(answer) -> None:
                if answer is not None:
                    self._write(title, command, run, answer.passphrase)

            self.push_screen(ConfirmDialog(f"Unseal key {me.name}", [("to", title), ("signing key", me.keyid or me.name)], "Sign",
                                           passphrase_for=me.name), unsealed)
            return
        self._write(title, command, run, passphrase)

    @work(thread=True, group="write", exit_on_error=False)
    def _write(self, title: str, command: str, run: Callable[[Orchestrator], ActionRecorded], passphrase: str | None) -> None:
        try:
            with self.session.writing(passphrase) as orch:
                message = run(orch)
        except EXPECTED_ERRORS as exc:
            self.post_message(ActionRefused(title, command, str(exc)))
        except Exception as exc:  # noqa: BLE001  (a bug must not take the dashboard down; say what happened)
            self.post_message(ActionRefused(title, command, f"unexpected error: {exc!r}"))
        else:
            self.post_message(message)

    @on(ApprovalRecorded)
    @on(RejectionRecorded)
    @on(OverrideRecorded)
    @on(DemotionRecorded)
    @on(PromotionRequested)
    @on(RunbookStarted)
    @on(RunbookStepTaken)
    def _recorded(self, message: ActionRecorded) -> None:
        self.log_activity(message.title, message.summary, message.cli, ok=not message.failed)
        self.notify(message.summary, title=message.title, severity="warning" if message.failed else "information")
        self.load_snapshot()
        if isinstance(message, RunbookStarted):
            self.goto("runbooks", message.run_id)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.log_activity(message.title, f"refused: {message.reason}", message.cli, ok=False)
        self.notify(message.reason, title=f"{message.title}: refused", severity="error", timeout=8)
        self.load_snapshot()

    def open_runbook(self, service: str, promotion: PromotionRecord | None) -> None:
        """Open the promotion_failure run of a service: the open one, else start one."""
        snap = self.snapshot
        existing = dashboard.open_run(snap.runs, PROMOTION_FAILURE, service) if snap else None
        if existing is not None:
            self.goto("runbooks", existing.id)
            return
        reason = f"promotion {promotion.id} {promotion.status}" if promotion else ""
        command = cli("runbook", "start", PROMOTION_FAILURE, "--service", service, *(["--reason", reason] if reason else []))

        def run(orch: Orchestrator) -> ActionRecorded:
            started = start_run(orch, PROMOTION_FAILURE, service, reason)
            return RunbookStarted(f"runbook {PROMOTION_FAILURE}", command, f"started {started['id']}: {started['title']}",
                                  run_id=started["id"])

        self.write(f"runbook {PROMOTION_FAILURE}", command, run)


def make_app(workspace: Workspace | None = None, read_only: bool = False, refresh: float = REFRESH_DEFAULT,
             clock: Callable[[], datetime] = utc_now) -> GoosetermApp:
    """Build the dashboard (posting's make_posting): tests pass settings and a frozen clock; the
    same clock stamps what the dashboard writes."""
    workspace = workspace or Workspace()
    # Never ask on the terminal (getpass under a running Textual app): a sealed key's passphrase
    # is typed into the confirmation dialog instead.
    timed = Workspace(workspace.settings, no_passphrase, lambda: dashboard.ledger_time(clock()))
    return GoosetermApp(Session(timed, clock), read_only=read_only, refresh=refresh)
