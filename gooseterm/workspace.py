"""The user's working set: settings, key store and ledger, opened the same way for CLI and TUI."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from pathlib import Path

from gooseterm.ledger.keys import PASSPHRASE_HINT, KeyStore, PassphraseRequiredError, WrongPassphraseError
from gooseterm.ledger.signing import Signer
from gooseterm.ledger.store import Ledger, Projector, utc_now

from .errors import GoosetermError
from .orgconfig import OrgConfig, load_org
from .projections import project_appended
from .settings import Settings

PassphraseSource = Callable[[str], str | None]


def no_passphrase(name: str) -> str | None:
    """Passphrase source for non-interactive use: the settings' passphrase or nothing."""
    return None


def prompt_passphrase(name: str) -> str | None:
    """Ask on the terminal, when there is one."""
    if not os.isatty(0):
        return None
    return getpass.getpass(f"passphrase for key {name}: ")


def load_checked_org(path: Path) -> OrgConfig:
    """Load a config directory, reporting gates and runbook steps that name nothing registered."""
    from .gates import VALIDATORS
    from .runbooks import ACTIONS

    return load_org(path, validators=VALIDATORS, actions=ACTIONS)


class Workspace:
    """Settings plus the key store and ledger they point at."""

    def __init__(
        self, settings: Settings | None = None, ask: PassphraseSource = no_passphrase, clock: Callable[[], str] = utc_now
    ):
        self.settings = settings or Settings()
        self.ask = ask
        self.clock = clock
        """Writer time for the ledgers this workspace opens (a seam: the dashboard's tests freeze it)."""
        self._typed: str | None = None

    @property
    def keystore(self) -> KeyStore:
        """The key store under the home folder."""
        return KeyStore(self.settings.keys_dir)

    def load_key(self, name: str) -> Signer:
        """Load a private key, asking for its passphrase when it is sealed and none given opens it.

        A passphrase typed once is tried first on the next sealed key: `init --seal` seals the
        person's key and the ledger key with one passphrase, so a command that needs both asks once.
        """
        try:
            return self.keystore.load(name, self.settings.passphrase or self._typed)
        except PassphraseRequiredError:
            pass
        except WrongPassphraseError:
            if self.settings.passphrase is not None:
                raise
        passphrase = self.ask(name)
        if passphrase is None:
            raise PassphraseRequiredError(f"key {name!r}: {PASSPHRASE_HINT}")
        signer = self.keystore.load(name, passphrase)
        self._typed = passphrase
        return signer

    def me(self) -> Signer:
        """The key that signs as the current user."""
        name = self.settings.identity
        if not name:
            raise GoosetermError(
                "no signing identity: run `gooseterm init`, or pass --as NAME / set GOOSETERM_KEY"
            )
        return self.load_key(name)

    def open_ledger(self, write: bool = False, path: Path | None = None, projector: Projector | None = project_appended) -> Ledger:
        """Open the ledger; for writing, with the ledger key from the key store and the domain's
        projector (None only to write entries straight through the ledger API, as tests of a
        key holder bypassing the domain do)."""
        path = path or self.settings.ledger_path
        ledger = Ledger.open(path, readonly=not write, clock=self.clock)
        if not write:
            return ledger
        name = ledger.ledger_key.name
        ledger.close()
        return Ledger.open(path, signer=self.load_key(name), clock=self.clock, projector=projector)

    def org(self) -> OrgConfig:
        """The organisation config, checked against the validators and actions gooseterm registers."""
        return load_checked_org(self.settings.config_dir)

    def orchestrator(self, write: bool = False):
        """The domain API over the ledger and org config; signing as the current user when writing."""
        from .breaker import SourceHealth
        from .promotions import Orchestrator

        health = SourceHealth(self.settings.home_dir / "sources")
        return Orchestrator(self.open_ledger(write=write), self.org(), self.me() if write else None, health)
