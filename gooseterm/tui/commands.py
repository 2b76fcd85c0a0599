"""The command palette's gooseterm commands: go to a screen, and the current screen's actions,
taken from the action registry so the palette offers what the keys do."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .actions import MODES, in_scope


class DashboardCommands(Provider):
    """Screens to switch to, plus the actions of the screen the palette was opened on."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        screen = self.screen
        scope = getattr(screen, "MODE", "") or getattr(screen, "SCOPE", "")
        out: list[tuple[str, str, object]] = [
            (f"Go to {mode.capitalize()}", f"Show the {mode.capitalize()} screen (key {n})", partial(app.switch_mode, mode))
            for n, mode in enumerate(MODES, 1)
        ]
        for action in in_scope(scope):
            if hasattr(screen, f"action_{action.action}") and not (action.writes and app.read_only):
                key = action.key_display or action.key
                out.append((f"{action.description} ({scope})", f"{action.help} (key {key})",
                            partial(screen.run_action, action.action)))
        for action in in_scope("app"):
            if action.bound and not action.id.startswith("app.mode_") and action.id != "app.palette":
                out.append((action.description, f"{action.help} (key {action.key_display or action.key})",
                            partial(app.run_action, action.action)))
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
