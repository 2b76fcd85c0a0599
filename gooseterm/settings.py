"""Where gooseterm keeps things: one home folder, overridable as a whole or path by path.

`GOOSETERM_HOME` moves every gooseterm path at once (tests, and users with several setups);
`GOOSETERM_LEDGER`, `GOOSETERM_CONFIG` and `GOOSETERM_KEY` override one thing each, and the
command-line flags override the environment.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic_settings import BaseSettings, SettingsConfigDict

IDENTITY_FILE = "identity"


class Settings(BaseSettings):
    """Paths and identity, from the environment (GOOSETERM_*) with flags applied on top."""

    model_config = SettingsConfigDict(env_prefix="GOOSETERM_", extra="ignore")

    home: Path | None = None
    ledger: Path | None = None
    config: Path | None = None
    key: str | None = None
    passphrase: str | None = None

    @property
    def home_dir(self) -> Path:
        """The folder holding the ledger, keys and identity."""
        return self.home or Path(platformdirs.user_data_dir("gooseterm", appauthor=False))

    @property
    def ledger_path(self) -> Path:
        """The ledger file."""
        return self.ledger or self.home_dir / "ledger.db"

    @property
    def keys_dir(self) -> Path:
        """The key store folder (mode 0700)."""
        return self.home_dir / "keys"

    @property
    def config_dir(self) -> Path:
        """The organisation config folder: the flag, the environment, or the example org."""
        if self.config:
            return self.config
        from .orgconfig import bundled_config_dir

        return bundled_config_dir()

    @property
    def identity(self) -> str | None:
        """The name of the key that signs as "me": flag, environment, or the one `init` recorded."""
        if self.key:
            return self.key
        f = self.home_dir / IDENTITY_FILE
        return f.read_text().strip() or None if f.exists() else None

    def remember_identity(self, name: str) -> None:
        """Record the key name `init` created as the default signer."""
        self.home_dir.mkdir(parents=True, exist_ok=True)
        (self.home_dir / IDENTITY_FILE).write_text(name + "\n")
