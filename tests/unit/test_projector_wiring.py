"""Projections are wired explicitly: a ledger opened for domain writes carries the domain's
projector from the moment it is opened, and the Orchestrator refuses a writable ledger without it
(so no script or test can append domain entries and leave the projections stale)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Ledger
from gooseterm.projections import SERVICE, project_appended
from gooseterm.promotions import Orchestrator
from gooseterm.settings import Settings
from gooseterm.workspace import Workspace
from helpers.orgs import build_org


def test_the_orchestrator_refuses_a_writable_ledger_opened_without_the_projector(isolated_home: Path) -> None:
    org = build_org(isolated_home)
    path, origin = org.ledger_path, org.org.org.ledger_origin
    org.close()
    with Ledger.open(path, signer=KeyStore(isolated_home / "keys").load(origin)) as bare:
        assert bare.projector is None
        with pytest.raises(ValueError, match="projector=projections.project_appended"):
            Orchestrator(bare, org.org, org.signers["alice"])
    with Ledger.open(path, readonly=True) as reader:  # a reader writes nothing, so needs none
        assert Orchestrator(reader, org.org).states()["service-a"] == org.org.states.initial


def test_a_ledger_opened_with_the_projector_projects_from_its_first_append(isolated_home: Path) -> None:
    org = build_org(isolated_home)
    assert org.ledger.projector is project_appended
    org.onboard("service-a")
    assert org.ledger.projection(SERVICE, "service-a")["onboarded_seq"] is not None
    org.close()


def test_the_workspace_opens_ledgers_for_writing_with_the_projector(isolated_home: Path) -> None:
    build_org(isolated_home).close()
    workspace = Workspace(Settings(home=isolated_home))
    with workspace.open_ledger(write=True) as ledger:
        assert ledger.projector is project_appended
    with workspace.open_ledger() as ledger:
        assert ledger.projector is None and ledger.signer is None
