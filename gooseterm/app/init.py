"""`gooseterm init`: a new ledger with genesis, a ledger key and the first admin key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gooseterm.ledger.store import Ledger
from gooseterm.ledger.verifier import valid_key_name

from ..errors import GoosetermError
from ..workspace import Workspace


@dataclass(frozen=True)
class Initialised:
    """The ledger just created and the two keys it starts with."""

    ledger: Path
    origin: str
    ledger_key: str
    """The verifier key (name+id+key) that signs the ledger's checkpoints."""
    admin_key: str
    """The verifier key of the person who ran init, trusted as admin and approver."""
    size: int

    def to_json(self) -> dict:
        """JSON form for --json."""
        return {"ledger": str(self.ledger), "origin": self.origin, "ledger_key": self.ledger_key,
                "admin_key": self.admin_key, "size": self.size}


def init_ledger(workspace: Workspace, origin: str, name: str, passphrase: str | None = None) -> Initialised:
    """Create the configured ledger, reusing local keys named `name` and `origin` or creating them
    (sealed with `passphrase` when given); never overwrites a ledger."""
    path = workspace.settings.ledger_path
    if path.exists():
        raise GoosetermError(f"{path} already exists; gooseterm never overwrites a ledger (use --ledger for another)")
    for what, value in (("--origin", origin), ("--name", name)):  # checked before any key is written
        if not valid_key_name(value):
            raise GoosetermError(f"{what} {value!r} cannot name a key: it must be non-empty and printable, without '+' or spaces")
    store = workspace.keystore
    me = workspace.load_key(name) if name in store.names() else store.create(name, passphrase)
    ledger_signer = workspace.load_key(origin) if origin in store.names() else store.create(origin, passphrase)
    ledger = Ledger.create(path, origin, ledger_signer, [(me.vkey, ["admin", "approver"])])
    workspace.settings.remember_identity(name)
    try:
        return Initialised(path, origin, ledger_signer.vkey, me.vkey, ledger.size())
    finally:
        ledger.close()
