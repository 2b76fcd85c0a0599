"""Where gooseterm keeps things: one home folder, overridable as a whole or path by path.

`GOOSETERM_HOME` moves every gooseterm path at once (tests, and users with several setups);
`GOOSETERM_LEDGER`, `GOOSETERM_CONFIG` and `GOOSETERM_KEY` override one thing each, and the
command-line flags override the environment.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import platformdirs
from pydantic_settings import BaseSettings, SettingsConfigDict

from gooseterm.adapters.errors import INSECURE_HTTP_ENV

from .errors import GoosetermError

IDENTITY_FILE = "identity"
MAX_PASSPHRASE_BYTES = 64 * 1024


class Settings(BaseSettings):
    """Paths and identity, from the environment (GOOSETERM_*) with flags applied on top."""

    model_config = SettingsConfigDict(env_prefix="GOOSETERM_", extra="ignore")

    home: Path | None = None
    ledger: Path | None = None
    config: Path | None = None
    key: str | None = None
    passphrase: str | None = None
    passphrase_file: Path | None = None

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


def read_passphrase_file(path: Path) -> str:
    """The passphrase in `path` (its first line), refusing a file other users may read or change.

    Checked on the opened file itself, so a link or a rename cannot swap another in between.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise GoosetermError(f"passphrase file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise GoosetermError(f"passphrase file {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise GoosetermError(f"passphrase file {path} has mode {mode:04o}, open to other users; "
                                 f"fix it with: chmod 600 '{path}'")
        data = fh.read(MAX_PASSPHRASE_BYTES + 1)
    if len(data) > MAX_PASSPHRASE_BYTES:
        raise GoosetermError(f"passphrase file {path} is larger than {MAX_PASSPHRASE_BYTES} bytes; it should hold one line")
    try:
        return data.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError:
        raise GoosetermError(f"passphrase file {path} is not UTF-8 text") from None


def insecure_http_allowed(env: Mapping[str, str] = os.environ) -> bool:
    """True when the environment opts in to credentials over plain http:// (INSECURE_HTTP_ENV=1)."""
    return env.get(INSECURE_HTTP_ENV, "") == "1"
