"""The `gooseterm` command: every action headless, with --json and documented exit codes.

Start-up: `gooseterm --help` imports this package and every command module, so they import click,
the standard library and gooseterm's light modules (errors, params) at the top, and the domain,
the ledger, adapters and exports (pydantic, networkx, PyNaCl, httpx, YAML) inside the functions
that use them. tests/unit/test_startup_imports.py holds the line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import EXIT_CODES, EXIT_USAGE, GoosetermError
from .params import Seconds

if TYPE_CHECKING:
    from ..settings import Settings
    from ..workspace import Workspace

EXIT_HELP = "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


class Context:
    """What every command gets: the workspace and whether to print JSON."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    @property
    def settings(self) -> Settings:
        """The resolved settings."""
        return self.workspace.settings


pass_ctx = click.make_pass_decorator(Context)


def json_option(f: Callable) -> Callable:
    """Add --json to a command that prints data."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


def emit(as_json: bool, data: object, text: Callable[[], str] | str) -> None:
    """Print data as JSON, or the text rendering."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text() if callable(text) else text)


def read_input(path: str) -> bytes:
    """Bytes of a file, or of standard input for '-'; a clear error if unreadable."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise GoosetermError(f"cannot read {path}: {exc.strerror}") from None


class GoosetermGroup(click.Group):
    """Turns every expected error into a one-line message and its exit code: no tracebacks."""

    def main(self, *args, **kwargs):
        """Usage errors too are one line (`gooseterm: ...`), pointing at the command's --help."""
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            _fail("aborted", EXIT_USAGE)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "gooseterm"
            _fail(f"{exc.format_message()} (see `{where} --help`)", EXIT_USAGE)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        # Without standalone mode click returns ctx.exit()'s code (0 after --help) instead of exiting.
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            failure = _expected_failure(exc)
            if failure is None:
                raise
            _fail(*failure)


def _expected_failure(exc: Exception) -> tuple[str, int] | None:
    """The one-line message and exit code of an error a person can act on; None for a bug (its
    traceback is shown). The error family is imported here, once something has failed: its modules
    (the ledger, the org config) are not loaded for `--help`."""
    import sqlite3

    from ..error_family import EXPECTED_ERRORS, exit_code_of

    if isinstance(exc, EXPECTED_ERRORS):
        return str(exc), exit_code_of(exc)
    if isinstance(exc, sqlite3.DatabaseError):  # a page damaged after the ledger opened fine
        return f"the ledger file cannot be read ({exc}); run `gooseterm verify` and restore from a backup", EXIT_USAGE
    return None


def dashboard_options(f: Callable) -> Callable:
    """--read-only and --refresh, taken by `gooseterm` alone and by `gooseterm tui`."""
    f = click.option("--refresh", type=Seconds(), default=None, metavar="SECONDS",
                     help="Re-read the ledger every SECONDS (1 to 3600, default 5); space pauses.")(f)
    return click.option("--read-only", is_flag=True, help="Open the dashboard without any action that writes.")(f)


def _fail(message: str, code: int) -> None:
    click.echo(f"gooseterm: {message}", err=True)
    sys.exit(code)


@click.group(cls=GoosetermGroup, invoke_without_command=True, epilog=EXIT_HELP)
@click.option("--ledger", type=click.Path(path_type=Path), help="Ledger file [env GOOSETERM_LEDGER].")
@click.option("--config", type=click.Path(path_type=Path), help="Organisation config folder [env GOOSETERM_CONFIG].")
@click.option("--as", "as_key", metavar="NAME", help="Sign as this key [env GOOSETERM_KEY].")
@click.option(
    "--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
    help="Read the passphrase of a sealed key from this file, mode 600 [env GOOSETERM_PASSPHRASE_FILE].",
)
@dashboard_options
@click.version_option(package_name="gooseterm")
@click.pass_context
def main(ctx: click.Context, ledger: Path | None, config: Path | None, as_key: str | None, passphrase_file: Path | None,
         read_only: bool, refresh: float | None):
    """gooseterm: compliance promotions on a signed, verifiable ledger.

    Paths default to the home folder (GOOSETERM_HOME, else the user data dir).
    Without a command, opens the dashboard (`gooseterm status` is the headless view).
    """
    from ..settings import Settings, read_passphrase_file
    from ..workspace import Workspace, prompt_passphrase

    settings = Settings()
    overrides = {"ledger": ledger, "config": config, "key": as_key}
    passphrase_file = passphrase_file or settings.passphrase_file
    if passphrase_file:
        overrides["passphrase"] = read_passphrase_file(passphrase_file)
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    ctx.obj = Context(Workspace(settings, ask=prompt_passphrase))
    if ctx.invoked_subcommand is None:
        from .tui_cmd import tui

        ctx.invoke(tui, read_only=read_only, refresh=refresh)
    elif read_only or refresh is not None:
        raise click.UsageError("--read-only and --refresh belong to the dashboard: gooseterm [--read-only] [--refresh S], or gooseterm tui ...")


from . import ledger_cmds  # noqa: E402,F401  (registers the commands on `main`)
from . import tui_cmd  # noqa: E402,F401
from . import orchestration_cmds  # noqa: E402,F401
from . import config_cmds  # noqa: E402,F401
from . import export_cmds  # noqa: E402,F401
