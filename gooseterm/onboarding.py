"""Onboarding a service (plan 3.1): its file from the org's template, then its ledger entry.

All or nothing: the whole config is validated with the new file before the file is written,
the signing key and ledger are opened before it is written, and the file is removed again if
the ledger refuses the entry. The ledger's entry time starts the clock of the plan's "time to
onboard" metric (onboarded to first promotion, `gooseterm metrics`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .configcheck import check_with_file
from .errors import GoosetermError
from .orgconfig import TransitionKind, bundled_config_dir, render_service_template
from .orgconfig.config import service_file
from .orgconfig.fields import check_service_name
from .promotions import Orchestrator
from .workspace import Workspace


@dataclass
class Onboarded:
    """What onboarding did: the file written (if any), the ledger seqs and how long it took."""

    service: str
    seq: int
    time: str
    file: str | None
    seconds: float
    seqs: list[int] = field(default_factory=list)
    next: str = ""
    """The command that starts the service's first promotion."""

    def to_json(self) -> dict:
        """JSON form for --json."""
        return dict(self.__dict__)


def is_bundled(config_dir: Path) -> bool:
    """True when `config_dir` is the example org shipped with gooseterm (never edited in place)."""
    return Path(config_dir).resolve() == bundled_config_dir().resolve()


def copy_hint() -> str:
    """How to get an editable copy of the example org."""
    return f"cp -r {bundled_config_dir()} ./my-org && export GOOSETERM_CONFIG=./my-org"


def onboard(workspace: Workspace, name: str, owners: list[str], description: str = "", clock=time.perf_counter) -> Onboarded:
    """Write services/NAME.yaml from the template (when `owners` are given) and record the
    onboarding in the ledger; with no owners, record a service already in the config."""
    start = clock()
    try:
        check_service_name(name)  # before the name becomes part of any path
    except ValueError as exc:
        raise GoosetermError(f"service.name: {exc}") from None
    config_dir = workspace.settings.config_dir
    relative = service_file(name)
    path = config_dir / relative
    if owners:
        if is_bundled(config_dir):
            raise GoosetermError(
                f"the config folder is gooseterm's bundled example ({config_dir}), which onboarding does not edit; "
                f"copy it and point gooseterm at the copy: {copy_hint()}"
            )
        text = render_service_template(config_dir, name, owners, description)  # checks the name first
        if path.exists():
            raise GoosetermError(
                f"{path} already exists; to record it in the ledger run `gooseterm onboard {name}` without --owner"
            )
        org = check_with_file(config_dir, relative, text)
    else:
        if description:
            raise GoosetermError("--description goes with --owner, when onboarding writes a new service file")
        org = workspace.org()
        if name not in org.services:
            raise GoosetermError(
                f"{name} is not in the config at {config_dir}; pass --owner to create {relative} from the template"
            )
        text = path.read_text(encoding="utf-8")
    # Everything that can refuse without side effects comes before the file is written.
    signer = workspace.me()
    ledger = workspace.open_ledger(write=True)
    try:
        if owners:
            _create(path, text)
        try:
            out = Orchestrator(ledger, org, signer).onboard(name, text.encode("utf-8"))
        except BaseException:
            if owners:
                path.unlink(missing_ok=True)
            raise
        entry = ledger.entry(out.seqs[-1])
    finally:
        ledger.close()
    first = [t.target for t in org.states.transitions_from(org.states.initial) if t.kind == TransitionKind.PROMOTION]
    step = f"gooseterm promote {name} --to {first[0]}" if first else ""
    return Onboarded(name, entry.seq, entry.time, str(path) if owners else None, clock() - start, out.seqs, step)


def _create(path: Path, text: str) -> None:
    """Write a new file atomically: a temporary file, then a hard link that fails if the name exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise GoosetermError(f"{path} appeared while onboarding; nothing was written") from None
    finally:
        tmp.unlink(missing_ok=True)
